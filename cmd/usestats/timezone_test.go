package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
)

// zoneSite is a small seeded SQLite Moodle site whose zone settings a test
// sets.
type zoneSite struct {
	url string
}

func newZoneSite(t *testing.T) *zoneSite {
	t.Helper()
	s := &zoneSite{url: "sqlite://" + filepath.Join(t.TempDir(), "moodle.db")}
	if _, stderr, code := usestats(t, "seed", "--moodle", s.url, "--users", "3", "--days", "10", "--quiet"); code != 0 {
		t.Fatalf("seed: %s", stderr)
	}
	return s
}

// set stores the config timezone and forcetimezone.
func (s *zoneSite) set(t *testing.T, timezone, forced string) {
	t.Helper()
	db, err := dbconn.Open(context.Background(), s.url, dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, v := range map[string]string{"timezone": timezone, "forcetimezone": forced} {
		res, err := db.Exec("UPDATE mdl_config SET value = ? WHERE name = ?", v, name)
		if n, _ := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("setting %s: %d rows, %v", name, n, err)
		}
	}
}

// lateNight copies learner0001's first two log rows to 23:30 and 23:40 UTC
// on 2025-12-24, which is already 25 December in Paris.
func (s *zoneSite) lateNight(t *testing.T) {
	t.Helper()
	db, err := dbconn.Open(context.Background(), s.url, dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TEMP TABLE late AS SELECT l.* FROM mdl_logstore_standard_log l JOIN mdl_user u ON u.id = l.userid
			WHERE u.username = 'learner0001' ORDER BY l.id LIMIT 2`,
		`UPDATE late SET timecreated = CASE WHEN id = (SELECT MIN(id) FROM late) THEN 1766619000 ELSE 1766619600 END, id = id + 100000000`,
		`INSERT INTO mdl_logstore_standard_log SELECT * FROM late`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// reportWindow is what `report` makes of --from and --to for one date.
func reportWindow(t *testing.T, args ...string) (from, to int64, stderr string) {
	t.Helper()
	out, stderr, code := usestats(t, append([]string{"report", "--user", "learner0001", "--from", "2025-12-24", "--to", "2025-12-24",
		"--now", "1767225600"}, args...)...)
	if code != 0 {
		t.Fatalf("report %v: exit %d: %s", args, code, stderr)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	return rep.From, rep.To, stderr
}

// Paris and UTC bounds of 2025-12-24 (Paris is UTC+1 in December).
const (
	parisDayFrom, parisDayTo = 1766530800, 1766617199
	utcDayFrom, utcDayTo     = 1766534400, 1766620799
)

// Without --timezone a command's days are the site's: forcetimezone, else
// timezone, else UTC with a warning; --timezone or USESTATS_TIMEZONE wins
// over the site, even over a site zone that is no zone.
func TestReportSiteZone(t *testing.T) {
	s := newZoneSite(t)
	if from, to, _ := reportWindow(t, "--moodle", s.url); from != utcDayFrom || to != utcDayTo {
		t.Errorf("seeded site (timezone UTC): window %d…%d, want the UTC day", from, to)
	}
	s.set(t, "UTC", "Europe/Paris")
	if from, to, _ := reportWindow(t, "--moodle", s.url); from != parisDayFrom || to != parisDayTo {
		t.Errorf("forcetimezone Europe/Paris: window %d…%d, want the Paris day %d…%d", from, to, parisDayFrom, parisDayTo)
	}
	if from, to, _ := reportWindow(t, "--moodle", s.url, "--timezone", "UTC"); from != utcDayFrom || to != utcDayTo {
		t.Errorf("--timezone UTC on a Paris site: window %d…%d, want the UTC day", from, to)
	}
	s.set(t, "Europe/Paris", "99")
	if from, to, _ := reportWindow(t, "--moodle", s.url); from != parisDayFrom || to != parisDayTo {
		t.Errorf("timezone Europe/Paris, not forced: window %d…%d, want the Paris day", from, to)
	}
	t.Setenv("USESTATS_TIMEZONE", "UTC")
	if from, to, _ := reportWindow(t, "--moodle", s.url); from != utcDayFrom || to != utcDayTo {
		t.Errorf("USESTATS_TIMEZONE=UTC on a Paris site: window %d…%d, want the UTC day", from, to)
	}
	os.Unsetenv("USESTATS_TIMEZONE")
	s.set(t, "99", "99")
	from, to, stderr := reportWindow(t, "--moodle", s.url)
	if from != utcDayFrom || to != utcDayTo || !strings.Contains(stderr, "the site sets no time zone") || !strings.Contains(stderr, `"zone":"UTC"`) {
		t.Errorf("timezone 99: window %d…%d, stderr %q; want the UTC day and a warning saying so", from, to, stderr)
	}
	s.set(t, "Europe/Paris", "Mars/Olympus")
	if from, to, _ := reportWindow(t, "--moodle", s.url, "--timezone", "UTC"); from != utcDayFrom || to != utcDayTo {
		t.Errorf("--timezone UTC on a site whose zone is no zone: window %d…%d, want the UTC day", from, to)
	}
}

// A zone that is no zone — in the site's config, --timezone or
// USESTATS_TIMEZONE — stops serve, compile and report at start with one
// line naming the value and where it came from.
func TestBadZoneFailsAtStart(t *testing.T) {
	s := newZoneSite(t)
	dir := t.TempDir()
	commands := map[string][]string{
		"serve":   {"serve", "--moodle", s.url, "--store", "sqlite://" + filepath.Join(dir, "serve.db"), "--addr", "127.0.0.1:0"},
		"compile": {"compile", "--moodle", s.url, "--store", "sqlite://" + filepath.Join(dir, "compile.db")},
		"report":  {"report", "--moodle", s.url, "--user", "learner0001"},
	}
	check := func(what string, args []string, want ...string) {
		t.Helper()
		_, stderr, code := usestats(t, args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") > 0 || strings.Contains(stderr, "panic") {
			t.Errorf("%s: exit %d, stderr %q: want exit 2 and one line", what, code, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q does not say %s", what, stderr, w)
			}
		}
	}
	for name, args := range commands {
		check(name+" --timezone", append(args, "--timezone", "Mars/Olympus"), name+": --timezone \"Mars/Olympus\"", "unknown time zone")
		t.Setenv("USESTATS_TIMEZONE", "Local")
		check(name+" USESTATS_TIMEZONE", args, name+": USESTATS_TIMEZONE \"Local\"", "not a time zone")
		os.Unsetenv("USESTATS_TIMEZONE")
	}
	if _, err := os.Stat(filepath.Join(dir, "serve.db")); !os.IsNotExist(err) {
		t.Errorf("serve opened its store before refusing its --timezone: %v", err)
	}
	s.set(t, "UTC", "Mars/Olympus")
	for name, args := range commands {
		check(name+" forcetimezone", args, `the site's time zone: config forcetimezone = "Mars/Olympus"`, "--timezone")
	}
	s.set(t, "+15", "99")
	for name, args := range commands {
		check(name+" timezone", args, `config timezone = "+15"`, "--timezone")
	}
}

