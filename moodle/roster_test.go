package moodle_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// The roster fixture. Courses: the front page (1, category 0); 2
// "Algebra" and 3 "algebra" (hidden, category 2), a tie on the full name;
// 4 "Biology" and 5 "Chemistry 100%" starting at the same time; 6 "Drama"
// without any enrolment; course 3 has an enrolment method but nobody in
// it. Users: ann (10), ben (11), cat (12, deleted), dan (13), eve (14,
// the teacher), fay (15), gus (16), hal (17, a role in course 2 but no
// enrolment).
type rosterUser struct {
	id          int64
	name, first string
	deleted     bool
}

var rosterUsers = []rosterUser{
	{10, "ann", "Ann", false}, {11, "ben", "Ben", false}, {12, "cat", "Cat", true}, {13, "dan", "Dan", false},
	{14, "eve", "Eve", false}, {15, "fay", "Fay", false}, {16, "gus", "Gus", false}, {17, "hal", "Hal", false},
}

func rosterUserInfo(id int64) aggregation.UserInfo {
	for _, u := range rosterUsers {
		if u.id == id {
			return aggregation.UserInfo{ID: u.id, Username: u.name, IDNumber: "U-" + u.name, FirstName: u.first,
				LastName: "Roster", Email: u.name + "@example.test", HostID: 1}
		}
	}
	panic("no roster user")
}

