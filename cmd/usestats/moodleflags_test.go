package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
)

// The Moodle pool flags: defaults, variables, flags over variables, 0 for
// no statement timeout, and EInvalid for what cannot work.
func TestMoodleFlags(t *testing.T) {
	parse := func(t *testing.T, args ...string) (moodle.Options, error) {
		t.Helper()
		fs := newFlags("test", io.Discard)
		f := addMoodleFlags(fs, &envDefaults{cmd: "test"})
		if err := parseFlags(fs, args); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return f.options()
	}
	good := []struct {
		env  map[string]string
		args []string
		want moodle.Options
	}{
		{nil, nil, moodle.Options{MaxConns: 4, StatementTimeout: 5 * time.Minute}},
		{map[string]string{"USESTATS_MOODLE_MAX_CONNS": "8", "USESTATS_MOODLE_STATEMENT_TIMEOUT": "30s"}, nil,
			moodle.Options{MaxConns: 8, StatementTimeout: 30 * time.Second}},
		{map[string]string{"USESTATS_MOODLE_MAX_CONNS": "8"}, []string{"--moodle-max-conns", "2", "--moodle-statement-timeout", "1m"},
			moodle.Options{MaxConns: 2, StatementTimeout: time.Minute}},
		{nil, []string{"--moodle-statement-timeout", "0"}, moodle.Options{MaxConns: 4, StatementTimeout: -1}},
	}
	for _, c := range good {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if got, err := parse(t, c.args...); err != nil || got != c.want {
				t.Errorf("options = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	bad := []struct {
		env   map[string]string
		args  []string
		words string
	}{
		{nil, []string{"--moodle-max-conns", "1"}, "at least 2"},
		{nil, []string{"--moodle-max-conns", "0"}, "at least 2"},
		{map[string]string{"USESTATS_MOODLE_MAX_CONNS": "1"}, nil, "USESTATS_MOODLE_MAX_CONNS"},
		{map[string]string{"USESTATS_MOODLE_MAX_CONNS": "many"}, nil, "USESTATS_MOODLE_MAX_CONNS is not a number"},
		{map[string]string{"USESTATS_MOODLE_STATEMENT_TIMEOUT": "soon"}, nil, "USESTATS_MOODLE_STATEMENT_TIMEOUT is not a duration"},
		{nil, []string{"--moodle-statement-timeout", "-1s"}, "negative"},
	}
	for _, c := range bad {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := parse(t, c.args...)
			if aggregation.ErrorCode(err) != aggregation.EInvalid || !strings.Contains(err.Error(), c.words) {
				t.Errorf("err = %v, want invalid saying %q", err, c.words)
			}
		})
	}
}

// report refuses a pool of one connection before it opens anything (exit
// 2, one line), and runs with a bounded pool.
func TestReportMoodleFlags(t *testing.T) {
	url := "sqlite://" + filepath.Join(t.TempDir(), "m.db")
	if _, stderr, code := usestats(t, "seed", "--moodle", url, "--users", "3", "--days", "5", "--quiet"); code != 0 {
		t.Fatalf("seed: %s", stderr)
	}
	_, stderr, code := usestats(t, "report", "--moodle", url, "--user", "learner0001", "--moodle-max-conns", "1")
	if code != 2 || !strings.Contains(stderr, "--moodle-max-conns") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("--moodle-max-conns 1: exit %d, %q", code, stderr)
	}
	out, stderr, code := usestats(t, "report", "--moodle", url, "--user", "learner0001", "--now", "1767225600",
		"--moodle-max-conns", "2", "--moodle-statement-timeout", "30s")
	if code != 0 || !strings.Contains(out, "learner0001") {
		t.Errorf("bounded report: exit %d, %q, %q", code, out, stderr)
	}
}

// /metrics shows the Moodle pool live: its bound, the connections in use
// and the requests that waited for one.
func TestMetricsMoodlePool(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	url := "sqlite://" + filepath.Join(dir, "m.db")
	if _, stderr, code := usestats(t, "seed", "--moodle", url, "--users", "3", "--days", "5", "--quiet"); code != 0 {
		t.Fatalf("seed: %s", stderr)
	}
	fs := newFlags("test", io.Discard)
	f := addMoodleFlags(fs, &envDefaults{cmd: "test"})
	if err := parseFlags(fs, []string{"--moodle-max-conns", "3"}); err != nil {
		t.Fatal(err)
	}
	src, err := f.open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st, err := openStore(ctx, "sqlite://"+filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := newMetrics(src.DB(), st)

	for range 3 { // the whole pool in use
		c, err := src.DB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := src.DB().ExecContext(short, "SELECT 1"); err == nil {
		t.Fatal("a fourth connection was handed out")
	}

	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`go_sql_max_open_connections{db_name="moodle"} 3`,
		`go_sql_in_use_connections{db_name="moodle"} 3`,
		`go_sql_wait_count_total{db_name="moodle"} 1`,
		`go_sql_wait_duration_seconds_total{db_name="moodle"}`,
		`go_sql_idle_connections{db_name="moodle"}`,
		`go_sql_max_idle_closed_total{db_name="moodle"} 0`,
		`go_sql_in_use_connections{db_name="store"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// serve opens the Moodle database with its flags' pool, which /metrics
// shows, and refuses a pool of one connection.
func TestServeMoodlePool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	moodleDB := "sqlite://" + filepath.Join(dir, "m.db")
	if _, stderr, code := usestats(t, "seed", "--moodle", moodleDB, "--users", "3", "--days", "5", "--quiet"); code != 0 {
		t.Fatalf("seed: %s", stderr)
	}
	_, stderr, code := usestats(t, "serve", "--moodle", moodleDB, "--store", "sqlite://"+filepath.Join(dir, "store.db"),
		"--addr", "127.0.0.1:0", "--moodle-max-conns", "1")
	if code != 2 || !strings.Contains(stderr, "--moodle-max-conns") {
		t.Errorf("serve --moodle-max-conns 1: exit %d, %q", code, stderr)
	}

	s := startServer(t, buildBinary(t), dir, "--moodle-max-conns", "3", "--moodle-statement-timeout", "1m")
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`go_sql_max_open_connections{db_name="moodle"} 3`, `go_sql_in_use_connections{db_name="moodle"}`,
		`go_sql_wait_count_total{db_name="moodle"}`, `go_sql_wait_duration_seconds_total{db_name="moodle"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}
