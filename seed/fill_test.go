package seed

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// siteChecksums returns "rows:hash" of every table.
func siteChecksums(t testing.TB, db *dbconn.DB, prefix string) map[string]string {
	t.Helper()
	cat, err := buildCatalog()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tb := range cat.tables {
		sum, n := tableChecksum(t, db, prefix, tb.name)
		out[tb.name] = fmt.Sprintf("%d:%s", n, sum)
	}
	return out
}

// count runs a COUNT(*) query where {p} stands for the table prefix.
func count(t *testing.T, db *dbconn.DB, prefix, q string) int64 {
	t.Helper()
	q = strings.ReplaceAll(q, "{p}", prefix)
	if db.Kind == dbconn.MySQL {
		q = strings.ReplaceAll(q, `\`, `\\`) // backslashes are escapes in MySQL literals
	}
	var n int64
	if err := db.DB.DB.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// checkSite asserts what the generated site must show on any engine.
func checkSite(t *testing.T, db *dbconn.DB, p string, st Stats) {
	t.Helper()
	must := map[string]string{
		"quiz grades (user_graded)":  `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE eventname = '\core\event\user_graded' AND action = 'graded' AND target = 'user' AND contextlevel = 50 AND edulevel = 1 AND crud = 'u' AND objecttable = 'grade_grades'`,
		"failed logins":              `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE eventname = '\core\event\user_login_failed' AND action = 'failed' AND contextlevel = 10 AND courseid = 0`,
		"failed, unknown user":       `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE action = 'failed' AND userid = 0`,
		"cli rows":                   `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE origin = 'cli' AND ip IS NULL`,
		"cron completion":            `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE origin = 'cli' AND eventname = '\core\event\course_module_completion_updated'`,
		"ws rows":                    `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE origin = 'ws'`,
		"login-as rows":              `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE realuserid = 2 AND userid > 2`,
		"logouts":                    `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE eventname = '\core\event\user_loggedout'`,
		"anonymous rows":             `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE anonymous = 1 AND component = 'mod_feedback'`,
		"front page (course 1) rows": `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE courseid = 1`,
		"rows of deleted modules": `SELECT COUNT(*) FROM {p}logstore_standard_log l LEFT JOIN {p}course_modules cm ON cm.id = l.contextinstanceid
			WHERE l.contextlevel = 70 AND cm.id IS NULL`,
		"views of deleted modules": `SELECT COUNT(*) FROM {p}logstore_standard_log l LEFT JOIN {p}context x ON x.id = l.contextid
			WHERE l.contextlevel = 70 AND l.action = 'viewed' AND x.id IS NULL`,
		"quiz submit + user_graded in one second": `SELECT COUNT(*) FROM {p}logstore_standard_log s JOIN {p}logstore_standard_log g
			ON g.userid = s.userid AND g.timecreated = s.timecreated AND g.eventname = '\core\event\user_graded'
			WHERE s.eventname = '\mod_quiz\event\attempt_submitted'`,
		"forum post + assessable_uploaded in one second": `SELECT COUNT(*) FROM {p}logstore_standard_log s JOIN {p}logstore_standard_log g
			ON g.userid = s.userid AND g.timecreated = s.timecreated AND g.objectid = s.objectid AND g.eventname = '\mod_forum\event\assessable_uploaded'
			WHERE s.eventname = '\mod_forum\event\post_created'`,
		"dashboard after login": `SELECT COUNT(*) FROM {p}logstore_standard_log d JOIN {p}logstore_standard_log l
			ON l.userid = d.userid AND l.id = d.id - 1 AND l.eventname = '\core\event\user_loggedin'
			WHERE d.eventname = '\core\event\dashboard_viewed' AND d.contextlevel = 30 AND d.relateduserid = d.userid`,
		"assignment submissions graded by the teacher": `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE eventname = '\mod_assign\event\submission_graded' AND relateduserid <> userid`,
		"course grades":      `SELECT COUNT(*) FROM {p}grade_grades g JOIN {p}grade_items i ON i.id = g.itemid AND i.itemtype = 'course' WHERE g.finalgrade IS NOT NULL`,
		"null course grades": `SELECT COUNT(*) FROM {p}grade_grades g JOIN {p}grade_items i ON i.id = g.itemid WHERE g.finalgrade IS NULL`,
		"mod grade items":    `SELECT COUNT(*) FROM {p}grade_items WHERE itemtype = 'mod' AND itemmodule IN ('quiz', 'assign')`,
	}
	for what, q := range must {
		if n := count(t, db, p, q); n == 0 {
			t.Errorf("no %s", what)
		}
	}
	mustNot := map[string]string{
		"ids out of time order":   `SELECT COUNT(*) FROM {p}logstore_standard_log a JOIN {p}logstore_standard_log b ON b.id = a.id + 1 WHERE b.timecreated < a.timecreated`,
		"rows outside the window": fmt.Sprintf(`SELECT COUNT(*) FROM {p}logstore_standard_log WHERE timecreated < %d OR timecreated >= %d`, st.From, st.To),
		"module rows in the wrong course": `SELECT COUNT(*) FROM {p}logstore_standard_log l JOIN {p}course_modules cm ON cm.id = l.contextinstanceid
			WHERE l.contextlevel = 70 AND l.courseid <> cm.course`,
		"module rows with the wrong context": `SELECT COUNT(*) FROM {p}logstore_standard_log l JOIN {p}course_modules cm ON cm.id = l.contextinstanceid
			LEFT JOIN {p}context x ON x.id = l.contextid AND x.contextlevel = 70 AND x.instanceid = cm.id
			WHERE l.contextlevel = 70 AND x.id IS NULL`,
		"course rows with the wrong context": `SELECT COUNT(*) FROM {p}logstore_standard_log l
			LEFT JOIN {p}context x ON x.id = l.contextid AND x.contextlevel = 50 AND x.instanceid = l.contextinstanceid
			WHERE l.contextlevel = 50 AND (x.id IS NULL OR l.courseid <> l.contextinstanceid)`,
		"user rows with the wrong context": `SELECT COUNT(*) FROM {p}logstore_standard_log l
			LEFT JOIN {p}context x ON x.id = l.contextid AND x.contextlevel = 30 AND x.instanceid = l.contextinstanceid
			WHERE l.contextlevel = 30 AND (x.id IS NULL OR l.courseid <> 0)`,
		"system rows not in context 1": `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE contextlevel = 10 AND (contextid <> 1 OR contextinstanceid <> 0 OR courseid <> 0)`,
		"module views with a wrong object": `SELECT COUNT(*) FROM {p}logstore_standard_log l JOIN {p}course_modules cm ON cm.id = l.contextinstanceid
			JOIN {p}modules m ON m.id = cm.module
			WHERE l.target = 'course_module' AND l.action = 'viewed' AND (l.objecttable <> m.name OR l.objectid <> cm.instance OR l.component <> CONCAT('mod_', m.name))`,
		"modules without context":                 `SELECT COUNT(*) FROM {p}course_modules cm LEFT JOIN {p}context x ON x.contextlevel = 70 AND x.instanceid = cm.id WHERE x.id IS NULL`,
		"contexts with a wrong depth":             `SELECT COUNT(*) FROM {p}context WHERE depth < 1 OR (contextlevel = 10 AND path <> '/1') OR (contextlevel = 70 AND depth < 3)`,
		"rows of unknown users":                   `SELECT COUNT(*) FROM {p}logstore_standard_log l LEFT JOIN {p}user u ON u.id = l.userid WHERE l.userid <> 0 AND u.id IS NULL`,
		"real users that are not the admin":       `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE realuserid IS NOT NULL AND realuserid <> 2`,
		"edulevel or crud not from the catalogue": `SELECT COUNT(*) FROM {p}logstore_standard_log WHERE crud NOT IN ('c', 'r', 'u', 'd') OR edulevel NOT IN (0, 1, 2)`,
	}
	if n := count(t, db, p, `SELECT COUNT(DISTINCT m.name) FROM {p}course_modules cm JOIN {p}modules m ON m.id = cm.module
		WHERE m.name IN ('page', 'resource', 'quiz', 'forum', 'assign', 'url', 'scorm', 'label')`); n != 8 {
		t.Errorf("%d of the 8 module types have course modules", n)
	}
	if db.Kind == dbconn.SQLite {
		mustNot["module views with a wrong object"] = strings.ReplaceAll(mustNot["module views with a wrong object"], "CONCAT('mod_', m.name)", "'mod_' || m.name")
	}
	for what, q := range mustNot {
		if n := count(t, db, p, q); n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}
	// The well-known rows of a Moodle install.
	var guest, admin, learner, host2 string
	ctx := context.Background()
	for _, q := range []struct {
		dst *string
		sql string
	}{
		{&guest, "SELECT username FROM {p}user WHERE id = 1"},
		{&admin, "SELECT username FROM {p}user WHERE id = 2"},
		{&learner, "SELECT username FROM {p}user WHERE id = 3"},
		{&host2, "SELECT name FROM {p}mnet_host WHERE id = 2"},
	} {
		if err := db.DB.DB.QueryRowContext(ctx, strings.ReplaceAll(q.sql, "{p}", p)).Scan(q.dst); err != nil {
			t.Fatal(err)
		}
	}
	if guest != "guest" || admin != "admin" || learner != "learner0001" || host2 != "All Hosts" {
		t.Errorf("well-known rows: %q %q %q %q", guest, admin, learner, host2)
	}
	var format string
	var category int64
	if err := db.DB.DB.QueryRowContext(ctx, "SELECT format, category FROM "+p+"course WHERE id = 1").Scan(&format, &category); err != nil || format != "site" || category != 0 {
		t.Errorf("site course: %q %d %v", format, category, err)
	}
}

func TestFillEngines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opt := Options{Seed: 42, Users: 5}
	sums := map[string]map[string]string{}
	var stats []Stats
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			o := opt
			o.Prefix = testPrefix(t, e.db)
			o.BatchSize = 1500 // several batches per table
			st, err := Seed(ctx, e.db, o)
			if err != nil {
				t.Fatal(err)
			}
			if st.Users != 8 || st.Learners != 5 || st.Courses != 3 || st.LogRows < 3000 || st.DeletedModules == 0 {
				t.Errorf("stats %+v", st)
			}
			if n := count(t, e.db, o.Prefix, "SELECT COUNT(*) FROM {p}logstore_standard_log"); n != st.LogRows {
				t.Errorf("%d log rows, stats say %d", n, st.LogRows)
			}
			checkSite(t, e.db, o.Prefix, st)
			checkAccess(t, e.db, o.Prefix, st)
			checkRoster(t, e.db, o.Prefix, st)
			checkWebService(t, e.db, o.Prefix)
			// Seed builds the indexes after the load: the schema is CreateSchema's.
			if ix := logIndexes(t, e.db, o.Prefix+"logstore_standard_log"); len(ix) < 8 {
				t.Errorf("log indexes after Seed: %v", ix)
			}
			st.Duration = 0
			stats = append(stats, st)
			sums[e.name] = siteChecksums(t, e.db, o.Prefix)
		})
	}
	for _, st := range stats[1:] {
		if st != stats[0] {
			t.Errorf("stats differ across engines: %+v vs %+v", st, stats[0])
		}
	}
	names := slices.Sorted(maps.Keys(sums))
	for _, n := range names[1:] {
		for table, sum := range sums[names[0]] {
			if sums[n][table] != sum {
				t.Errorf("%s differs: %s %s, %s %s", table, names[0], sum, n, sums[n][table])
			}
		}
	}
}

func TestFillDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := engines(t)[0] // SQLite: the data do not depend on the engine (TestFillEngines)
	run := func(seed uint64) map[string]string {
		p := testPrefix(t, e.db)
		if _, err := Seed(ctx, e.db, Options{Seed: seed, Users: 5, Days: 30, Prefix: p}); err != nil {
			t.Fatal(err)
		}
		return siteChecksums(t, e.db, p)
	}
	a, b, c := run(7), run(7), run(8)
	if !maps.Equal(a, b) {
		t.Errorf("same seed, different data:\n%v\n%v", a, b)
	}
	if a["logstore_standard_log"] == c["logstore_standard_log"] || a["user"] == c["user"] {
		t.Error("different seeds, same data")
	}
}

func TestFillMaxRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := engines(t)[0]
	for _, target := range []int64{3000, 40000} {
		p := testPrefix(t, e.db)
		st, err := Seed(ctx, e.db, Options{Seed: 3, Days: 20, MaxRows: target, Prefix: p, BatchSize: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if st.LogRows > target || st.LogRows < target*85/100 {
			t.Errorf("MaxRows %d: %d rows", target, st.LogRows)
		}
		if target == 40000 && st.Learners <= 5 {
			t.Errorf("MaxRows %d: %d learners, want more than the default", target, st.Learners)
		}
	}
	// Few users, many rows: the intensity rises.
	p := testPrefix(t, e.db)
	st, err := Seed(ctx, e.db, Options{Seed: 3, Users: 5, Days: 10, MaxRows: 2000, Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	if st.LogRows > 2000 || st.LogRows < 1500 {
		t.Errorf("5 users, MaxRows 2000: %d rows", st.LogRows)
	}
}

func TestFillOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := engines(t)[0]
	for _, o := range []Options{{Days: -1}, {Users: -3}, {MaxRows: -1}, {Prefix: "Bad-Prefix"}, {End: 5}} {
		if _, err := Fill(ctx, e.db, o); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("%+v: err = %v", o, err)
		}
	}
	// Small and lopsided sites.
	for _, o := range []Options{{Users: 1, Courses: 1, Days: 1}, {Users: 2, Courses: 40, Days: 7}, {Users: 3, Days: 1, End: 86400 * 400}} {
		o.Seed, o.Prefix = 5, testPrefix(t, e.db)
		st, err := Seed(ctx, e.db, o)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if st.Learners != o.Users || (o.Courses != 0 && st.Courses != o.Courses) {
			t.Errorf("%+v: %+v", o, st)
		}
	}
	// Fill into missing tables fails with the table's name.
	if _, err := Fill(ctx, e.db, Options{Prefix: "missing_", Days: 2}); err == nil || !strings.Contains(err.Error(), "missing_") {
		t.Errorf("missing tables: %v", err)
	}
	// Progress bar output.
	var out strings.Builder
	p := testPrefix(t, e.db)
	if _, err := Seed(ctx, e.db, Options{Seed: 1, Days: 3, Prefix: p, Progress: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "log rows") || !strings.Contains(out.String(), "100%") {
		t.Errorf("progress output %q", out.String())
	}
	// Reset drops and recreates; without it the existing tables are refused.
	if _, err := Seed(ctx, e.db, Options{Seed: 1, Days: 3, Prefix: p}); err == nil {
		t.Error("Seed over existing tables: no error")
	}
	if _, err := Seed(ctx, e.db, Options{Seed: 1, Days: 3, Prefix: p, Reset: true}); err != nil {
		t.Errorf("Seed with Reset: %v", err)
	}
}

// A cancelled Fill returns promptly and leaves no Writer goroutine behind,
// whether it stops in the population or in the log.
func TestFillCancelledNoLeak(t *testing.T) {
	db := liteDB(t)
	for _, batch := range []int{10, 2000} {
		p := testPrefix(t, db)
		if err := CreateSchema(context.Background(), db, p); err != nil {
			t.Fatal(err)
		}
		before := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		var once sync.Once
		o := Options{Seed: 1, Users: 40, Days: 60, Prefix: p, BatchSize: batch,
			// Cancel once the first batch has been written: the workers run.
			Progress: writerFunc(func([]byte) { once.Do(cancel) })}
		if batch == 10 {
			cancel() // cancelled from the start
		}
		start := time.Now()
		_, err := Fill(ctx, db, o)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("batch %d: err = %v, want context.Canceled", batch, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("batch %d: cancelled Fill took %s", batch, d)
		}
		if n := settledGoroutines(before); n > before {
			t.Errorf("batch %d: %d goroutines before Fill, %d after:\n%s", batch, before, n, stacks())
		}
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
