package aggregation_test

import (
	"fmt"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// The fixture of docs/time-engine.md §8: course contexts 50 (course
// 5) and 58 (course 8); module contexts 701 → cm 101 page (section 31),
// 702 → cm 102 quiz (section 32), 703 → cm 103 learningtimecheck (section
// 31), 801 → cm 201 forum (course 8, section 81); system context 1; user
// context 3007.
type fixtureCM struct {
	course, cm, section int64
	typ                 string
}

var fixtureModules = map[int64]fixtureCM{
	701: {5, 101, 31, "page"},
	702: {5, 102, 32, "quiz"},
	703: {5, 103, 31, "learningtimecheck"},
	801: {8, 201, 81, "forum"},
}

var courseContext = map[int64]int64{5: 50, 8: 58}

// stream builds one user's events with increasing ids.
type stream struct {
	user   int64
	nextID int64
	events []aggregation.Event
}

func newStream(user int64) *stream { return &stream{user: user, nextID: 1} }

func (s *stream) add(ev aggregation.Event) *stream {
	if ev.ID == 0 {
		ev.ID = s.nextID
	}
	s.nextID = ev.ID + 1
	ev.UserID = s.user
	if ev.Origin == "" {
		ev.Origin = "web"
	}
	if ev.IP == "" {
		ev.IP = fmt.Sprintf("10.0.0.%d", ev.ID)
	}
	s.events = append(s.events, ev)
	return s
}

// withID sets the id of the next event.
func (s *stream) withID(id int64) *stream { s.nextID = id; return s }

func (s *stream) login(t int64) *stream {
	return s.add(aggregation.Event{ID: s.nextID, Time: t, ContextID: 1, ContextLevel: aggregation.ContextSystem,
		Action: "loggedin", Target: "user", EventName: `\core\event\user_loggedin`, CRUD: 'r'})
}

func (s *stream) logout(t int64) *stream {
	return s.add(aggregation.Event{ID: s.nextID, Time: t, ContextID: 1, ContextLevel: aggregation.ContextSystem,
		Action: "loggedout", Target: "user", EventName: `\core\event\user_loggedout`, CRUD: 'r'})
}

func (s *stream) course(t, course int64) *stream {
	return s.add(aggregation.Event{ID: s.nextID, Time: t, CourseID: course, ContextID: courseContext[course],
		ContextLevel: aggregation.ContextCourse, ContextInstanceID: course,
		Action: "viewed", Target: "course", EventName: `\core\event\course_viewed`, CRUD: 'r', EduLevel: 2})
}

func (s *stream) graded(t, course int64) *stream {
	return s.add(aggregation.Event{ID: s.nextID, Time: t, CourseID: course, ContextID: courseContext[course],
		ContextLevel: aggregation.ContextCourse, ContextInstanceID: course,
		Action: "graded", Target: "user", EventName: `\core\event\user_graded`, CRUD: 'u', EduLevel: 1})
}

func (s *stream) module(t, ctx int64, action, target string) *stream {
	m, ok := fixtureModules[ctx]
	if !ok {
		panic(fmt.Sprintf("no module context %d in the fixture", ctx))
	}
	return s.add(aggregation.Event{ID: s.nextID, Time: t, CourseID: m.course, ContextID: ctx,
		ContextLevel: aggregation.ContextModule, ContextInstanceID: m.cm,
		CMID: m.cm, ModuleType: m.typ, SectionID: m.section,
		Action: action, Target: target, CRUD: 'r', EduLevel: 2})
}

func (s *stream) view(t, ctx int64) *stream { return s.module(t, ctx, "viewed", "course_module") }

// deletedModule is a module-context row whose course module no longer
// exists: the adapter could resolve neither type nor section.
func (s *stream) deletedModule(t, course, cm int64) *stream {
	return s.add(aggregation.Event{ID: s.nextID, Time: t, CourseID: course, ContextID: 9000 + cm,
		ContextLevel: aggregation.ContextModule, ContextInstanceID: cm,
		Action: "viewed", Target: "course_module", CRUD: 'r', EduLevel: 2})
}

func (s *stream) userProfile(t, course int64) *stream {
	return s.add(aggregation.Event{ID: s.nextID, Time: t, CourseID: course, ContextID: 3007,
		ContextLevel: aggregation.ContextUser, ContextInstanceID: s.user,
		Action: "viewed", Target: "user_profile", CRUD: 'r'})
}

func preset(t testing.TB, name string) aggregation.Policy {
	t.Helper()
	p, err := aggregation.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func compute(t testing.TB, p aggregation.Policy, w aggregation.Window, now int64, evs []aggregation.Event) *aggregation.Result {
	t.Helper()
	res, err := aggregation.Compute(p, w, now, evs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// wantStat checks elapsed and events of a stat.
func wantStat(t testing.TB, what string, got aggregation.Stat, elapsed, events int64) {
	t.Helper()
	if got.Elapsed != elapsed || got.Events != events {
		t.Errorf("%s = %d s / %d events, want %d s / %d events", what, got.Elapsed, got.Events, elapsed, events)
	}
}

func mustCourse(t testing.TB, r *aggregation.Result, id int64) *aggregation.CourseStat {
	t.Helper()
	c := r.Course(id)
	if c == nil {
		t.Fatalf("course %d missing from the result", id)
	}
	return c
}

func mustModule(t testing.TB, c *aggregation.CourseStat, cm int64) *aggregation.ModuleStat {
	t.Helper()
	m := c.Module(cm)
	if m == nil {
		t.Fatalf("module %d missing from course %d", cm, c.CourseID)
	}
	return m
}

func mustSection(t testing.TB, c *aggregation.CourseStat, id int64) *aggregation.SectionStat {
	t.Helper()
	s := c.Section(id)
	if s == nil {
		t.Fatalf("section %d missing from course %d", id, c.CourseID)
	}
	return s
}

// wantSessions compares sessions field by field.
func wantSessions(t testing.TB, got []aggregation.Session, want []aggregation.Session) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d sessions %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Start != w.Start || g.End != w.End || g.Elapsed != w.Elapsed || g.Events != w.Events || fmt.Sprint(g.Courses) != fmt.Sprint(w.Courses) {
			t.Errorf("session %d = {start %d end %d elapsed %d events %d courses %v}, want {start %d end %d elapsed %d events %d courses %v}",
				i, g.Start, g.End, g.Elapsed, g.Events, g.Courses, w.Start, w.End, w.Elapsed, w.Events, w.Courses)
		}
	}
}