func fillRoster(ctx context.Context, w *seed.Writer) error {
	var rows []seed.Row
	for _, u := range rosterUsers {
		r := seed.Defaults[seed.User]()
		r.ID, r.Username, r.FirstName, r.LastName, r.MnetHostID = u.id, u.name, u.first, "Roster", 1
		r.Email, r.IDNumber = u.name+"@example.test", "U-"+u.name
		if u.deleted {
			r.Deleted = 1
		}
		rows = append(rows, r)
	}
	for _, c := range []struct {
		id, category     int64
		full, short, idn string
		visible, start   int64
	}{
		{1, 0, "Demo site", "demo", "", 1, 0},
		{2, 1, "Algebra", "MATH-A", "2025-ALG", 1, 1000},
		{3, 2, "algebra", "math-b", "", 0, 3000},
		{4, 1, "Biology", "BIO", "2025-BIO", 1, 2000},
		{5, 2, "Chemistry 100%", "CHEM", "CH_1", 1, 2000},
		{6, 1, "Drama", "ART", "", 1, 0},
	} {
		r := seed.Defaults[seed.Course]()
		r.ID, r.Category, r.FullName, r.ShortName, r.IDNumber, r.Visible, r.StartDate = c.id, c.category, c.full, c.short, c.idn, c.visible, c.start
		rows = append(rows, r)
	}
	for _, e := range []struct {
		id, course int64
		method     string
		status     int64
	}{{1, 2, "manual", 0}, {2, 2, "self", 1}, {3, 4, "manual", 0}, {4, 3, "manual", 0}} {
		r := seed.Defaults[seed.Enrol]()
		r.ID, r.CourseID, r.Enrol, r.Status = e.id, e.course, e.method, e.status
		rows = append(rows, r)
	}
	for i, ue := range []struct{ enrol, user, status, start, end int64 }{
		{1, 10, 0, 100, 0}, {2, 10, 0, 50, 500}, // ann: the earliest start, one enrolment without end
		{1, 11, 1, 200, 900}, {2, 11, 0, 300, 1000}, // ben: suspended, and active only in a disabled method
		{1, 12, 0, 0, 0},          // cat: deleted
		{1, 13, 0, 0, 700},        // dan: no start
		{1, 14, 0, 0, 2147483647}, // eve: timeend at its column default, no end
		{3, 15, 0, 400, 800},      // fay in course 4
		{2, 16, 0, 10, 0},         // gus: a disabled method only
	} {
		r := seed.Defaults[seed.UserEnrolment]()
		r.ID, r.EnrolID, r.UserID, r.Status, r.TimeStart, r.TimeEnd = int64(i+1), ue.enrol, ue.user, ue.status, ue.start, ue.end
		rows = append(rows, r)
	}
	for _, c := range []struct{ id, level, instance int64 }{{1, 10, 0}, {102, 50, 2}, {104, 50, 4}, {702, 70, 2}} {
		rows = append(rows, seed.Context{ID: c.id, ContextLevel: c.level, InstanceID: c.instance, Path: seed.Some("/1"), Depth: 2})
	}
	for _, r := range []struct {
		id         int64
		short      string
		name       string
		sortorder  int64
		archetypes string
	}{{1, "manager", "", 1, "manager"}, {3, "editingteacher", "Lecturer", 3, "editingteacher"}, {5, "student", "", 5, "student"}, {9, "mentor", "", 2, ""}} {
		rows = append(rows, seed.Role{ID: r.id, ShortName: r.short, Name: r.name, SortOrder: r.sortorder, Archetype: r.archetypes})
	}
	for i, ra := range []struct {
		role, ctx, user int64
		component       string
	}{
		{5, 102, 10, ""}, {5, 102, 10, "enrol_self"}, {9, 102, 10, ""}, {3, 702, 10, ""}, // ann: student twice, mentor; a module role
		{5, 102, 11, ""}, {5, 102, 12, ""}, {3, 102, 14, ""}, {1, 1, 14, ""}, {5, 104, 15, ""}, {5, 102, 17, ""},
	} {
		rows = append(rows, seed.RoleAssignment{ID: int64(i + 1), RoleID: ra.role, ContextID: ra.ctx, UserID: ra.user, Component: ra.component})
	}
	for _, g := range []struct {
		id, course int64
		name, idn  string
	}{{1, 2, "Red", "R"}, {2, 2, "blue", "B"}, {3, 2, "Green", ""}, {4, 4, "Red", "R4"}, {5, 2, "RED", "R5"}} {
		r := seed.Defaults[seed.Group]()
		r.ID, r.CourseID, r.Name, r.IDNumber = g.id, g.course, g.name, g.idn
		rows = append(rows, r)
	}
	for i, m := range []struct{ group, user int64 }{{1, 10}, {2, 10}, {3, 11}, {1, 12}, {4, 15}, {4, 10}, {2, 17}} {
		rows = append(rows, seed.GroupMember{ID: int64(i + 1), GroupID: m.group, UserID: m.user})
	}
	for _, gp := range []struct {
		id, course int64
		name       string
	}{{1, 2, "Team A"}, {2, 2, "All"}, {3, 4, "X"}} {
		r := seed.Defaults[seed.Grouping]()
		r.ID, r.CourseID, r.Name, r.IDNumber = gp.id, gp.course, gp.name, ""
		rows = append(rows, r)
	}
	for i, l := range [][2]int64{{1, 1}, {1, 2}, {2, 1}, {2, 2}, {2, 3}, {3, 4}} {
		rows = append(rows, seed.GroupingGroup{ID: int64(i + 1), GroupingID: l[0], GroupID: l[1]})
	}
	for _, c := range []struct {
		id, ctx int64
		name    string
		idn     *string
		visible int64
	}{{1, 1, "Year 1", ptr("Y1"), 1}, {2, 1, "year 2", ptr("Y2"), 0}, {3, 3, "Staff", nil, 1}, {4, 1, "Alumni", ptr("ALU"), 1}} {
		r := seed.Cohort{ID: c.id, ContextID: c.ctx, Name: c.name, DescriptionFormat: 1, Visible: c.visible}
		if c.idn != nil {
			r.IDNumber = seed.Some(*c.idn)
		}
		rows = append(rows, r)
	}
	for i, m := range [][2]int64{{1, 10}, {1, 11}, {1, 12}, {3, 14}} {
		rows = append(rows, seed.CohortMember{ID: int64(i + 1), CohortID: m[0], UserID: m[1]})
	}
	// Log rows (user, course, time) for CourseVisitors: hal (17) is not
	// enrolled in course 2, cat (12) is deleted.
	for i, v := range [][3]int64{{17, 2, 100}, {17, 2, 900}, {10, 2, 500}, {12, 2, 500}, {15, 4, 500}, {16, 2, 2000}} {
		r := seed.Defaults[seed.Log]()
		r.ID, r.UserID, r.CourseID, r.TimeCreated = int64(i+1), v[0], seed.Some(v[1]), v[2]
		rows = append(rows, r)
	}
	return w.Add(ctx, rows...)
}

