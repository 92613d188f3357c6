package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/usestats/usestats/dbconn"
)

// exportSite seeds a small SQLite Moodle database and returns its URL and
// the course with the most log rows.
func exportSite(t *testing.T) (url string, course int64) {
	t.Helper()
	url = "sqlite://" + filepath.Join(t.TempDir(), "m.db")
	if _, stderr, code := usestats(t, "seed", "--moodle", url, "--users", "12", "--days", "20", "--seed", "7", "--quiet"); code != 0 {
		t.Fatalf("seed: %s", stderr)
	}
	db, err := dbconn.Open(context.Background(), url, dbconn.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(context.Background(), "SELECT courseid FROM mdl_logstore_standard_log WHERE courseid > 1 GROUP BY courseid ORDER BY COUNT(*) DESC LIMIT 1").Scan(&course); err != nil {
		t.Fatal(err)
	}
	return url, course
}

func readCSVRows(t *testing.T, text string) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, text)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, v := range rec {
			row[recs[0][i]] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// `usestats export users` gives every user the report command's total;
// `export course` its participants' course totals, and the same rows as
// XLSX in a file.
func TestExportCommand(t *testing.T) {
	url, course := exportSite(t)
	rng := []string{"--from", "2020-01-01", "--to", "2035-12-31"}
	out, stderr, code := usestats(t, append([]string{"export", "users", "--moodle", url, "--order-by", "total_desc"}, rng...)...)
	if code != 0 {
		t.Fatalf("export users: exit %d, %s", code, stderr)
	}
	users := readCSVRows(t, out)
	if len(users) < 12 {
		t.Fatalf("%d users, want the 12 learners at least", len(users))
	}
	var prev int64 = 1 << 62
	active := 0
	for _, u := range users {
		total, _ := strconv.ParseInt(u["total_seconds"], 10, 64)
		if total > prev {
			t.Fatalf("not in total_desc order: %d after %d", total, prev)
		}
		prev = total
		if total == 0 {
			continue
		}
		active++
		rep, stderr, code := usestats(t, append([]string{"report", "--moodle", url, "--user", "id:" + u["userid"]}, rng...)...)
		var r Report
		if code != 0 || json.Unmarshal([]byte(rep), &r) != nil {
			t.Fatalf("report %s: exit %d, %s", u["userid"], code, stderr)
		}
		if r.Total != total || strconv.FormatInt(r.Events, 10) != u["events"] || r.User.Username != u["username"] {
			t.Errorf("user %s: export %d s, %s events; report %d s, %d events", u["userid"], total, u["events"], r.Total, r.Events)
		}
	}
	if active < 5 {
		t.Fatalf("only %d users with time: the seed tests nothing", active)
	}

	out, stderr, code = usestats(t, append([]string{"export", "course", strconv.FormatInt(course, 10), "--moodle", url, "--role", "student"}, rng...)...)
	if code != 0 {
		t.Fatalf("export course: exit %d, %s", code, stderr)
	}
	parts := readCSVRows(t, out)
	if len(parts) == 0 {
		t.Fatal("no participants")
	}
	for _, p := range parts[:min(4, len(parts))] {
		rep, _, _ := usestats(t, append([]string{"report", "--moodle", url, "--user", "id:" + p["userid"]}, rng...)...)
		var r Report
		if err := json.Unmarshal([]byte(rep), &r); err != nil {
			t.Fatal(err)
		}
		var want int64
		for _, c := range r.Courses {
			if c.ID == course {
				want = c.Total
			}
		}
		if p["total_seconds"] != strconv.FormatInt(want, 10) || !strings.Contains(p["roles"], "student") {
			t.Errorf("participant %s: %s s (roles %q), report says %d s in course %d", p["userid"], p["total_seconds"], p["roles"], want, course)
		}
	}

	file := filepath.Join(t.TempDir(), "c.xlsx")
	if _, stderr, code := usestats(t, append([]string{"export", "course", strconv.FormatInt(course, 10), "--moodle", url, "--role", "student", "--out", file}, rng...)...); code != 0 {
		t.Fatalf("export --out: exit %d, %s", code, stderr)
	}
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatalf("--out .xlsx is not a workbook: %v", err)
	}
	defer wb.Close()
	rows, err := wb.GetRows("participants")
	if err != nil || len(rows) != len(parts)+1 || rows[1][0] != parts[0]["userid"] {
		t.Errorf("workbook: %d rows (%v), want %d", len(rows), err, len(parts)+1)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("--out file: %v, mode %v; want 0600", err, st.Mode())
	}
}

// Bad input is exit 2 naming the flag; an unknown course exit 1; a
// failed export leaves no file behind.
func TestExportCommandErrors(t *testing.T) {
	url, _ := exportSite(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		args  []string
		code  int
		words string
	}{
		{"no target", []string{"export", "--moodle", url}, 2, "export course <id>"},
		{"bad course id", []string{"export", "course", "x1", "--moodle", url}, 2, "course id"},
		{"unknown course", []string{"export", "course", "9999", "--moodle", url, "--out", filepath.Join(dir, "none.csv")}, 1, "no course"},
		{"bad order", []string{"export", "users", "--moodle", url, "--order-by", "grade_desc"}, 2, "--order-by"},
		{"bad date", []string{"export", "users", "--moodle", url, "--from", "soon"}, 2, "--from"},
		{"bad total", []string{"export", "course", "2", "--moodle", url, "--min-total", "-3"}, 2, "--min-total"},
		{"bad group", []string{"export", "course", "2", "--moodle", url, "--group", "0"}, 2, "--group"},
		{"group on users", []string{"export", "users", "--moodle", url, "--group", "3"}, 2, "--group"},
		{"cohort on course", []string{"export", "course", "2", "--moodle", url, "--cohort", "3"}, 2, "--cohort"},
		{"unknown cohort", []string{"export", "users", "--moodle", url, "--cohort", "999"}, 1, "no cohort"},
		{"bad format", []string{"export", "users", "--moodle", url, "--format", "ods"}, 2, "--format"},
		{"bad policy", []string{"export", "users", "--moodle", url, "--policy", "magic"}, 2, "--policy"},
		{"no moodle", []string{"export", "users", "--moodle", ""}, 2, "--moodle"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := usestats(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.words) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, %q; want %d naming %q in one line", code, stderr, c.code, c.words)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed export left %d files in --out's folder", len(entries))
	}
}
