package aggregation_test

import (
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// docs/time-engine.md §8.5: one learner clicks at minutes 0, 2, 5, 9, 30, 33 and
// 34, then once more at minute 214. Each peer's rule, built as a preset (or,
// for local_timespent, field by field), gives the published minutes.
func TestPeersWorkedExample(t *testing.T) {
	const T = 1702000000
	s := newStream(7)
	for _, m := range []int64{0, 2, 5, 9, 30, 33, 34, 214} {
		s.course(T+m*60, 5)
	}

	localTimespent := aggregation.Policy{
		Threshold: 15 * 60, Credit: 450, // 15 min timeout, +7.5 min per session
		Attribution: aggregation.Forward, Timeline: aggregation.PerCourse,
		KeepFailed: true, KeepLoginAs: true, KeepAnonymous: true,
		Site: aggregation.SiteNone,
	}
	cases := []struct {
		name    string
		policy  aggregation.Policy
		minutes float64
	}{
		{"usestats", preset(t, "usestats"), 64},
		{"dedication", preset(t, "dedication"), 34},
		{"attendanceregister", preset(t, "attendanceregister"), 64},
		{"canvas", preset(t, "canvas"), 12},
		{"edx5", preset(t, "edx5"), 13},
		{"edx30", preset(t, "edx30"), 34},
		{"local_timespent (custom)", localTimespent, 35.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := compute(t, c.policy, aggregation.AllTime, far, s.events)
			if got := float64(r.Total.Elapsed) / 60; got != c.minutes {
				t.Errorf("%s: %.1f min, want %.1f", c.name, got, c.minutes)
			}
			var sessions int64
			for _, ss := range r.Sessions {
				sessions += ss.Elapsed
			}
			if sessions != r.Total.Elapsed {
				t.Errorf("%s: Σ sessions %d s ≠ total %d s", c.name, sessions, r.Total.Elapsed)
			}
		})
	}
}

// Dedication drops sessions not longer than a minute: the lone click at
// minute 214 is a 0 s session, and a 50 s two-click visit is dropped too.
func TestDedicationMinSession(t *testing.T) {
	const T = 1702100000
	s := newStream(7).course(T, 5).course(T+50, 5).course(T+5000, 5).course(T+5070, 5)
	r := compute(t, preset(t, "dedication"), aggregation.AllTime, far, s.events)
	wantStat(t, "course 5", mustCourse(t, r, 5).Total, 70, 2)
	wantSessions(t, r.Sessions, []aggregation.Session{{Start: T + 5000, End: T + 5070, Elapsed: 70, Events: 2, Courses: []int64{5}}})
}

// Dedication and Canvas keep one timeline per course: interleaved courses
// are each measured to their own next click (so they may overlap).
func TestPerCourseTimeline(t *testing.T) {
	const T = 1702200000
	s := newStream(7).course(T, 5).course(T+100, 8).course(T+200, 5).course(T+300, 8)
	r := compute(t, preset(t, "dedication"), aggregation.AllTime, far, s.events)
	wantStat(t, "course 5", mustCourse(t, r, 5).Total, 200, 2)
	wantStat(t, "course 8", mustCourse(t, r, 8).Total, 200, 2)
	wantStat(t, "user total (overlapping courses)", r.Total, 400, 4)
}