func ptr[T any](v T) *T { return &v }

// pageCase is a call of a paged list and what it answers: the ids of the
// page and the total, or an error code.
type pageCase[F, O any] struct {
	name   string
	filter F
	page   aggregation.Page[O]
	want   []int64
	total  int
	code   string // the error code wanted ("": none)
}

// checkPages runs the cases on list, whose items have an id.
func checkPages[F, O, I any](t *testing.T, list func(context.Context, F, aggregation.Page[O]) ([]I, int, error), id func(I) int64, cases []pageCase[F, O]) {
	t.Helper()
	for _, c := range cases {
		items, total, err := list(context.Background(), c.filter, c.page)
		if c.code != "" {
			if aggregation.ErrorCode(err) != c.code {
				t.Errorf("%s: err = %v, want %s", c.name, err, c.code)
			}
			continue
		}
		ids := []int64{}
		for _, it := range items {
			ids = append(ids, id(it))
		}
		if err != nil || !slices.Equal(ids, c.want) || total != c.total {
			t.Errorf("%s: %v of %d, %v; want %v of %d", c.name, ids, total, err, c.want, c.total)
		}
	}
}

func TestRosterCourses(t *testing.T) {
	forEachEngine(t, fillRoster, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		r := src.Roster()
		yes, no := true, false
		checkPages(t, r.ListCourses, func(c aggregation.CourseInfo) int64 { return c.ID }, []pageCase[aggregation.CourseFilter, aggregation.CourseOrder]{
			{"by id, the front page left out", aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{2, 3, 4, 5, 6}, 5, ""},
			{"by id, descending", aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{Desc: true, Limit: 10}, []int64{6, 5, 4, 3, 2}, 5, ""},
			{"by full name, a case-insensitive tie by id", aggregation.CourseFilter{},
				aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByFullName, Limit: 10}, []int64{2, 3, 4, 5, 6}, 5, ""},
			{"by full name, descending: the tie still by id", aggregation.CourseFilter{},
				aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByFullName, Desc: true, Limit: 10}, []int64{6, 5, 4, 2, 3}, 5, ""},
			{"by short name", aggregation.CourseFilter{},
				aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByShortName, Limit: 10}, []int64{6, 4, 5, 2, 3}, 5, ""},
			{"by start, a tie by id", aggregation.CourseFilter{},
				aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByStart, Limit: 10}, []int64{6, 2, 4, 5, 3}, 5, ""},
			{"by start, descending", aggregation.CourseFilter{},
				aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByStart, Desc: true, Limit: 10}, []int64{3, 4, 5, 2, 6}, 5, ""},
			{"a page", aggregation.CourseFilter{},
				aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByStart, Offset: 1, Limit: 2}, []int64{2, 4}, 5, ""},
			{"the last page", aggregation.CourseFilter{},
				aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByStart, Offset: 4, Limit: 2}, []int64{3}, 5, ""},
			{"past the end", aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{Offset: 5, Limit: 2}, []int64{}, 5, ""},
			{"a count only", aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{}, []int64{}, 5, ""},
			{"search in full names and idnumbers", aggregation.CourseFilter{Search: "ALG"}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{2, 3}, 2, ""},
			{"search in short names", aggregation.CourseFilter{Search: "math"}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{2, 3}, 2, ""},
			{"search an idnumber", aggregation.CourseFilter{Search: "2025-bio"}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{4}, 1, ""},
			{"a literal %", aggregation.CourseFilter{Search: "%"}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{5}, 1, ""},
			{"a literal _", aggregation.CourseFilter{Search: "_"}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{5}, 1, ""},
			{"the front page is never found", aggregation.CourseFilter{Search: "demo"}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{}, 0, ""},
			{"a category", aggregation.CourseFilter{Category: 2}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{3, 5}, 2, ""},
			{"hidden", aggregation.CourseFilter{Visible: &no}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{3}, 1, ""},
			{"visible in category 1", aggregation.CourseFilter{Category: 1, Visible: &yes}, aggregation.Page[aggregation.CourseOrder]{Limit: 10}, []int64{2, 4, 6}, 3, ""},
			{"everything at once", aggregation.CourseFilter{Search: "a", Category: 1, Visible: &yes},
				aggregation.Page[aggregation.CourseOrder]{Order: aggregation.CourseByFullName, Desc: true, Limit: 1}, []int64{6}, 2, ""},
			{name: "a negative offset", page: aggregation.Page[aggregation.CourseOrder]{Offset: -1, Limit: 1}, code: aggregation.EInvalid},
			{name: "a negative limit", page: aggregation.Page[aggregation.CourseOrder]{Limit: -1}, code: aggregation.EInvalid},
			{name: "an unknown order", page: aggregation.Page[aggregation.CourseOrder]{Order: 99, Limit: 1}, code: aggregation.EInvalid},
		})
		cs, _, err := r.ListCourses(ctx, aggregation.CourseFilter{Category: 2}, aggregation.Page[aggregation.CourseOrder]{Limit: 1})
		want := aggregation.CourseInfo{ID: 3, ShortName: "math-b", FullName: "algebra", Category: 2, Visible: false, StartDate: 3000}
		if err != nil || len(cs) != 1 || cs[0] != want {
			t.Errorf("course 3 = %+v, %v; want %+v", cs, err, want)
		}
		// The directory describes courses the same way.
		d := src.Directory()
		if c, err := d.FindCourse(ctx, aggregation.CourseKey{ID: 3}); err != nil || c != want {
			t.Errorf("FindCourse(3) = %+v, %v; want %+v", c, err, want)
		}
		byID, err := d.Courses(ctx, []int64{2, 3})
		algebra := aggregation.CourseInfo{ID: 2, ShortName: "MATH-A", FullName: "Algebra", IDNumber: "2025-ALG", Category: 1, Visible: true, StartDate: 1000}
		if err != nil || byID[2] != algebra || byID[3] != want {
			t.Errorf("Courses(2, 3) = %+v, %v", byID, err)
		}
	})
}

