package resolvers_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// withGroups gives the fixture's courses groups, roles and enrolments:
// course 5: group 51 "Alpha" {7}, group 52 "Beta" {9}; course 8: group 81
// {9, 20}; 7 and 9 students of course 5, 9 also its editing teacher; 9's
// enrolment in course 5 suspended and dated.
func withGroups(e *env) {
	e.dir.AddGroups(
		aggregation.GroupInfo{ID: 52, CourseID: 5, Name: "Beta", Groupings: []aggregation.GroupingInfo{{ID: 3, Name: "All"}}},
		aggregation.GroupInfo{ID: 51, CourseID: 5, Name: "Alpha", IDNumber: "A"},
		aggregation.GroupInfo{ID: 81, CourseID: 8, Name: "Eight"})
	e.dir.AddToGroup(51, 7)
	e.dir.AddToGroup(52, 9)
	e.dir.AddToGroup(81, 9, 20)
	student := aggregation.RoleInfo{ID: 5, ShortName: "student"}
	e.dir.SetRoles(5, 7, student)
	e.dir.SetRoles(5, 9, aggregation.RoleInfo{ID: 3, ShortName: "editingteacher", Name: "Tutor"}, student)
	e.dir.SetEnrolment(5, 9, aggregation.Enrolment{Start: 1_600_000_000, End: 1_800_000_000})
	e.dir.AddCourses(aggregation.CourseInfo{ID: 1, ShortName: "site", FullName: "Front page"},
		aggregation.CourseInfo{ID: 6, ShortName: "C6", FullName: "another course", Category: 1, Visible: true, StartDate: 1_700_000_000})
}

type orderedPage struct {
	Course struct {
		Participants struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Edges []struct {
				Node struct {
					User      struct{ ID string }
					Roles     []struct{ Shortname, Name string }
					Groups    []struct{ ID, Name string }
					Enrolment struct {
						Start, End *int64
						Active     bool
					}
					Stats struct{ Total int64 }
				}
			}
		}
	}
}

func (p orderedPage) ids() []string {
	var out []string
	for _, e := range p.Course.Participants.Edges {
		out = append(out, e.Node.User.ID)
	}
	return out
}

const orderedQuery = `query($c: ID!, $first: Int, $after: String, $order: ParticipantOrder, $filter: ParticipantFilter) {
  course(by: {id: $c}) { participants(first: $first, after: $after, orderBy: $order, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { user { id } roles { shortname name } groups { id name } enrolment { start end active } stats { total } } } } } }`

