package dbconn_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/dbconn/dbconntest"
)

func open(t *testing.T, dsn string, opt dbconn.Options) *dbconn.DB {
	t.Helper()
	db, err := dbconn.Open(context.Background(), dsn, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The pool is bounded, kept and named: under 100 concurrent clients
// PostgreSQL never sees more of our sessions (pg_stat_activity rows with
// our application_name, counted from a separate connection) than
// MaxOpenConns, and after the load they stay open, none closed for being
// idle.
func TestPoolBoundPostgres(t *testing.T) {
	dsn := dbconntest.Require(t, "USESTATS_TEST_POSTGRES")
	const bound, clients, perClient = 4, 100, 5
	app := fmt.Sprintf("usestats-pooltest-%d", rand.Uint32())
	db := open(t, dsn, dbconn.Options{ReadOnly: true, MaxOpenConns: bound, StatementTimeout: time.Minute, AppName: app})
	admin := open(t, dsn, dbconn.Options{MaxOpenConns: 1})
	ctx := context.Background()
	count := func() int {
		t.Helper()
		var n int
		if err := admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = ?", app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	var (
		wg       sync.WaitGroup
		failures atomic.Int64
		firstErr atomic.Value
		done     = make(chan struct{})
	)
	for range clients {
		wg.Go(func() {
			for range perClient {
				if _, err := db.ExecContext(ctx, "SELECT pg_sleep(0.01)"); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	most, polls := 0, 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		most = max(most, count())
		polls++
	}
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d queries failed, the first: %v", n, firstErr.Load())
	}
	t.Logf("%d polls: at most %d sessions named %s", polls, most, app)
	if most < 1 || most > bound {
		t.Errorf("the server saw up to %d of our sessions, want 1…%d", most, bound)
	}
	st := db.Stats()
	if st.WaitCount == 0 {
		t.Errorf("no client ever waited for a connection: the load did not reach the bound (%+v)", st)
	}
	if st.MaxIdleClosed != 0 || st.MaxIdleTimeClosed != 0 || st.MaxLifetimeClosed != 0 {
		t.Errorf("connections were closed and reopened: %+v", st)
	}
	if n := count(); n < 1 || n != st.OpenConnections || st.Idle != st.OpenConnections {
		t.Errorf("after the load: %d sessions on the server, pool %+v; want all open ones kept idle", n, st)
	}
}

// The pool's idle connections default to its bound, so a bounded pool
// never closes connections for being idle (SQLite, everywhere).
func TestPoolKeepsIdleConnections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	open(t, "sqlite://"+path, dbconn.Options{}).Exec("CREATE TABLE t (id INTEGER)")
	db := open(t, "sqlite://"+path, dbconn.Options{ReadOnly: true, MaxOpenConns: 3})
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			for range 10 {
				rows, err := db.QueryContext(ctx, "SELECT id FROM t")
				if err != nil {
					t.Error(err)
					return
				}
				rows.Close()
			}
		})
	}
	wg.Wait()
	st := db.Stats()
	if st.MaxOpenConnections != 3 || st.OpenConnections > 3 || st.MaxIdleClosed != 0 || st.Idle != st.OpenConnections {
		t.Errorf("pool after the load: %+v", st)
	}
}