func TestRosterMembers(t *testing.T) {
	forEachEngine(t, fillRoster, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		r := src.Roster()
		student := aggregation.RoleInfo{ID: 5, ShortName: "student"}
		member := func(id int64, roles []aggregation.RoleInfo, groups []int64, e aggregation.Enrolment) aggregation.Member {
			return aggregation.Member{UserInfo: rosterUserInfo(id), Roles: roles, Groups: groups, Enrolment: e}
		}
		want := []aggregation.Member{
			member(10, []aggregation.RoleInfo{{ID: 9, ShortName: "mentor"}, student}, []int64{1, 2}, aggregation.Enrolment{Start: 50, End: 0, Active: true}),
			member(11, []aggregation.RoleInfo{student}, []int64{3}, aggregation.Enrolment{Start: 200, End: 1000, Active: false}),
			member(13, nil, nil, aggregation.Enrolment{Start: 0, End: 700, Active: true}),
			member(14, []aggregation.RoleInfo{{ID: 3, ShortName: "editingteacher", Name: "Lecturer"}}, nil, aggregation.Enrolment{Active: true}),
			member(16, nil, nil, aggregation.Enrolment{Start: 10, End: 0, Active: false}),
		}
		got, err := r.CourseMembers(ctx, 2)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("members of course 2 = %v\n%+v\nwant %+v", err, got, want)
		}
		got, err = r.CourseMembers(ctx, 4)
		want = []aggregation.Member{member(15, []aggregation.RoleInfo{student}, []int64{4}, aggregation.Enrolment{Start: 400, End: 800, Active: true})}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("members of course 4 = %+v, %v; want %+v", got, err, want)
		}
		for _, course := range []int64{3, 6, 404} { // a method without users, no method, no course
			if got, err := r.CourseMembers(ctx, course); err != nil || len(got) != 0 {
				t.Errorf("members of course %d = %+v, %v; want none", course, got, err)
			}
		}
	})
}

