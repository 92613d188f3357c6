package aggregation_test

import (
	"math"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// anMember is a course member with an active (or not) enrolment.
func anMember(id int64, last, first string, active bool, roles []string, groups ...int64) aggregation.Member {
	m := aggregation.Member{
		UserInfo:  aggregation.UserInfo{ID: id, LastName: last, FirstName: first},
		Groups:    groups,
		Enrolment: aggregation.Enrolment{Start: 1, Active: active},
	}
	for i, r := range roles {
		m.Roles = append(m.Roles, aggregation.RoleInfo{ID: int64(i + 1), ShortName: r})
	}
	return m
}

// anParticipants is course 5's members: their totals, last accesses,
// names, roles, groups, enrolments and grades are chosen so that every
// order has ties and every filter keeps a different set.
func anParticipants() aggregation.ParticipantSet {
	student, teacher := []string{"student"}, []string{"editingteacher"}
	nan := math.NaN()
	return aggregation.ParticipantSet{
		CourseID: 5,
		Members: []aggregation.Member{
			anMember(1, "Zeta", "Ann", true, student, 1),
			anMember(2, "adams", "Bob", true, student, 2),
			anMember(3, "Adams", "alice", true, teacher),
			anMember(4, "Brown", "Cy", false, student, 1, 2),
			anMember(5, "brown", "cy", true, []string{"student", "teacher"}, 3),
			anMember(6, "Émile", "Zoé", true, student),
		},
		Results: map[int64]*aggregation.Result{
			1: anLearner(1, 5, anStat(300, 3, 1000, 5000)),
			2: anLearner(2, 5, anStat(300, 4, 2000, 7000)),
			4: anLearner(4, 5, anStat(0, 1, 9000, 9000)),   // one click, no time
			5: anLearner(5, 5, anStat(100, 2, 2500, 3000)), // (3 has none)
			6: anLearner(6, 5, anStat(50, 0, 0, 0)),        // SCORM time only
			7: anLearner(7, 5, anStat(999, 9, 1, 1)),       // not a member
		},
		Grades: map[int64]float64{1: 80, 2: nan, 4: 80, 5: 95, 6: 10, 7: 1},
	}
}

func anIDs(rows []aggregation.Participant) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func TestListParticipantsOrders(t *testing.T) {
	set := anParticipants()
	cases := []struct {
		order     aggregation.ParticipantOrder
		asc, desc []int64
	}{
		{aggregation.ParticipantByTotal, []int64{3, 4, 6, 5, 1, 2}, []int64{1, 2, 5, 6, 3, 4}},
		{aggregation.ParticipantByLastAccess, []int64{3, 6, 5, 1, 2, 4}, []int64{4, 2, 1, 5, 3, 6}},
		// Names lower-cased, byte-wise: "émile" after "zeta".
		{aggregation.ParticipantByName, []int64{3, 2, 4, 5, 1, 6}, []int64{6, 1, 4, 5, 2, 3}},
		// No grade (3) or NaN (2): last both ways.
		{aggregation.ParticipantByGrade, []int64{6, 1, 4, 5, 2, 3}, []int64{5, 1, 4, 6, 2, 3}},
	}
	for _, c := range cases {
		for _, desc := range []bool{false, true} {
			want := c.asc
			if desc {
				want = c.desc
			}
			p, err := aggregation.ListParticipants(set, aggregation.ParticipantFilter{}, aggregation.Page[aggregation.ParticipantOrder]{Order: c.order, Desc: desc})
			if err != nil || !slices.Equal(anIDs(p.Rows), want) || p.TotalCount != 6 {
				t.Errorf("%s desc=%v: %v (%d), %v; want %v", c.order, desc, anIDs(p.Rows), p.TotalCount, err, want)
			}
		}
	}
	// Without grades, GRADE is the id order.
	set.Grades = nil
	p, err := aggregation.ListParticipants(set, aggregation.ParticipantFilter{}, aggregation.Page[aggregation.ParticipantOrder]{Order: aggregation.ParticipantByGrade, Desc: true})
	if err != nil || !slices.Equal(anIDs(p.Rows), []int64{1, 2, 3, 4, 5, 6}) {
		t.Errorf("no grades: %v, %v", anIDs(p.Rows), err)
	}
}

func TestListParticipantsFilters(t *testing.T) {
	set := anParticipants()
	i64 := func(v int64) *int64 { return &v }
	cases := []struct {
		name   string
		filter aggregation.ParticipantFilter
		want   []int64 // in TOTAL ASC order
	}{
		{"none", aggregation.ParticipantFilter{}, []int64{3, 4, 6, 5, 1, 2}},
		{"min", aggregation.ParticipantFilter{MinTotal: i64(100)}, []int64{5, 1, 2}},
		{"max", aggregation.ParticipantFilter{MaxTotal: i64(50)}, []int64{3, 4, 6}},
		{"min max", aggregation.ParticipantFilter{MinTotal: i64(50), MaxTotal: i64(100)}, []int64{6, 5}},
		{"inactive since", aggregation.ParticipantFilter{InactiveSince: i64(6000)}, []int64{3, 6, 5, 1}},
		{"inactive since last access", aggregation.ParticipantFilter{InactiveSince: i64(5000)}, []int64{3, 6, 5}},
		{"never active", aggregation.ParticipantFilter{NeverActive: true}, []int64{3}},
		{"roles", aggregation.ParticipantFilter{Roles: []string{"teacher", "editingteacher"}}, []int64{3, 5}},
		{"groups", aggregation.ParticipantFilter{Groups: []int64{2, 3}}, []int64{4, 5, 2}},
		{"active enrolment", aggregation.ParticipantFilter{ActiveEnrolmentOnly: true}, []int64{3, 6, 5, 1, 2}},
		{"with time", aggregation.ParticipantFilter{WithTimeOnly: true}, []int64{6, 5, 1, 2}},
		{"all of them", aggregation.ParticipantFilter{Roles: []string{"student"}, Groups: []int64{1}, WithTimeOnly: true}, []int64{1}},
		{"nobody", aggregation.ParticipantFilter{NeverActive: true, WithTimeOnly: true}, []int64{}},
	}
	for _, c := range cases {
		p, err := aggregation.ListParticipants(set, c.filter, aggregation.Page[aggregation.ParticipantOrder]{})
		if err != nil || !slices.Equal(anIDs(p.Rows), c.want) || p.TotalCount != len(c.want) || p.Aggregate.Population != len(c.want) {
			t.Errorf("%s: %v (count %d, population %d), %v; want %v", c.name, anIDs(p.Rows), p.TotalCount, p.Aggregate.Population, err, c.want)
		}
	}
}

// The aggregate is over every member kept, whatever the page.
func TestListParticipantsAggregateFollowsFilter(t *testing.T) {
	p, err := aggregation.ListParticipants(anParticipants(), aggregation.ParticipantFilter{WithTimeOnly: true},
		aggregation.Page[aggregation.ParticipantOrder]{Order: aggregation.ParticipantByName, Offset: 1, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := p.Aggregate
	// totals 50, 100, 300, 300: median rank 2, P90 rank ⌈3.6⌉ = 4.
	if !slices.Equal(anIDs(p.Rows), []int64{5}) || p.TotalCount != 4 || a.Population != 4 || a.ActiveLearners != 4 ||
		a.Total != anStat(750, 9, 1000, 7000) || a.Mean != 187.5 || a.Median != 100 || a.P90 != 300 {
		t.Errorf("rows %v count %d aggregate %+v", anIDs(p.Rows), p.TotalCount, a)
	}
	p, err = aggregation.ListParticipants(anParticipants(), aggregation.ParticipantFilter{}, aggregation.Page[aggregation.ParticipantOrder]{})
	if err != nil || p.Aggregate.Population != 6 || p.Aggregate.ActiveLearners != 4 || p.Aggregate.Total != anStat(750, 10, 1000, 9000) {
		t.Errorf("no filter: %+v, %v", p.Aggregate, err)
	}
}

func TestListParticipantsPaging(t *testing.T) {
	set := anParticipants()
	desc := aggregation.Page[aggregation.ParticipantOrder]{Order: aggregation.ParticipantByTotal, Desc: true}
	cases := []struct {
		offset, limit int
		want          []int64
	}{
		{0, 0, []int64{1, 2, 5, 6, 3, 4}},
		{0, 2, []int64{1, 2}},
		{1, 2, []int64{2, 5}},
		{4, 0, []int64{3, 4}},
		{5, 10, []int64{4}},
		{6, 1, []int64{}},
		{100, 5, []int64{}},
		{2, math.MaxInt, []int64{5, 6, 3, 4}},
	}
	for _, c := range cases {
		pg := desc
		pg.Offset, pg.Limit = c.offset, c.limit
		p, err := aggregation.ListParticipants(set, aggregation.ParticipantFilter{}, pg)
		if err != nil || !slices.Equal(anIDs(p.Rows), c.want) || p.TotalCount != 6 {
			t.Errorf("offset %d limit %d: %v (%d), %v; want %v", c.offset, c.limit, anIDs(p.Rows), p.TotalCount, err, c.want)
		}
	}
	for _, pg := range []aggregation.Page[aggregation.ParticipantOrder]{{Offset: -1}, {Limit: -1}, {Order: 9}} {
		if _, err := aggregation.ListParticipants(set, aggregation.ParticipantFilter{}, pg); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("%+v: err = %v, want invalid", pg, err)
		}
	}
	if p, err := aggregation.ListParticipants(aggregation.ParticipantSet{CourseID: 5}, aggregation.ParticipantFilter{}, desc); err != nil ||
		len(p.Rows) != 0 || p.TotalCount != 0 || p.Aggregate.Population != 0 {
		t.Errorf("no members: %+v, %v", p, err)
	}
}

func TestCourseGradeValues(t *testing.T) {
	v, w := 7.5, 0.0
	got := aggregation.CourseGradeValues(map[int64]aggregation.CourseGrade{
		1: {Course: &aggregation.Grade{Value: &v, Max: 10}},
		2: {Course: &aggregation.Grade{Max: 10}}, // not graded
		3: {},                                    // no course grade item
		4: {Course: &aggregation.Grade{Value: &w, Max: 10}},
	})
	if len(got) != 2 || got[1] != 7.5 || got[4] != 0 {
		t.Errorf("got %v", got)
	}
}