func TestParticipantsOrderFilter(t *testing.T) {
	e := newEnv(t)
	withGroups(e)
	get := func(token string, vars map[string]any) orderedPage {
		t.Helper()
		var p orderedPage
		e.ok(token, orderedQuery, vars, &p)
		return p
	}
	// By total, most first: 7 (2050 s) then 9 (1560 s); least first the other way.
	p := get("site-token", map[string]any{"c": 5, "order": map[string]any{"field": "TOTAL", "direction": "DESC"}})
	wantEqual(t, "by total desc", p.ids(), []string{"7", "9"})
	wantEqual(t, "totalCount", p.Course.Participants.TotalCount, 2)
	wantEqual(t, "totals", []int64{p.Course.Participants.Edges[0].Node.Stats.Total, p.Course.Participants.Edges[1].Node.Stats.Total}, []int64{2050, 1560})
	p = get("site-token", map[string]any{"c": 5, "order": map[string]any{"field": "TOTAL"}})
	wantEqual(t, "by total asc", p.ids(), []string{"9", "7"})
	// Pages of one, by total, follow each other through the cursor.
	p = get("site-token", map[string]any{"c": 5, "first": 1, "order": map[string]any{"field": "TOTAL"}})
	wantEqual(t, "page 1", p.ids(), []string{"9"})
	if !p.Course.Participants.PageInfo.HasNextPage || p.Course.Participants.TotalCount != 2 {
		t.Fatalf("page 1: %+v", p.Course.Participants.PageInfo)
	}
	p = get("site-token", map[string]any{"c": 5, "first": 1, "after": *p.Course.Participants.PageInfo.EndCursor, "order": map[string]any{"field": "TOTAL"}})
	wantEqual(t, "page 2", p.ids(), []string{"7"})
	wantEqual(t, "page 2 is the last", p.Course.Participants.PageInfo.HasNextPage, false)
	// Filters: time, roles, groups; the count follows them.
	for _, tc := range []struct {
		filter map[string]any
		want   []string
	}{
		{map[string]any{"minTotal": "30m"}, []string{"7"}},
		{map[string]any{"maxTotal": 1560}, []string{"9"}},
		{map[string]any{"roles": []string{"editingteacher"}}, []string{"9"}},
		{map[string]any{"groups": []string{"51"}}, []string{"7"}},
		{map[string]any{"activeEnrolmentOnly": true}, []string{"7"}},
		{map[string]any{"neverActive": true}, nil},
		{map[string]any{"inactiveSince": 1_700_000_000}, nil},
		{map[string]any{"inactiveSince": 1_900_000_000}, []string{"7", "9"}},
	} {
		p := get("site-token", map[string]any{"c": 5, "filter": tc.filter})
		if !slices.Equal(p.ids(), tc.want) || p.Course.Participants.TotalCount != len(tc.want) {
			t.Errorf("filter %v: %v (totalCount %d), want %v", tc.filter, p.ids(), p.Course.Participants.TotalCount, tc.want)
		}
	}
	// Grades: learner 7 has 80 in course 5, learner 9 none.
	var g struct {
		Course struct {
			Participants struct {
				Edges []struct {
					Node struct{ Grade *struct{ Grade *float64 } }
				}
			}
		}
	}
	e.ok("site-token", `{ course(by: {id: 5}) { participants { edges { node { grade { grade } } } } } }`, nil, &g)
	if edges := g.Course.Participants.Edges; len(edges) != 2 || edges[0].Node.Grade == nil || *edges[0].Node.Grade.Grade != 80 || edges[1].Node.Grade != nil {
		t.Errorf("grades %+v", edges)
	}
	// Roles, groups (course order: by name) and enrolment of each row.
	p = get("site-token", map[string]any{"c": 5})
	n9 := p.Course.Participants.Edges[1].Node
	wantEqual(t, "roles", n9.Roles, []struct{ Shortname, Name string }{{"editingteacher", "Tutor"}, {"student", ""}})
	wantEqual(t, "groups", n9.Groups, []struct{ ID, Name string }{{"52", "Beta"}})
	if n9.Enrolment.Start == nil || *n9.Enrolment.Start != 1_600_000_000 || *n9.Enrolment.End != 1_800_000_000 || n9.Enrolment.Active {
		t.Errorf("enrolment %+v", n9.Enrolment)
	}
	if n7 := p.Course.Participants.Edges[0].Node; n7.Enrolment.Start != nil || n7.Enrolment.End != nil || !n7.Enrolment.Active {
		t.Errorf("undated enrolment %+v", n7.Enrolment)
	}
	// Bad arguments are BAD_USER_INPUT.
	for _, vars := range []map[string]any{
		{"c": 5, "filter": map[string]any{"minTotal": 10, "maxTotal": 5}},
		{"c": 5, "filter": map[string]any{"groups": []string{"0"}}},
		{"c": 5, "after": "bm9wZQ"},
	} {
		if r := e.post("site-token", "", orderedQuery, vars); len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
			t.Errorf("%v: %s", vars, r.Body)
		}
	}
}

type aggregateAnswer struct {
	Course struct {
		Stats struct {
			Learners, ActiveLearners int
			Total, Mean, Median, P90 int64
			Events                   int
			Modules                  []struct {
				Cmid     string
				Name     *string
				Elapsed  int64
				Learners int
			}
			Sections []struct{ ID string }
			Days     []struct {
				Start   int64
				Elapsed int64
			} `json:"days"`
			Weeks []struct{ Elapsed int64 } `json:"weeks"`
		}
	}
}

