package aggregation_test

import (
	"context"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// The site's stats are the sum of its users' own answers, over the whole
// site (more than two batches) and over a cohort; the days sum to the
// total and the top courses are the courses' totals, most first.
func TestSiteStats(t *testing.T) {
	f := newSiteFixture(t)
	ctx := context.Background()
	res, err := f.svc.Users(ctx, f.ids, f.q)
	if err != nil {
		t.Fatal(err)
	}
	f.log.maxBatch = 0 // the reference's own read is not the stats'
	for _, cohort := range []int64{0, 4} {
		members := f.ids
		if cohort != 0 {
			members = nil
			for _, id := range f.ids {
				if id%3 == 0 {
					members = append(members, id)
				}
			}
		}
		var want aggregation.Stat
		active := 0
		var totals []int64
		courses := map[int64]int64{}
		for _, id := range members {
			r := res[id]
			want.Merge(r.Total)
			if r.Total.Elapsed > 0 {
				active++
				totals = append(totals, r.Total.Elapsed)
			}
			for _, c := range r.Courses {
				courses[c.CourseID] += c.Total.Elapsed
			}
		}
		got, err := f.svc.SiteStats(ctx, f.dir, f.q, cohort, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got.Total != want || got.Population != len(members) || got.ActiveUsers != active {
			t.Fatalf("cohort %d: %+v over %d (%d active), want %+v over %d (%d)", cohort, got.Total, got.Population, got.ActiveUsers, want, len(members), active)
		}
		slices.Sort(totals)
		if got.Median != totals[(len(totals)+1)/2-1] || got.P90 != totals[(len(totals)*9+9)/10-1] {
			t.Errorf("cohort %d: median %d p90 %d", cohort, got.Median, got.P90)
		}
		var days int64
		for i, d := range got.Days {
			days += d.Elapsed
			if i > 0 && d.Day <= got.Days[i-1].Day {
				t.Fatalf("days out of order at %d", i)
			}
		}
		if days != want.Elapsed {
			t.Errorf("cohort %d: days sum to %d, total %d", cohort, days, want.Elapsed)
		}
		var hours int64
		for i, h := range got.Hours {
			hours += h.Elapsed
			if i > 0 && h.Hour <= got.Hours[i-1].Hour {
				t.Fatalf("hours out of order at %d", i)
			}
		}
		if hours != want.Elapsed {
			t.Errorf("cohort %d: hours sum to %d, total %d", cohort, hours, want.Elapsed)
		}
		for id, total := range courses {
			if got.Courses[id].Elapsed != total {
				t.Errorf("cohort %d course %d: %d, want %d", cohort, id, got.Courses[id].Elapsed, total)
			}
		}
		if len(got.TopCourses) != min(3, len(courses)) {
			t.Fatalf("top courses %+v", got.TopCourses)
		}
		for i := 1; i < len(got.TopCourses); i++ {
			if got.TopCourses[i].Elapsed > got.TopCourses[i-1].Elapsed {
				t.Errorf("top courses out of order: %+v", got.TopCourses)
			}
		}
		if f.log.maxBatch > aggregation.SiteUsersBatch {
			t.Errorf("a batch of %d users", f.log.maxBatch)
		}
	}
	if _, err := f.svc.SiteStats(ctx, f.dir, f.q, 99, 3); aggregation.ErrorCode(err) != aggregation.ENotFound {
		t.Errorf("unknown cohort: %v", err)
	}
}
