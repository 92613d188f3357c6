package aggregation

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// ParticipantSet is what a course's participant list is computed from.
type ParticipantSet struct {
	CourseID int64
	// Members are the course's members (Roster.CourseMembers), one per
	// user.
	Members []Member
	// Results are the members' answers by user id (Service.Users); a
	// member without one, or whose Result lacks the course, has no time.
	Results map[int64]*Result
	// Grades are what ParticipantByGrade sorts by, by user id; a member
	// without one (or with NaN) has no grade. See CourseGradeValues.
	Grades map[int64]float64
}

// ParticipantFilter keeps the members matching every set field; the zero
// filter keeps everyone. Times are the member's course total
// (CourseStat.Total, zero without time).
type ParticipantFilter struct {
	// MinTotal and MaxTotal bound the course time (seconds, inclusive).
	MinTotal, MaxTotal *int64
	// InactiveSince keeps the members with no counted event in the course
	// at or after this time (Unix seconds), those never active included.
	InactiveSince *int64
	// NeverActive keeps the members with neither a counted event nor time
	// in the course.
	NeverActive bool
	// Roles keeps the members with any of these roles (role short names).
	Roles []string
	// Groups keeps the members of any of these groups.
	Groups []int64
	// InGroup keeps the members of this group (0: any), whatever Groups
	// says: a group's own list, which Groups may narrow further.
	InGroup int64
	// ActiveEnrolmentOnly keeps the members with an active enrolment
	// (Enrolment.Active: status and method enabled; dates are not checked).
	ActiveEnrolmentOnly bool
	// WithTimeOnly keeps the members with time in the course (Elapsed > 0).
	WithTimeOnly bool
	// IncludeUnenrolled adds to the course's members the users with a log
	// row in the course in the query's window who are not enrolled in it
	// (Member.Unenrolled): the other filters then apply to them too.
	IncludeUnenrolled bool
}

// ParticipantOrder is the order of a participant list. Whatever the order
// and direction, members that tie are in ascending user id order.
type ParticipantOrder uint8

// The orders of a participant list.
const (
	// ParticipantByTotal sorts by course time (Elapsed).
	ParticipantByTotal ParticipantOrder = iota
	// ParticipantByLastAccess sorts by the last counted event in the
	// course; never active members have 0, the earliest.
	ParticipantByLastAccess
	// ParticipantByName sorts by last name, then first name, both
	// lower-cased (strings.ToLower) and compared byte-wise: no locale
	// collation.
	ParticipantByName
	// ParticipantByGrade sorts by ParticipantSet.Grades; members without
	// a grade come last in both directions.
	ParticipantByGrade
	// ParticipantByID sorts by user id.
	ParticipantByID
)

// String returns TOTAL, LAST_ACCESS, NAME, GRADE or ID.
func (o ParticipantOrder) String() string {
	switch o {
	case ParticipantByTotal:
		return "TOTAL"
	case ParticipantByLastAccess:
		return "LAST_ACCESS"
	case ParticipantByName:
		return "NAME"
	case ParticipantByGrade:
		return "GRADE"
	case ParticipantByID:
		return "ID"
	}
	return ""
}

// Participant is one row of a participant list.
type Participant struct {
	Member
	// Result is the member's answer (nil: no time).
	Result *Result
	// Total is the member's course total (zero without time).
	Total Stat
}

// ParticipantPage is one page of a participant list.
type ParticipantPage struct {
	// Rows are the page's members in the page's order.
	Rows []Participant
	// TotalCount is how many members the filter kept, on every page.
	TotalCount int
	// Aggregate sums up the course over the members the filter kept, so
	// its means and percentiles follow the filter, not the page (every
	// role counts unless the filter's Roles narrow it, to "student" say).
	Aggregate CourseAggregate
}

