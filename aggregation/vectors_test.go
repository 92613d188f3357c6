package aggregation_test

import (
	"errors"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// The vectors of docs/time-engine.md §8 under the default policy.
// Where a fix of docs/time-engine.md §7 applies, the expected numbers are the
// corrected ones and the test names the defect.

const far = 1_800_000_000 // "now far after all rows"

func example1(t0 int64) []aggregation.Event {
	return newStream(7).
		login(t0).                                    // 1
		course(t0+60, 5).                             // 2
		view(t0+180, 701).                            // 3 page 101
		view(t0+780, 702).                            // 4 quiz 102
		module(t0+1080, 702, "submitted", "attempt"). // 5 quiz 102
		graded(t0+1085, 5).                           // 6 skipped by the look-ahead
		course(t0+1090, 5).                           // 7 gap 5400 > 3600 → credit
		view(t0+6490, 701).                           // 8 page 101
		logout(t0 + 6610).                            // 9
		events
}

func TestExample1Buckets(t *testing.T) {
	const T0 = 1700000000
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far, example1(T0))

	wantStat(t, "site (login lap)", r.Site, 60, 1)
	c5 := mustCourse(t, r, 5)
	wantStat(t, "course 5 course level", c5.CourseLevel, 1020, 2)
	wantStat(t, "course 5 activities", c5.Activities, 1030, 4)
	wantStat(t, "course 5 other", c5.Other, 0, 0)
	wantStat(t, "course 5 total", c5.Total, 2050, 6)
	wantStat(t, "page 101", mustModule(t, c5, 101).Stat, 720, 2)
	wantStat(t, "quiz 102", mustModule(t, c5, 102).Stat, 310, 2)
	wantStat(t, "section 31", mustSection(t, c5, 31).Stat, 720, 2)
	wantStat(t, "section 32", mustSection(t, c5, 32).Stat, 310, 2)
	wantStat(t, "user total", r.Total, 2110, 7)
	if c5.Total.FirstAccess != T0+60 || c5.Total.LastAccess != T0+6490 {
		t.Errorf("course 5 first/last access = %d/%d, want %d/%d", c5.Total.FirstAccess, c5.Total.LastAccess, T0+60, T0+6490)
	}
	if m := mustModule(t, c5, 101); m.FirstAccess != T0+180 || m.LastAccess != T0+6490 || m.Type != "page" || m.SectionID != 31 {
		t.Errorf("page 101 = %+v", m)
	}
	// First and last IP of the course are those of its first and last
	// counted events (rows 2 and 8).
	if c5.FirstIP != "10.0.0.2" || c5.LastIP != "10.0.0.8" {
		t.Errorf("course 5 IPs = %s … %s, want 10.0.0.2 … 10.0.0.8", c5.FirstIP, c5.LastIP)
	}
}

// Sessions of example 1 as worked in docs/time-engine.md §8.1 (fixes S1–S6, B8): the
// login opens A, row 7's over-threshold gap closes it with its credit, row 8
// opens B, the logout closes B. Σ sessions = user total.
func TestExample1SessionsS2S3B8(t *testing.T) {
	const T0 = 1700000000
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far, example1(T0))
	wantSessions(t, r.Sessions, []aggregation.Session{
		{Start: T0, End: T0 + 1990, Elapsed: 1990, Events: 6, Courses: []int64{0, 5}},
		{Start: T0 + 6490, End: T0 + 6610, Elapsed: 120, Events: 1, Courses: []int64{5}},
	})
}

// Example 1, explained: the graded row is stepped over, the logout ends the
// session, every counted lap has the reason the spec gives.
func TestExample1Explain(t *testing.T) {
	const T0 = 1700000000
	x, err := aggregation.Explain(preset(t, "usestats"), aggregation.AllTime, far, example1(T0))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		id      int64
		gap     int64
		credit  int64
		reason  aggregation.Reason
		counted bool
	}
	wants := []want{
		{1, 60, 60, aggregation.ReasonGap, true},
		{2, 120, 120, aggregation.ReasonGap, true},
		{3, 600, 600, aggregation.ReasonGap, true},
		{4, 300, 300, aggregation.ReasonGap, true},
		{6, aggregation.NoGap, 0, aggregation.ReasonGraded, false},
		{5, 10, 10, aggregation.ReasonGap, true},
		{7, 5400, 900, aggregation.ReasonOverThreshold, true},
		{8, 120, 120, aggregation.ReasonGap, true},
		{9, aggregation.NoGap, 0, aggregation.ReasonLogout, false},
	}
	if len(x.Laps) != len(wants) {
		t.Fatalf("got %d laps, want %d: %+v", len(x.Laps), len(wants), x.Laps)
	}
	for i, w := range wants {
		l := x.Laps[i]
		if l.Event.ID != w.id || l.Gap != w.gap || l.Credit != w.credit || l.Reason != w.reason || l.Counted != w.counted {
			t.Errorf("lap %d = id %d gap %d credit %d %s counted %t, want id %d gap %d credit %d %s counted %t",
				i, l.Event.ID, l.Gap, l.Credit, l.Reason, l.Counted, w.id, w.gap, w.credit, w.reason, w.counted)
		}
	}
}

