package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("seed", stderr)
	dsn := fs.String("moodle", envOr("USESTATS_MOODLE", ""), "database URL to create the demo Moodle in: postgres://…, mysql://… or sqlite://PATH (env USESTATS_MOODLE)")
	prefix := fs.String("prefix", envOr("USESTATS_PREFIX", moodle.DefaultPrefix), "table prefix (env USESTATS_PREFIX)")
	users := fs.Int("users", 5, "number of learners")
	courses := fs.Int("courses", 0, "number of courses (default: max(3, users/15))")
	days := fs.Int("days", 90, "days of activity")
	end := fs.Int64("end", seed.DefaultEnd, "Unix time the activity ends")
	rows := fs.Int64("rows", 0, "target number of log rows (scales activity; up to 10^8)")
	seedValue := fs.Uint64("seed", 1, "random seed: the same seed gives the same site on every database")
	reset := fs.Bool("reset", false, "drop existing tables with this prefix first")
	quiet := fs.Bool("quiet", false, "no progress bar (drawn only when stderr is a terminal)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dsn == "" {
		return aggregation.Errorf(aggregation.EInvalid, "seed: --moodle is required (a database URL)")
	}
	if *users < 1 || *days < 1 || *rows < 0 || *courses < 0 {
		return aggregation.Errorf(aggregation.EInvalid, "seed: --users and --days must be positive, --rows and --courses not negative")
	}
	db, err := dbconn.Open(ctx, *dsn, dbconn.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	opt := seed.Options{
		Seed: *seedValue, Users: *users, Courses: *courses, Days: *days, End: *end,
		MaxRows: *rows, Prefix: *prefix, Reset: *reset,
	}
	if !*quiet && isTerminal(stderr) {
		opt.Progress = stderr
	}
	start := time.Now()
	st, err := seed.Seed(ctx, db, opt)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(stdout, "seeded %s: %d users (%d learners), %d courses, %d modules, %d log rows in %.1fs (%.0f rows/s)\n",
		db.Redacted, st.Users, st.Learners, st.Courses, st.Modules, st.LogRows, secs, float64(st.LogRows)/secs)
	return nil
}