// A statement running past the statement timeout is stopped by the
// server: its error matches ErrStatementTimeout and reads as EUnavailable,
// also when the server stops a result already streaming and through the
// adapters' %w wrapping; a cancelled context is not taken for one; the pool
// goes on working.
func TestStatementTimeout(t *testing.T) {
	for _, c := range []struct{ env, sleep, stream string }{
		{"USESTATS_TEST_POSTGRES", "SELECT pg_sleep(5)", "SELECT g, pg_sleep(0.05) FROM generate_series(1, 100) AS g"},
		{"USESTATS_TEST_MYSQL", "SELECT SLEEP(5)", "SELECT seq, SLEEP(0.05) FROM seq_1_to_100"},
	} {
		t.Run(c.env, func(t *testing.T) {
			dsn := dbconntest.Require(t, c.env)
			db := open(t, dsn, dbconn.Options{ReadOnly: true, MaxOpenConns: 2, StatementTimeout: 300 * time.Millisecond})
			ctx := context.Background()
			check := func(what string, err error) {
				t.Helper()
				err = fmt.Errorf("reading: %w", err)
				if !errors.Is(err, dbconn.ErrStatementTimeout) || aggregation.ErrorCode(err) != aggregation.EUnavailable {
					t.Errorf("%s: err = %v (code %q), want a statement timeout (unavailable)", what, err, aggregation.ErrorCode(err))
				}
			}
			_, err := db.ExecContext(ctx, c.sleep)
			check(c.sleep, err)
			var one int
			check(c.sleep+" (QueryRow)", db.QueryRowContext(ctx, c.sleep).Scan(&one))

			rows, err := db.QueryContext(ctx, c.stream)
			if err != nil {
				check(c.stream, err)
			} else {
				n := 0
				for rows.Next() {
					n++
				}
				check(fmt.Sprintf("%s after %d rows", c.stream, n), rows.Err())
				rows.Close()
			}

			if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Errorf("after the timeouts: SELECT 1 = %d, %v", one, err)
			}
			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			lenient := open(t, dsn, dbconn.Options{ReadOnly: true, MaxOpenConns: 2, StatementTimeout: time.Minute})
			if _, err := lenient.ExecContext(short, c.sleep); err == nil || errors.Is(err, dbconn.ErrStatementTimeout) {
				t.Errorf("cancelled by its context: err = %v, want an error that is no statement timeout", err)
			}
		})
	}
}

// A read-only session refuses writes on the server, even when the URL asks
// for a read-write session; the session settings and the URL's own
// parameters both reach PostgreSQL.
func TestReadOnlyAndSessionSettings(t *testing.T) {
	for _, c := range []struct{ env, param, create, insert string }{
		{"USESTATS_TEST_POSTGRES", "default_transaction_read_only=off&lock_timeout=1234",
			"CREATE TABLE %s (id integer)", "INSERT INTO %s VALUES (1)"},
		{"USESTATS_TEST_MYSQL", "", "CREATE TABLE %s (id integer)", "INSERT INTO %s VALUES (1)"},
	} {
		t.Run(c.env, func(t *testing.T) {
			dsn := dbconntest.Require(t, c.env)
			ctx := context.Background()
			admin := open(t, dsn, dbconn.Options{})
			table := fmt.Sprintf("ro_test_%d", rand.Uint32())
			if _, err := admin.ExecContext(ctx, fmt.Sprintf(c.create, table)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { admin.ExecContext(ctx, "DROP TABLE "+table) })
			url := dsn
			if c.param != "" {
				url += map[bool]string{true: "&", false: "?"}[strings.Contains(dsn, "?")] + c.param
			}
			app := fmt.Sprintf("usestats-rotest-%d", rand.Uint32())
			ro := open(t, url, dbconn.Options{ReadOnly: true, StatementTimeout: 1500 * time.Millisecond, AppName: app})
			if _, err := ro.ExecContext(ctx, fmt.Sprintf(c.insert, table)); err == nil {
				t.Fatal("the read-only session accepted an INSERT")
			} else {
				t.Logf("INSERT refused: %v", err)
			}
			tx, err := ro.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(c.insert, table)); err == nil {
				t.Error("the read-only session accepted an INSERT in a transaction")
			}
			tx.Rollback()
			var n int
			if err := admin.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("the table has %d rows (%v), want 0", n, err)
			}

			settings := map[string]string{}
			switch ro.Kind {
			case dbconn.Postgres:
				for _, name := range []string{"default_transaction_read_only", "statement_timeout", "application_name", "lock_timeout"} {
					var v string
					if err := ro.QueryRowContext(ctx, "SHOW "+name).Scan(&v); err != nil {
						t.Fatal(err)
					}
					settings[name] = v
				}
				want := map[string]string{"default_transaction_read_only": "on", "statement_timeout": "1500ms", "application_name": app, "lock_timeout": "1234ms"}
				if fmt.Sprint(settings) != fmt.Sprint(want) {
					t.Errorf("session settings %v, want %v", settings, want)
				}
			case dbconn.MySQL:
				var readOnly int
				var timeout float64
				if err := ro.QueryRowContext(ctx, "SELECT @@session.tx_read_only, @@session.max_statement_time").Scan(&readOnly, &timeout); err != nil {
					t.Fatal(err)
				}
				if readOnly != 1 || timeout != 1.5 {
					t.Errorf("tx_read_only = %d, max_statement_time = %v; want 1, 1.5", readOnly, timeout)
				}
			}
		})
	}
}