func TestRosterGroups(t *testing.T) {
	forEachEngine(t, fillRoster, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		r := src.Roster()
		all, team := aggregation.GroupingInfo{ID: 2, Name: "All"}, aggregation.GroupingInfo{ID: 1, Name: "Team A"}
		want := []aggregation.GroupInfo{
			{ID: 2, CourseID: 2, Name: "blue", IDNumber: "B", Groupings: []aggregation.GroupingInfo{all, team}},
			{ID: 3, CourseID: 2, Name: "Green", Groupings: []aggregation.GroupingInfo{all}},
			{ID: 1, CourseID: 2, Name: "Red", IDNumber: "R", Groupings: []aggregation.GroupingInfo{all, team}},
			{ID: 5, CourseID: 2, Name: "RED", IDNumber: "R5"},
		}
		got, err := r.CourseGroups(ctx, 2)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("groups of course 2 = %+v, %v\nwant %+v", got, err, want)
		}
		got, err = r.CourseGroups(ctx, 4)
		want = []aggregation.GroupInfo{{ID: 4, CourseID: 4, Name: "Red", IDNumber: "R4", Groupings: []aggregation.GroupingInfo{{ID: 3, Name: "X"}}}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("groups of course 4 = %+v, %v", got, err)
		}
		if got, err := r.CourseGroups(ctx, 6); err != nil || len(got) != 0 {
			t.Errorf("groups of course 6 = %+v, %v; want none", got, err)
		}
		// By id, across courses, without groupings; unknown ids are left out.
		found, err := r.FindGroups(ctx, []int64{4, 99, 1})
		wantFound := []aggregation.GroupInfo{{ID: 1, CourseID: 2, Name: "Red", IDNumber: "R"}, {ID: 4, CourseID: 4, Name: "Red", IDNumber: "R4"}}
		if err != nil || !reflect.DeepEqual(found, wantFound) {
			t.Errorf("FindGroups(4, 99, 1) = %+v, %v\nwant %+v", found, err, wantFound)
		}
	})
}