func example2(t1 int64) []aggregation.Event {
	return newStream(7).withID(11).
		course(t1, 5).           // 11
		view(t1+100, 801).       // 12 forum 201, course 8
		course(t1+400, 8).       // 13
		view(t1+500, 703).       // 14 learningtimecheck: captured
		view(t1+800, 701).       // 15 page 101
		course(t1+1000, 5).      // 16
		userProfile(t1+1060, 5). // 17
		events
}

// Example 2 with fixes B2 (captured time carried once, then reset) and B7
// (course 8's forum is an activity of course 8, not "out of target course").
func TestExample2CaptureB2B7(t *testing.T) {
	const T1 = 1700100000
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far, example2(T1))

	c5 := mustCourse(t, r, 5)
	wantStat(t, "course 5 course level", c5.CourseLevel, 160, 2)
	wantStat(t, "course 5 activities (page 200 + carried 300)", c5.Activities, 500, 1)
	wantStat(t, "course 5 other (user profile, last credit)", c5.Other, 900, 1)
	wantStat(t, "course 5 total (reference over-counts: 2160)", c5.Total, 1560, 4)
	wantStat(t, "page 101", mustModule(t, c5, 101).Stat, 500, 1)
	wantStat(t, "section 31", mustSection(t, c5, 31).Stat, 500, 1)
	if c5.Module(103) != nil {
		t.Errorf("captured learningtimecheck 103 must not have a bucket of its own")
	}

	c8 := mustCourse(t, r, 8)
	wantStat(t, "course 8 activities (B7)", c8.Activities, 300, 1)
	wantStat(t, "course 8 other (B7)", c8.Other, 0, 0)
	wantStat(t, "course 8 course level", c8.CourseLevel, 100, 1)
	wantStat(t, "course 8 total", c8.Total, 400, 2)
	wantStat(t, "forum 201", mustModule(t, c8, 201).Stat, 300, 1)
	wantStat(t, "user total", r.Total, 1960, 6)

	wantSessions(t, r.Sessions, []aggregation.Session{
		{Start: T1, End: T1 + 1960, Elapsed: 1960, Events: 6, Courses: []int64{5, 8}},
	})
}

func example3(t2 int64) []aggregation.Event {
	return newStream(7).withID(21).
		course(t2, 5).      // 21 gap 3600: counted in full
		view(t2+3600, 701). // 22 gap 3601 > T → credit
		view(t2+7201, 702). // 23
		login(t2+7260).     // 24
		course(t2+7300, 5). // 25
		view(t2+9700, 701). // 26 last: capped at now
		events
}

// Example 3: the threshold boundary (a gap of exactly T counts), a login
// mid-stream and the now cap of the last lap. Sessions split on the
// threshold (S2), count each event once (S3) and include the login lap (B8).
func TestExample3ThresholdNowCap(t *testing.T) {
	const T2 = 1700200000
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, T2+10000, example3(T2))

	c5 := mustCourse(t, r, 5)
	wantStat(t, "course 5 course level", c5.CourseLevel, 6000, 2)
	wantStat(t, "page 101", mustModule(t, c5, 101).Stat, 1200, 2)
	wantStat(t, "quiz 102", mustModule(t, c5, 102).Stat, 59, 1)
	wantStat(t, "site (login)", r.Site, 40, 1)
	wantStat(t, "course 5 activities", c5.Activities, 1259, 3)
	wantStat(t, "section 31", mustSection(t, c5, 31).Stat, 1200, 2)
	wantStat(t, "section 32", mustSection(t, c5, 32).Stat, 59, 1)
	wantStat(t, "course 5 total", c5.Total, 7259, 5)

	wantSessions(t, r.Sessions, []aggregation.Session{
		{Start: T2, End: T2 + 4500, Elapsed: 4500, Events: 2, Courses: []int64{5}},
		{Start: T2 + 7201, End: T2 + 7260, Elapsed: 59, Events: 1, Courses: []int64{5}},
		{Start: T2 + 7260, End: T2 + 10000, Elapsed: 2740, Events: 3, Courses: []int64{0, 5}},
	})

	// With now ≥ T2 + 10600 the last lap is the full credit.
	r = compute(t, preset(t, "usestats"), aggregation.AllTime, T2+10600, example3(T2))
	wantStat(t, "course 5 total, later now", mustCourse(t, r, 5).Total, 7859, 5)
}

