package aggregation_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
)

// memRoster is an in-memory Roster: course → members.
type memRoster struct {
	members map[int64][]aggregation.Member
}

func (m memRoster) ListCourses(context.Context, aggregation.CourseFilter, aggregation.Page[aggregation.CourseOrder]) ([]aggregation.CourseInfo, int, error) {
	return nil, 0, nil
}

func (m memRoster) CourseMembers(_ context.Context, id int64) ([]aggregation.Member, error) {
	return slices.Clone(m.members[id]), nil
}

func (m memRoster) CourseVisitors(context.Context, int64, int64, int64) ([]aggregation.UserInfo, error) {
	return nil, nil
}

func (m memRoster) CountUsers(context.Context, aggregation.UserFilter) (int, error) { return 0, nil }

func (m memRoster) CourseGroups(context.Context, int64) ([]aggregation.GroupInfo, error) {
	return nil, nil
}

func (m memRoster) FindGroups(context.Context, []int64) ([]aggregation.GroupInfo, error) {
	return nil, nil
}

func (m memRoster) ListCohorts(context.Context, aggregation.CohortFilter, aggregation.Page[aggregation.CohortOrder]) ([]aggregation.CohortInfo, int, error) {
	return nil, 0, nil
}

func (m memRoster) FindCohort(context.Context, aggregation.CohortKey) (aggregation.CohortInfo, error) {
	return aggregation.CohortInfo{}, aggregation.Errorf(aggregation.ENotFound, "no cohort")
}

func (m memRoster) CohortMembers(context.Context, int64) ([]aggregation.UserInfo, error) {
	return nil, nil
}

// memGrades gives every member a grade of its user id modulo 7 (none for
// multiples of 5).
type memGrades struct{}

func (memGrades) Grades(_ context.Context, _ int64, ids []int64) (map[int64]aggregation.CourseGrade, error) {
	out := map[int64]aggregation.CourseGrade{}
	for _, id := range ids {
		if id%5 == 0 {
			continue
		}
		v := float64(id % 7)
		out[id] = aggregation.CourseGrade{Course: &aggregation.Grade{Value: &v, Max: 10}}
	}
	return out, nil
}

// Through the query service, under every preset, from the log and from
// compiled rollups: a course's aggregate equals the sum of its members'
// own answers for the course, every page of every order together is the
// whole list once, and totalCount is the number of members kept.
func TestPropertyCourseParticipants(t *testing.T) {
	ctx := context.Background()
	for seed := range 2 {
		r := propRand(seed, 'P')
		var all []aggregation.Event
		var users []int64
		for u := int64(1); u <= 10; u++ {
			users = append(users, u)
			evs := genStream(r, r.IntN(80))
			for i := range evs {
				evs[i].UserID = u
			}
			all = append(all, evs...)
		}
		slices.SortStableFunc(all, func(a, b aggregation.Event) int { return cmp.Compare(a.Time, b.Time) })
		for i := range all {
			all[i].ID = int64(i + 1)
		}
		log := rolluptest.NewMemLog(all)
		log.CommitAll()
		now := all[len(all)-1].Time + 86400
		// Members: a random subset of the users (with and without time)
		// in each course that has events, plus a course without any.
		roster := memRoster{members: map[int64][]aggregation.Member{}}
		courses := map[int64]bool{99: true}
		for _, ev := range all {
			if ev.CourseID != aggregation.SiteCourseID {
				courses[ev.CourseID] = true
			}
		}
		for c := range courses {
			for _, u := range users {
				if r.IntN(3) > 0 {
					roster.members[c] = append(roster.members[c], aggregation.Member{
						UserInfo: aggregation.UserInfo{ID: u, LastName: fmt.Sprintf("L%d", u%4), FirstName: fmt.Sprintf("F%d", u)},
					})
				}
			}
		}
		for _, name := range aggregation.PresetNames() {
			p := preset(t, name)
			svcs := map[string]*aggregation.Service{}
			svcs["live"], _ = aggregation.NewService(aggregation.ServiceConfig{Logs: log, Roster: roster, Grades: memGrades{}, Now: func() int64 { return now }})
			if name == "usestats" {
				st := rolluptest.NewMemStore()
				if _, err := compileWith(log, st, p, nil, now).Run(ctx); err != nil {
					t.Fatal(err)
				}
				svcs["rollups"], _ = aggregation.NewService(aggregation.ServiceConfig{Logs: log, Rollups: st, Roster: roster, Grades: memGrades{}, Now: func() int64 { return now }})
			}
			q := aggregation.Query{Policy: p, Window: aggregation.Window{From: all[0].Time - 1, To: now}}
			for src, svc := range svcs {
				for c := range courses {
					where := fmt.Sprintf("seed %d, %s, %s, course %d", seed, name, src, c)
					checkCourseParticipants(t, ctx, svc, c, q, roster.members[c], where)
				}
			}
		}
	}
}