var graphqlRE = regexp.MustCompile(`GraphQL: (http://\S+)/graphql`)

// serveDays runs `usestats serve` on the site and store until its first
// background compile is logged, and returns learner0001's days of
// 2025-12-20…2025-12-31 (dates of the zone serve settled on) as
// "date elapsed events" lines, the compile's log line, and the answer's
// source.
func serveDays(t *testing.T, site, store, token string, extra ...string) (days, compiled, source string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "stdout")) // files: written while the test reads them
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	done := make(chan error, 1)
	args := append([]string{"--moodle", site, "--store", store, "--addr", "127.0.0.1:0", "--compile-every", "1h"}, extra...)
	go func() { done <- runServe(ctx, args, stdout, stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve %v: %v", extra, err)
		}
	}()
	read := func(f *os.File) string { b, _ := os.ReadFile(f.Name()); return string(b) }
	compiledRE := regexp.MustCompile(`\{[^\n]*"msg":"compiled"[^\n]*\}`)
	deadline := time.Now().Add(60 * time.Second)
	for graphqlRE.FindString(read(stdout)) == "" || compiledRE.FindString(read(stderr)) == "" {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve %v ended: %v\n%s", extra, err, read(stderr))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve %v: no first compile after 60 s:\n%s", extra, read(stderr))
		}
	}
	srv := &server{base: graphqlRE.FindStringSubmatch(read(stdout))[1]}
	code, resp := srv.query(t, token, `{ user(by: {username: "learner0001"}) {
	  stats(range: {from: "2025-12-20", to: "2025-12-31"}) { source days { date elapsed events } } } }`, nil)
	if code != 200 || resp["errors"] != nil {
		t.Fatalf("query: %d %v", code, resp)
	}
	stats := resp["data"].(map[string]any)["user"].(map[string]any)["stats"].(map[string]any)
	var b strings.Builder
	for _, d := range stats["days"].([]any) {
		d := d.(map[string]any)
		fmt.Fprintf(&b, "%s %v %v\n", d["date"], d["elapsed"], d["events"])
	}
	return b.String(), compiledRE.FindString(read(stderr)), stats["source"].(string)
}

