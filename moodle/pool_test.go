package moodle_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
)

// OpenWith opens a bounded pool of read-only sessions with a statement
// timeout: the bound is the pool's, a write through the Moodle connection
// fails on the server, a statement past the timeout is stopped by the
// server (EUnavailable); a pool of one connection is refused.
func TestOpenWithOptions(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := newSchema(t, e.url)
			defer cleanup()
			for _, n := range []int{1, -3} {
				if _, err := moodle.OpenWith(ctx, e.url, prefix, moodle.Options{MaxConns: n}); aggregation.ErrorCode(err) != aggregation.EInvalid {
					t.Errorf("MaxConns %d: err = %v, want invalid", n, err)
				}
			}

			def, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			if n := def.DB().Stats().MaxOpenConnections; n != moodle.DefaultMaxConns {
				t.Errorf("Open: a pool of %d connections, want %d", n, moodle.DefaultMaxConns)
			}
			def.Close()

			src, err := moodle.OpenWith(ctx, e.url, prefix, moodle.Options{MaxConns: 3, StatementTimeout: 300 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if n := src.DB().Stats().MaxOpenConnections; n != 3 {
				t.Errorf("a pool of %d connections, want 3", n)
			}
			if _, err := src.DB().ExecContext(ctx, fmt.Sprintf("UPDATE %suser SET firstname = 'x'", prefix)); err == nil {
				t.Error("the Moodle connection accepted an UPDATE")
			}
			if _, err := src.DB().ExecContext(ctx, fmt.Sprintf("INSERT INTO %smodules (name) VALUES ('x')", prefix)); err == nil {
				t.Error("the Moodle connection accepted an INSERT")
			}
			var n int
			if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM %smodules", prefix)).Scan(&n); err != nil || n != 0 {
				t.Errorf("%d modules (%v) after the refused INSERT", n, err)
			}

			sleep := map[dbconn.Kind]string{dbconn.Postgres: "SELECT pg_sleep(5)", dbconn.MySQL: "SELECT SLEEP(5)"}[src.DB().Kind]
			if sleep == "" {
				return // SQLite: no server-side timeout
			}
			_, err = src.DB().ExecContext(ctx, sleep)
			if err = fmt.Errorf("wrapped: %w", err); !errors.Is(err, dbconn.ErrStatementTimeout) || aggregation.ErrorCode(err) != aggregation.EUnavailable {
				t.Errorf("%s: err = %v, want a statement timeout (unavailable)", sleep, err)
			}
		})
	}
}
