package moodle_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// TS is the time of the SCORM fixture.
const TS = 1_700_600_000

// scormRows is the SCORM fixture on top of the vectors' site: module 5
// "scorm"; SCORM instance 1 as cm 104 (course 5, section 32), instance 2
// as cm 105 (section 31), instance 3 without a course module (deleted);
// the page cm 101 shares instance number 1. User 7 has two attempts at
// 104 (the first over two SCOs) and one at 105, user 8 one at 104, and
// the deleted activity one. The values are written in both layouts: the
// Moodle 4.3+ tables and scorm_scoes_track. User 7 views 104 in the log.
func scormRows() []seed.Row {
	rows := vectorRows()
	m := seed.Defaults[seed.Module]()
	m.ID, m.Name = 5, "scorm"
	rows = append(rows, m)
	for _, cm := range []struct{ id, instance, section int64 }{{104, 1, 32}, {105, 2, 31}} {
		r := seed.Defaults[seed.CourseModule]()
		r.ID, r.Course, r.Module, r.Instance, r.Section = cm.id, 5, 5, cm.instance, cm.section
		rows = append(rows, r)
	}
	for id := range int64(3) {
		r := seed.Defaults[seed.Scorm]()
		r.ID, r.Course, r.Name = id+1, 5, fmt.Sprintf("Package %d", id+1)
		rows = append(rows, r)
	}
	for _, sco := range []struct{ id, scorm int64 }{{11, 1}, {12, 1}, {21, 2}, {31, 3}} {
		r := seed.Defaults[seed.ScormScoe]()
		r.ID, r.Scorm, r.Identifier, r.ScormType = sco.id, sco.scorm, fmt.Sprintf("SCO%d", sco.id), "sco"
		rows = append(rows, r)
	}
	elements := []string{"", aggregation.ScormTotalTime12, aggregation.ScormSessionTime12, aggregation.ScormTotalTime2004,
		aggregation.ScormSessionTime2004, "cmi.core.lesson_status"}
	for id, e := range elements[1:] {
		rows = append(rows, seed.ScormElement{ID: int64(id + 1), Element: e})
	}
	attempts := []seed.ScormAttempt{
		{ID: 1, UserID: 7, ScormID: 1, Attempt: 1}, {ID: 2, UserID: 7, ScormID: 1, Attempt: 2},
		{ID: 3, UserID: 7, ScormID: 2, Attempt: 1}, {ID: 4, UserID: 8, ScormID: 1, Attempt: 1},
		{ID: 5, UserID: 7, ScormID: 3, Attempt: 1},
	}
	for _, a := range attempts {
		rows = append(rows, a)
	}
	for i, v := range []struct {
		sco, attempt, element int64
		value                 string
		t                     int64
	}{
		{11, 1, 1, "00:20:00", TS + 100},
		{12, 1, 1, "00:05:00", TS + 110},
		{11, 1, 5, "completed", TS + 100}, // not a time
		{11, 2, 2, "00:03:00", TS + 200},
		{12, 2, 2, "00:01:00", TS - 1000}, // before the window
		{21, 3, 3, "PT1H", TS + 300},
		{21, 3, 4, "PT10M", TS + 5000}, // after the window
		{11, 4, 1, "02:00:00", TS + 100},
		{31, 5, 3, "PT9H", TS + 100}, // the deleted activity
	} {
		rows = append(rows, seed.ScormScoesValue{ID: int64(i + 1), ScoID: v.sco, AttemptID: v.attempt, ElementID: v.element,
			Value: v.value, TimeModified: v.t})
		a := attempts[v.attempt-1]
		rows = append(rows, seed.ScormScoesTrack{ID: int64(i + 1), UserID: a.UserID, ScormID: a.ScormID, ScoID: v.sco,
			Attempt: a.Attempt, Element: elements[v.element], Value: v.value, TimeModified: v.t})
	}
	var l logs
	l.id = 1000
	l.login(7, TS)
	l.view(7, TS+10, 5, 104, "scorm")
	l.course(7, TS+400, 5)
	return append(rows, l.rows...)
}

