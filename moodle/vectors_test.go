package moodle_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// The fixture of docs/time-engine.md §8, as Moodle rows: courses 5
// and 8; cm 101 page (section 31), 102 quiz (section 32), 103
// learningtimecheck (section 31), 201 forum (course 8, section 81); user 7
// (alice) with a course grade of 72.5 / 100 in course 5; user 8 (bob).
const (
	T0 = 1700000000 // example 1
	T1 = 1700100000 // example 2
	T2 = 1700200000 // example 3
	TV = 1700500000 // V3: rows of a deleted module
)

type logs struct {
	id   int64
	rows []seed.Row
}

func (l *logs) add(user, t, course, ctxID, level, instance int64, eventname, component, action, target string) {
	l.id++
	r := seed.Defaults[seed.Log]()
	r.ID, r.UserID, r.TimeCreated = l.id, user, t
	r.CourseID = seed.Some(course)
	r.ContextID, r.ContextLevel, r.ContextInstanceID = ctxID, level, instance
	r.EventName, r.Component, r.Action, r.Target = eventname, component, action, target
	r.CRUD, r.EduLevel = "r", 2
	r.Origin, r.IP = seed.Some("web"), seed.Some("192.0.2.7")
	l.rows = append(l.rows, r)
}

func (l *logs) login(user, t int64) {
	l.add(user, t, 0, 1, 10, 0, `\core\event\user_loggedin`, "core", "loggedin", "user")
}
func (l *logs) logout(user, t int64) {
	l.add(user, t, 0, 1, 10, 0, `\core\event\user_loggedout`, "core", "loggedout", "user")
}
func (l *logs) course(user, t, course int64) {
	l.add(user, t, course, 50+course, 50, course, `\core\event\course_viewed`, "core", "viewed", "course")
}
func (l *logs) graded(user, t, course int64) {
	l.add(user, t, course, 50+course, 50, course, `\core\event\user_graded`, "core", "graded", "user")
}
func (l *logs) module(user, t, course, cm int64, typ, action, target string) {
	l.add(user, t, course, 600+cm, 70, cm, `\mod_`+typ+`\event\course_module_viewed`, "mod_"+typ, action, target)
}
func (l *logs) view(user, t, course, cm int64, typ string) {
	l.module(user, t, course, cm, typ, "viewed", "course_module")
}
func (l *logs) profile(user, t, course int64) {
	l.add(user, t, course, 3000+user, 30, user, `\core\event\user_profile_viewed`, "core", "viewed", "user_profile")
}

