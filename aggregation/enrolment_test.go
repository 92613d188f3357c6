package aggregation_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
)

// enrolments is an in-memory EnrolmentReader: user → course → start.
type enrolments map[int64]map[int64]int64

func (e enrolments) EnrolmentStarts(_ context.Context, ids []int64) (map[int64]map[int64]int64, error) {
	out := map[int64]map[int64]int64{}
	for _, id := range ids {
		if cf := e[id]; cf != nil {
			out[id] = cf
		}
	}
	return out, nil
}

// With the enrolment filter, answers through compiled rollups (read every
// time or cached) equal the log's for random enrolment starts: before a
// course's first event (nothing cut), inside its activity (cut: the user
// is answered from the log) or none; and the filter does cut something.
func TestPropertyEnrolmentFilterRollups(t *testing.T) {
	cuts := 0
	for seed := range 10 {
		r := propRand(seed, 'E')
		s := newCompileSite(r)
		s.log.CommitAll()
		p := preset(t, "usestats")
		p.EnrolmentFilter = true
		p, err := p.Normalize()
		if err != nil {
			t.Fatal(err)
		}
		now := s.nows[len(s.nows)-1]
		st := rolluptest.NewMemStore()
		if _, err := compileWith(s.log, st, p, nil, now).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Starts per user and course: none, before everything, or at a
		// random event of the course.
		en := enrolments{}
		for _, ev := range s.log.Visible() {
			if ev.CourseID == aggregation.SiteCourseID {
				continue
			}
			if en[ev.UserID] == nil {
				en[ev.UserID] = map[int64]int64{}
			}
			if _, ok := en[ev.UserID][ev.CourseID]; ok {
				continue
			}
			switch r.IntN(3) {
			case 0:
				en[ev.UserID][ev.CourseID] = math.MinInt64 + 1
			case 1:
				en[ev.UserID][ev.CourseID] = ev.Time + r.Int64N(3*86400)
			}
		}
		live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Enrolments: en, Now: func() int64 { return now }})
		plain, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Now: func() int64 { return now }})
		windows := s.windows(r, time.UTC)
		for _, cache := range []int64{0, 1 << 20} {
			svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: st, Enrolments: en,
				RollupCacheBytes: cache, Now: func() int64 { return now }})
			for range 2 {
				d, _, err := rolluptest.Compare(context.Background(), live, svc, s.users, p, windows)
				if err != nil {
					t.Fatal(err)
				}
				if d != "" {
					t.Fatalf("seed %d, cache %d: %s", seed, cache, d)
				}
			}
		}
		unfiltered := p
		unfiltered.EnrolmentFilter = false
		for _, id := range s.users {
			a, _ := live.User(context.Background(), id, aggregation.Query{Policy: p, Window: aggregation.AllTime})
			b, _ := plain.User(context.Background(), id, aggregation.Query{Policy: unfiltered, Window: aggregation.AllTime})
			if a.Total.Elapsed < b.Total.Elapsed {
				cuts++
			}
			if a.Total.Elapsed > b.Total.Elapsed || a.Site != b.Site {
				t.Fatalf("seed %d user %d: the filter added time or changed the site: %+v / %+v", seed, id, a.Total, b.Total)
			}
		}
	}
	if cuts == 0 {
		t.Fatal("the enrolment filter never cut anything: the test cannot tell")
	}
}

// Without an EnrolmentReader a policy with the filter is refused.
func TestEnrolmentFilterNeedsEnrolments(t *testing.T) {
	p := preset(t, "usestats")
	p.EnrolmentFilter = true
	svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(nil)})
	if _, err := svc.User(context.Background(), 7, aggregation.Query{Policy: p, Window: aggregation.AllTime}); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Fatalf("err = %v, want EInvalid", err)
	}
}

// Hand-checked: course 5's start falls after its first row, which is not
// counted (its 100 s lap is dropped) while the timeline keeps it; course 8
// has no enrolment and the site is never cut.
func TestEnrolmentFilterVectors(t *testing.T) {
	const T = 1700900000
	evs := newStream(7).login(T-50).course(T, 5).course(T+100, 5).course(T+300, 8).events
	p := preset(t, "usestats")
	p.EnrolmentFilter = true
	svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(evs),
		Enrolments: enrolments{7: {5: T + 50}}, Now: func() int64 { return far }})
	r, err := svc.User(context.Background(), 7, aggregation.Query{Policy: p, Window: aggregation.AllTime})
	if err != nil {
		t.Fatal(err)
	}
	wantStat(t, "site (never cut)", r.Site, 50, 1)
	wantStat(t, "course 5 (from its enrolment start)", mustCourse(t, r, 5).Total, 200, 1)
	wantStat(t, "course 8 (no enrolment: not cut)", mustCourse(t, r, 8).Total, 900, 1)
	wantStat(t, "total", r.Total, 1150, 3)
	if p, _ = p.Normalize(); p.Version == preset(t, "usestats").Version {
		t.Errorf("the filter does not change the policy's version %s", p.Version)
	}
}
