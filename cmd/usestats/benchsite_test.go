package main

import (
	"context"
	"os"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
	"github.com/usestats/usestats/store"
)

// compiledBenchSite seeds a PostgreSQL Moodle site (the server of
// USESTATS_TEST_POSTGRES; the benchmark is skipped without it), opens it
// and compiles it under the default policy into a PostgreSQL store of its
// own; both are closed when the benchmark ends. None of it is timed.
func compiledBenchSite(b *testing.B, o seed.Options) (*moodle.Source, *store.Store, seed.Stats) {
	b.Helper()
	dsn := os.Getenv("USESTATS_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("USESTATS_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	db, err := dbconn.Open(ctx, dsn, dbconn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	o.Reset = true
	st, err := seed.Seed(ctx, db, o)
	db.Close()
	if err != nil {
		b.Fatal(err)
	}
	src, err := moodle.Open(ctx, dsn, o.Prefix)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	comp, err := openStore(ctx, pgSchema(b, dsn))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { comp.Close() })
	p, _ := aggregation.Preset(aggregation.DefaultPolicy)
	if _, err := (&aggregation.Compiler{Logs: src, Store: comp, Policy: p}).Run(ctx); err != nil {
		b.Fatal(err)
	}
	return src, comp, st
}