func vectorRows() []seed.Row {
	var rows []seed.Row
	for _, u := range []struct {
		id          int64
		name, first string
	}{{7, "alice", "Alice"}, {8, "bob", "Bob"}} {
		r := seed.Defaults[seed.User]()
		r.ID, r.Username, r.FirstName, r.LastName, r.MnetHostID = u.id, u.name, u.first, "Liddell", 1
		r.Email, r.IDNumber = u.name+"@example.test", "ID-"+u.name
		rows = append(rows, r)
	}
	for _, c := range []int64{5, 8} {
		r := seed.Defaults[seed.Course]()
		r.ID, r.Category = c, 1
		r.FullName, r.ShortName, r.IDNumber = "Course "+string(rune('0'+c)), "C"+string(rune('0'+c)), "CID"+string(rune('0'+c))
		rows = append(rows, r)
	}
	for _, m := range []struct {
		id   int64
		name string
	}{{1, "page"}, {2, "quiz"}, {3, "learningtimecheck"}, {4, "forum"}} {
		r := seed.Defaults[seed.Module]()
		r.ID, r.Name = m.id, m.name
		rows = append(rows, r)
	}
	for _, s := range []struct{ id, course, num int64 }{{31, 5, 1}, {32, 5, 2}, {81, 8, 1}} {
		r := seed.Defaults[seed.CourseSection]()
		r.ID, r.Course, r.Section = s.id, s.course, s.num
		rows = append(rows, r)
	}
	for _, cm := range []struct{ id, course, module, instance, section int64 }{
		{101, 5, 1, 1, 31}, {102, 5, 2, 1, 32}, {103, 5, 3, 1, 31}, {201, 8, 4, 1, 81},
	} {
		r := seed.Defaults[seed.CourseModule]()
		r.ID, r.Course, r.Module, r.Instance, r.Section = cm.id, cm.course, cm.module, cm.instance, cm.section
		r.IDNumber = seed.Some("CM" + string(rune('0'+cm.id%10)))
		rows = append(rows, r)
	}
	page := seed.Defaults[seed.Page]()
	page.ID, page.Course, page.Name = 1, 5, "Reading one"
	quiz := seed.Defaults[seed.Quiz]()
	quiz.ID, quiz.Course, quiz.Name = 1, 5, "Quiz one"
	forum := seed.Defaults[seed.Forum]()
	forum.ID, forum.Course, forum.Name = 1, 8, "Café forum"
	gi := seed.Defaults[seed.GradeItem]()
	gi.ID, gi.CourseID, gi.ItemType, gi.GradeMax = 1, seed.Some(int64(5)), "course", 100
	gg := seed.Defaults[seed.GradeGrade]()
	gg.ID, gg.ItemID, gg.UserID, gg.FinalGrade = 1, 1, 7, seed.Some(72.5)
	rows = append(rows, page, quiz, forum, gi, gg)

	var l logs
	// Example 1.
	l.login(7, T0)
	l.course(7, T0+60, 5)
	l.view(7, T0+180, 5, 101, "page")
	l.view(7, T0+780, 5, 102, "quiz")
	l.module(7, T0+1080, 5, 102, "quiz", "submitted", "attempt")
	l.graded(7, T0+1085, 5)
	l.course(7, T0+1090, 5)
	l.view(7, T0+6490, 5, 101, "page")
	l.logout(7, T0+6610)
	// Example 2.
	l.course(7, T1, 5)
	l.view(7, T1+100, 8, 201, "forum")
	l.course(7, T1+400, 8)
	l.view(7, T1+500, 5, 103, "learningtimecheck")
	l.view(7, T1+800, 5, 101, "page")
	l.course(7, T1+1000, 5)
	l.profile(7, T1+1060, 5)
	// Example 3.
	l.course(7, T2, 5)
	l.view(7, T2+3600, 5, 101, "page")
	l.view(7, T2+7201, 5, 102, "quiz")
	l.login(7, T2+7260)
	l.course(7, T2+7300, 5)
	l.view(7, T2+9700, 5, 101, "page")
	// V3: a deleted course module (no course_modules row).
	l.view(7, TV, 5, 999, "page")
	l.view(7, TV+60, 5, 999, "page")
	l.course(7, TV+90, 5)
	// Another user interleaved in time: never mixed into user 7.
	l.course(8, T0+100, 5)
	l.course(8, T0+200, 5)
	return append(rows, l.rows...)
}

func fillVectors(ctx context.Context, w *seed.Writer) error { return w.Add(ctx, vectorRows()...) }

func computeFrom(t *testing.T, src *moodle.Source, user int64, w aggregation.Window, now int64) *aggregation.Result {
	t.Helper()
	p, _ := aggregation.Preset("usestats")
	acc := aggregation.NewAccumulator(nil)
	p, err := aggregation.ComputeUser(context.Background(), src, user, p, w, now, acc)
	if err != nil {
		t.Fatal(err)
	}
	return acc.Result(user, p, w)
}

func want(t *testing.T, what string, s aggregation.Stat, elapsed, events int64) {
	t.Helper()
	if s.Elapsed != elapsed || s.Events != events {
		t.Errorf("%s = %d s / %d events, want %d / %d", what, s.Elapsed, s.Events, elapsed, events)
	}
}

func course(t *testing.T, r *aggregation.Result, id int64) *aggregation.CourseStat {
	t.Helper()
	c := r.Course(id)
	if c == nil {
		t.Fatalf("course %d missing", id)
	}
	return c
}

