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
	// scorm: the time in each SCORM activity (summed over the days, by
	// course and cm), until the SCORM layer is applied (summaries only).
	scorm []ScormTime
}

// slim drops all but Total and Site.
func (t *userTotals) slim() { *t = userTotals{Total: t.Total, Site: t.Site} }

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
		for _, m := range d.Scorm {
			k, found := slices.BinarySearchFunc(t.scorm, m, compareScorm)
			if !found {
				t.scorm = slices.Insert(t.scorm, k, ScormTime{CourseID: m.CourseID, CMID: m.CMID})
			}
			t.scorm[k].Elapsed += m.Elapsed
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
// user's horizon empty in the log, nothing the enrolment filter would cut
// — is answered from the days' summaries (and the SCORM layer, which
// needs only each SCORM activity's time), without reading or building
// its cells and sessions; every other user in full (Users). The totals
// are the same either way.
//
// With slim, only Total and Site are kept of each user (SiteUsers' rows
// need no more): a batch then holds a few words a user.
func (s *Service) totals(ctx context.Context, ids []int64, q Query, slim bool) (map[int64]*userTotals, error) {
	out := make(map[int64]*userTotals, len(ids))
	full, err := s.summaryTotals(ctx, ids, q, out)
	if err != nil {
		return nil, err
	}
	if slim {
		for _, t := range out {
			t.slim()
		}
	}
	if len(full) == 0 {
		return out, nil
	}
	// A few full answers at a time: only their totals are kept.
	for chunk := range slices.Chunk(full, fullAnswersAtOnce) {
		results, err := s.Users(ctx, chunk, q)
		if err != nil {
			return nil, err
		}
		for _, id := range chunk {
			t := &userTotals{}
			if r := results[id]; r != nil {
				t = totalsOfResult(r)
			}
			if slim {
				t.slim()
			}
			out[id] = t
		}
	}
	return out, nil
}

// fullAnswersAtOnce is how many users' full answers (Results) totals
// holds at a time.
const fullAnswersAtOnce = 250

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
		if u == nil || u.Partial || u.filteredOut(starts[id]) {
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
	if s.scormOn(q) {
		if err := s.scormTotals(ctx, q, starts, out); err != nil {
			return nil, err
		}
	}
	slices.Sort(full)
	return full, nil
}

// scormTotals applies the SCORM layer to totals made from summaries, as
// withScorm applies it to a Result: an activity's time is raised to what
// its package reported (the values written in the window), the
// difference added to the user's total, the course's, and the day and
// hour of the last value. One read of the values of every user with SCORM
// time, none when no user has any.
func (s *Service) scormTotals(ctx context.Context, q Query, starts map[int64]map[int64]int64, out map[int64]*userTotals) error {
	var users, cmids []int64
	for id, t := range out {
		if len(t.scorm) == 0 {
			continue
		}
		users = append(users, id)
		for _, m := range t.scorm {
			cmids = append(cmids, m.CMID)
		}
	}
	byUser, err := s.readScorm(ctx, users, cmids, q.Window)
	if err != nil {
		return err
	}
	for _, id := range users {
		t := out[id]
		w := q.Window.withStarts(starts[id])
		byCM := map[int64][]ScormValue{}
		for _, v := range byUser[id] {
			i := slices.IndexFunc(t.scorm, func(m ScormTime) bool { return m.CMID == v.CMID })
			if i >= 0 && w.counts(v.Time, t.scorm[i].CourseID) {
				byCM[v.CMID] = append(byCM[v.CMID], v)
			}
		}
		for _, m := range t.scorm {
			vs := byCM[m.CMID]
			if len(vs) == 0 {
				continue
			}
			a := scormReport(vs)
			added := max(0, a.Reported-m.Elapsed)
			if added == 0 {
				continue
			}
			t.Total.Elapsed += added
			if k, found := slices.BinarySearchFunc(t.Courses, m.CourseID, func(c PlaceTotal, id int64) int { return cmp.Compare(c.CourseID, id) }); found {
				t.Courses[k].Elapsed += added
			}
			t.Days = addDay(t.Days, dayOf(a.LastWrite, s.cfg.Location), added)
			t.Hours = addHour(t.Hours, HourOf(a.LastWrite), added)
		}
		t.scorm = nil
	}
	return nil
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