// B3: the last event of a window uses the user's real next event (after
// `to`) when the caller supplies it; the credit applies only without one.
func TestLastEventUsesRealNextEventB3(t *testing.T) {
	const T2 = 1700200000
	evs := example3(T2)
	w := aggregation.Window{From: T2, To: T2 + 7201} // rows 21–23; row 24 is look-ahead
	r := compute(t, preset(t, "usestats"), w, T2+10000, evs)
	c5 := mustCourse(t, r, 5)
	wantStat(t, "quiz 102 (lap to the login after the window)", mustModule(t, c5, 102).Stat, 59, 1)
	wantStat(t, "course 5 total", c5.Total, 3600+900+59, 3)
	wantStat(t, "site (the login is after the window)", r.Site, 0, 0)

	// Without look-ahead the last event gets the credit.
	r = compute(t, preset(t, "usestats"), w, T2+10000, evs[:3])
	wantStat(t, "quiz 102 without look-ahead", mustModule(t, mustCourse(t, r, 5), 102).Stat, 900, 1)

	// The streaming form: the engine says when the look-ahead is enough.
	acc := aggregation.NewAccumulator(nil)
	e, err := aggregation.NewEngine(preset(t, "usestats"), w, acc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs[:3] {
		if err := e.Push(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if e.Done() {
		t.Fatal("engine done before the window's last event has its next event")
	}
	if err := e.Push(&evs[3]); err != nil {
		t.Fatal(err)
	}
	if !e.Done() {
		t.Fatal("engine still wants look-ahead after the next event arrived")
	}
	e.Flush(T2 + 10000)
	wantStat(t, "streamed course 5 total", acc.Result(7, e.Policy(), w).Course(5).Total, 4559, 3)
}

// V1 / B1: trailing graded rows are stepped over; the event before them is
// the last event and gets the credit (the reference gives −T).
func TestTrailingGradedB1(t *testing.T) {
	const T = 1700300000
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far,
		newStream(7).course(T, 5).graded(T+5, 5).events)
	wantStat(t, "course 5 course level", mustCourse(t, r, 5).CourseLevel, 900, 1)

	r = compute(t, preset(t, "usestats"), aggregation.AllTime, far,
		newStream(7).course(T, 5).course(T+30, 5).graded(T+35, 5).graded(T+40, 5).events)
	wantStat(t, "course 5 course level", mustCourse(t, r, 5).CourseLevel, 30+900, 2)
}

// V2 / S1: every engine has its own session state; user 8's events never
// land in user 7's session, and one engine refuses to mix users.
func TestSessionsDoNotLeakS1(t *testing.T) {
	const T = 1700400000
	p := preset(t, "usestats")
	r7 := compute(t, p, aggregation.AllTime, far, newStream(7).course(T, 5).course(T+60, 5).events)
	r8 := compute(t, p, aggregation.AllTime, far, newStream(8).course(T+1000, 5).course(T+1060, 5).events)
	wantSessions(t, r7.Sessions, []aggregation.Session{{Start: T, End: T + 960, Elapsed: 960, Events: 2, Courses: []int64{5}}})
	wantSessions(t, r8.Sessions, []aggregation.Session{{Start: T + 1000, End: T + 1960, Elapsed: 960, Events: 2, Courses: []int64{5}}})

	mixed := append(newStream(7).course(T, 5).events, newStream(8).withID(5).course(T+1000, 5).events...)
	_, err := aggregation.Compute(p, aggregation.AllTime, far, mixed)
	if aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Fatalf("mixing users: err = %v, want an invalid-input error", err)
	}
}

// V3 / B9 / B13: rows of a deleted module keep their cmid (from
// contextinstanceid) and go to an explicit unknown module and the unknown
// section; no time is lost and the sum checks hold.
func TestDeletedModuleB9B13(t *testing.T) {
	const T = 1700500000
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far,
		newStream(7).deletedModule(T, 5, 999).deletedModule(T+60, 5, 999).course(T+90, 5).events)
	c5 := mustCourse(t, r, 5)
	m := mustModule(t, c5, 999)
	wantStat(t, "deleted module 999", m.Stat, 90, 2)
	if m.Type != aggregation.UnknownModuleType {
		t.Errorf("deleted module type = %q, want %q", m.Type, aggregation.UnknownModuleType)
	}
	s := mustSection(t, c5, 0)
	wantStat(t, "unknown section", s.Stat, 90, 2)
	if !s.Unknown {
		t.Errorf("section 0 must be flagged unknown")
	}
	wantStat(t, "course 5 activities", c5.Activities, 90, 2)
	wantStat(t, "course 5 course level", c5.CourseLevel, 900, 1)
	wantStat(t, "course 5 total", c5.Total, 990, 3)
}

