package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/seed"
)

// The demo's hooks, replaced by tests: demoSeed fills a new demo database
// (a test makes it fail midway, as a full disk would) and demoRemove
// deletes a file (a test makes it fail, as a read-only directory would).
var (
	demoSeed   = seed.Seed
	demoRemove = os.Remove
)

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// errDemoDamaged marks a demo database that fails its check.
var errDemoDamaged = errors.New("damaged")

// errDemoOutdated marks a demo database made by an older usestats, which
// lacks tables the current one reads (its data is generated: it is made
// again, the same site ending yesterday).
var errDemoOutdated = errors.New("outdated")

// demoTables are the newest tables of the demo site: a demo without them
// predates them (the groups, groupings and cohorts of the analytics).
var demoTables = []string{"groups_members", "groupings_groups", "cohort_members"}

// ensureDemo creates the demo Moodle database once, and checks an existing
// one at every start (PRAGMA quick_check): a damaged demo would answer
// with wrong totals, so it is recreated, or refused with a clear message
// when it cannot be removed. A file that is not a SQLite database is never
// removed. progress, when not nil, receives a progress bar of the
// creation (a terminal's); the log says when it starts and ends.
func ensureDemo(ctx context.Context, c serveConfig, progress io.Writer, log *slog.Logger) error {
	err := checkDemo(ctx, c.demoDB, c.prefix)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, errDemoDamaged), errors.Is(err, errDemoOutdated):
		what := "damaged"
		if errors.Is(err, errDemoOutdated) {
			what = "made by an older usestats"
		}
		log.Warn("the demo Moodle database is "+what+"; recreating it", "file", c.demoDB, "check", err.Error())
		if rerr := removeSQLite(c.demoDB); rerr != nil {
			return aggregation.Errorf(aggregation.EUnavailable,
				"serve: the demo database %s is %s (%v) and cannot be removed to recreate it: %v; remove it, or give another --demo-db",
				c.demoDB, what, err, rerr)
		}
	default:
		return err
	}
	return createDemo(ctx, c, progress, log)
}

// checkDemo runs PRAGMA quick_check on the demo database and looks for
// its newest tables (with the table prefix). It returns an fs.ErrNotExist
// error when there is none, an errDemoDamaged one when the check fails (or
// the file is too short to be a database), an errDemoOutdated one when
// tables are missing, and an EInvalid error for a file that is not a
// SQLite database at all.
func checkDemo(ctx context.Context, path, prefix string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return aggregation.Errorf(aggregation.EUnavailable, "serve: cannot read the demo database %s: %v", path, err)
	}
	head := make([]byte, 100) // SQLite's file header
	n, _ := io.ReadFull(f, head)
	f.Close()
	if n < len(head) {
		return fmt.Errorf("%w: %d bytes long, shorter than a SQLite header", errDemoDamaged, n)
	}
	if !bytes.HasPrefix(head, []byte(sqliteHeader)) {
		return aggregation.Errorf(aggregation.EInvalid,
			"serve: --demo-db %s is not a SQLite database; it is left alone: give another --demo-db, or remove it to create the demo there", path)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return aggregation.Errorf(aggregation.EInvalid, "serve: demo database %s: %v", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(5)")
	var problems []string
	if err == nil {
		for rows.Next() {
			var line string
			if err = rows.Scan(&line); err != nil {
				break
			}
			problems = append(problems, line)
		}
		err = errors.Join(err, rows.Err(), rows.Close())
	}
	var se *sqlite.Error
	switch {
	case errors.As(err, &se) && (se.Code()&0xff == sqlite3.SQLITE_CORRUPT || se.Code()&0xff == sqlite3.SQLITE_NOTADB):
		return fmt.Errorf("%w: %v", errDemoDamaged, err)
	case err != nil:
		return aggregation.Errorf(aggregation.EUnavailable, "serve: cannot check the demo database %s: %v", path, err)
	case len(problems) != 1 || problems[0] != "ok":
		return fmt.Errorf("%w: quick_check: %s", errDemoDamaged, strings.Join(problems, "; "))
	}
	for _, t := range demoTables {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", prefix+t).Scan(&n); err != nil {
			return aggregation.Errorf(aggregation.EUnavailable, "serve: cannot check the demo database %s: %v", path, err)
		}
		if n == 0 {
			return fmt.Errorf("%w: no table %s%s", errDemoOutdated, prefix, t)
		}
	}
	return nil
}