func TestRosterCohorts(t *testing.T) {
	forEachEngine(t, fillRoster, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		r := src.Roster()
		yes, no := true, false
		checkPages(t, r.ListCohorts, func(c aggregation.CohortInfo) int64 { return c.ID }, []pageCase[aggregation.CohortFilter, aggregation.CohortOrder]{
			{"by id", aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Limit: 10}, []int64{1, 2, 3, 4}, 4, ""},
			{"by id, descending", aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Desc: true, Limit: 10}, []int64{4, 3, 2, 1}, 4, ""},
			{"by name", aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Order: aggregation.CohortByName, Limit: 10}, []int64{4, 3, 1, 2}, 4, ""},
			{"by name, descending", aggregation.CohortFilter{},
				aggregation.Page[aggregation.CohortOrder]{Order: aggregation.CohortByName, Desc: true, Limit: 10}, []int64{2, 1, 3, 4}, 4, ""},
			{"a page", aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Order: aggregation.CohortByName, Offset: 1, Limit: 2}, []int64{3, 1}, 4, ""},
			{"past the end", aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Offset: 4, Limit: 2}, []int64{}, 4, ""},
			{"a count only", aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{}, []int64{}, 4, ""},
			{"search names", aggregation.CohortFilter{Search: "YEAR"}, aggregation.Page[aggregation.CohortOrder]{Limit: 10}, []int64{1, 2}, 2, ""},
			{"search idnumbers", aggregation.CohortFilter{Search: "alu"}, aggregation.Page[aggregation.CohortOrder]{Limit: 10}, []int64{4}, 1, ""},
			{"hidden", aggregation.CohortFilter{Visible: &no}, aggregation.Page[aggregation.CohortOrder]{Limit: 10}, []int64{2}, 1, ""},
			{"visible", aggregation.CohortFilter{Visible: &yes}, aggregation.Page[aggregation.CohortOrder]{Limit: 10}, []int64{1, 3, 4}, 3, ""},
			{name: "a negative offset", page: aggregation.Page[aggregation.CohortOrder]{Offset: -1, Limit: 1}, code: aggregation.EInvalid},
			{name: "a negative limit", page: aggregation.Page[aggregation.CohortOrder]{Limit: -1}, code: aggregation.EInvalid},
			{name: "an unknown order", page: aggregation.Page[aggregation.CohortOrder]{Order: 7, Limit: 1}, code: aggregation.EInvalid},
		})
		staff := aggregation.CohortInfo{ID: 3, Name: "Staff", ContextID: 3, Visible: true}
		if c, err := r.FindCohort(ctx, aggregation.CohortKey{ID: 3}); err != nil || c != staff {
			t.Errorf("FindCohort(3) = %+v, %v; want %+v", c, err, staff)
		}
		year2 := aggregation.CohortInfo{ID: 2, Name: "year 2", IDNumber: "Y2", ContextID: 1}
		if c, err := r.FindCohort(ctx, aggregation.CohortKey{IDNumber: "Y2"}); err != nil || c != year2 {
			t.Errorf("FindCohort(Y2) = %+v, %v; want %+v", c, err, year2)
		}
		for _, key := range []aggregation.CohortKey{{ID: 404}, {IDNumber: "y2"}, {IDNumber: "nope"}} {
			_, err := r.FindCohort(ctx, key)
			var ae *aggregation.Error
			if !errors.As(err, &ae) || ae.Code != aggregation.ENotFound {
				t.Errorf("FindCohort(%+v): err = %v, want ENotFound", key, err)
			}
		}
		for _, key := range []aggregation.CohortKey{{}, {ID: 1, IDNumber: "Y1"}} {
			if _, err := r.FindCohort(ctx, key); aggregation.ErrorCode(err) != aggregation.EInvalid {
				t.Errorf("FindCohort(%+v): err = %v, want EInvalid", key, err)
			}
		}
		us, err := r.CohortMembers(ctx, 1)
		if want := []aggregation.UserInfo{rosterUserInfo(10), rosterUserInfo(11)}; err != nil || !reflect.DeepEqual(us, want) {
			t.Errorf("members of cohort 1 (the deleted cat left out) = %+v, %v", us, err)
		}
		for _, id := range []int64{2, 404} {
			if us, err := r.CohortMembers(ctx, id); err != nil || len(us) != 0 {
				t.Errorf("members of cohort %d = %+v, %v; want none", id, us, err)
			}
		}
	})
}

// Each method answers in a fixed number of queries, whatever the number
// of members, roles or groups.
func TestRosterQueries(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			_, prefix, cleanup := filledSchema(t, e.url, fillRoster)
			defer cleanup()
			rdb, qc := countedDB(t, e.url)
			src, err := moodle.New(ctx, rdb, prefix)
			if err != nil {
				t.Fatal(err)
			}
			r := src.Roster()
			for _, c := range []struct {
				name string
				call func() error
				want int64
			}{
				{"a page of courses", func() error {
					_, _, err := r.ListCourses(ctx, aggregation.CourseFilter{Search: "a"}, aggregation.Page[aggregation.CourseOrder]{Limit: 3})
					return err
				}, 2},
				{"a count of courses", func() error {
					_, _, err := r.ListCourses(ctx, aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{})
					return err
				}, 1},
				{"five members", func() error { _, err := r.CourseMembers(ctx, 2); return err }, 3},
				{"no member", func() error { _, err := r.CourseMembers(ctx, 6); return err }, 1},
				{"four groups", func() error { _, err := r.CourseGroups(ctx, 2); return err }, 2},
				{"no group", func() error { _, err := r.CourseGroups(ctx, 6); return err }, 1},
				{"a page of cohorts", func() error {
					_, _, err := r.ListCohorts(ctx, aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Limit: 3})
					return err
				}, 2},
				{"a cohort", func() error { _, err := r.FindCohort(ctx, aggregation.CohortKey{IDNumber: "Y1"}); return err }, 1},
				{"a cohort's members", func() error { _, err := r.CohortMembers(ctx, 1); return err }, 1},
			} {
				before := qc.all.Load()
				if err := c.call(); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if n := qc.all.Load() - before; n != c.want {
					t.Errorf("%s: %d queries, want %d", c.name, n, c.want)
				}
			}
		})
	}
}