// ListParticipants filters the set's members, sorts them and returns the
// page: Limit rows after the first Offset (Limit 0: every row after
// Offset), with the count and the aggregate of every member kept. A
// negative Offset or Limit, or an unknown order, is EInvalid.
func ListParticipants(set ParticipantSet, filter ParticipantFilter, page Page[ParticipantOrder]) (ParticipantPage, error) {
	if page.Order.String() == "" {
		return ParticipantPage{}, Errorf(EInvalid, "participants: unknown order %d", page.Order)
	}
	if page.Offset < 0 || page.Limit < 0 {
		return ParticipantPage{}, Errorf(EInvalid, "participants: negative offset (%d) or limit (%d)", page.Offset, page.Limit)
	}
	var kept []participantRow
	var results []*Result
	for _, m := range set.Members {
		p := Participant{Member: m, Result: set.Results[m.ID]}
		if p.Result != nil {
			if c := p.Result.Course(set.CourseID); c != nil {
				p.Total = c.Total
			}
		}
		if !filter.keeps(&p) {
			continue
		}
		row := participantRow{Participant: p}
		switch page.Order {
		case ParticipantByName:
			row.last, row.first = strings.ToLower(m.LastName), strings.ToLower(m.FirstName)
		case ParticipantByGrade:
			g, ok := set.Grades[m.ID]
			if ok && !math.IsNaN(g) {
				row.grade, row.graded = g, true
			}
		}
		kept = append(kept, row)
		results = append(results, p.Result)
	}
	slices.SortStableFunc(kept, participantCompare(page.Order, page.Desc))
	lo := min(page.Offset, len(kept))
	hi := len(kept)
	if page.Limit > 0 && page.Limit < hi-lo {
		hi = lo + page.Limit
	}
	rows := make([]Participant, hi-lo)
	for i := range rows {
		rows[i] = kept[lo+i].Participant
	}
	return ParticipantPage{Rows: rows, TotalCount: len(kept), Aggregate: AggregateCourse(set.CourseID, results)}, nil
}

// keeps reports whether the filter keeps the participant.
func (f *ParticipantFilter) keeps(p *Participant) bool {
	t := &p.Total
	switch {
	case f.MinTotal != nil && t.Elapsed < *f.MinTotal,
		f.MaxTotal != nil && t.Elapsed > *f.MaxTotal,
		f.InactiveSince != nil && t.Events > 0 && t.LastAccess >= *f.InactiveSince,
		f.NeverActive && (t.Events > 0 || t.Elapsed > 0),
		f.WithTimeOnly && t.Elapsed <= 0:
		return false
	}
	return f.keepsMember(&p.Member)
}

// keepsMember reports whether the filter's fields that do not look at
// time keep the member.
func (f *ParticipantFilter) keepsMember(p *Member) bool {
	if f.ActiveEnrolmentOnly && !p.Enrolment.Active {
		return false
	}
	if f.InGroup != 0 && !slices.Contains(p.Groups, f.InGroup) {
		return false
	}
	if len(f.Roles) > 0 && !slices.ContainsFunc(p.Roles, func(r RoleInfo) bool { return slices.Contains(f.Roles, r.ShortName) }) {
		return false
	}
	if len(f.Groups) > 0 && !slices.ContainsFunc(p.Groups, func(g int64) bool { return slices.Contains(f.Groups, g) }) {
		return false
	}
	return true
}

// participantRow is a participant with its sort keys.
type participantRow struct {
	Participant
	last, first string // lower-cased names (ParticipantByName)
	grade       float64
	graded      bool // grade is set (ParticipantByGrade)
}

// participantCompare returns the order's comparison: its key, reversed
// when desc (except that rows without a grade stay last), then user id
// ascending.
func participantCompare(o ParticipantOrder, desc bool) func(a, b participantRow) int {
	var key func(a, b *participantRow) int
	switch o {
	case ParticipantByTotal:
		key = func(a, b *participantRow) int { return cmp.Compare(a.Total.Elapsed, b.Total.Elapsed) }
	case ParticipantByLastAccess:
		key = func(a, b *participantRow) int { return cmp.Compare(a.Total.LastAccess, b.Total.LastAccess) }
	case ParticipantByName:
		key = func(a, b *participantRow) int {
			return cmp.Or(strings.Compare(a.last, b.last), strings.Compare(a.first, b.first))
		}
	case ParticipantByGrade:
		key = func(a, b *participantRow) int { return cmp.Compare(a.grade, b.grade) }
	case ParticipantByID:
		key = func(a, b *participantRow) int { return cmp.Compare(a.ID, b.ID) }
	}
	return func(a, b participantRow) int {
		if o == ParticipantByGrade && !(a.graded && b.graded) {
			// Missing grades last, whatever the direction, by id.
			switch {
			case a.graded:
				return -1
			case b.graded:
				return 1
			}
			return cmp.Compare(a.ID, b.ID)
		}
		if c := key(&a, &b); c != 0 {
			if desc {
				return -c
			}
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	}
}

// CourseGradeValues returns the final course grades of Directory.Grades as
// ParticipantSet.Grades: the users whose course grade item has a value.
func CourseGradeValues(grades map[int64]CourseGrade) map[int64]float64 {
	out := make(map[int64]float64, len(grades))
	for id, g := range grades {
		if g.Course != nil && g.Course.Value != nil {
			out[id] = *g.Course.Value
		}
	}
	return out
}