// demoEnd is the end of a new demo's activity: the start of now's day in
// UTC, so the demo's data end yesterday and every range up to today shows
// some. A demo keeps the dates of its creation (seed.DefaultEnd, fixed,
// stays the default of reproducible seeds).
func demoEnd(now time.Time) int64 {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
}

// createDemo seeds the demo into a temporary file renamed into place once
// complete, so only a whole database ever has the demo's name; its data
// end at demoEnd of the creation. On any
// failure (a full disk, an interrupt) the temporary file and its -wal,
// -shm and -journal files are removed.
func createDemo(ctx context.Context, c serveConfig, progress io.Writer, log *slog.Logger) (err error) {
	log.Info("creating the demo Moodle database", "file", c.demoDB, "learners", c.demoUsers)
	tmp := c.demoDB + ".tmp"
	if err := removeSQLite(tmp); err != nil { // an earlier attempt's leftovers
		return aggregation.Errorf(aggregation.EUnavailable, "serve: cannot remove the unfinished demo database %s: %v", tmp, err)
	}
	defer func() {
		if err == nil {
			return
		}
		if rerr := removeSQLite(tmp); rerr != nil {
			log.Warn("cannot remove the unfinished demo database", "file", tmp, "err", rerr.Error())
		}
	}()
	db, err := dbconn.Open(ctx, "sqlite://"+tmp, dbconn.Options{})
	if err != nil {
		return err
	}
	began := time.Now()
	opts := seed.Options{Seed: 1, Users: c.demoUsers, Prefix: c.prefix, Progress: progress, End: demoEnd(began)}
	if progress == nil { // no bar: a log line now and then
		opts.LogRows = rowsLogger(log, demoProgressEvery, time.Now)
	}
	st, err := demoSeed(ctx, db, opts)
	if err == nil {
		// Back to a rollback journal: the WAL is checkpointed into the
		// file, which then holds the whole database on its own.
		var mode string
		err = db.NewRaw("PRAGMA journal_mode=DELETE").Scan(ctx, &mode)
		if err == nil && mode != "delete" {
			err = fmt.Errorf("journal mode stays %q", mode)
		}
	}
	err = errors.Join(err, db.Close())
	if err != nil {
		return fmt.Errorf("serve: cannot create the demo database %s: %w", c.demoDB, err)
	}
	if err := os.Rename(tmp, c.demoDB); err != nil {
		return aggregation.Errorf(aggregation.EUnavailable, "serve: cannot create the demo database %s: %v", c.demoDB, err)
	}
	secs := time.Since(began).Seconds()
	log.Info("created the demo Moodle database", "file", c.demoDB, "log_rows", st.LogRows,
		"seconds", math.Round(secs*10)/10, "rows_per_s", math.Round(float64(st.LogRows)/max(secs, 1e-3)))
	return nil
}

// demoProgressEvery is how often the demo's creation logs its progress
// when no progress bar shows it.
const demoProgressEvery = 5 * time.Second

// rowsLogger returns a seed.Options.LogRows that logs the log rows
// written and their rate at most once per every (the first time after
// every has passed).
func rowsLogger(log *slog.Logger, every time.Duration, now func() time.Time) func(int64) {
	began := now()
	last := began
	return func(written int64) {
		t := now()
		if t.Sub(last) < every {
			return
		}
		last = t
		secs := t.Sub(began).Seconds()
		log.Info("creating the demo Moodle database", "log_rows", written, "seconds", math.Round(secs),
			"rows_per_s", math.Round(float64(written)/max(secs, 1e-3)))
	}
}

// removeSQLite removes a SQLite database file and the files SQLite keeps
// next to it; missing ones are fine.
func removeSQLite(path string) error {
	var errs []error
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := demoRemove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