// A schema without the group or cohort tables gives ENotFound errors
// naming the missing table.
func TestRosterMissingTables(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := filledSchema(t, e.url, fillRoster)
			defer cleanup()
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			r := src.Roster()
			for _, table := range []string{"groups_members", "groupings", "cohort", "cohort_members"} {
				if _, err := db.DB.DB.ExecContext(ctx, "DROP TABLE "+prefix+table); err != nil {
					t.Fatal(err)
				}
			}
			wantMissing := missingTable(t, prefix)
			_, err = r.CourseMembers(ctx, 2)
			wantMissing("CourseMembers", err, "groups_members")
			_, err = r.CourseGroups(ctx, 2)
			wantMissing("CourseGroups", err, "groupings")
			_, _, err = r.ListCohorts(ctx, aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Limit: 1})
			wantMissing("ListCohorts", err, "cohort")
			_, err = r.FindCohort(ctx, aggregation.CohortKey{ID: 1})
			wantMissing("FindCohort", err, "cohort")
			_, err = r.CohortMembers(ctx, 1)
			wantMissing("CohortMembers", err, "cohort_members")
			if _, n, err := r.ListCourses(ctx, aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{}); err != nil || n != 5 {
				t.Errorf("ListCourses without the group tables = %d, %v", n, err)
			}
		})
	}
}