// liveDays is learner0001's days of 2025-12-20…2025-12-31 in loc, from the
// log.
func liveDays(t *testing.T, site string, loc *time.Location) string {
	t.Helper()
	ctx := context.Background()
	src, err := moodle.Open(ctx, site, moodle.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: src, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	u, err := src.FindUser(ctx, moodle.UserByUsername, "learner0001", 0)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := aggregation.Preset(aggregation.DefaultPolicy)
	from := time.Date(2025, 12, 20, 0, 0, 0, 0, loc).Unix()
	to := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Unix() - 1
	res, err := svc.User(ctx, u.ID, aggregation.Query{Policy: p, Window: aggregation.Window{From: from, To: to}, Live: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range res.Days {
		fmt.Fprintf(&b, "%s %d %d\n", d.Day, d.Elapsed, d.Events)
	}
	return b.String()
}

// A site forcing Europe/Paris gets Paris days from serve when --timezone
// is not given, and serve's background compile and `usestats compile`
// settle on the same zone (serve continues the rollups compile wrote);
// --timezone=UTC gives UTC days, in rollups of their own.
func TestServeAndCompileSiteZone(t *testing.T) {
	s := newZoneSite(t)
	s.set(t, "UTC", "Europe/Paris")
	s.lateNight(t)
	paris, _ := time.LoadLocation("Europe/Paris")
	wantParis, wantUTC := liveDays(t, s.url, paris), liveDays(t, s.url, time.UTC)
	if wantParis == wantUTC || wantParis == "" {
		t.Fatalf("learner0001's Paris and UTC days must differ for this test to mean anything:\n%s", wantParis)
	}
	t.Logf("Paris days:\n%sUTC days:\n%s", wantParis, wantUTC)
	store := "sqlite://" + filepath.Join(t.TempDir(), "store.db")
	out, stderr, code := usestats(t, "compile", "--moodle", s.url, "--store", store)
	if code != 0 || !strings.Contains(out, "/Europe/Paris: fresh pass") || !strings.Contains(stderr, `"from":"config forcetimezone"`) {
		t.Fatalf("compile: exit %d, %q, %q; want a fresh pass of Europe/Paris days from forcetimezone", code, out, stderr)
	}
	tok, stderr, code := usestats(t, "token", "create", "--store", store, "--name", "zone", "--scope", "site:read")
	if code != 0 {
		t.Fatalf("token: %s", stderr)
	}
	tok = strings.TrimSpace(tok)

	days, compiled, source := serveDays(t, s.url, store, tok)
	if days != wantParis || source != "ROLLUPS" {
		t.Errorf("serve, no --timezone: %s days\n%s\nwant the Paris days\n%s", source, days, wantParis)
	}
	if !strings.Contains(compiled, "/Europe/Paris: incremental pass") {
		t.Errorf("serve's background compile did not continue compile's Paris rollups: %s", compiled)
	}
	days, compiled, source = serveDays(t, s.url, store, tok, "--timezone", "UTC")
	if days != wantUTC || source != "ROLLUPS" {
		t.Errorf("serve --timezone UTC: %s days\n%s\nwant the UTC days\n%s", source, days, wantUTC)
	}
	if !strings.Contains(compiled, "/UTC: fresh pass") {
		t.Errorf("serve --timezone UTC compiled %s, want fresh UTC rollups", compiled)
	}
}