// The SCORM reader on every engine: the ≥ 4.3 tables, then (its tables
// dropped, as a 4.2 site) scorm_scoes_track, then neither; values of the
// users, activities, time elements and window asked for only, never of
// another module type or a deleted activity.
func TestScormTimes(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := filledSchema(t, e.url, func(ctx context.Context, w *seed.Writer) error {
				return w.Add(ctx, scormRows()...)
			})
			defer cleanup()
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			read := func() string {
				t.Helper()
				got, err := src.ScormTimes(ctx, []int64{7, 8, 9}, []int64{101, 104, 105}, TS, TS+1000)
				if err != nil {
					t.Fatal(err)
				}
				slices.SortFunc(got, func(a, b aggregation.ScormValue) int {
					return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.CMID, b.CMID), cmp.Compare(a.Attempt, b.Attempt),
						cmp.Compare(a.SCO, b.SCO), cmp.Compare(a.Element, b.Element))
				})
				return fmt.Sprint(got)
			}
			want := func(a1, a2, a3, a4 int64) string {
				return fmt.Sprint([]aggregation.ScormValue{
					{UserID: 7, CMID: 104, Attempt: a1, SCO: 11, Element: aggregation.ScormTotalTime12, Value: "00:20:00", Time: TS + 100},
					{UserID: 7, CMID: 104, Attempt: a1, SCO: 12, Element: aggregation.ScormTotalTime12, Value: "00:05:00", Time: TS + 110},
					{UserID: 7, CMID: 104, Attempt: a2, SCO: 11, Element: aggregation.ScormSessionTime12, Value: "00:03:00", Time: TS + 200},
					{UserID: 7, CMID: 105, Attempt: a3, SCO: 21, Element: aggregation.ScormTotalTime2004, Value: "PT1H", Time: TS + 300},
					{UserID: 8, CMID: 104, Attempt: a4, SCO: 11, Element: aggregation.ScormTotalTime12, Value: "02:00:00", Time: TS + 100},
				})
			}
			if got, w := read(), want(1, 2, 3, 4); got != w { // attempts by scorm_attempt.id
				t.Errorf("Moodle 4.3+ tables:\n got %s\nwant %s", got, w)
			}
			// The live answer of user 7 takes 104 from its 390 s in the
			// log to the 1680 s reported (20 + 5 min over two SCOs, then
			// 3 min of sessions).
			svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: src, Now: func() int64 { return TS + 5000 }})
			if err != nil {
				t.Fatal(err)
			}
			p, _ := aggregation.Preset(aggregation.PolicyUsestats)
			res, err := svc.User(ctx, 7, aggregation.Query{Policy: p, Window: aggregation.Window{From: TS, To: TS + 1000}})
			if err != nil {
				t.Fatal(err)
			}
			if c := res.Course(5); c == nil || c.Module(104) == nil || c.Module(104).Elapsed != 1680 || len(res.Scorm) != 1 || res.Scorm[0].LogTime != 390 {
				t.Errorf("answer: course %+v, adjustments %+v", c, res.Scorm)
			}
			drop := func(tables ...string) {
				t.Helper()
				for _, tb := range tables {
					if _, err := db.DB.DB.ExecContext(ctx, "DROP TABLE "+prefix+tb); err != nil {
						t.Fatal(err)
					}
				}
			}
			drop("scorm_scoes_value", "scorm_attempt", "scorm_element")
			if got, w := read(), want(1, 2, 1, 1); got != w { // attempt numbers
				t.Errorf("scorm_scoes_track:\n got %s\nwant %s", got, w)
			}
			drop("scorm_scoes_track")
			if got := read(); got != "[]" {
				t.Errorf("no tracking tables: %s", got)
			}
		})
	}
}
