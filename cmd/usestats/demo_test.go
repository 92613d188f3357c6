package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

func demoConfig(t *testing.T) serveConfig {
	return serveConfig{demoDB: filepath.Join(t.TempDir(), "demo.db"), demoUsers: 4, prefix: moodle.DefaultPrefix}
}

// logCount is the number of log rows in the demo database.
func logCount(t *testing.T, path string) int {
	t.Helper()
	db, err := dbconn.Open(context.Background(), "sqlite://"+path, dbconn.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.NewRaw("SELECT count(*) FROM "+moodle.DefaultPrefix+"logstore_standard_log").Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// damage overwrites 8 KiB (two pages at least one of which is whole) in the
// middle of the file.
func damage(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if fi.Size() < 64<<10 {
		t.Fatalf("demo file is only %d bytes", fi.Size())
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xa5}, 8<<10), fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func quietLog(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, nil))
}

// A demo damaged in the middle of its file fails the start check and is
// recreated whole; when it cannot be removed, serve refuses to start on
// it, saying why.
func TestDemoDamagedRecreatedOrRefused(t *testing.T) {
	ctx := context.Background()
	c := demoConfig(t)
	var logs bytes.Buffer
	if err := ensureDemo(ctx, c, &logs, quietLog(&logs)); err != nil {
		t.Fatal(err)
	}
	if err := checkDemo(ctx, c.demoDB, c.prefix); err != nil {
		t.Fatalf("a new demo fails its check: %v", err)
	}
	want := logCount(t, c.demoDB)

	damage(t, c.demoDB)
	if err := checkDemo(ctx, c.demoDB, c.prefix); !errors.Is(err, errDemoDamaged) {
		t.Fatalf("damaged demo: check says %v", err)
	}
	logs.Reset()
	if err := ensureDemo(ctx, c, &logs, quietLog(&logs)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "damaged; recreating") {
		t.Errorf("no log line about the recreation:\n%s", logs.String())
	}
	if err := checkDemo(ctx, c.demoDB, c.prefix); err != nil {
		t.Fatalf("recreated demo fails its check: %v", err)
	}
	if got := logCount(t, c.demoDB); got != want {
		t.Errorf("recreated demo has %d log rows, want %d", got, want)
	}

	damage(t, c.demoDB)
	defer func(f func(string) error) { demoRemove = f }(demoRemove)
	demoRemove = func(string) error { return os.ErrPermission }
	err := ensureDemo(ctx, c, &logs, quietLog(&logs))
	if aggregation.ErrorCode(err) != aggregation.EUnavailable || !strings.Contains(err.Error(), "is damaged") ||
		!strings.Contains(err.Error(), "cannot be removed") {
		t.Fatalf("unremovable damaged demo: %v", err)
	}
}