func checkCourseParticipants(t *testing.T, ctx context.Context, svc *aggregation.Service, course int64, q aggregation.Query, members []aggregation.Member, where string) {
	t.Helper()
	var want aggregation.Stat
	active := 0
	for _, m := range members {
		res, err := svc.User(ctx, m.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		if cs := res.Course(course); cs != nil && cs.Total.Elapsed > 0 {
			want.Elapsed += cs.Total.Elapsed
			want.Events += cs.Total.Events
			active++
		}
	}
	agg, err := svc.CourseAggregate(ctx, course, q, aggregation.ParticipantFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if agg.Total.Elapsed != want.Elapsed || agg.ActiveLearners != active {
		t.Fatalf("%s: aggregate %d s over %d active, members' own answers %d s over %d", where, agg.Total.Elapsed, agg.ActiveLearners, want.Elapsed, active)
	}
	for _, order := range []aggregation.ParticipantOrder{aggregation.ParticipantByTotal, aggregation.ParticipantByLastAccess, aggregation.ParticipantByName, aggregation.ParticipantByGrade, aggregation.ParticipantByID} {
		for _, desc := range []bool{false, true} {
			var seen []int64
			total := -1
			for off := 0; ; off += 4 {
				page, err := svc.CourseParticipants(ctx, course, q, aggregation.ParticipantFilter{}, aggregation.Page[aggregation.ParticipantOrder]{Order: order, Desc: desc, Offset: off, Limit: 4}, true)
				if err != nil {
					t.Fatal(err)
				}
				if total >= 0 && page.TotalCount != total {
					t.Fatalf("%s %s: totalCount %d then %d", where, order, total, page.TotalCount)
				}
				total = page.TotalCount
				if page.Aggregate.Total.Elapsed != want.Elapsed {
					t.Fatalf("%s %s: page aggregate %d, want %d", where, order, page.Aggregate.Total.Elapsed, want.Elapsed)
				}
				// Without the aggregate, the page's rows carry the same time.
				lean, err := svc.CourseParticipants(ctx, course, q, aggregation.ParticipantFilter{}, aggregation.Page[aggregation.ParticipantOrder]{Order: order, Desc: desc, Offset: off, Limit: 4}, false)
				if err != nil {
					t.Fatal(err)
				}
				if len(lean.Rows) != len(page.Rows) || lean.TotalCount != page.TotalCount {
					t.Fatalf("%s %s: %d rows (count %d) without the aggregate, %d (%d) with", where, order, len(lean.Rows), lean.TotalCount, len(page.Rows), page.TotalCount)
				}
				for i, row := range page.Rows {
					seen = append(seen, row.ID)
					if lean.Rows[i].ID != row.ID || lean.Rows[i].Total != row.Total {
						t.Fatalf("%s %s: row %d is %d %+v without the aggregate, %d %+v with", where, order, i, lean.Rows[i].ID, lean.Rows[i].Total, row.ID, row.Total)
					}
				}
				if len(page.Rows) < 4 {
					break
				}
			}
			if total != len(members) || len(seen) != len(members) {
				t.Fatalf("%s %s desc=%v: %d rows, totalCount %d, %d members", where, order, desc, len(seen), total, len(members))
			}
			sorted := slices.Clone(seen)
			slices.Sort(sorted)
			if len(slices.Compact(sorted)) != len(members) {
				t.Fatalf("%s %s: a member twice across pages: %v", where, order, seen)
			}
		}
	}
}
