package moodle

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// EnrolmentStarts implements aggregation.EnrolmentReader: per user, the
// start of the user's first enrolment in each course, over every
// enrolment instance of the course whatever its status: the earliest
// user_enrolments.timestart, a start of 0 (none set) reading as the
// enrolment's timecreated. The front page (the course of category 0) is
// left out: its time is never cut.
func (s *Source) EnrolmentStarts(ctx context.Context, userIDs []int64) (map[int64]map[int64]int64, error) {
	out := make(map[int64]map[int64]int64, len(userIDs))
	for _, batch := range batches(userIDs, 500) {
		var rows []struct {
			UserID   int64 `bun:"userid"`
			CourseID int64 `bun:"courseid"`
			Start    int64 `bun:"start"`
		}
		err := s.db.NewSelect().
			ColumnExpr("ue.userid AS userid, e.courseid AS courseid").
			ColumnExpr("MIN(CASE WHEN ue.timestart > 0 THEN ue.timestart ELSE ue.timecreated END) AS start").
			TableExpr(s.tableAs("user_enrolments", "ue")).
			Join("JOIN ? AS e ON e.id = ue.enrolid", s.table("enrol")).
			Join("JOIN ? AS c ON c.id = e.courseid", s.table("course")).
			Where("ue.userid IN (?)", bun.List(batch)).
			Where("c.category <> 0").
			GroupExpr("ue.userid, e.courseid").
			Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("reading enrolment starts: %w", err)
		}
		for _, r := range rows {
			if out[r.UserID] == nil {
				out[r.UserID] = map[int64]int64{}
			}
			out[r.UserID][r.CourseID] = r.Start
		}
	}
	return out, nil
}
