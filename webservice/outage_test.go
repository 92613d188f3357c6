package webservice

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/internal/directorytest"
)

// dbDirectory is the fake directory behind a real database: every lookup
// first runs stmt on db and fails, wrapped as an adapter wraps, with the
// driver's error.
func dbDirectory(db *dbconn.DB, stmt string) *directorytest.Directory {
	d := newDirectory()
	d.SetBefore(func(ctx context.Context, _ string) error {
		var n int
		if err := db.NewRaw(stmt).Scan(ctx, &n); err != nil {
			return fmt.Errorf("moodle: reading users: %w", err)
		}
		return nil
	})
	return d
}

// outageDBs opens SQLite and, when their URLs are set, PostgreSQL and
// MariaDB; each with the statement that makes it hang (none for SQLite).
func outageDBs(t *testing.T) map[string]struct {
	db    *dbconn.DB
	sleep string
} {
	t.Helper()
	out := map[string]struct {
		db    *dbconn.DB
		sleep string
	}{}
	add := func(name, dsn, sleep string) {
		db, err := dbconn.Open(context.Background(), dsn, dbconn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		out[name] = struct {
			db    *dbconn.DB
			sleep string
		}{db, sleep}
	}
	add("sqlite", "sqlite://"+filepath.Join(t.TempDir(), "x.db"), "")
	if dsn := os.Getenv("USESTATS_TEST_POSTGRES"); dsn != "" {
		add("postgres", dsn, "SELECT 1 FROM pg_sleep(30)")
	}
	if dsn := os.Getenv("USESTATS_TEST_MYSQL"); dsn != "" {
		add("mysql", dsn, "SELECT SLEEP(30)")
	}
	return out
}

var outageCalls = []string{
	fnUser + "&uidsource=username&uid=alice",
	fnUsers + "&uidsource=id&uids[0]=3",
	fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=2",
}

// A Moodle database whose pool is closed answers Moodle's
// dml_connection_exception; one that hangs answers dml_read_exception
// once the call's deadline passes, without waiting for the statement; a
// token store that is closed answers dbconnectionfailed too. Nothing of
// the driver's text comes back.
func TestOutageAnswersDMLException(t *testing.T) {
	for name, d := range outageDBs(t) {
		t.Run(name, func(t *testing.T) {
			if d.sleep != "" {
				h := newTestHandler(t, func(c *testConfig) {
					c.Directory = dbDirectory(d.db, d.sleep)
					c.Timeout = 300 * time.Millisecond
				})
				for _, call := range outageCalls {
					start := time.Now()
					v := jsonCall(t, h, request{body: tokSite + call + "&moodlewsrestformat=json"})
					if el := time.Since(start); el > 10*time.Second {
						t.Errorf("%s: hung database held the call %v (timeout 300ms)", call, el)
					}
					if m, _ := v.(map[string]any); m["exception"] != "dml_read_exception" || m["message"] != msgDBRead {
						t.Errorf("hung %s: %v", call, v)
					}
				}
			}

			closed, err := dbconn.Open(context.Background(), d.db.Redacted, dbconn.Options{})
			if name != "sqlite" && err == nil {
				closed.Close()
			} else {
				closed, err = dbconn.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "c.db"), dbconn.Options{})
				if err != nil {
					t.Fatal(err)
				}
				closed.Close()
			}
			h := newTestHandler(t, func(c *testConfig) {
				c.Directory = dbDirectory(closed, "SELECT 1")
			})
			for _, call := range outageCalls {
				w := serve(h, request{body: tokSite + call + "&moodlewsrestformat=json"})
				if !strings.HasPrefix(w.Body.String(), `{"exception":"dml_connection_exception","errorcode":"dbconnectionfailed","message":"Error: Database connection failed"}`) {
					t.Errorf("closed %s: %s", call, w.Body)
				}
				if strings.Contains(w.Body.String(), "sql:") {
					t.Errorf("driver text leaked: %s", w.Body)
				}
			}

			h = newTestHandler(t, func(c *testConfig) {
				c.Authenticate = func(ctx context.Context, _, _ string) (Principal, error) {
					var n int
					err := closed.NewRaw("SELECT 1").Scan(ctx, &n)
					return Principal{}, fmt.Errorf("store: authenticate: %w", err)
				}
			})
			w := serve(h, request{body: tokSite + fnInfo + "&moodlewsrestformat=json"})
			if !strings.Contains(w.Body.String(), `"errorcode":"dbconnectionfailed"`) {
				t.Errorf("closed store: %s", w.Body)
			}
		})
	}
}

// Every lookup of a call, authentication included, runs under the call's
// deadline (Config.Timeout from the start of the call).
func TestDeadlineReachesEveryLookup(t *testing.T) {
	const timeout = time.Hour
	var limit time.Time
	calls := 0
	check := func(ctx context.Context) error {
		calls++
		if dl, ok := ctx.Deadline(); !ok || dl.After(limit) {
			t.Errorf("lookup without the call's deadline: %v %v (limit %v)", dl, ok, limit)
		}
		return nil
	}
	dir := newDirectory()
	dir.SetBefore(func(ctx context.Context, _ string) error { return check(ctx) })
	auths := 0
	h := newTestHandler(t, func(c *testConfig) {
		c.Directory, c.Timeout = dir, timeout
		c.Authenticate = func(ctx context.Context, token, ip string) (Principal, error) {
			auths++
			_ = check(ctx)
			return authenticate(ctx, token, ip)
		}
	})
	all := append(outageCalls, fnUsers+"&uidsource=id&uids[0]=3&score=1",
		fnCourse+"&uidsource=id&uids[0]=3&cidsource=id&cid=2&score=1")
	for _, call := range all {
		limit = time.Now().Add(timeout + time.Second)
		v := jsonCall(t, h, request{body: tokSite + call + "&moodlewsrestformat=json"})
		if m, _ := v.(map[string]any); m != nil && m["exception"] != nil {
			t.Errorf("%s: %v", call, v)
		}
	}
	// A course token: participation is checked too.
	limit = time.Now().Add(timeout + time.Second)
	jsonCall(t, h, request{body: "wstoken=coursetoken&" + fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=2&moodlewsrestformat=json"})
	if calls < 3*len(all) || auths != len(all)+1 {
		t.Errorf("%d lookups, %d authentications checked", calls, auths)
	}
}

// A token store that hangs holds a call for AuthTimeout, not for the
// call's whole deadline, and the call answers dml_read_exception.
func TestHungTokenStore(t *testing.T) {
	h := newTestHandler(t, func(c *testConfig) {
		c.Timeout, c.AuthTimeout = time.Hour, 200*time.Millisecond
		c.Authenticate = func(ctx context.Context, _, _ string) (Principal, error) {
			<-ctx.Done()
			return Principal{}, fmt.Errorf("store: authenticate: %w", ctx.Err())
		}
	})
	start := time.Now()
	v := jsonCall(t, h, request{body: tokSite + fnInfo + "&moodlewsrestformat=json"})
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a hung token store held the call %v", el)
	}
	if m, _ := v.(map[string]any); m["exception"] != "dml_read_exception" || m["errorcode"] != "dmlreadexception" {
		t.Errorf("hung token store: %v", v)
	}
}