// The engine vectors, read through the database on every engine.
func TestVectorsThroughDatabase(t *testing.T) {
	forEachEngine(t, fillVectors, func(t *testing.T, src *moodle.Source) {
		far := int64(1_800_000_000)

		// Example 1: 2110 s, site 60, course 5 2050 (1020 course level, 1030 activities).
		r := computeFrom(t, src, 7, aggregation.Window{From: T0, To: T0 + 6610}, far)
		want(t, "ex1 total", r.Total, 2110, 7)
		want(t, "ex1 site", r.Site, 60, 1)
		c5 := course(t, r, 5)
		want(t, "ex1 course level", c5.CourseLevel, 1020, 2)
		want(t, "ex1 activities", c5.Activities, 1030, 4)
		if m := c5.Module(101); m == nil || m.Elapsed != 720 || m.Type != "page" || m.SectionID != 31 {
			t.Errorf("ex1 page 101 = %+v", m)
		}
		if len(r.Sessions) != 2 || r.Sessions[0].Elapsed != 1990 || r.Sessions[1].End != T0+6610 {
			t.Errorf("ex1 sessions = %+v", r.Sessions)
		}

		// Example 2 (B2, B7): course 5 1560, course 8 400 with the forum as an activity.
		r = computeFrom(t, src, 7, aggregation.Window{From: T1, To: T1 + 1060}, far)
		want(t, "ex2 course 5", course(t, r, 5).Total, 1560, 4)
		want(t, "ex2 course 8 activities", course(t, r, 8).Activities, 300, 1)

		// Example 3 with now = T2 + 10000: course 5 7259, site 40.
		r = computeFrom(t, src, 7, aggregation.Window{From: T2, To: T2 + 9700}, T2+10000)
		want(t, "ex3 course 5", course(t, r, 5).Total, 7259, 5)
		want(t, "ex3 site", r.Site, 40, 1)

		// B3: a window ending at row 23 takes the login after it as look-ahead.
		r = computeFrom(t, src, 7, aggregation.Window{From: T2, To: T2 + 7201}, T2+10000)
		want(t, "B3 course 5", course(t, r, 5).Total, 4559, 3)

		// V3: the deleted module keeps its cmid, type unknown, unknown section.
		r = computeFrom(t, src, 7, aggregation.Window{From: TV, To: TV + 90}, far)
		c5 = course(t, r, 5)
		if m := c5.Module(999); m == nil || m.Elapsed != 90 || m.Type != aggregation.UnknownModuleType || m.SectionID != 0 {
			t.Errorf("V3 module 999 = %+v", m)
		}
		want(t, "V3 course 5", c5.Total, 990, 3)

		// User 8's rows never reach user 7 and vice versa.
		r = computeFrom(t, src, 8, aggregation.AllTime, far)
		want(t, "user 8", r.Total, 100+900, 2)
	})
}

func TestLookups(t *testing.T) {
	forEachEngine(t, fillVectors, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		for _, c := range []struct {
			field moodle.UserField
			value string
		}{{moodle.UserByID, "7"}, {moodle.UserByUsername, "alice"}, {moodle.UserByIDNumber, "ID-alice"}, {moodle.UserByEmail, "ALICE@example.test"}} {
			u, err := src.FindUser(ctx, c.field, c.value, 0)
			if err != nil || u.ID != 7 || u.FirstName != "Alice" {
				t.Errorf("FindUser(%s, %q) = %+v, %v", c.field, c.value, u, err)
			}
		}
		if _, err := src.FindUser(ctx, moodle.UserByUsername, "alice", 2); aggregation.ErrorCode(err) != aggregation.ENotFound {
			t.Errorf("alice on host 2: err = %v, want not found", err)
		}
		if _, err := src.FindUser(ctx, moodle.UserByUsername, "nobody", 0); aggregation.ErrorCode(err) != aggregation.ENotFound {
			t.Errorf("unknown user: err = %v", err)
		}
		if _, err := src.FindUser(ctx, moodle.UserByID, "x", 0); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("bad id: err = %v", err)
		}
		for _, c := range []struct {
			field moodle.CourseField
			value string
		}{{moodle.CourseByID, "5"}, {moodle.CourseByShortName, "C5"}, {moodle.CourseByIDNumber, "CID5"}} {
			co, err := src.FindCourse(ctx, c.field, c.value)
			if err != nil || co.ID != 5 || co.FullName != "Course 5" {
				t.Errorf("FindCourse(%s, %q) = %+v, %v", c.field, c.value, co, err)
			}
		}
		if _, err := src.FindCourse(ctx, moodle.CourseByShortName, "nope"); aggregation.ErrorCode(err) != aggregation.ENotFound {
			t.Errorf("unknown course: err = %v", err)
		}
		mods, err := src.Modules(ctx, []int64{101, 102, 201, 999})
		if err != nil {
			t.Fatal(err)
		}
		if m := mods[201]; m == nil || m.Name != "Café forum" || m.Type != "forum" || m.CourseID != 8 {
			t.Errorf("module 201 = %+v", m)
		}
		if m := mods[102]; m == nil || m.Name != "Quiz one" || m.IDNumber != "CM2" {
			t.Errorf("module 102 = %+v", m)
		}
		if mods[999] != nil {
			t.Errorf("deleted module 999 resolved: %+v", mods[999])
		}
		g, ok, err := src.CourseGrade(ctx, 7, 5)
		if err != nil || !ok || g.Value == nil || *g.Value != 72.5 || g.Max != 100 {
			t.Errorf("course grade = %+v %v %v", g, ok, err)
		}
		g, ok, err = src.CourseGrade(ctx, 8, 5)
		if err != nil || !ok || g.Value != nil {
			t.Errorf("ungraded user's course grade = %+v %v %v", g, ok, err)
		}
		if _, ok, err := src.CourseGrade(ctx, 7, 8); err != nil || ok {
			t.Errorf("course without grade item: ok = %v, err = %v", ok, err)
		}
	})
}

