package moodle_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/dbconn/dbconntest"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// engine is one database the test table runs against.
type engine struct {
	name string
	url  string
}

// engines returns SQLite always, and PostgreSQL and MariaDB when their URLs
// are set (USESTATS_TEST_POSTGRES, USESTATS_TEST_MYSQL); under CI=true a
// missing URL is a failure, not a skip.
func engines(t *testing.T) []engine {
	t.Helper()
	var out []engine
	for _, s := range dbconntest.Servers(t, "moodle.db") {
		out = append(out, engine{s.Name, s.URL})
	}
	return out
}

// newSchema opens the engine and creates a fresh Moodle schema under a
// unique table prefix; cleanup drops it.
func newSchema(tb testing.TB, url string) (*dbconn.DB, string, func()) {
	tb.Helper()
	ctx := context.Background()
	db, err := dbconn.Open(ctx, url, dbconn.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	prefix := fmt.Sprintf("t%06d_", rand.IntN(1_000_000))
	if err := seed.CreateSchema(ctx, db, prefix); err != nil {
		db.Close()
		tb.Fatal(err)
	}
	return db, prefix, func() {
		if err := seed.DropSchema(context.Background(), db, prefix); err != nil {
			tb.Errorf("dropping the fixture: %v", err)
		}
		db.Close()
	}
}

// filledSchema is newSchema filled by fill.
func filledSchema(tb testing.TB, url string, fill func(ctx context.Context, w *seed.Writer) error) (*dbconn.DB, string, func()) {
	tb.Helper()
	ctx := context.Background()
	db, prefix, cleanup := newSchema(tb, url)
	w := seed.NewWriter(db, prefix)
	if err := fill(ctx, w); err != nil {
		cleanup()
		tb.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		cleanup()
		tb.Fatal(err)
	}
	return db, prefix, cleanup
}

// forEachEngine runs f on a fresh Moodle schema (a unique table prefix) on
// every engine, filled by fill, through a read-only Source.
func forEachEngine(t *testing.T, fill func(ctx context.Context, w *seed.Writer) error, f func(t *testing.T, src *moodle.Source)) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) { withFixture(t, e, fill, f) })
	}
}

// missingTable returns a check that err is an ENotFound error naming the
// table (without its prefix) that a read found missing.
func missingTable(t *testing.T, prefix string) func(what string, err error, table string) {
	return func(what string, err error, table string) {
		t.Helper()
		var ae *aggregation.Error
		if !errors.As(err, &ae) || ae.Code != aggregation.ENotFound || !strings.Contains(err.Error(), prefix+table) {
			t.Errorf("%s: err = %v; want ENotFound naming %s", what, err, prefix+table)
		}
	}
}
