package main

import (
	"context"
	"flag"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
)

// moodleFlags bound what a command asks of the Moodle database: the
// connections of its pool and how long one statement may run. Every
// command that opens the Moodle database declares them (serve, report,
// compile).
type moodleFlags struct {
	env      *envDefaults
	maxConns int
	timeout  time.Duration // 0: none
}

// addMoodleFlags declares --moodle-max-conns and --moodle-statement-timeout
// on fs, defaulted from USESTATS_MOODLE_MAX_CONNS and
// USESTATS_MOODLE_STATEMENT_TIMEOUT (a malformed one is kept in env).
func addMoodleFlags(fs *flag.FlagSet, env *envDefaults) *moodleFlags {
	f := &moodleFlags{env: env}
	fs.IntVar(&f.maxConns, "moodle-max-conns", env.int("USESTATS_MOODLE_MAX_CONNS", moodle.DefaultMaxConns),
		"most connections to the Moodle database, kept open while idle; at least 2 (env USESTATS_MOODLE_MAX_CONNS)")
	fs.DurationVar(&f.timeout, "moodle-statement-timeout", env.duration("USESTATS_MOODLE_STATEMENT_TIMEOUT", moodle.DefaultStatementTimeout),
		"the Moodle database stops a statement running longer (not SQLite); 0: no limit (env USESTATS_MOODLE_STATEMENT_TIMEOUT)")
	return f
}

// options checks the flags (and their variables) and returns the pool
// they describe; bad values are EInvalid.
func (f *moodleFlags) options() (moodle.Options, error) {
	if f.env.err != nil {
		return moodle.Options{}, f.env.err
	}
	if f.maxConns < 2 {
		return moodle.Options{}, aggregation.Errorf(aggregation.EInvalid,
			"%s: --moodle-max-conns (env USESTATS_MOODLE_MAX_CONNS) is %d: at least 2 are needed, as a log stream resolves its course modules on a second connection", f.env.cmd, f.maxConns)
	}
	if f.timeout < 0 {
		return moodle.Options{}, aggregation.Errorf(aggregation.EInvalid,
			"%s: --moodle-statement-timeout (env USESTATS_MOODLE_STATEMENT_TIMEOUT) is negative (0: no limit)", f.env.cmd)
	}
	opt := moodle.Options{MaxConns: f.maxConns, StatementTimeout: f.timeout}
	if f.timeout == 0 {
		opt.StatementTimeout = -1 // none, where moodle.Options' zero is its default
	}
	return opt, nil
}

// open opens the Moodle database at dsn, read-only, with the flags' pool.
func (f *moodleFlags) open(ctx context.Context, dsn, prefix string) (*moodle.Source, error) {
	opt, err := f.options()
	if err != nil {
		return nil, err
	}
	return moodle.OpenWith(ctx, dsn, prefix, opt)
}