const aggregateQuery = `query($c: ID!, $filter: ParticipantFilter) { course(by: {id: $c}) { stats(filter: $filter) {
  learners activeLearners total mean median p90 events modules { cmid name elapsed learners } sections { id }
  days: series { start elapsed } weeks: series(granularity: WEEK) { elapsed } } } }`

// A course's aggregate is the sum of its participants' own statistics;
// its series sum to its total.
func TestCourseAggregate(t *testing.T) {
	e := newEnv(t)
	withGroups(e)
	for _, c := range []int{5, 8} {
		var p orderedPage
		e.ok("site-token", orderedQuery, map[string]any{"c": c, "first": 100}, &p)
		var sum int64
		active := 0
		var totals []int64
		for _, edge := range p.Course.Participants.Edges {
			sum += edge.Node.Stats.Total
			if edge.Node.Stats.Total > 0 {
				active++
				totals = append(totals, edge.Node.Stats.Total)
			}
		}
		var a aggregateAnswer
		e.ok("site-token", aggregateQuery, map[string]any{"c": c}, &a)
		s := a.Course.Stats
		if s.Total != sum || s.ActiveLearners != active || s.Learners != len(p.Course.Participants.Edges) {
			t.Errorf("course %d: aggregate %+v, participants sum %d over %d active", c, s, sum, active)
		}
		slices.Sort(totals)
		if s.Median != totals[(len(totals)+1)/2-1] || s.P90 != totals[len(totals)-1] {
			t.Errorf("course %d: median %d, p90 %d of %v", c, s.Median, s.P90, totals)
		}
		var days, weeks int64
		for _, d := range s.Days {
			days += d.Elapsed
		}
		for _, w := range s.Weeks {
			weeks += w.Elapsed
		}
		if days != s.Total || weeks != s.Total {
			t.Errorf("course %d: series sum to %d (days) and %d (weeks), total %d", c, days, weeks, s.Total)
		}
	}
	var a aggregateAnswer
	e.ok("site-token", aggregateQuery, map[string]any{"c": 5, "filter": map[string]any{"groups": []string{"52"}}}, &a)
	wantEqual(t, "group 52's total", a.Course.Stats.Total, int64(1560))
	wantEqual(t, "group 52's learners", a.Course.Stats.Learners, 1)
	if len(a.Course.Stats.Modules) == 0 || a.Course.Stats.Modules[0].Name == nil {
		t.Errorf("modules %+v", a.Course.Stats.Modules)
	}
	// Hours, other zones and heat maps sum to the same total; an unknown
	// zone is BAD_USER_INPUT.
	var h struct {
		Course struct {
			Stats struct {
				Total   int64
				Hours   []struct{ Start, Elapsed int64 }
				Paris   []struct{ Start, Elapsed int64 }
				Kolkata []struct{ Start, Elapsed int64 }
				Heat    []struct {
					Weekday, Hour int
					Elapsed       int64
				}
			}
		}
	}
	e.ok("site-token", `{ course(by: {id: 5}) { stats { total hours: series(granularity: HOUR) { start elapsed }
	  paris: series(granularity: WEEK, timezone: "Europe/Paris") { start elapsed }
	  kolkata: series(timezone: "Asia/Kolkata") { start elapsed } heat: heatmap(timezone: "America/New_York") { weekday hour elapsed } } } }`, nil, &h)
	st := h.Course.Stats
	sum := func(ps []struct{ Start, Elapsed int64 }) (n int64) {
		for i, p := range ps {
			n += p.Elapsed
			if i > 0 && p.Start <= ps[i-1].Start {
				t.Errorf("series out of order: %v", ps)
			}
		}
		return n
	}
	var heat int64
	for i, c := range st.Heat {
		heat += c.Elapsed
		if c.Weekday != i/24+1 || c.Hour != i%24 {
			t.Fatalf("heat map cell %d is %d/%d", i, c.Weekday, c.Hour)
		}
	}
	if len(st.Heat) != 168 || heat != st.Total || sum(st.Hours) != st.Total || sum(st.Paris) != st.Total || sum(st.Kolkata) != st.Total {
		t.Errorf("total %d: hours %d, Paris weeks %d, Kolkata days %d, heat map %d over %d cells",
			st.Total, sum(st.Hours), sum(st.Paris), sum(st.Kolkata), heat, len(st.Heat))
	}
	for _, p := range st.Hours {
		if p.Start%3600 != 0 {
			t.Errorf("an hour starting at %d", p.Start)
		}
	}
	for _, q := range []string{
		`{ course(by: {id: 5}) { stats { series(timezone: "Mars/Olympus") { elapsed } } } }`,
		`{ course(by: {id: 5}) { stats { heatmap(timezone: "../../etc/passwd") { elapsed } } } }`,
	} {
		e.fails("site-token", q, nil, "BAD_USER_INPUT")
	}
}

