package mnet

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// closedDB is a real database whose pool is closed.
func closedDB(t *testing.T) *dbconn.DB {
	t.Helper()
	db, err := dbconn.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "x.db"), dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return db
}

func selectOne(ctx context.Context, db *dbconn.DB, stmt string) error {
	var n int
	if err := db.NewRaw(stmt).Scan(ctx, &n); err != nil {
		return fmt.Errorf("moodle: reading: %w", err)
	}
	return nil
}

// A method whose database is down answers what Moodle answers when a dml
// exception escapes an RPC: fault 0 with the exception's message; a
// statement past its deadline is the read exception. Logged as a
// warning, never the driver's text in the fault.
func TestServerOutageFault(t *testing.T) {
	f := newSrvFixture(t, true)
	closed := closedDB(t)
	f.srv.Methods["local/demo/lib.php/down"] = func(ctx context.Context, _ Peer, _ []any) (any, error) {
		return nil, selectOne(ctx, closed, "SELECT 1")
	}
	_, fault := f.callAB(t, f.certB, "local/demo/lib.php/down")
	if fault == nil || fault.Code != FaultException || fault.Message != msgDBConnection {
		t.Fatalf("closed pool: fault %+v", fault)
	}
	if !strings.Contains(f.logs.String(), "unavailable") {
		t.Errorf("not logged: %s", f.logs)
	}
	if dsn := os.Getenv("USESTATS_TEST_POSTGRES"); dsn != "" {
		db, err := dbconn.Open(context.Background(), dsn, dbconn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		f.srv.Methods["local/demo/lib.php/hung"] = func(ctx context.Context, _ Peer, _ []any) (any, error) {
			ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			return nil, selectOne(ctx, db, "SELECT 1 FROM pg_sleep(30)")
		}
		_, fault = f.callAB(t, f.certB, "local/demo/lib.php/hung")
		if fault == nil || fault.Code != FaultException || fault.Message != msgDBRead {
			t.Fatalf("hung: fault %+v", fault)
		}
	}
}

// closedPeers is a peer registry on a closed pool.
type closedPeers struct{ db *dbconn.DB }

func (p closedPeers) Peer(ctx context.Context, _ string) (Peer, bool, error) {
	return Peer{}, false, selectOne(ctx, p.db, "SELECT 1")
}
func (p closedPeers) SavePeer(ctx context.Context, _ Peer) error {
	return selectOne(ctx, p.db, "SELECT 1")
}

func TestServerPeerStoreOutage(t *testing.T) {
	f := newSrvFixture(t, true)
	f.srv.Peers = closedPeers{closedDB(t)}
	req, _ := EncodeRequest("system/listServices")
	signed, _ := Sign(req, f.keyA, envWwwrootA, srvNow.Unix())
	body, _ := Encrypt(signed, f.certB, envWwwrootA, rand.Reader)
	fault := f.plainFaultOf(t, body)
	if fault == nil || fault.Code != FaultException || fault.Message != msgDBConnection {
		t.Fatalf("fault %+v", fault)
	}
}

// use_stats hands an outage to the server (a fault) instead of a status.
func TestUseStatsOutageIsFault(t *testing.T) {
	u, _ := usFixture()
	err := selectOne(context.Background(), closedDB(t), "SELECT 1")
	if v, got := u.answer(MethodGetStats, nil, err, true); got == nil || v != nil {
		t.Fatalf("outage answered %v, %v", v, got)
	}
	if _, got := u.answer(MethodGetStats, nil, aggregation.Errorf(aggregation.EForbidden, "no"), true); got != nil {
		t.Fatalf("refusal became an error: %v", got)
	}
}

// A peer call that panics is that peer's error; the others are answered
// and the process goes on.
func TestGathererRecoversPanics(t *testing.T) {
	u, _ := usFixture()
	g := &Gatherer{WWWRoot: "http://usestats.test", Caller: "usestats", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Forward: func(ctx context.Context, host, _ string, _ []any) (any, error) {
			if host == "http://panic.test" {
				var m map[string]int
				//lint:ignore SA5000 the panic is the point of the test
				m["x"]++ // a nil map write: a runtime panic
			}
			a, err := u.localStats(ctx, "alice", ScopeCourse, 0, "")
			if err != nil {
				return nil, err
			}
			return a.encode(true)
		}}
	rows := g.UserStats(context.Background(), []string{"http://a.test", "http://panic.test", "http://b.test"}, "alice", 0)
	if len(rows) != 3 || rows[0].Err != nil || rows[2].Err != nil || rows[0].Elapsed == 0 {
		t.Fatalf("rows %+v", rows)
	}
	if aggregation.ErrorCode(rows[1].Err) != aggregation.EInternal || rows[1].Host.WWWRoot != "http://panic.test" ||
		strings.Contains(aggregation.ErrorMessage(rows[1].Err), "nil map") {
		t.Fatalf("panicking peer: %+v", rows[1])
	}
}

// Observe hears of every request with a bounded method label and its
// outcome.
func TestServerObserve(t *testing.T) {
	f := newSrvFixture(t, true)
	closed := closedDB(t)
	f.srv.Methods["local/demo/lib.php/down"] = func(ctx context.Context, _ Peer, _ []any) (any, error) {
		return nil, selectOne(ctx, closed, "SELECT 1")
	}
	var got []string
	f.srv.Observe = func(_ *http.Request, method, outcome string) { got = append(got, method+" "+outcome) }
	for method, want := range map[string]string{
		srvStats:                      srvStats + " ok",
		"system/listServices":         "system/listServices ok",
		"local/demo/lib.php/down":     "local/demo/lib.php/down unavailable",
		"local/demo/lib.php/internal": "local/demo/lib.php/internal internal",
		"local/demo/lib.php/panic":    "local/demo/lib.php/panic internal",
		"local/demo/lib.php/fault":    "local/demo/lib.php/fault refused",
		"local/nope/lib.php/" + "x":   "unknown refused",
		"system/" + "somethingelse":   "unknown refused",
	} {
		got = got[:0]
		f.callAB(t, f.certB, method)
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: observed %v, want %q", method, got, want)
		}
	}
}
