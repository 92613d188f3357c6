package moodle_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// Enrolment starts, per user and course: the earliest over every instance
// of the course and every status, a start of 0 reading as the enrolment's
// creation; no enrolment, no start; the front page never has one.
func TestEnrolmentStarts(t *testing.T) {
	fill := func(ctx context.Context, w *seed.Writer) error {
		rows := vectorRows() // users 7, 8; courses 5, 8 (category 1)
		front := seed.Defaults[seed.Course]()
		front.ID, front.Category, front.ShortName = 1, 0, "site"
		rows = append(rows, front)
		for _, e := range []struct {
			id, course int64
			method     string
		}{{1, 5, "manual"}, {2, 5, "self"}, {3, 8, "manual"}, {4, 1, "manual"}} {
			r := seed.Defaults[seed.Enrol]()
			r.ID, r.CourseID, r.Enrol = e.id, e.course, e.method
			rows = append(rows, r)
		}
		for i, ue := range []struct{ enrol, user, start, created, status int64 }{
			{1, 7, 0, 1000, 0},   // course 5, manual: no start set → created
			{2, 7, 500, 900, 0},  // course 5, self: the earlier start wins
			{3, 7, 2000, 100, 0}, // course 8: enrolled after its activity began
			{4, 7, 50, 50, 0},    // the front page: never cut
			{1, 8, 3000, 10, 1},  // course 5, suspended: still a start
		} {
			r := seed.Defaults[seed.UserEnrolment]()
			r.ID, r.EnrolID, r.UserID, r.TimeStart, r.TimeCreated, r.Status = int64(i+1), ue.enrol, ue.user, ue.start, ue.created, ue.status
			rows = append(rows, r)
		}
		return w.Add(ctx, rows...)
	}
	forEachEngine(t, fill, func(t *testing.T, src *moodle.Source) {
		got, err := src.EnrolmentStarts(context.Background(), []int64{7, 8, 9})
		want := map[int64]map[int64]int64{7: {5: 500, 8: 2000}, 8: {5: 3000}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("EnrolmentStarts = %v, %v; want %v", got, err, want)
		}
	})
}
