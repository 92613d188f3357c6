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
	var elapsed []int64
	err = s.eachTotals(ctx, next, q, false, func(_ []UserInfo, totals map[int64]*userTotals) error {
		out.Population += len(totals)
		for _, t := range totals {
			if t.Total.Elapsed > 0 {
				elapsed = append(elapsed, t.Total.Elapsed)
			}
			for _, d := range t.Days {
				st := days[d.Day]
				if st == nil {
					st = &Stat{}
					days[d.Day] = st
				}
				st.Merge(d.Stat)
			}
			for _, h := range t.Hours {
				hs := hours[h.Hour]
				if hs == nil {
					hs = &HourStat{Hour: h.Hour}
					hours[h.Hour] = hs
				}
				hs.Elapsed += h.Elapsed
				hs.Events += h.Events
			}
			out.addUser(t)
		}
		return nil
	})
	if err != nil {
		return SiteStats{}, err
	}
	out.TopCourses = topCourses(out.Courses, top)
	out.Mean, out.Median, out.P90 = describeTotals(elapsed)
	for _, d := range slices.Sorted(maps.Keys(days)) {
		out.Days = append(out.Days, DayStat{Day: d, Stat: *days[d]})
	}
	for _, h := range slices.Sorted(maps.Keys(hours)) {
		out.Hours = append(out.Hours, *hours[h])
	}
	return out, nil
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