// A group token reads its group's members and aggregates in its course,
// and nothing else.
func TestGroupToken(t *testing.T) {
	e := newEnv(t)
	withGroups(e)
	var p orderedPage
	e.ok("group51-token", orderedQuery, map[string]any{"c": 5}, &p)
	wantEqual(t, "its group only", p.ids(), []string{"7"})
	wantEqual(t, "its count", p.Course.Participants.TotalCount, 1)
	// Asking for another group of the course answers nobody.
	e.ok("group51-token", orderedQuery, map[string]any{"c": 5, "filter": map[string]any{"groups": []string{"52"}}}, &p)
	wantEqual(t, "another group", len(p.ids()), 0)
	var a aggregateAnswer
	e.ok("group51-token", aggregateQuery, map[string]any{"c": 5}, &a)
	wantEqual(t, "its aggregate", a.Course.Stats.Total, int64(2050))
	var g struct {
		Course struct {
			Groups []struct {
				ID      string
				Members struct {
					TotalCount int
					Edges      []struct {
						Node struct{ User struct{ ID string } }
					}
				}
				Stats struct{ Total int64 }
			}
		}
	}
	e.ok("group51-token", `{ course(by: {id: 5}) { groups { id members { totalCount edges { node { user { id } } } } stats { total } } } }`, nil, &g)
	if len(g.Course.Groups) != 1 || g.Course.Groups[0].ID != "51" || g.Course.Groups[0].Members.TotalCount != 1 || g.Course.Groups[0].Stats.Total != 2050 {
		t.Errorf("groups %+v", g)
	}
	e.ok("site-token", `{ course(by: {id: 5}) { groups { id members { totalCount edges { node { user { id } } } } stats { total } } } }`, nil, &g)
	if len(g.Course.Groups) != 2 || g.Course.Groups[0].ID != "51" || g.Course.Groups[1].ID != "52" || g.Course.Groups[1].Stats.Total != 1560 {
		t.Errorf("site groups %+v", g)
	}
	for _, q := range []string{
		`{ course(by: {id: 8}) { id } }`,
		`{ courses { totalCount } }`,
		`{ user(by: {id: 9}) { id } }`,
		`{ users { edges { cursor } } }`,
	} {
		e.fails("group51-token", q, nil, "FORBIDDEN")
	}
}

type coursesAnswer struct {
	Courses struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage bool
			EndCursor   *string
		}
		Edges []struct {
			Node struct {
				ID        string
				Visible   bool
				StartDate *int64
			}
		}
	}
}

func (c coursesAnswer) ids() []string {
	var out []string
	for _, e := range c.Courses.Edges {
		out = append(out, e.Node.ID)
	}
	return out
}