// B4: same-second rows are ordered by id; a stream out of (time, id) order is
// refused rather than silently giving database-order laps.
func TestSameSecondOrderB4(t *testing.T) {
	const T = 1700600000
	evs := newStream(7).course(T, 5).view(T, 701).view(T+100, 702).events
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far, evs)
	c5 := mustCourse(t, r, 5)
	wantStat(t, "course level (gap 0 to the same-second page)", c5.CourseLevel, 0, 1)
	wantStat(t, "page 101", mustModule(t, c5, 101).Stat, 100, 1)

	swapped := []aggregation.Event{evs[1], evs[0], evs[2]}
	_, err := aggregation.Compute(preset(t, "usestats"), aggregation.AllTime, far, swapped)
	if aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Fatalf("out-of-order ids: err = %v, want invalid", err)
	}
	aggregation.SortEvents(swapped)
	r2 := compute(t, preset(t, "usestats"), aggregation.AllTime, far, swapped)
	wantStat(t, "sorted stream course 5 total", mustCourse(t, r2, 5).Total, mustCourse(t, r, 5).Total.Elapsed, 3)
}

// B5: a per-course window start (enrolment filter) hides that course's early
// rows without cutting the cross-course timeline.
func TestCourseWindowStartB5(t *testing.T) {
	const T = 1700700000
	evs := newStream(7).course(T, 8).course(T+100, 5).course(T+300, 8).course(T+400, 5).events
	w := aggregation.AllTime
	w.CourseFrom = map[int64]int64{5: T + 200}
	r := compute(t, preset(t, "usestats"), w, far, evs)
	wantStat(t, "course 8 (gaps measured to course 5's rows)", mustCourse(t, r, 8).Total, 100+100, 2)
	wantStat(t, "course 5 (row before its start not counted)", mustCourse(t, r, 5).Total, 900, 1)
}

// B15: one defaults table; an unset policy is an error, never threshold 0.
func TestDefaultsB15(t *testing.T) {
	p := preset(t, aggregation.DefaultPolicy)
	if p.Threshold != 3600 || p.Credit != 900 || p.Name != "usestats" {
		t.Fatalf("default policy = %+v, want usestats with 3600/900", p)
	}
	_, err := aggregation.NewEngine(aggregation.Policy{}, aggregation.AllTime, &aggregation.Explainer{})
	if aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Fatalf("zero policy: err = %v, want invalid", err)
	}
}

// S4: a login in the same second as the previous session's start still opens
// its own session; S5: a one-event session with time is kept.
func TestSameSecondLoginS4S5(t *testing.T) {
	const T = 1700800000
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far,
		newStream(7).login(T).login(T).course(T+10, 5).events)
	wantSessions(t, r.Sessions, []aggregation.Session{
		{Start: T, End: T, Elapsed: 0, Events: 1, Courses: []int64{0}},
		{Start: T, End: T + 910, Elapsed: 910, Events: 2, Courses: []int64{0, 5}},
	})
	r = compute(t, preset(t, "usestats"), aggregation.AllTime, far, newStream(7).course(T, 5).events)
	wantSessions(t, r.Sessions, []aggregation.Session{{Start: T, End: T + 900, Elapsed: 900, Events: 1, Courses: []int64{5}}})
}

