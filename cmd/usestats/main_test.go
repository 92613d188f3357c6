package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/dbconn/dbconntest"
	"github.com/usestats/usestats/seed"
)

// servers returns SQLite always, and PostgreSQL and MariaDB when their URLs
// are set (failing under CI=true when they are not).
func servers(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range dbconntest.Servers(t, "moodle.db") {
		out[s.Name] = s.URL
	}
	return out
}

func usestats(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// The same seed gives byte-identical report JSON on every database.
func TestReportIdenticalAcrossDatabases(t *testing.T) {
	prefix := fmt.Sprintf("r%06d_", rand.IntN(1_000_000))
	reports := map[string]string{}
	for name, url := range servers(t) {
		_, stderr, code := usestats(t, "seed", "--moodle", url, "--prefix", prefix, "--users", "8", "--days", "40", "--seed", "42", "--quiet")
		if code != 0 {
			t.Fatalf("%s: seed exited %d: %s", name, code, stderr)
		}
		t.Cleanup(func() {
			db, err := dbconn.Open(context.Background(), url, dbconn.Options{})
			if err == nil {
				seed.DropSchema(context.Background(), db, prefix)
				db.Close()
			}
		})
		var all strings.Builder
		for _, user := range []string{"learner0001", "learner0004", "7"} {
			for _, policy := range []string{"usestats", "dedication", "canvas"} {
				out, stderr, code := usestats(t, "report", "--moodle", url, "--prefix", prefix, "--user", user,
					"--from", "2025-11-01", "--to", "2025-12-15", "--now", "1767225600", "--policy", policy)
				if code != 0 {
					t.Fatalf("%s: report %s %s exited %d: %s", name, user, policy, code, stderr)
				}
				all.WriteString(out)
			}
		}
		reports[name] = all.String()
	}
	var rep Report
	if err := json.Unmarshal([]byte(strings.SplitN(reports["sqlite"], "\n}\n", 2)[0]+"\n}"), &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if rep.Total <= 0 || len(rep.Courses) == 0 || len(rep.Sessions) == 0 || rep.User.Username != "learner0001" {
		t.Fatalf("an empty report proves nothing: %+v", rep)
	}
	var sum int64
	for _, c := range rep.Courses {
		if c.Total != c.CourseTime+c.ActivityTime+c.OtherTime {
			t.Errorf("course %d: total %d ≠ %d + %d + %d", c.ID, c.Total, c.CourseTime, c.ActivityTime, c.OtherTime)
		}
		sum += c.Total
	}
	if sum+rep.Site.Elapsed != rep.Total {
		t.Errorf("Σ courses %d + site %d ≠ total %d", sum, rep.Site.Elapsed, rep.Total)
	}
	for name, r := range reports {
		if r != reports["sqlite"] {
			t.Errorf("%s report differs from sqlite's:\n%s", name, firstDiff(reports["sqlite"], r))
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: %q vs %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(al), len(bl))
}

// Bad input and unreachable or wrong databases: one line on stderr, a
// non-zero exit, never a stack trace.
func TestReportErrors(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "m.db")
	if _, stderr, code := usestats(t, "seed", "--moodle", url, "--users", "3", "--days", "5", "--quiet"); code != 0 {
		t.Fatalf("seed: %s", stderr)
	}
	empty := "sqlite://" + filepath.Join(t.TempDir(), "empty.db")
	if db, err := dbconn.Open(context.Background(), empty, dbconn.Options{}); err != nil {
		t.Fatal(err)
	} else {
		db.Exec("CREATE TABLE unrelated (id INTEGER)")
		db.Close()
	}
	cases := []struct {
		name  string
		args  []string
		code  int
		words string
	}{
		{"unknown user", []string{"report", "--moodle", url, "--user", "nobody"}, 1, "no user"},
		{"unknown user id", []string{"report", "--moodle", url, "--user", "999"}, 1, "no user"},
		{"unreachable database", []string{"report", "--moodle", "postgres://postgres@127.0.0.1:1/x", "--user", "1"}, 1, "cannot reach"},
		{"missing tables", []string{"report", "--moodle", empty, "--user", "1"}, 1, "missing"},
		{"missing sqlite file", []string{"report", "--moodle", "sqlite:///nonexistent/moodle.db", "--user", "1"}, 1, "does not exist"},
		{"wrong prefix", []string{"report", "--moodle", url, "--prefix", "xyz_", "--user", "1"}, 1, "missing"},
		{"bad URL", []string{"report", "--moodle", "oracle://db/x", "--user", "1"}, 2, "unsupported"},
		{"bad date", []string{"report", "--moodle", url, "--user", "3", "--from", "yesterday"}, 2, "bad date"},
		{"to before from", []string{"report", "--moodle", url, "--user", "3", "--from", "2025-12-01", "--to", "2025-11-01"}, 2, "before"},
		{"unknown policy", []string{"report", "--moodle", url, "--user", "3", "--policy", "magic"}, 2, "unknown policy"},
		{"bad format", []string{"report", "--moodle", url, "--user", "3", "--format", "xml"}, 2, "format"},
		{"bad now", []string{"report", "--moodle", url, "--user", "3", "--now", "soon"}, 2, "--now"},
		{"no user flag", []string{"report", "--moodle", url}, 2, "--user"},
		{"no database", []string{"report", "--user", "3"}, 2, "--moodle"},
		{"unknown flag", []string{"report", "--bogus"}, 2, "bogus"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"seed bad users", []string{"seed", "--moodle", url, "--users", "0"}, 2, "positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "no database" {
				t.Setenv("USESTATS_MOODLE", "")
			}
			_, stderr, code := usestats(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.words) {
				t.Errorf("stderr %q does not say %q", stderr, c.words)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace on stderr: %s", stderr)
			}
			if lines := strings.Count(strings.TrimSpace(stderr), "\n"); lines > 0 && c.words != "bogus" {
				t.Errorf("%d lines on stderr, want one: %q", lines+1, stderr)
			}
		})
	}
	// A bare number that is one user's id and another's username is refused;
	// id: and username: say which.
	if db, err := dbconn.Open(context.Background(), url, dbconn.Options{}); err != nil {
		t.Fatal(err)
	} else {
		if _, err := db.Exec("UPDATE mdl_user SET username = '3' WHERE id = 4"); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	if _, stderr, code := usestats(t, "report", "--moodle", url, "--user", "3", "--now", "1767225600"); code != 2 || !strings.Contains(stderr, "id:3") {
		t.Errorf("ambiguous --user 3: exit %d, %q", code, stderr)
	}
	for who, id := range map[string]string{"id:3": `"id": 3`, "username:3": `"id": 4`} {
		out, stderr, code := usestats(t, "report", "--moodle", url, "--user", who, "--now", "1767225600")
		if code != 0 || !strings.Contains(out, id) {
			t.Errorf("--user %s: exit %d, %q, want user %s", who, code, stderr, id)
		}
	}

	// A good run in table form.
	out, stderr, code := usestats(t, "report", "--moodle", url, "--user", "learner0001", "--format", "table", "--now", "1767225600")
	if code != 0 || !strings.Contains(out, "learner0001") || !strings.Contains(out, "Total") {
		t.Errorf("table report: exit %d, %q, %q", code, out, stderr)
	}
}

// The report says where its numbers came from: the log (LIVE) until
// rollups are compiled; --live forces the log and changes nothing else.
func TestReportSource(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "m.db")
	if _, stderr, code := usestats(t, "seed", "--moodle", url, "--users", "3", "--days", "10", "--quiet"); code != 0 {
		t.Fatalf("seed: %s", stderr)
	}
	args := []string{"report", "--moodle", url, "--user", "learner0001", "--now", "1767225600"}
	out, stderr, code := usestats(t, args...)
	if code != 0 {
		t.Fatalf("report: exit %d, %s", code, stderr)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if rep.Source != "LIVE" || rep.Events == 0 {
		t.Errorf("source %q (events %d), want LIVE", rep.Source, rep.Events)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil || raw["source"] != "LIVE" {
		t.Errorf(`JSON "source": %v (%v)`, raw["source"], err)
	}
	live, stderr, code := usestats(t, append(args, "--live")...)
	if code != 0 || live != out {
		t.Errorf("--live: exit %d, %s; differs from the default:\n%s", code, stderr, firstDiff(out, live))
	}
	table, stderr, code := usestats(t, append(args, "--format", "table")...)
	if code != 0 || !regexp.MustCompile(`(?m)^Source +LIVE$`).MatchString(table) {
		t.Errorf("table: exit %d, %s\n%s", code, stderr, table)
	}
}

func TestTokenCommands(t *testing.T) {
	st := "sqlite://" + filepath.Join(t.TempDir(), "store.db")
	out, stderr, code := usestats(t, "token", "create", "--store", st, "--name", "erp", "--scope", "course:5:read,user:7:self")
	if code != 0 || !strings.HasPrefix(out, "ust_") || !strings.Contains(stderr, "shown only this once") {
		t.Fatalf("create: exit %d, %q, %q", code, out, stderr)
	}
	plain := strings.TrimSpace(out)
	out, _, code = usestats(t, "token", "list", "--store", st)
	if code != 0 || !strings.Contains(out, "erp") || !strings.Contains(out, "course:5:read user:7:self") || strings.Contains(out, plain) {
		t.Fatalf("list: exit %d, %q (must not show the secret)", code, out)
	}
	if _, stderr, code := usestats(t, "token", "create", "--store", st, "--name", "erp", "--scope", "site:read"); code != 2 {
		t.Errorf("duplicate name: exit %d, %q", code, stderr)
	}
	if out, _, code := usestats(t, "token", "revoke", "--store", st, "erp"); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: exit %d, %q", code, out)
	}
	if _, stderr, code := usestats(t, "token", "revoke", "--store", st, "nobody"); code != 1 || !strings.Contains(stderr, "usestats:") {
		t.Errorf("revoke unknown: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"token", "create", "--store", st, "--name", "x", "--scope", "admin"},
		{"token", "create", "--store", st, "--name", "x"},
		{"token", "frob"},
		{"token"},
	} {
		if _, stderr, code := usestats(t, args...); code != 2 {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
}
