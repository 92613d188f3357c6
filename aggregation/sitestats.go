package aggregation

import (
	"cmp"
	"context"
	"maps"
	"slices"
)

// SiteStats sums up many users' time over the whole site: every user the
// directory lists, or a cohort's members.
type SiteStats struct {
	SiteAggregate
	// Mean, Median and P90 describe the active users' totals (seconds),
	// as CourseAggregate's describe a course's learners (nearest rank).
	Mean   float64
	Median int64
	P90    int64
	// Days sums the users' days (Result.Days), in day order: the input of
	// Series.
	Days []DayStat
	// Hours sums the users' hours (Result.Hours), in hour order: the
	// input of SeriesOfHours and HeatmapOfHours.
	Hours []HourStat
}

// SiteStats answers the query for every user users lists (or, with a
// cohort, the cohort's members: see SiteUsers) and sums them up, keeping
// the top courses (top ≤ 0: none). It answers SiteUsersBatch users at a
// time and keeps of each only its totals: memory grows with the users'
// count by one int64 each, and with the courses and days, not with the
// Results.
func (s *Service) SiteStats(ctx context.Context, users UserLister, q Query, cohort int64, top int) (SiteStats, error) {
	q, err := s.normalize(q)
	if err != nil {
		return SiteStats{}, err
	}
	next, err := s.siteUserSource(ctx, users, cohort, UserFilter{})
	if err != nil {
		return SiteStats{}, err
	}
	out := SiteStats{SiteAggregate: SiteAggregate{Courses: map[int64]CourseTotal{}}}
	days := map[Day]*Stat{}
	hours := map[Hour]*HourStat{}
	var totals []int64
	ids := make([]int64, 0, SiteUsersBatch)
	err = eachBatch(ctx, next, func(b []UserInfo) error {
		ids = ids[:0]
		for _, u := range b {
			ids = append(ids, u.ID)
		}
		results, err := s.Users(ctx, ids, q)
		if err != nil {
			return err
		}
		batch := make([]*Result, len(ids))
		for i, id := range ids {
			r := results[id]
			batch[i] = r
			if r == nil {
				continue
			}
			if r.Total.Elapsed > 0 {
				totals = append(totals, r.Total.Elapsed)
			}
			for _, d := range r.Days {
				st := days[d.Day]
				if st == nil {
					st = &Stat{}
					days[d.Day] = st
				}
				st.Merge(d.Stat)
			}
			for _, h := range r.Hours {
				hs := hours[h.Hour]
				if hs == nil {
					hs = &HourStat{Hour: h.Hour}
					hours[h.Hour] = hs
				}
				hs.Elapsed += h.Elapsed
				hs.Events += h.Events
			}
		}
		out.merge(AggregateSite(batch, 0))
		return nil
	})
	if err != nil {
		return SiteStats{}, err
	}
	out.TopCourses = topCourses(out.Courses, top)
	out.Mean, out.Median, out.P90 = describeTotals(totals)
	for _, d := range slices.Sorted(maps.Keys(days)) {
		out.Days = append(out.Days, DayStat{Day: d, Stat: *days[d]})
	}
	for _, h := range slices.Sorted(maps.Keys(hours)) {
		out.Hours = append(out.Hours, *hours[h])
	}
	return out, nil
}

// merge adds another batch's aggregate.
func (s *SiteStats) merge(b SiteAggregate) {
	s.Population += b.Population
	s.ActiveUsers += b.ActiveUsers
	s.Total.Merge(b.Total)
	s.Site.Merge(b.Site)
	for id, c := range b.Courses {
		t := s.Courses[id]
		t.CourseID = id
		t.Merge(c.Stat)
		t.ActiveLearners += c.ActiveLearners
		s.Courses[id] = t
	}
}

// topCourses returns the courses with the most time (Elapsed > 0), most
// first, ties by id, at most top of them.
func topCourses(courses map[int64]CourseTotal, top int) []CourseTotal {
	if top <= 0 {
		return nil
	}
	var out []CourseTotal
	for _, c := range courses {
		if c.Elapsed > 0 {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(x, y CourseTotal) int {
		return cmp.Or(cmp.Compare(y.Elapsed, x.Elapsed), cmp.Compare(x.CourseID, y.CourseID))
	})
	return slices.Clip(out[:min(top, len(out))])
}
