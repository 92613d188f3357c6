package directorytest

import (
	"context"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

func TestRoster(t *testing.T) {
	ctx := context.Background()
	d := New()
	d.AddUsers(aggregation.UserInfo{ID: 3, LastName: "C"}, aggregation.UserInfo{ID: 5, LastName: "A"}, aggregation.UserInfo{ID: 7})
	d.AddCourses(aggregation.CourseInfo{ID: 1, FullName: "Front"},
		aggregation.CourseInfo{ID: 2, FullName: "beta", ShortName: "B", Category: 4, Visible: true},
		aggregation.CourseInfo{ID: 3, FullName: "Alpha", ShortName: "A", Category: 4},
		aggregation.CourseInfo{ID: 4, FullName: "alpha", ShortName: "Z", Category: 5, Visible: true})
	ids := func(cs []aggregation.CourseInfo) (out []int64) {
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	visible := true
	for _, tc := range []struct {
		f     aggregation.CourseFilter
		p     aggregation.Page[aggregation.CourseOrder]
		want  []int64
		total int
	}{
		{aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{}, []int64{2, 3, 4}, 3},
		{aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByFullName}, []int64{3, 4, 2}, 3},
		{aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByFullName, Desc: true, Offset: 1, Limit: 1}, []int64{3}, 3},
		{aggregation.CourseFilter{Search: "ALP"}, aggregation.Page[aggregation.CourseOrder]{}, []int64{3, 4}, 2},
		{aggregation.CourseFilter{Category: 4, Visible: &visible}, aggregation.Page[aggregation.CourseOrder]{}, []int64{2}, 1},
		{aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{Offset: 9}, nil, 3},
	} {
		got, n, err := d.ListCourses(ctx, tc.f, tc.p)
		if err != nil || !slices.Equal(ids(got), tc.want) || n != tc.total {
			t.Errorf("%+v %+v: %v %d %v, want %v %d", tc.f, tc.p, ids(got), n, err, tc.want, tc.total)
		}
	}

	d.Enrol(2, 5, 3, 99)
	d.SetRoles(2, 5, aggregation.RoleInfo{ID: 5, ShortName: "student"})
	d.SetEnrolment(2, 3, aggregation.Enrolment{Start: 100, End: 200})
	d.AddGroups(aggregation.GroupInfo{ID: 9, CourseID: 2, Name: "Zed"}, aggregation.GroupInfo{ID: 8, CourseID: 2, Name: "Ant"}, aggregation.GroupInfo{ID: 7, CourseID: 3, Name: "Other"})
	d.AddToGroup(9, 5)
	d.AddToGroup(8, 5, 3)
	d.AddToGroup(7, 5)
	ms, err := d.CourseMembers(ctx, 2)
	if err != nil || len(ms) != 2 || ms[0].ID != 3 || ms[1].ID != 5 {
		t.Fatalf("members %+v %v", ms, err)
	}
	if ms[0].Enrolment != (aggregation.Enrolment{Start: 100, End: 200}) || !ms[1].Enrolment.Active ||
		len(ms[1].Roles) != 1 || ms[1].Roles[0].ShortName != "student" || !slices.Equal(ms[1].Groups, []int64{8, 9}) || !slices.Equal(ms[0].Groups, []int64{8}) {
		t.Errorf("members %+v", ms)
	}
	gs, _ := d.CourseGroups(ctx, 2)
	if len(gs) != 2 || gs[0].ID != 8 || gs[1].ID != 9 {
		t.Errorf("groups %+v", gs)
	}

	d.AddCohorts(aggregation.CohortInfo{ID: 1, Name: "b", IDNumber: "C1", Visible: true}, aggregation.CohortInfo{ID: 2, Name: "a"})
	d.AddToCohort(1, 7, 3, 404)
	cs, n, _ := d.ListCohorts(ctx, aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Order: aggregation.CohortByName})
	if n != 2 || cs[0].ID != 2 {
		t.Errorf("cohorts %+v %d", cs, n)
	}
	if c, err := d.FindCohort(ctx, aggregation.CohortKey{IDNumber: "C1"}); err != nil || c.ID != 1 {
		t.Errorf("FindCohort %+v %v", c, err)
	}
	if _, err := d.FindCohort(ctx, aggregation.CohortKey{ID: 5}); aggregation.ErrorCode(err) != aggregation.ENotFound {
		t.Errorf("unknown cohort: %v", err)
	}
	us, _ := d.CohortMembers(ctx, 1)
	if len(us) != 2 || us[0].ID != 3 || us[1].ID != 7 {
		t.Errorf("cohort members %+v", us)
	}
	if d.Calls()["CourseMembers"] != 1 {
		t.Errorf("calls %v", d.Calls())
	}
}

// Descending id order and searches field by field, as the Moodle adapter.
func TestRosterDescendingAndSearch(t *testing.T) {
	ctx := context.Background()
	d := New()
	d.AddCourses(aggregation.CourseInfo{ID: 2}, aggregation.CourseInfo{ID: 3})
	d.AddCohorts(aggregation.CohortInfo{ID: 1}, aggregation.CohortInfo{ID: 2})
	cs, _, _ := d.ListCourses(ctx, aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{Desc: true})
	if len(cs) != 2 || cs[0].ID != 3 {
		t.Errorf("courses by id desc: %+v", cs)
	}
	hs, _, _ := d.ListCohorts(ctx, aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Desc: true})
	if len(hs) != 2 || hs[0].ID != 2 {
		t.Errorf("cohorts by id desc: %+v", hs)
	}
	d.AddUsers(aggregation.UserInfo{ID: 5, FirstName: "Ann", LastName: "Lee", IDNumber: "X9"})
	for search, want := range map[string]int{"ann lee": 0, "LEE": 1, "x9": 1} {
		if n, _ := d.CountUsers(ctx, aggregation.UserFilter{Search: search}); n != want {
			t.Errorf("search %q: %d users, want %d", search, n, want)
		}
	}
}
