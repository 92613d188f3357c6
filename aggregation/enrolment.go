package aggregation

import (
	"context"
	"fmt"
	"math"
)

// EnrolmentReader gives users' enrolment starts, for the enrolment filter
// (Policy.EnrolmentFilter). The Moodle adapter implements it.
type EnrolmentReader interface {
	// EnrolmentStarts returns, per user, the start of the user's first
	// enrolment in each course (over every enrolment instance of the
	// course): the time the course's events count from. Courses without
	// an enrolment of the user, and the front page, are absent.
	EnrolmentStarts(ctx context.Context, userIDs []int64) (map[int64]map[int64]int64, error)
}

// courseStarts returns the per-course window starts of the users when the
// policy filters by enrolment (nil otherwise, or when the caller set its
// own Window.CourseFrom, which then applies to every user).
func (s *Service) courseStarts(ctx context.Context, ids []int64, q Query) (map[int64]map[int64]int64, error) {
	if !q.Policy.EnrolmentFilter || q.Window.CourseFrom != nil {
		return nil, nil
	}
	if s.cfg.Enrolments == nil {
		return nil, Errorf(EInvalid, "policy %s: the enrolment filter needs the users' enrolments, which this log source cannot give", q.Policy.Name)
	}
	starts, err := s.cfg.Enrolments.EnrolmentStarts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading enrolments: %w", err)
	}
	return starts, nil
}

// withStarts returns w with the course starts cf, if any.
func (w Window) withStarts(cf map[int64]int64) Window {
	if len(cf) > 0 {
		w.CourseFrom = cf
	}
	return w
}

// filteredOut reports whether the enrolment filter drops anything of the
// user's stored days: a counted event of a course before the user's start
// in it. Stored days are compiled without the filter; when it drops
// nothing they answer as they are (events before a start stay in the
// timeline either way, so no other lap changes), otherwise the user is
// answered from the log.
func filteredOut(u *UserRollups, courseFrom map[int64]int64) bool {
	if len(courseFrom) == 0 {
		return false
	}
	for i := range u.Cells {
		c := &u.Cells[i]
		if start, ok := courseFrom[c.Key.CourseID]; ok && c.Cell.Events > 0 && c.Cell.First < start {
			return true
		}
	}
	return false
}

// liveOnly is the UserRollups that makes a user's plan read the log only.
var liveOnly = UserRollups{Horizon: math.MinInt64}