func TestCourses(t *testing.T) {
	e := newEnv(t)
	withGroups(e)
	q := `query($f: CourseFilter, $o: CourseOrder, $first: Int, $after: String) { courses(filter: $f, orderBy: $o, first: $first, after: $after) {
	  totalCount pageInfo { hasNextPage endCursor } edges { node { id visible startDate } } } }`
	for _, tc := range []struct {
		vars map[string]any
		want []string
	}{
		{nil, []string{"5", "6", "8"}},
		{map[string]any{"o": map[string]any{"field": "FULLNAME"}}, []string{"6", "8", "5"}},
		{map[string]any{"o": map[string]any{"field": "SHORTNAME", "direction": "DESC"}}, []string{"8", "6", "5"}},
		{map[string]any{"f": map[string]any{"search": "COURSE F"}}, []string{"5"}},
		{map[string]any{"f": map[string]any{"category": "1"}}, []string{"5", "6"}},
		{map[string]any{"f": map[string]any{"visible": true}}, []string{"6"}},
	} {
		var c coursesAnswer
		e.ok("site-token", q, tc.vars, &c)
		if !slices.Equal(c.ids(), tc.want) || c.Courses.TotalCount != len(tc.want) {
			t.Errorf("%v: %v (totalCount %d), want %v", tc.vars, c.ids(), c.Courses.TotalCount, tc.want)
		}
	}
	// Pages of two: the cursor continues, totalCount stays.
	var seen []string
	var after any
	for range 3 {
		var c coursesAnswer
		e.ok("site-token", q, map[string]any{"first": 2, "after": after}, &c)
		wantEqual(t, "totalCount", c.Courses.TotalCount, 3)
		seen = append(seen, c.ids()...)
		if !c.Courses.PageInfo.HasNextPage {
			break
		}
		after = *c.Courses.PageInfo.EndCursor
	}
	wantEqual(t, "pages", seen, []string{"5", "6", "8"})
	var c coursesAnswer
	e.ok("site-token", q, map[string]any{"f": map[string]any{"visible": true}}, &c)
	if n := c.Courses.Edges[0].Node; !n.Visible || n.StartDate == nil || *n.StartDate != 1_700_000_000 {
		t.Errorf("course 6: %+v", n)
	}
	e.fails("course5-token", `{ courses { totalCount } }`, nil, "FORBIDDEN")
	e.fails("site-token", `{ courses(filter: {category: "0"}) { totalCount } }`, nil, "BAD_USER_INPUT")
}

// includeUnenrolled adds the users with log rows in the course who are
// not enrolled in it, once each; the aggregate says whom it counts.
func TestIncludeUnenrolled(t *testing.T) {
	e := newEnv(t)
	withGroups(e)
	e.dir.AddVisits(5, 20, 1_700_000_100) // not enrolled in course 5
	e.dir.AddVisits(5, 7, 1_700_000_100)  // enrolled: listed once
	e.dir.AddVisits(5, 9, 1)              // outside the range asked below
	q := `query($f: ParticipantFilter) { course(by: {id: 5}) {
	  participants(filter: $f, range: {from: 1600000000}) { totalCount edges { node { user { id } enrolled } } }
	  stats(filter: $f, range: {from: 1600000000}) { population learners total } } }`
	var a struct {
		Course struct {
			Participants struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						User     struct{ ID string }
						Enrolled bool
					}
				}
			}
			Stats struct {
				Population string
				Learners   int
				Total      int64
			}
		}
	}
	e.ok("site-token", q, map[string]any{"f": map[string]any{"includeUnenrolled": true}}, &a)
	var got []string
	for _, edge := range a.Course.Participants.Edges {
		got = append(got, fmt.Sprintf("%s:%v", edge.Node.User.ID, edge.Node.Enrolled))
	}
	wantEqual(t, "participants", got, []string{"7:true", "9:true", "20:false"})
	wantEqual(t, "population", a.Course.Stats.Population, "ENROLLED_AND_UNENROLLED")
	wantEqual(t, "learners", a.Course.Stats.Learners, 3)
	e.ok("site-token", q, nil, &a)
	wantEqual(t, "default population", a.Course.Stats.Population, "ENROLLED")
	wantEqual(t, "default learners", a.Course.Stats.Learners, 2)
	// A group token never sees users outside its groups.
	e.ok("group51-token", q, map[string]any{"f": map[string]any{"includeUnenrolled": true}}, &a)
	wantEqual(t, "group token", a.Course.Participants.TotalCount, 1)
}

