package aggregation

import (
	"context"
	"fmt"
	"slices"
)

// roster returns the configured Roster or an EUnavailable error: the
// analytics over many learners need one.
func (s *Service) roster() (Roster, error) {
	if s.cfg.Roster == nil {
		return nil, Errorf(EUnavailable, "query service: no roster configured: course members, groups and cohorts cannot be read")
	}
	return s.cfg.Roster, nil
}

// ListCourses returns a page of the site's courses and how many match.
func (s *Service) ListCourses(ctx context.Context, f CourseFilter, page Page[CourseOrder]) ([]CourseInfo, int, error) {
	r, err := s.roster()
	if err != nil {
		return nil, 0, err
	}
	if page.Offset < 0 || page.Limit < 0 {
		return nil, 0, Errorf(EInvalid, "courses: negative offset (%d) or limit (%d)", page.Offset, page.Limit)
	}
	cs, n, err := r.ListCourses(ctx, f, page)
	if err != nil {
		return nil, 0, fmt.Errorf("query service: courses: %w", err)
	}
	return cs, n, nil
}

// CourseGroups returns a course's groups (Roster.CourseGroups).
func (s *Service) CourseGroups(ctx context.Context, courseID int64) ([]GroupInfo, error) {
	r, err := s.roster()
	if err != nil {
		return nil, err
	}
	gs, err := r.CourseGroups(ctx, courseID)
	if err != nil {
		return nil, fmt.Errorf("query service: groups of course %d: %w", courseID, err)
	}
	return gs, nil
}

// FindGroups returns the groups of the ids that exist, in id order
// (Roster.FindGroups): which course each is in.
func (s *Service) FindGroups(ctx context.Context, ids []int64) ([]GroupInfo, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	r, err := s.roster()
	if err != nil {
		return nil, err
	}
	gs, err := r.FindGroups(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("query service: groups %v: %w", ids, err)
	}
	return gs, nil
}

// CourseParticipants answers a page of a course's participant list: its
// members (every enrolled user) with their time in the course for the
// query, filtered, sorted and paged (ListParticipants), with the count of
// every member the filter keeps. Every member's time is answered (as
// Users answers it: rollups or log) when the order or the filter needs it
// or aggregate is set, and then the page's Aggregate sums up the kept
// members; otherwise only the page's members' time is, and Aggregate is
// the zero value. Grades are read only when the order needs them.
func (s *Service) CourseParticipants(ctx context.Context, courseID int64, q Query, f ParticipantFilter, page Page[ParticipantOrder], aggregate bool) (ParticipantPage, error) {
	all := aggregate || page.Order == ParticipantByTotal || page.Order == ParticipantByLastAccess || f.needsTime()
	set, err := s.participantSet(ctx, courseID, q, f, page.Order == ParticipantByGrade, all)
	if err != nil {
		return ParticipantPage{}, err
	}
	pp, err := ListParticipants(set, f, page)
	if err != nil || all {
		return pp, err
	}
	pp.Aggregate = CourseAggregate{}
	ids := make([]int64, len(pp.Rows))
	for i, r := range pp.Rows {
		ids[i] = r.ID
	}
	results, err := s.Users(ctx, ids, q)
	if err != nil {
		return ParticipantPage{}, err
	}
	for i := range pp.Rows {
		row := &pp.Rows[i]
		row.Result = results[row.ID]
		if row.Result != nil {
			if c := row.Result.Course(courseID); c != nil {
				row.Total = c.Total
			}
		}
	}
	return pp, nil
}

// CourseAggregate sums up a course over its members that the filter
// keeps (the zero filter: every member).
func (s *Service) CourseAggregate(ctx context.Context, courseID int64, q Query, f ParticipantFilter) (CourseAggregate, error) {
	p, err := s.CourseParticipants(ctx, courseID, q, f, Page[ParticipantOrder]{Order: ParticipantByID, Limit: 1}, true)
	if err != nil {
		return CourseAggregate{}, err
	}
	return p.Aggregate, nil
}

// needsTime reports whether the filter looks at the members' time.
func (f ParticipantFilter) needsTime() bool {
	return f.MinTotal != nil || f.MaxTotal != nil || f.InactiveSince != nil || f.NeverActive || f.WithTimeOnly
}

// participantSet reads a course's members and, when asked, their
// answers and their final course grades.
func (s *Service) participantSet(ctx context.Context, courseID int64, q Query, f ParticipantFilter, withGrades, withTime bool) (ParticipantSet, error) {
	r, err := s.roster()
	if err != nil {
		return ParticipantSet{}, err
	}
	members, err := r.CourseMembers(ctx, courseID)
	if err != nil {
		return ParticipantSet{}, fmt.Errorf("query service: members of course %d: %w", courseID, err)
	}
	if f.IncludeUnenrolled {
		if members, err = s.withVisitors(ctx, r, courseID, q, members); err != nil {
			return ParticipantSet{}, err
		}
	}
	// What does not need time is kept first: a group's list answers its
	// members only, not the whole course.
	members = slices.DeleteFunc(members, func(m Member) bool { return !f.keepsMember(&m) })
	ids := make([]int64, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	set := ParticipantSet{CourseID: courseID, Members: members}
	if withTime {
		if set.Results, err = s.Users(ctx, ids, q); err != nil {
			return ParticipantSet{}, err
		}
	}
	if withGrades && len(ids) > 0 {
		if s.cfg.Grades == nil {
			return ParticipantSet{}, Errorf(EUnavailable, "query service: no grade reader configured: participants cannot be sorted by grade")
		}
		g, err := s.cfg.Grades.Grades(ctx, courseID, ids)
		if err != nil {
			return ParticipantSet{}, fmt.Errorf("query service: grades of course %d: %w", courseID, err)
		}
		set.Grades = CourseGradeValues(g)
	}
	return set, nil
}

// withVisitors adds to a course's members (user id order) the users with
// a log row in the course in the query's window who are not among them.
func (s *Service) withVisitors(ctx context.Context, r Roster, courseID int64, q Query, members []Member) ([]Member, error) {
	q, err := s.normalize(q)
	if err != nil {
		return nil, err
	}
	visitors, err := r.CourseVisitors(ctx, courseID, q.Window.From, q.Window.To)
	if err != nil {
		return nil, fmt.Errorf("query service: visitors of course %d: %w", courseID, err)
	}
	out := make([]Member, 0, len(members)+len(visitors))
	i := 0
	for _, v := range visitors {
		for i < len(members) && members[i].ID < v.ID {
			out = append(out, members[i])
			i++
		}
		if i < len(members) && members[i].ID == v.ID {
			continue
		}
		out = append(out, Member{UserInfo: v, Unenrolled: true})
	}
	return append(out, members[i:]...), nil
}
