package resolvers

import (
	"context"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// The whole site, or a cohort, summed up (site:read only): every number
// from Service.SiteStats.

// maxTopCourses bounds UserAggregate.topCourses.
const maxTopCourses = 100

// siteOf resolves Query.site.
func (r *Resolver) siteOf(ctx context.Context) (*model.Site, error) {
	if err := needSite(ctx, "reading the whole site"); err != nil {
		return nil, err
	}
	return &model.Site{}, nil
}

// userAggregate resolves Site.stats (cohort 0) and Cohort.stats.
func (r *Resolver) userAggregate(ctx context.Context, cohort int64, rng *model.TimeRange, pol *model.PolicyInput) (*model.UserAggregate, error) {
	if err := needSite(ctx, "summing up many users"); err != nil {
		return nil, err
	}
	q, err := r.statsQuery(ctx, rng, pol, nil)
	if err != nil {
		return nil, err
	}
	st, err := r.cfg.Service.SiteStats(ctx, r.cfg.Directory, query(q), cohort, maxTopCourses)
	if err != nil {
		return nil, err
	}
	out := &model.UserAggregate{
		Users: st.Population, ActiveUsers: st.ActiveUsers,
		Total: st.Total.Elapsed, Events: int(st.Total.Events), SiteTime: st.Site.Elapsed,
		Mean: int64(st.Mean + 0.5), Median: st.Median, P90: st.P90,
		Stats: st, Query: q,
	}
	out.FirstAccess, out.LastAccess = firstLast(st.Total)
	return out, nil
}

// topCourses resolves UserAggregate.topCourses.
func topCoursesOf(a *model.UserAggregate, first *int) ([]model.CourseTotal, error) {
	n := 10
	if first != nil {
		n = *first
	}
	if n < 0 || n > maxTopCourses {
		return nil, invalid("first must be between 0 and %d (got %d)", maxTopCourses, n)
	}
	out := []model.CourseTotal{}
	for _, c := range a.Stats.TopCourses[:min(n, len(a.Stats.TopCourses))] {
		out = append(out, model.CourseTotal{CourseID: c.CourseID, Total: c.Elapsed, Events: int(c.Events), ActiveLearners: c.ActiveLearners})
	}
	return out, nil
}

// userAggregateSeries resolves UserAggregate.series.
func (r *Resolver) userAggregateSeries(a *model.UserAggregate, granularity *model.Granularity, timezone *string) ([]model.SeriesPoint, error) {
	return r.series(timeLists{days: [][]aggregation.DayStat{a.Stats.Days}, hours: [][]aggregation.HourStat{a.Stats.Hours}}, a.Query, granularity, timezone)
}

// userAggregateHeatmap resolves UserAggregate.heatmap.
func (r *Resolver) userAggregateHeatmap(a *model.UserAggregate, timezone *string) ([]model.HeatCell, error) {
	return r.heatmap([][]aggregation.HourStat{a.Stats.Hours}, timezone)
}

// userTime returns what a user's series and heat map count: all of the
// result, or only the readable courses of a restricted one.
func userTime(s *model.UserStats) timeLists {
	res, acc := s.Computation.Result, s.Computation.Access
	if acc.All {
		return timeLists{days: [][]aggregation.DayStat{res.Days}, hours: [][]aggregation.HourStat{res.Hours}}
	}
	var t timeLists
	for _, c := range res.Courses {
		if acc.Allows(c.CourseID) {
			t.days = append(t.days, c.Days)
			t.hours = append(t.hours, c.Hours)
		}
	}
	return t
}

// userSeries resolves UserStats.series.
func (r *Resolver) userSeries(s *model.UserStats, granularity *model.Granularity, timezone *string) ([]model.SeriesPoint, error) {
	return r.series(userTime(s), s.Computation.StatsQuery, granularity, timezone)
}

// userHeatmap resolves UserStats.heatmap.
func (r *Resolver) userHeatmap(s *model.UserStats, timezone *string) ([]model.HeatCell, error) {
	return r.heatmap(userTime(s).hours, timezone)
}
