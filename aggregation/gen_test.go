package aggregation_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// The random stream generator of the property and fuzz tests: one user's
// events in (time, id) order, deterministic for a seed, mixing every kind of
// row the engine distinguishes (logins, logouts, course, module, user-context
// and site rows, user_graded rows, rows that hygiene drops) with gaps drawn
// around the thresholds of every preset.

// genUser is the user of every generated stream.
const genUser = 7

// genStart is the time of a generated stream's first event.
const genStart = 1_700_000_000

// genCourses are the courses a generated stream visits; course 1 is the
// front page, an ordinary course.
var genCourses = []int64{1, 2, 5, 8}

// genCM is one course module of the generated site. A deleted module has
// no type and no section; when cmResolved is false the adapter could not
// resolve even its cmid (CMID 0), only the context instance.
type genCM struct {
	course, cm, section int64
	typ                 string
	cmResolved          bool
}

// genModules are the course modules of the generated site: per course a
// page, a quiz, a forum and a learningtimecheck (captured by usestats) in
// three sections, and two deleted modules.
var genModules = func() map[int64][]genCM {
	out := map[int64][]genCM{}
	for _, c := range genCourses {
		out[c] = []genCM{
			{c, c*100 + 1, c*10 + 1, "page", true},
			{c, c*100 + 2, c*10 + 2, "quiz", true},
			{c, c*100 + 3, c*10 + 1, "forum", true},
			{c, c*100 + 4, c*10 + 3, "learningtimecheck", true},
			{c, c*100 + 8, 0, "", true},  // deleted, cmid still known
			{c, c*100 + 9, 0, "", false}, // deleted, only the context instance left
		}
	}
	return out
}()

// genKind is the kind of one generated row.
type genKind int

const (
	genLogin genKind = iota
	genLogout
	genCourseView
	genModuleView
	genUserContext   // level 30 row with a course id: the course's "other" time
	genSystemCourse  // level 10 row with a course id: "other" too
	genBlock         // level 80 row: course level
	genCategory      // level 40 row: course level
	genSiteDashboard // course 0, level 30: a site row other than login/logout
	genGraded        // \core\event\user_graded: graded/user at course level
	genFailedLogin   // action failed
	genCLI           // origin cli
	genRestore       // origin restore
	genLoginAs       // realuserid set
	genAnonymous     // anonymous = 1
	genKinds
)

// genKindWeights are the relative frequencies of the kinds.
var genKindWeights = [genKinds]int{
	genLogin:         6,
	genLogout:        3,
	genCourseView:    16,
	genModuleView:    36,
	genUserContext:   5,
	genSystemCourse:  1,
	genBlock:         2,
	genCategory:      1,
	genSiteDashboard: 5,
	genGraded:        6,
	genFailedLogin:   2,
	genCLI:           2,
	genRestore:       1,
	genLoginAs:       2,
	genAnonymous:     2,
}

// genThresholds are the gaps every preset or usual policy treats specially
// (Canvas' coalesce, edx5, Canvas, local_timespent, attendance register and
// edx30, usestats and dedication).
var genThresholds = []int64{120, 300, 600, 900, 1800, 3600}

// genGap draws the gap before the next event from a mix of same-second
// rows, seconds, minutes, gaps at a threshold ±1, hours and days.
func genGap(r *rand.Rand) int64 {
	switch x := r.IntN(100); {
	case x < 12:
		return 0
	case x < 40:
		return 1 + r.Int64N(59)
	case x < 65:
		return 60 + r.Int64N(540)
	case x < 80:
		return genThresholds[r.IntN(len(genThresholds))] + r.Int64N(3) - 1
	case x < 88:
		return 600 + r.Int64N(6600)
	case x < 95:
		return 3600 + r.Int64N(47*3600)
	default:
		return 86400 + r.Int64N(9*86400)
	}
}

func genPickKind(r *rand.Rand) genKind {
	total := 0
	for _, w := range genKindWeights {
		total += w
	}
	x := r.IntN(total)
	for k, w := range genKindWeights {
		if x < w {
			return genKind(k)
		}
		x -= w
	}
	return genModuleView
}

