package aggregation

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// userTotals is what an answer over many users keeps of one user's
// answer: its totals overall, on the site, per course, per day and per
// hour. It is built from a Result (totalsOfResult) or, without building
// one, from the user's stored days' summaries (totalsOfSummaries); both
// give equal totals for equal days.
type userTotals struct {
	Total, Site Stat
	Courses     []PlaceTotal // by course id; Site is false
	Days        []DayStat    // by day
	Hours       []HourStat   // by hour
}

// totalsOfResult keeps r's totals (r's slices are shared, never changed).
func totalsOfResult(r *Result) *userTotals {
	t := &userTotals{Total: r.Total, Site: r.Site, Days: r.Days, Hours: r.Hours}
	t.Courses = make([]PlaceTotal, len(r.Courses))
	for i := range r.Courses {
		t.Courses[i] = PlaceTotal{CourseID: r.Courses[i].CourseID, Stat: r.Courses[i].Total}
	}
	return t
}

// totalsOfSummaries sums the user's stored days from day first on, as
// UserResult sums their cells.
func totalsOfSummaries(u *UserSummaries, first Day) *userTotals {
	t := &userTotals{}
	for i := range u.Days {
		d := &u.Days[i]
		if d.Day < first {
			continue
		}
		if len(d.Places) > 0 {
			ds := DayStat{Day: d.Day}
			for j := range d.Places {
				p := &d.Places[j]
				ds.addStat(&p.Stat)
				t.Total.addStat(&p.Stat)
				if p.Site {
					t.Site.addStat(&p.Stat)
					continue
				}
				k, found := slices.BinarySearchFunc(t.Courses, p.CourseID, func(c PlaceTotal, id int64) int { return cmp.Compare(c.CourseID, id) })
				if !found {
					t.Courses = slices.Insert(t.Courses, k, PlaceTotal{CourseID: p.CourseID})
				}
				t.Courses[k].addStat(&p.Stat)
			}
			t.Days = append(t.Days, ds)
		}
		for _, h := range d.Hours {
			k, found := slices.BinarySearchFunc(t.Hours, h.Hour, func(s HourStat, hr Hour) int { return cmp.Compare(s.Hour, hr) })
			if !found {
				t.Hours = slices.Insert(t.Hours, k, HourStat{Hour: h.Hour})
			}
			t.Hours[k].Elapsed += h.Elapsed
			t.Hours[k].Events += h.Events
		}
	}
	slices.SortFunc(t.Days, func(a, b DayStat) int { return cmp.Compare(a.Day, b.Day) })
	return t
}

// totals answers a normalized query for the users (sorted, distinct) as
// their totals. A user whose answer the stored days give alone — the
// policy compiled, the window's partial days and the time after the
// user's horizon empty in the log, no SCORM activity when the policy has
// the SCORM layer, nothing the enrolment filter would cut — is answered
// from the days' summaries, without reading or building its cells and
// sessions; every other user in full (Users). The totals are the same
// either way.
func (s *Service) totals(ctx context.Context, ids []int64, q Query) (map[int64]*userTotals, error) {
	out := make(map[int64]*userTotals, len(ids))
	full, err := s.summaryTotals(ctx, ids, q, out)
	if err != nil {
		return nil, err
	}
	if len(full) == 0 {
		return out, nil
	}
	results, err := s.Users(ctx, full, q)
	if err != nil {
		return nil, err
	}
	for _, id := range full {
		if r := results[id]; r != nil {
			out[id] = totalsOfResult(r)
		} else {
			out[id] = &userTotals{}
		}
	}
	return out, nil
}

// summaryTotals fills out with the users the summaries answer and returns
// the others.
func (s *Service) summaryTotals(ctx context.Context, ids []int64, q Query, out map[int64]*userTotals) ([]int64, error) {
	sr, ok := s.cfg.Rollups.(RollupSummaryReader)
	if !ok || q.Live || q.Window.CourseFrom != nil {
		return ids, nil
	}
	from, to, need := rollupDays(q.Window, s.cfg.Location)
	if !need {
		return ids, nil
	}
	key := CompileKeyOf(PolicyRef{Name: q.Policy.Name, Version: q.Policy.Version}, s.cfg.Location)
	sums, ok, err := sr.RollupSummaries(ctx, key, ids, from, to)
	if err != nil {
		return nil, fmt.Errorf("reading rollup summaries: %w", err)
	}
	if !ok {
		return ids, nil
	}
	starts, err := s.courseStarts(ctx, ids, q)
	if err != nil {
		return nil, err
	}
	var full, candidates []int64
	plans := make(map[int64]plan, len(ids))
	for _, id := range ids {
		u := sums[id]
		if u == nil || u.Partial || s.scormOn(q) && u.scorm() || u.filteredOut(starts[id]) {
			full = append(full, id)
			continue
		}
		pl := planFor(q.Window, u.Horizon, u.From, s.cfg.Location)
		if !pl.rollups {
			full = append(full, id)
			continue
		}
		plans[id] = pl
		candidates = append(candidates, id)
	}
	// The partial days and the time after the horizon: when the log has
	// nothing there for a user, the stored days answer alone.
	behind := q.Policy.joinBehind()
	heads, err := s.liveParts(ctx, candidates, q, starts, func(id int64) *Window { return plans[id].head }, behind)
	if err != nil {
		return nil, err
	}
	tails, err := s.liveParts(ctx, candidates, q, starts, func(id int64) *Window { return plans[id].tail }, behind)
	if err != nil {
		return nil, err
	}
	for _, id := range candidates {
		if h, t := heads[id], tails[id]; h != nil && !h.empty() || t != nil && !t.empty() {
			full = append(full, id)
			continue
		}
		u := sums[id]
		first := minDay
		if u.From != 0 {
			first = dayOf(u.From, s.cfg.Location)
		}
		out[id] = totalsOfSummaries(u, first)
	}
	slices.Sort(full)
	return full, nil
}

// scorm reports whether a stored day has a SCORM activity.
func (u *UserSummaries) scorm() bool {
	return slices.ContainsFunc(u.Days, func(d DaySummary) bool { return d.Scorm })
}

// filteredOut is filteredOut of the days' summaries: a course's counted
// event before the user's start in it.
func (u *UserSummaries) filteredOut(courseFrom map[int64]int64) bool {
	if len(courseFrom) == 0 {
		return false
	}
	for i := range u.Days {
		for _, p := range u.Days[i].Places {
			if p.Site {
				continue
			}
			if start, ok := courseFrom[p.CourseID]; ok && p.Events > 0 && p.FirstAccess < start {
				return true
			}
		}
	}
	return false
}