// Event hygiene: cli and restore origins, failed logins, login-as, anonymous
// rows and site rows other than login/logout are not activity; they neither
// count nor end a gap.
func TestHygiene(t *testing.T) {
	const T = 1700900000
	s := newStream(7).course(T, 5)
	s.add(aggregation.Event{Time: T + 10, CourseID: 5, ContextLevel: 50, Action: "viewed", Target: "course", Origin: "cli"})
	s.add(aggregation.Event{Time: T + 20, CourseID: 5, ContextLevel: 50, Action: "restored", Target: "course", Origin: "restore"})
	s.add(aggregation.Event{Time: T + 30, ContextLevel: 10, Action: "failed", Target: "user_login"})
	s.add(aggregation.Event{Time: T + 40, CourseID: 5, ContextLevel: 50, Action: "viewed", Target: "course", RealUserID: 2})
	s.add(aggregation.Event{Time: T + 50, CourseID: 5, ContextLevel: 70, ContextInstanceID: 101, CMID: 101, ModuleType: "feedback", Action: "viewed", Target: "course_module", Anonymous: true})
	s.add(aggregation.Event{Time: T + 60, ContextLevel: 30, Action: "viewed", Target: "dashboard"})
	s.course(T+100, 5)
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far, s.events)
	wantStat(t, "course 5", mustCourse(t, r, 5).Total, 100+900, 2)
	wantStat(t, "site", r.Site, 0, 0)

	x, err := aggregation.Explain(preset(t, "usestats"), aggregation.AllTime, far, s.events)
	if err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for _, l := range x.Laps {
		if l.Reason == aggregation.ReasonDropped {
			dropped++
			if l.Counted || l.Detail == "" {
				t.Errorf("dropped lap %+v must be uncounted and say why", l)
			}
		}
	}
	if dropped != 6 {
		t.Errorf("explain lists %d dropped rows, want 6", dropped)
	}

	// A policy may count site rows: the dashboard view then gets its lap.
	p := preset(t, "usestats")
	p.Name, p.Site = "custom", aggregation.SiteAll
	r = compute(t, p, aggregation.AllTime, far, s.events)
	wantStat(t, "site with SiteAll", r.Site, 40, 1)
}

// Ignored modules lose their time; the lap before them is unaffected.
func TestIgnoreList(t *testing.T) {
	const T = 1701000000
	p := preset(t, "usestats")
	p.Name, p.Ignore = "", []string{"quiz"}
	r := compute(t, p, aggregation.AllTime, far, newStream(7).course(T, 5).view(T+60, 702).view(T+160, 701).events)
	c5 := mustCourse(t, r, 5)
	wantStat(t, "course level", c5.CourseLevel, 60, 1)
	if c5.Module(102) != nil {
		t.Errorf("ignored quiz has a bucket")
	}
	wantStat(t, "total", c5.Total, 60+900, 2)
	if r.Policy.Name != "custom" || len(r.Policy.Version) != 16 {
		t.Errorf("custom policy identity = %+v", r.Policy)
	}
}

func TestSplitOnCourse(t *testing.T) {
	const T = 1701100000
	p := preset(t, "usestats")
	p.Name, p.SplitOnCourse = "", true
	r := compute(t, p, aggregation.AllTime, far, newStream(7).login(T).course(T+10, 5).course(T+20, 8).course(T+30, 8).events)
	wantSessions(t, r.Sessions, []aggregation.Session{
		{Start: T, End: T + 20, Elapsed: 20, Events: 2, Courses: []int64{0, 5}},
		{Start: T + 20, End: T + 930, Elapsed: 910, Events: 2, Courses: []int64{8}},
	})
}

func TestEngineMisuse(t *testing.T) {
	if _, err := aggregation.NewEngine(preset(t, "usestats"), aggregation.Window{From: 10, To: 5}, &aggregation.Explainer{}); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("to < from: err = %v", err)
	}
	if _, err := aggregation.NewEngine(preset(t, "usestats"), aggregation.AllTime, nil); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("nil sink: err = %v", err)
	}
	e, err := aggregation.NewEngine(preset(t, "usestats"), aggregation.AllTime, &aggregation.Explainer{})
	if err != nil {
		t.Fatal(err)
	}
	e.Flush(far)
	ev := newStream(7).course(1, 5).events[0]
	var ae *aggregation.Error
	if err := e.Push(&ev); !errors.As(err, &ae) || ae.Code != aggregation.EInvalid {
		t.Errorf("push after flush: err = %v", err)
	}
	if _, err := aggregation.Preset("nope"); aggregation.ErrorCode(err) != aggregation.ENotFound {
		t.Errorf("unknown preset: err = %v", err)
	}
}