// The generated site's roster as the adapter reads it: every course has
// members with their roles, 2 to 4 groups the members belong to, and the
// cohorts of the seed.
func TestRosterSeededSite(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := newSchema(t, e.url)
			defer cleanup()
			st, err := seed.Fill(ctx, db, seed.Options{Seed: 3, Users: 12, Days: 2, Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			r := src.Roster()
			cs, total, err := r.ListCourses(ctx, aggregation.CourseFilter{}, aggregation.Page[aggregation.CourseOrder]{Limit: 100})
			if err != nil || total != st.Courses || len(cs) != st.Courses {
				t.Fatalf("courses = %d of %d, %v; want %d", len(cs), total, err, st.Courses)
			}
			members, inactive, ending := 0, 0, 0
			for _, c := range cs {
				if !c.Visible || c.StartDate == 0 {
					t.Errorf("course %+v", c)
				}
				gs, err := r.CourseGroups(ctx, c.ID)
				if err != nil || len(gs) < 2 || len(gs) > 4 || len(gs[0].Groupings) != 1 {
					t.Errorf("groups of course %d = %+v, %v", c.ID, gs, err)
				}
				ids := map[int64]bool{}
				for _, g := range gs {
					ids[g.ID] = true
				}
				ms, err := r.CourseMembers(ctx, c.ID)
				if err != nil || len(ms) < 2 {
					t.Fatalf("members of course %d = %d, %v", c.ID, len(ms), err)
				}
				teachers := 0
				for _, m := range ms {
					if len(m.Roles) != 1 || (m.Roles[0].ShortName != "student" && m.Roles[0].ShortName != "editingteacher") {
						t.Errorf("course %d, user %d: roles %+v", c.ID, m.ID, m.Roles)
					}
					if m.Roles[0].ShortName == "editingteacher" {
						teachers++
					}
					for _, g := range m.Groups {
						if !ids[g] {
							t.Errorf("course %d, user %d: group %d of another course", c.ID, m.ID, g)
						}
					}
					if m.Enrolment.Start == 0 {
						t.Errorf("course %d, user %d: no enrolment start", c.ID, m.ID)
					}
					if !m.Enrolment.Active {
						inactive++
					}
					if m.Enrolment.End != 0 {
						ending++
					}
				}
				if teachers != 1 {
					t.Errorf("course %d: %d teachers", c.ID, teachers)
				}
				members += len(ms)
			}
			if members != st.Enrolments || inactive == 0 || ending == 0 {
				t.Errorf("%d members (%d enrolments), %d suspended, %d with an end", members, st.Enrolments, inactive, ending)
			}
			cohorts, n, err := r.ListCohorts(ctx, aggregation.CohortFilter{}, aggregation.Page[aggregation.CohortOrder]{Order: aggregation.CohortByName, Limit: 10})
			if err != nil || n != 5 || len(cohorts) != 5 {
				t.Fatalf("cohorts = %+v, %d, %v", cohorts, n, err)
			}
			staff, err := r.FindCohort(ctx, aggregation.CohortKey{IDNumber: "STAFF"})
			if err != nil {
				t.Fatal(err)
			}
			if us, err := r.CohortMembers(ctx, staff.ID); err != nil || len(us) != st.Teachers {
				t.Errorf("staff = %+v, %v; want %d teachers", us, err, st.Teachers)
			}
			intake, err := r.FindCohort(ctx, aggregation.CohortKey{IDNumber: "INTAKE-2024"})
			if err != nil {
				t.Fatal(err)
			}
			other, err := r.FindCohort(ctx, aggregation.CohortKey{IDNumber: "INTAKE-2025"})
			if err != nil {
				t.Fatal(err)
			}
			a, errA := r.CohortMembers(ctx, intake.ID)
			b, errB := r.CohortMembers(ctx, other.ID)
			if errA != nil || errB != nil || len(a)+len(b) != st.Learners {
				t.Errorf("intakes: %d + %d learners (%v, %v), want %d", len(a), len(b), errA, errB, st.Learners)
			}
		})
	}
}

func TestRosterVisitors(t *testing.T) {
	forEachEngine(t, fillRoster, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		for _, tc := range []struct {
			course, from, to int64
			want             []int64
		}{
			{2, 0, 5000, []int64{10, 16, 17}},
			{2, 500, 900, []int64{10, 17}},
			{2, 901, 1999, nil},
			{4, 0, 5000, []int64{15}},
			{3, 0, 5000, nil},
		} {
			got, err := src.Roster().CourseVisitors(ctx, tc.course, tc.from, tc.to)
			var ids []int64
			for _, u := range got {
				ids = append(ids, u.ID)
			}
			if err != nil || !slices.Equal(ids, tc.want) {
				t.Errorf("course %d %d..%d: %v %v, want %v", tc.course, tc.from, tc.to, ids, err, tc.want)
			}
			if len(got) > 0 && got[0] != rosterUserInfo(got[0].ID) {
				t.Errorf("user %+v", got[0])
			}
		}
	})
}

// CountUsers counts what ListUsers lists.
func TestRosterCountUsers(t *testing.T) {
	forEachEngine(t, fillRoster, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		for _, f := range []aggregation.UserFilter{{}, {Search: "AN"}, {Host: 1}, {Host: 2}, {Search: "nobody"}} {
			listed, err := src.Directory().ListUsers(ctx, f, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			n, err := src.Roster().CountUsers(ctx, f)
			if err != nil || n != len(listed) {
				t.Errorf("%+v: counted %d (%v), listed %d", f, n, err, len(listed))
			}
		}
		if n, _ := src.Roster().CountUsers(ctx, aggregation.UserFilter{}); n != 7 {
			t.Errorf("%d users, want the 7 not deleted", n)
		}
	})
}
