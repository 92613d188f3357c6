package moodle_test

import (
	"context"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// fillDirectory is the vectors fixture plus enrolments (users 7 and 8 in
// course 5, user 7 in course 8, a suspended enrolment of a deleted user 9)
// and a quiz grade.
func fillDirectory(ctx context.Context, w *seed.Writer) error {
	rows := vectorRows()
	del := seed.Defaults[seed.User]()
	del.ID, del.Username, del.Deleted, del.MnetHostID = 9, "gone", 1, 1
	rows = append(rows, del)
	for _, e := range []struct{ id, course int64 }{{1, 5}, {2, 8}, {3, 5}} {
		r := seed.Defaults[seed.Enrol]()
		r.ID, r.CourseID, r.Enrol = e.id, e.course, "manual"
		rows = append(rows, r)
	}
	for i, ue := range []struct{ enrol, user int64 }{{1, 7}, {1, 8}, {2, 7}, {3, 7}, {1, 9}} {
		r := seed.Defaults[seed.UserEnrolment]()
		r.ID, r.EnrolID, r.UserID = int64(i+1), ue.enrol, ue.user
		rows = append(rows, r)
	}
	gi := seed.Defaults[seed.GradeItem]()
	gi.ID, gi.CourseID, gi.ItemType, gi.ItemModule, gi.ItemInstance, gi.ItemNumber, gi.GradeMax =
		2, seed.Some(int64(5)), "mod", seed.Some("quiz"), seed.Some(int64(1)), seed.Some(int64(0)), 10
	gg := seed.Defaults[seed.GradeGrade]()
	gg.ID, gg.ItemID, gg.UserID, gg.FinalGrade = 2, 2, 7, seed.Some(8.5)
	rows = append(rows, gi, gg)
	return w.Add(ctx, rows...)
}

func TestDirectory(t *testing.T) {
	forEachEngine(t, fillDirectory, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		d := src.Directory()
		u, err := d.FindUser(ctx, aggregation.UserKey{Username: "bob"})
		if err != nil || u.ID != 8 || u.FirstName != "Bob" || u.HostID != 1 {
			t.Errorf("FindUser(bob) = %+v, %v", u, err)
		}
		if _, err := d.FindUser(ctx, aggregation.UserKey{ID: 7, Email: "x"}); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("two keys: err = %v", err)
		}
		if _, err := d.FindUser(ctx, aggregation.UserKey{ID: 9}); aggregation.ErrorCode(err) != aggregation.ENotFound {
			t.Errorf("deleted user: err = %v", err)
		}
		us, err := d.Users(ctx, []int64{7, 8, 9, 404})
		if err != nil || len(us) != 2 || us[7].Username != "alice" {
			t.Errorf("Users = %+v, %v", us, err)
		}
		page, err := d.ListUsers(ctx, aggregation.UserFilter{}, 0, 1)
		if err != nil || len(page) != 1 || page[0].ID != 7 {
			t.Errorf("ListUsers first page = %+v, %v", page, err)
		}
		page, err = d.ListUsers(ctx, aggregation.UserFilter{}, 7, 10)
		if err != nil || len(page) != 1 || page[0].ID != 8 {
			t.Errorf("ListUsers after 7 = %+v, %v", page, err)
		}
		page, err = d.ListUsers(ctx, aggregation.UserFilter{Search: "ALI"}, 0, 10)
		if err != nil || len(page) != 1 || page[0].ID != 7 {
			t.Errorf("ListUsers search ALI = %+v, %v", page, err)
		}
		page, err = d.ListUsers(ctx, aggregation.UserFilter{Search: "%"}, 0, 10)
		if err != nil || len(page) != 0 {
			t.Errorf("a literal %% matches nothing: %+v, %v", page, err)
		}
		c, err := d.FindCourse(ctx, aggregation.CourseKey{ShortName: "C8"})
		if err != nil || c.ID != 8 {
			t.Errorf("FindCourse(C8) = %+v, %v", c, err)
		}
		if _, err := d.FindCourse(ctx, aggregation.CourseKey{}); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("empty course key: err = %v", err)
		}
		ps, err := d.Participants(ctx, 5, 0, 10)
		if err != nil || len(ps) != 2 || ps[0].ID != 7 || ps[1].ID != 8 {
			t.Errorf("participants of course 5 = %+v, %v (user 7 twice enrolled, deleted 9 absent)", ps, err)
		}
		ps, err = d.Participants(ctx, 5, 7, 10)
		if err != nil || len(ps) != 1 || ps[0].ID != 8 {
			t.Errorf("participants after 7 = %+v, %v", ps, err)
		}
		ms, err := d.Modules(ctx, []int64{102, 999})
		if err != nil || len(ms) != 1 || ms[102].Name != "Quiz one" || ms[102].Type != "quiz" {
			t.Errorf("Modules = %+v, %v", ms, err)
		}
		gs, err := d.Grades(ctx, 5, []int64{7, 8})
		if err != nil {
			t.Fatal(err)
		}
		g7 := gs[7]
		if g7.Course == nil || g7.Course.Value == nil || *g7.Course.Value != 72.5 || *g7.Course.Percentage() != 72.5 {
			t.Errorf("user 7 course grade = %+v", g7.Course)
		}
		if len(g7.Modules) != 1 || g7.Modules[0].CMID != 102 || *g7.Modules[0].Value != 8.5 || *g7.Modules[0].Percentage() != 85 {
			t.Errorf("user 7 module grades = %+v", g7.Modules)
		}
		if g8 := gs[8]; g8.Course == nil || g8.Course.Value != nil || g8.Course.Percentage() != nil {
			t.Errorf("ungraded user 8 = %+v", g8)
		}
	})
}