func TestCohorts(t *testing.T) {
	e := newEnv(t)
	e.dir.AddCohorts(aggregation.CohortInfo{ID: 1, Name: "Year 2", IDNumber: "Y2", Visible: true}, aggregation.CohortInfo{ID: 2, Name: "year 1"})
	e.dir.AddToCohort(1, 20, 7, 9)
	var a struct {
		Cohorts struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID, Name string } }
		}
		Cohort struct {
			Name    string
			Members struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   string
				}
				Edges []struct {
					Node struct {
						ID    string
						Stats struct{ Total int64 }
					}
				}
			}
		}
	}
	q := `query($after: String) { cohorts(orderBy: {field: NAME}) { totalCount edges { node { id name } } }
	  cohort(by: {idnumber: "Y2"}) { name members(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
	    edges { node { id stats { total } } } } } }`
	e.ok("site-token", q, nil, &a)
	wantEqual(t, "cohorts by name", []string{a.Cohorts.Edges[0].Node.ID, a.Cohorts.Edges[1].Node.ID}, []string{"2", "1"})
	wantEqual(t, "cohort count", a.Cohorts.TotalCount, 2)
	m := a.Cohort.Members
	if m.TotalCount != 3 || len(m.Edges) != 2 || m.Edges[0].Node.ID != "7" || m.Edges[0].Node.Stats.Total != 2110 || !m.PageInfo.HasNextPage {
		t.Fatalf("members %+v", m)
	}
	e.ok("site-token", q, map[string]any{"after": m.PageInfo.EndCursor}, &a)
	if m := a.Cohort.Members; len(m.Edges) != 1 || m.Edges[0].Node.ID != "20" || m.PageInfo.HasNextPage {
		t.Errorf("second page %+v", m)
	}
	e.fails("site-token", `{ cohort(by: {id: 9}) { id } }`, nil, "NOT_FOUND")
	e.fails("site-token", `{ cohort(by: {id: 1, idnumber: "Y2"}) { id } }`, nil, "BAD_USER_INPUT")
	e.fails("course5-token", `{ cohorts { totalCount } }`, nil, "FORBIDDEN")
	e.fails("group51-token", `{ cohort(by: {id: 1}) { id } }`, nil, "FORBIDDEN")
	// Query.users counts what it lists.
	var u struct{ Users struct{ TotalCount int } }
	e.ok("site-token", `{ users(filter: {search: "learner"}, first: 1) { totalCount } }`, nil, &u)
	wantEqual(t, "users counted", u.Users.TotalCount, 3)
}