// genEvent builds one row of kind k in course c at time t.
func genEvent(r *rand.Rand, k genKind, c, t int64) aggregation.Event {
	ev := aggregation.Event{Time: t, UserID: genUser, Origin: "web", CRUD: 'r',
		IP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(3))}
	courseRow := func() {
		ev.CourseID, ev.ContextID = c, 5000+c
		ev.ContextLevel, ev.ContextInstanceID = aggregation.ContextCourse, c
		ev.Action, ev.Target, ev.EduLevel = "viewed", "course", 2
		ev.EventName = `\core\event\course_viewed`
	}
	switch k {
	case genLogin:
		ev.ContextID, ev.ContextLevel = 1, aggregation.ContextSystem
		ev.Action, ev.Target = "loggedin", "user"
		ev.EventName = `\core\event\user_loggedin`
	case genLogout:
		ev.ContextID, ev.ContextLevel = 1, aggregation.ContextSystem
		ev.Action, ev.Target = "loggedout", "user"
		ev.EventName = `\core\event\user_loggedout`
	case genCourseView:
		courseRow()
	case genModuleView, genAnonymous:
		ms := genModules[c]
		m := ms[r.IntN(len(ms))]
		ev.CourseID, ev.ContextID = c, 70000+m.cm
		ev.ContextLevel, ev.ContextInstanceID = aggregation.ContextModule, m.cm
		if m.cmResolved {
			ev.CMID = m.cm
		}
		ev.ModuleType, ev.SectionID = m.typ, m.section
		ev.EduLevel = 2
		switch r.IntN(4) {
		case 0:
			ev.Action, ev.Target, ev.CRUD = "submitted", "attempt", 'u'
		case 1:
			ev.Action, ev.Target, ev.CRUD = "created", "post", 'c'
		default:
			ev.Action, ev.Target = "viewed", "course_module"
		}
		ev.Anonymous = k == genAnonymous
	case genUserContext:
		ev.CourseID, ev.ContextID = c, 30000+genUser
		ev.ContextLevel, ev.ContextInstanceID = aggregation.ContextUser, genUser
		ev.Action, ev.Target = "viewed", "user_profile"
	case genSystemCourse:
		ev.CourseID, ev.ContextID, ev.ContextLevel = c, 1, aggregation.ContextSystem
		ev.Action, ev.Target = "viewed", "grade_report"
	case genBlock:
		ev.CourseID, ev.ContextID = c, 80000+c
		ev.ContextLevel, ev.ContextInstanceID = aggregation.ContextBlock, 900+c
		ev.Action, ev.Target = "viewed", "block"
	case genCategory:
		ev.CourseID, ev.ContextID = c, 40001
		ev.ContextLevel, ev.ContextInstanceID = aggregation.ContextCourseCat, 1
		ev.Action, ev.Target = "viewed", "course_category"
	case genSiteDashboard:
		ev.ContextID = 30000 + genUser
		ev.ContextLevel, ev.ContextInstanceID = aggregation.ContextUser, genUser
		ev.Action, ev.Target = "viewed", "dashboard"
		ev.EventName = `\core\event\dashboard_viewed`
	case genGraded:
		courseRow()
		ev.Action, ev.Target, ev.CRUD, ev.EduLevel = "graded", "user", 'u', 1
		ev.EventName = `\core\event\user_graded`
	case genFailedLogin:
		ev.ContextID, ev.ContextLevel = 1, aggregation.ContextSystem
		ev.Action, ev.Target = "failed", "user_login"
		ev.EventName = `\core\event\user_login_failed`
	case genCLI:
		courseRow()
		ev.Origin, ev.Action, ev.Target, ev.CRUD = "cli", "updated", "course", 'u'
	case genRestore:
		courseRow()
		ev.Origin, ev.Action, ev.Target, ev.CRUD = "restore", "restored", "course", 'c'
	case genLoginAs:
		courseRow()
		ev.RealUserID = 2
	}
	return ev
}