// A --demo-db that is not a SQLite database is refused and left alone.
func TestDemoNotSQLiteRefused(t *testing.T) {
	c := demoConfig(t)
	text := bytes.Repeat([]byte("not a database\n"), 20)
	if err := os.WriteFile(c.demoDB, text, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	err := ensureDemo(context.Background(), c, &logs, quietLog(&logs))
	if aggregation.ErrorCode(err) != aggregation.EInvalid || !strings.Contains(err.Error(), "not a SQLite database") {
		t.Fatalf("ensureDemo: %v", err)
	}
	if got, _ := os.ReadFile(c.demoDB); !bytes.Equal(got, text) {
		t.Error("the file was changed")
	}
}

// A demo creation that fails midway (here a write error as a full disk
// gives, after rows were written) leaves no file behind: neither the
// unfinished database nor its -wal and -shm, nor an earlier attempt's.
func TestDemoFailedCreationLeavesNoFiles(t *testing.T) {
	ctx := context.Background()
	c := demoConfig(t)
	dir := filepath.Dir(c.demoDB)
	if err := os.WriteFile(c.demoDB+".tmp-journal", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(f func(context.Context, *dbconn.DB, seed.Options) (seed.Stats, error)) { demoSeed = f }(demoSeed)
	sawWAL := false
	demoSeed = func(ctx context.Context, db *dbconn.DB, opt seed.Options) (seed.Stats, error) {
		if _, err := seed.Seed(ctx, db, opt); err != nil {
			return seed.Stats{}, err
		}
		_, err := os.Stat(c.demoDB + ".tmp-wal")
		sawWAL = err == nil
		// On a full disk the WAL cannot be checkpointed and outlives the
		// close; here a second connection keeps it, as SQLite only removes
		// it with its last connection.
		other, err := sql.Open("sqlite", "file:"+c.demoDB+".tmp")
		if err != nil {
			return seed.Stats{}, err
		}
		t.Cleanup(func() { other.Close() })
		var n int
		if err := other.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
			return seed.Stats{}, err
		}
		return seed.Stats{}, errors.New("write demo.db.tmp-wal: no space left on device")
	}
	var logs bytes.Buffer
	err := ensureDemo(ctx, c, &logs, quietLog(&logs))
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("ensureDemo: %v, want the write error", err)
	}
	if !sawWAL {
		t.Error("the failure came before SQLite wrote its WAL: the test proves nothing")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}

// A demo made by an older usestats (without the analytics' tables) is
// made again, with the same log.
func TestDemoOutdatedRecreated(t *testing.T) {
	ctx := context.Background()
	c := demoConfig(t)
	var logs bytes.Buffer
	if err := ensureDemo(ctx, c, &logs, quietLog(&logs)); err != nil {
		t.Fatal(err)
	}
	want := logCount(t, c.demoDB)
	db, err := sql.Open("sqlite", "file:"+c.demoDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DROP TABLE " + c.prefix + "cohort_members"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := checkDemo(ctx, c.demoDB, c.prefix); !errors.Is(err, errDemoOutdated) {
		t.Fatalf("outdated demo: check says %v", err)
	}
	logs.Reset()
	if err := ensureDemo(ctx, c, &logs, quietLog(&logs)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "older usestats; recreating") {
		t.Errorf("no log line about the recreation:\n%s", logs.String())
	}
	if err := checkDemo(ctx, c.demoDB, c.prefix); err != nil {
		t.Fatalf("recreated demo fails its check: %v", err)
	}
	if got := logCount(t, c.demoDB); got != want {
		t.Errorf("recreated demo has %d log rows, want %d", got, want)
	}
}

// demoEnd is the start of the UTC day, whatever the zone of the clock.
func TestDemoEnd(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for now, want := range map[time.Time]string{
		time.Date(2026, 12, 6, 12, 13, 0, 0, time.UTC): "2026-12-06T00:00:00Z",
		time.Date(2026, 12, 7, 0, 30, 0, 0, paris):     "2026-12-06T00:00:00Z", // 23:30 UTC the day before
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC):    "2027-01-01T00:00:00Z",
	} {
		if got := time.Unix(demoEnd(now), 0).UTC().Format(time.RFC3339); got != want {
			t.Errorf("demoEnd(%s) = %s, want %s", now, got, want)
		}
	}
}

// A new demo's activity ends yesterday (UTC) and covers the 90 days
// before; an existing demo is kept as it is, dates included.
func TestDemoEndsYesterday(t *testing.T) {
	ctx := context.Background()
	c := demoConfig(t)
	defer func(f func(context.Context, *dbconn.DB, seed.Options) (seed.Stats, error)) { demoSeed = f }(demoSeed)
	var end int64
	demoSeed = func(ctx context.Context, db *dbconn.DB, opt seed.Options) (seed.Stats, error) {
		end = opt.End
		return seed.Seed(ctx, db, opt)
	}
	before := demoEnd(time.Now())
	var logs bytes.Buffer
	if err := ensureDemo(ctx, c, nil, quietLog(&logs)); err != nil {
		t.Fatal(err)
	}
	if after := demoEnd(time.Now()); end != before && end != after {
		t.Fatalf("the demo ends at %d, want the start of today (UTC), %d", end, before)
	}
	first, last := logSpan(t, c.demoDB)
	if last >= end || last < end-7*86400 || first < end-90*86400 {
		t.Errorf("the demo's log spans %s…%s, want the 90 days up to yesterday (ending %s)",
			time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC(), time.Unix(end, 0).UTC())
	}
	if !strings.Contains(logs.String(), "created the demo Moodle database") {
		t.Errorf("no log line of the creation:\n%s", logs.String())
	}

	demoSeed = func(context.Context, *dbconn.DB, seed.Options) (seed.Stats, error) {
		t.Error("an existing demo was made again")
		return seed.Stats{}, errors.New("not again")
	}
	if err := ensureDemo(ctx, c, nil, quietLog(&logs)); err != nil {
		t.Fatal(err)
	}
	if f, l := logSpan(t, c.demoDB); f != first || l != last {
		t.Errorf("the demo's dates changed at the second start: %d…%d, were %d…%d", f, l, first, last)
	}
}

// logSpan is the first and last time of the demo database's log.
func logSpan(t *testing.T, path string) (first, last int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("SELECT min(timecreated), max(timecreated) FROM "+moodle.DefaultPrefix+"logstore_standard_log").Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	return first, last
}