// The site's and a cohort's stats are the sum of their users' own.
func TestSiteAndCohortStats(t *testing.T) {
	e := newEnv(t)
	e.dir.AddCohorts(aggregation.CohortInfo{ID: 1, Name: "Some"})
	e.dir.AddToCohort(1, 7, 20)
	var users struct {
		Users struct {
			Edges []struct {
				Node struct {
					ID    string
					Stats struct {
						Total   int64
						Courses []struct {
							CourseID string
							Total    int64
						}
					}
				}
			}
		}
	}
	e.ok("site-token", `{ users(first: 100) { edges { node { id stats(scope: COURSE) { total courses { courseId total } } } } } }`, nil, &users)
	type agg struct {
		Users, ActiveUsers int
		Total, Median      int64
		TopCourses         []struct {
			CourseID string
			Total    int64
			Course   *struct{ Shortname string }
		}
		Series []struct{ Elapsed int64 }
	}
	var a struct {
		Site   struct{ Stats agg }
		Cohort struct{ Stats agg }
	}
	e.ok("site-token", `{ site { stats { users activeUsers total median topCourses(first: 5) { courseId total course { shortname } } series(granularity: MONTH) { elapsed } } }
	  cohort(by: {id: 1}) { stats { users activeUsers total median topCourses { courseId total } series { elapsed } } } }`, nil, &a)
	var total, cohortTotal int64
	active := 0
	courses := map[string]int64{}
	for _, u := range users.Users.Edges {
		total += u.Node.Stats.Total
		if u.Node.Stats.Total > 0 {
			active++
		}
		if u.Node.ID == "7" || u.Node.ID == "20" {
			cohortTotal += u.Node.Stats.Total
		}
		for _, c := range u.Node.Stats.Courses {
			courses[c.CourseID] += c.Total
		}
	}
	s := a.Site.Stats
	if s.Total != total || s.Users != len(users.Users.Edges) || s.ActiveUsers != active {
		t.Errorf("site %+v, users sum %d over %d (%d active)", s, total, len(users.Users.Edges), active)
	}
	for _, c := range s.TopCourses {
		if courses[c.CourseID] != c.Total {
			t.Errorf("top course %s: %d, users' %d", c.CourseID, c.Total, courses[c.CourseID])
		}
	}
	if len(s.TopCourses) == 0 || s.TopCourses[0].Course == nil {
		t.Errorf("top courses %+v", s.TopCourses)
	}
	var series int64
	for _, p := range s.Series {
		series += p.Elapsed
	}
	wantEqual(t, "site series", series, total)
	wantEqual(t, "cohort total", a.Cohort.Stats.Total, cohortTotal)
	wantEqual(t, "cohort users", a.Cohort.Stats.Users, 2)
	for _, tok := range []string{"course5-token", "self7-token", "group51-token"} {
		e.fails(tok, `{ site { stats { total } } }`, nil, "FORBIDDEN")
	}
	e.fails("site-token", `{ site { stats { topCourses(first: 101) { total } } } }`, nil, "BAD_USER_INPUT")
}

// Query.users sorted by time, by name, within a cohort, page by page.
func TestUsersSorted(t *testing.T) {
	e := newEnv(t)
	e.dir.AddCohorts(aggregation.CohortInfo{ID: 1, Name: "Some"})
	e.dir.AddToCohort(1, 7, 20, 22)
	type page struct {
		Users struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Edges []struct{ Node struct{ ID string } }
		}
	}
	q := `query($f: UserFilter, $o: UserOrder, $first: Int, $after: String) { users(filter: $f, orderBy: $o, first: $first, after: $after) {
	  totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`
	all := func(vars map[string]any) ([]string, int) {
		var ids []string
		total := -1
		for range 10 {
			var p page
			e.ok("site-token", q, vars, &p)
			if total >= 0 && p.Users.TotalCount != total {
				t.Fatalf("%v: totalCount moved", vars)
			}
			total = p.Users.TotalCount
			for _, edge := range p.Users.Edges {
				ids = append(ids, edge.Node.ID)
			}
			if !p.Users.PageInfo.HasNextPage {
				break
			}
			vars["after"] = *p.Users.PageInfo.EndCursor
		}
		return ids, total
	}
	for _, tc := range []struct {
		vars  map[string]any
		want  []string
		total int
	}{
		// 7: 2110 s, 9: 1960 s, 20: course 8 only, the twins none.
		{map[string]any{"o": map[string]any{"field": "TOTAL", "direction": "DESC"}, "first": 2}, []string{"7", "9", "20", "22", "23"}, 5},
		{map[string]any{"o": map[string]any{"field": "ID", "direction": "DESC"}, "first": 2}, []string{"23", "22", "20", "9", "7"}, 5},
		{map[string]any{"f": map[string]any{"cohort": "1"}, "first": 2}, []string{"7", "20", "22"}, 3},
		{map[string]any{"f": map[string]any{"cohort": "1", "search": "TWIN"}}, []string{"22"}, 1},
		{map[string]any{"f": map[string]any{"search": "learner"}, "o": map[string]any{"field": "NAME"}}, []string{"20", "7", "9"}, 3},
	} {
		ids, total := all(tc.vars)
		if !slices.Equal(ids, tc.want) || total != tc.total {
			t.Errorf("%v: %v (totalCount %d), want %v (%d)", tc.vars, ids, total, tc.want, tc.total)
		}
	}
	e.fails("site-token", `{ users(filter: {cohort: "0"}) { totalCount } }`, nil, "BAD_USER_INPUT")
	e.fails("site-token", `{ users(filter: {cohort: "9"}) { totalCount } }`, nil, "NOT_FOUND")
}