// genEvents returns n events of user genUser in (time, id) order,
// deterministic for the seed.
func genEvents(seed uint64, n int) []aggregation.Event {
	return genStream(rand.New(rand.NewPCG(seed, 0x75736573)), n)
}

// genStream draws n events of user genUser in (time, id) order from r.
func genStream(r *rand.Rand, n int) []aggregation.Event {
	evs := make([]aggregation.Event, 0, n)
	t, id := int64(genStart)+r.Int64N(86400), 1+r.Int64N(1000)
	course := genCourses[r.IntN(len(genCourses))]
	for i := range n {
		if i > 0 {
			t += genGap(r)
		}
		if r.IntN(5) == 0 { // interleave courses
			course = genCourses[r.IntN(len(genCourses))]
		}
		ev := genEvent(r, genPickKind(r), course, t)
		ev.ID = id
		id += 1 + r.Int64N(3) // ids increase, with holes
		evs = append(evs, ev)
	}
	return evs
}

// The generator is ordered, deterministic and covers every kind of row, gap
// class and course the properties rely on.
func TestGenStream(t *testing.T) {
	a, b := genEvents(42, 500), genEvents(42, 500)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatal("genEvents is not deterministic")
	}
	if fmt.Sprint(genEvents(43, 500)) == fmt.Sprint(a) {
		t.Fatal("genEvents ignores its seed")
	}
	kinds := map[string]int{}
	courses := map[int64]int{}
	var sameSecond, atThreshold, days, deletedNoCM, captured int
	for seed := range uint64(50) {
		evs := genEvents(seed, 400)
		for i := range evs {
			ev := &evs[i]
			if ev.UserID != genUser {
				t.Fatalf("seed %d: event %d of user %d", seed, ev.ID, ev.UserID)
			}
			if i > 0 {
				if !evs[i-1].Before(ev) {
					t.Fatalf("seed %d: event %d not after event %d", seed, ev.ID, evs[i-1].ID)
				}
				switch gap := ev.Time - evs[i-1].Time; {
				case gap == 0:
					sameSecond++
				case gap >= 86400:
					days++
				case gap == 3601 || gap == 1799 || gap == 119:
					atThreshold++
				}
			}
			courses[ev.CourseID]++
			switch {
			case ev.Action == "loggedin":
				kinds["login"]++
			case ev.Action == "loggedout":
				kinds["logout"]++
			case ev.Action == "graded" && ev.Target == "user":
				kinds["graded"]++
			case ev.Action == "failed":
				kinds["failed"]++
			case ev.Origin != "web":
				kinds[ev.Origin]++
			case ev.RealUserID != 0:
				kinds["login-as"]++
			case ev.Anonymous:
				kinds["anonymous"]++
			case ev.CourseID == 0:
				kinds["site-other"]++
			default:
				kinds[fmt.Sprint("level ", ev.ContextLevel)]++
			}
			if ev.ContextLevel == aggregation.ContextModule && ev.CMID == 0 {
				deletedNoCM++
			}
			if ev.ModuleType == "learningtimecheck" {
				captured++
			}
		}
	}
	for _, k := range []string{"login", "logout", "graded", "failed", "cli", "restore", "login-as", "anonymous",
		"site-other", "level 10", "level 30", "level 40", "level 50", "level 70", "level 80"} {
		if kinds[k] == 0 {
			t.Errorf("no %s rows generated (%v)", k, kinds)
		}
	}
	for _, c := range append([]int64{0}, genCourses...) {
		if courses[c] == 0 {
			t.Errorf("no rows of course %d generated", c)
		}
	}
	if sameSecond == 0 || atThreshold == 0 || days == 0 || deletedNoCM == 0 || captured == 0 {
		t.Errorf("same-second %d, at-threshold %d, day gaps %d, deleted without cmid %d, learningtimecheck %d: each must be > 0",
			sameSecond, atThreshold, days, deletedNoCM, captured)
	}
}
