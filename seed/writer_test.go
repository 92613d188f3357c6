package seed

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// awkwardRows returns rows whose values stress the encoders: backslashes,
// quotes, tabs, new lines, non-ASCII text, NULLs, numbers with decimals.
func awkwardRows(n int) ([]Log, []GradeGrade, []User) {
	var logs []Log
	for i := range n {
		r := Log{
			ID: int64(i + 1), EventName: `\core\event\course_viewed`, Component: "core", Action: "viewed", Target: "course",
			CRUD: "r", EduLevel: 2, ContextID: 5, ContextLevel: 50, ContextInstanceID: 2, UserID: int64(3 + i%7),
			CourseID: Some[int64](2), Anonymous: 0, TimeCreated: 1700000000 + int64(i),
			Origin: Some("web"), IP: Some("2001:db8::1"),
		}
		switch i % 5 {
		case 0:
			r.Other = Some(`{"a":"it's \"quoted\"\t\\ tab","b":"line1` + "\nline2\r\n" + `"}`)
		case 1:
			r.Other = Some("null")
			r.RealUserID = Some[int64](2)
		case 2:
			r.Other = Some(`{"name":"Éloïse Núñez – 日本語 🎓"}`)
			r.ObjectTable, r.ObjectID = Some("user"), Some[int64](4)
		case 3:
			r.Other = Some("")
			r.IP = Some("")
		}
		logs = append(logs, r)
	}
	var grades []GradeGrade
	for i := range 7 {
		g := Defaults[GradeGrade]()
		g.ID, g.ItemID, g.UserID = int64(i+1), 1, int64(3+i)
		if i%3 != 0 {
			g.FinalGrade = Some(float64(i)*13.37 + 0.12345)
			g.RawGrade = g.FinalGrade
		}
		grades = append(grades, g)
	}
	var users []User
	for i := range 3 {
		u := Defaults[User]()
		u.ID, u.MnetHostID, u.Username = int64(i+1), 1, fmt.Sprintf("u%d", i)
		u.FirstName, u.LastName = "Zoë", `O'Brien \ Smith`
		users = append(users, u)
	}
	return logs, grades, users
}

func TestWriterRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logs, grades, users := awkwardRows(2503)
	sums := map[string]string{}
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			prefix := testPrefix(t, e.db)
			if err := CreateSchema(ctx, e.db, prefix); err != nil {
				t.Fatal(err)
			}
			w := NewWriter(e.db, prefix)
			w.SetBatchSize(700) // several batches, several statements each
			written := 0
			w.OnWrite(func(table string, rows int) {
				if table == "logstore_standard_log" {
					written += rows
				}
			})
			if err := AddRows(ctx, w, logs[:2000]); err != nil {
				t.Fatal(err)
			}
			for i := range logs[2000:] {
				if err := w.Add(ctx, &logs[2000+i]); err != nil {
					t.Fatal(err)
				}
			}
			if err := AddRows(ctx, w, grades); err != nil {
				t.Fatal(err)
			}
			if err := AddRows(ctx, w, users); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if written != len(logs) || w.Written("logstore_standard_log") != int64(len(logs)) {
				t.Errorf("written %d / %d, want %d", written, w.Written("logstore_standard_log"), len(logs))
			}
			var got []string
			for _, table := range []string{"logstore_standard_log", "grade_grades", "user"} {
				sum, n := tableChecksum(t, e.db, prefix, table)
				got = append(got, fmt.Sprintf("%s:%d:%s", table, n, sum))
			}
			sums[e.name] = strings.Join(got, " ")
			// The id sequence continues after the explicit ids.
			var id int64
			q := fmt.Sprintf("INSERT INTO %s (%s, %s) VALUES ('x', 'manual')", quote(e.db.Kind, prefix+"user"),
				quote(e.db.Kind, "username"), quote(e.db.Kind, "auth"))
			if _, err := e.db.DB.DB.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
			if err := e.db.DB.DB.QueryRowContext(ctx, fmt.Sprintf("SELECT id FROM %s WHERE username = 'x'",
				quote(e.db.Kind, prefix+"user"))).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if id != 4 {
				t.Errorf("next user id %d, want 4", id)
			}
			// Reading back one awkward value.
			var other string
			if err := e.db.DB.DB.QueryRowContext(ctx, fmt.Sprintf("SELECT other FROM %s WHERE id = 1",
				quote(e.db.Kind, prefix+"logstore_standard_log"))).Scan(&other); err != nil {
				t.Fatal(err)
			}
			if other != logs[0].Other.V {
				t.Errorf("other = %q, want %q", other, logs[0].Other.V)
			}
		})
	}
	var first string
	for name, s := range sums {
		if first == "" {
			first = s
			continue
		}
		if s != first {
			t.Errorf("checksums differ across engines: %s\n%v", name, sums)
		}
	}
}

func TestWriterErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := engines(t)[0]
	prefix := testPrefix(t, e.db)
	if err := CreateSchema(ctx, e.db, prefix); err != nil {
		t.Fatal(err)
	}
	w := NewWriter(e.db, prefix)
	// Duplicate ids: the batch fails and Flush reports it.
	u := Defaults[User]()
	u.ID, u.Username = 1, "a"
	if err := w.Add(ctx, u, u); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err == nil || !strings.Contains(err.Error(), prefix+"user") {
		t.Errorf("duplicate ids: err = %v", err)
	}
	// A table that does not exist.
	w2 := NewWriter(e.db, "nope_")
	if err := w2.Add(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := w2.Flush(ctx); err == nil {
		t.Error("missing table: no error")
	}
}

// Close ends the Writer's goroutines without writing the rest: after an
// abandoned load, after Flush, and twice; the Writer refuses work after it.
func TestWriterClose(t *testing.T) {
	ctx := context.Background()
	e := engine{"sqlite", liteDB(t)}
	prefix := testPrefix(t, e.db)
	if err := CreateSchema(ctx, e.db, prefix); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	w := NewWriter(e.db, prefix)
	w.SetBatchSize(2)
	for id := range int64(7) {
		u := Defaults[User]()
		u.ID, u.Username = id+1, fmt.Sprint("u", id)
		if err := w.Add(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	w.Close() // abandoned: no Flush
	w.Close()
	if n := settledGoroutines(before); n > before {
		t.Errorf("%d goroutines before, %d after Close:\n%s", before, n, stacks())
	}
	if err := w.Add(ctx, Defaults[User]()); err == nil {
		t.Error("Add after Close: no error")
	}
	if err := w.Flush(ctx); err == nil {
		t.Error("Flush after Close: no error")
	}
	// The buffered row (the seventh) was never written.
	if n := count(t, e.db, prefix, "SELECT COUNT(*) FROM {p}user"); n > 6 {
		t.Errorf("%d users written after Close, want at most the 6 submitted", n)
	}

	// After a successful Flush, Close changes nothing written.
	w = NewWriter(e.db, prefix)
	u := Defaults[User]()
	u.ID, u.Username = 100, "flushed"
	if err := w.Add(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w.Close()
	if n := count(t, e.db, prefix, "SELECT COUNT(*) FROM {p}user WHERE id = 100"); n != 1 {
		t.Errorf("flushed row: %d", n)
	}
	if n := settledGoroutines(before); n > before {
		t.Errorf("%d goroutines before, %d after Flush and Close:\n%s", before, n, stacks())
	}
}