// A user's series and heat map sum to the total the token reads.
func TestUserSeries(t *testing.T) {
	e := newEnv(t)
	var a struct {
		User struct {
			Stats struct {
				Total int64
				Hours []struct{ Elapsed int64 }
				Weeks []struct{ Elapsed int64 }
				Heat  []struct{ Elapsed int64 }
			}
		}
	}
	q := `{ user(by: {id: 9}) { stats { total hours: series(granularity: HOUR) { elapsed }
	  weeks: series(granularity: WEEK, timezone: "Pacific/Auckland") { elapsed } heat: heatmap { elapsed } } } }`
	for _, tok := range []string{"site-token", "course5-token"} {
		e.ok(tok, q, nil, &a)
		var hours, weeks, heat int64
		for _, p := range a.User.Stats.Hours {
			hours += p.Elapsed
		}
		for _, p := range a.User.Stats.Weeks {
			weeks += p.Elapsed
		}
		for _, c := range a.User.Stats.Heat {
			heat += c.Elapsed
		}
		if s := a.User.Stats; hours != s.Total || weeks != s.Total || heat != s.Total || len(s.Heat) != 168 {
			t.Errorf("%s: total %d, hours %d, weeks %d, heat map %d", tok, s.Total, hours, weeks, heat)
		}
	}
	wantEqual(t, "course 5 only", a.User.Stats.Total, int64(1560))
}

// A group's members narrowed by filter.groups are those in both; a
// cursor of one order is refused by another.
func TestGroupMembersFilterAndCursors(t *testing.T) {
	e := newEnv(t)
	withGroups(e)
	e.dir.AddToGroup(51, 9) // 9 in both 51 and 52 now
	var g struct {
		Course struct {
			Groups []struct {
				ID      string
				Members struct {
					TotalCount int
					Edges      []struct {
						Node struct{ User struct{ ID string } }
					}
				}
				Stats struct{ Learners int }
			}
		}
	}
	e.ok("site-token", `{ course(by: {id: 5}) { groups { id members(filter: {groups: ["52"]}) { totalCount edges { node { user { id } } } }
	  stats(filter: {groups: ["52"]}) { learners } } } }`, nil, &g)
	if a := g.Course.Groups[0]; a.ID != "51" || a.Members.TotalCount != 1 || a.Members.Edges[0].Node.User.ID != "9" || a.Stats.Learners != 1 {
		t.Errorf("group 51 ∩ 52: %+v", a)
	}
	// The group token of 51 reads 51 only, and may not filter by a group
	// it does not read (which would tell who is in it).
	e.ok("group51-token", `{ course(by: {id: 5}) { groups { id members(filter: {groups: ["52"]}) { totalCount edges { node { user { id } } } }
	  stats(filter: {groups: ["52"]}) { learners } } } }`, nil, &g)
	if len(g.Course.Groups) != 1 || g.Course.Groups[0].Members.TotalCount != 0 || g.Course.Groups[0].Stats.Learners != 0 {
		t.Errorf("group token: %+v", g)
	}
	var p orderedPage
	e.ok("site-token", orderedQuery, map[string]any{"c": 5, "first": 1, "order": map[string]any{"field": "TOTAL"}}, &p)
	r := e.post("site-token", "", orderedQuery, map[string]any{"c": 5, "first": 1, "after": *p.Course.Participants.PageInfo.EndCursor,
		"order": map[string]any{"field": "NAME"}})
	if len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
		t.Errorf("a TOTAL cursor in a NAME list: %s", r.Body)
	}
}