// ScanLog reads every row by id; ScanFrom re-reads an overlap below the
// watermark and skips what was seen.
func TestScanLog(t *testing.T) {
	forEachEngine(t, fillVectors, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		var ids []int64
		high, err := src.ScanLog(ctx, 0, func(ev *aggregation.Event) bool { ids = append(ids, ev.ID); return true })
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 27 || high != 27 || ids[0] != 1 {
			t.Fatalf("scan read %d rows up to id %d", len(ids), high)
		}
		var again []int64
		high, err = src.ScanFrom(ctx, 20, 5, func(id int64) bool { return id <= 18 }, func(ev *aggregation.Event) bool {
			again = append(again, ev.ID)
			return true
		})
		if err != nil || high != 27 || len(again) != 9 || again[0] != 19 {
			t.Errorf("ScanFrom(20, overlap 5) = %v up to %d, %v; want ids 19…27", again, high, err)
		}
		n := 0
		if _, err := src.ScanLog(ctx, 0, func(*aggregation.Event) bool { n++; return n < 3 }); err != nil || n != 3 {
			t.Errorf("stopping after 3 rows read %d, %v", n, err)
		}
	})
}

// UsersEvents gives, user by user, exactly the rows UserEvents gives each
// user (decoded and resolved the same way), and ComputeUsers through it
// the same results as ComputeUser.
func TestUsersEvents(t *testing.T) {
	forEachEngine(t, fillVectors, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		for _, win := range [][2]int64{{0, 1 << 62}, {T1, T2 + 7201}, {T0 + 150, T0 + 150}} {
			var want []aggregation.Event
			for _, u := range []int64{7, 8} {
				if err := src.UserEvents(ctx, u, win[0], win[1], func(ev *aggregation.Event) bool { want = append(want, *ev); return true }); err != nil {
					t.Fatal(err)
				}
			}
			var got []aggregation.Event
			if err := src.UsersEvents(ctx, []int64{7, 8, 9}, win[0], win[1], func(ev *aggregation.Event) bool { got = append(got, *ev); return true }); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("window %v: %d rows, want %d\n got %+v\nwant %+v", win, len(got), len(want), got, want)
			}
		}
		n := 0
		if err := src.UsersEvents(ctx, []int64{7, 8}, 0, 1<<62, func(*aggregation.Event) bool { n++; return n < 4 }); err != nil || n != 4 {
			t.Errorf("stopping after 4 rows read %d, %v", n, err)
		}
		p, _ := aggregation.Preset("usestats")
		w := aggregation.Window{From: T2, To: T2 + 7201} // B3: needs look-ahead
		accs := map[int64]*aggregation.Accumulator{}
		err := aggregation.ComputeUsers(ctx, src, []int64{8, 7}, p, w, T2+10000,
			func(u int64) aggregation.Sink { accs[u] = aggregation.NewAccumulator(nil); return accs[u] },
			func(u int64, p aggregation.Policy) {
				if got, want := accs[u].Result(u, p, w), computeFrom(t, src, u, w, T2+10000); !reflect.DeepEqual(got, want) {
					t.Errorf("user %d: ComputeUsers %+v, ComputeUser %+v", u, got, want)
				}
			})
		if err != nil {
			t.Fatal(err)
		}
		if c := accs[7].Result(7, p, w).Course(5); c == nil || c.Total.Elapsed != 4559 {
			t.Errorf("B3 through ComputeUsers: %+v", c)
		}
	})
}

// The adapter refuses to write: its connections are read-only on every
// engine.
func TestReadOnly(t *testing.T) {
	forEachEngine(t, fillVectors, func(t *testing.T, src *moodle.Source) {
		_, err := src.DB().ExecContext(context.Background(), "CREATE TABLE usestats_must_not_exist (id INTEGER)")
		if err == nil {
			t.Fatal("a write through the Moodle adapter succeeded")
		}
	})
}

func TestOpenErrors(t *testing.T) {
	forEachEngine(t, fillVectors, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		if _, err := moodle.New(ctx, src.DB(), "nope_"); aggregation.ErrorCode(err) != aggregation.ENotFound {
			t.Errorf("wrong prefix: err = %v, want not found", err)
		}
		if _, err := moodle.New(ctx, src.DB(), "Bad-Prefix"); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("bad prefix: err = %v, want invalid", err)
		}
	})
	if _, err := moodle.Open(context.Background(), "oracle://x", ""); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("bad URL: err = %v", err)
	}
}
