package dbconn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/dbconn/dbconntest"
)

// faultProxy forwards TCP connections to a server until it is stopped
// (listener and connections closed: the server is gone) or hung (bytes
// are no longer forwarded, connections stay open).
type faultProxy struct {
	ln    net.Listener
	to    string
	mu    sync.Mutex
	conns []net.Conn
	hung  bool
}

func newFaultProxy(t *testing.T, to string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, to: to}
	go p.accept()
	t.Cleanup(p.stop)
	return p
}

func (p *faultProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.to)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *faultProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		hung := p.hung
		p.mu.Unlock()
		if n > 0 && !hung {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				dst.Close()
			}
			return
		}
	}
}

// stop closes the listener and every connection: the server is gone
// (new connections are refused).
func (p *faultProxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *faultProxy) hang() {
	p.mu.Lock()
	p.hung = true
	p.mu.Unlock()
}

// through returns dsn with its host replaced by the proxy's address.
func (p *faultProxy) through(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

func hostPort(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func queryOne(ctx context.Context, db *dbconn.DB) error {
	var n int
	return db.NewRaw("SELECT 1").Scan(ctx, &n)
}

// wantOutage checks err classifies as want and reads as EUnavailable once
// wrapped by Unavailable.
func wantOutage(t *testing.T, what string, err error, want dbconn.Outage) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	wrapped := fmt.Errorf("adapter: %w", err)
	if got := dbconn.Classify(wrapped); got != want {
		t.Errorf("%s: Classify(%v) = %d, want %d", what, err, got, want)
	}
	u := dbconn.Unavailable(wrapped)
	if aggregation.ErrorCode(u) != aggregation.EUnavailable {
		t.Errorf("%s: Unavailable(%v) code = %q", what, err, aggregation.ErrorCode(u))
	}
	if !errors.Is(u, err) {
		t.Errorf("%s: Unavailable loses the cause", what)
	}
	if got := dbconn.OutageOf(u); got != want {
		t.Errorf("%s: OutageOf = %d", what, got)
	}
}

// A closed pool, a server that went away, a server that hangs past our
// deadline, and one that refuses new connections are outages on every
// engine; a bad statement is not.
func TestOutageServers(t *testing.T) {
	for _, env := range []string{"USESTATS_TEST_POSTGRES", "USESTATS_TEST_MYSQL"} {
		t.Run(env, func(t *testing.T) {
			dsn := dbconntest.Require(t, env)
			ctx := context.Background()

			db := open(t, dsn, dbconn.Options{})
			var n int
			err := db.NewRaw("SELECT no_such_column FROM no_such_table").Scan(ctx, &n)
			if err == nil || dbconn.Classify(err) != dbconn.NoOutage {
				t.Errorf("bad statement: err = %v, Classify = %d", err, dbconn.Classify(err))
			}
			if aggregation.ErrorCode(dbconn.Unavailable(err)) != aggregation.EInternal {
				t.Errorf("bad statement reads as %q", aggregation.ErrorCode(dbconn.Unavailable(err)))
			}

			closed := open(t, dsn, dbconn.Options{})
			closed.Close()
			wantOutage(t, "closed pool", queryOne(ctx, closed), dbconn.ConnectFailed)

			p := newFaultProxy(t, hostPort(t, dsn))
			gone := open(t, p.through(t, dsn), dbconn.Options{MaxOpenConns: 1})
			p.stop()
			err = queryOne(ctx, gone)
			if dbconn.Classify(err) == dbconn.ReadFailed {
				// The kept connection broke; the next one is refused.
				err = queryOne(ctx, gone)
			}
			wantOutage(t, "server gone", err, dbconn.ConnectFailed)

			h := newFaultProxy(t, hostPort(t, dsn))
			hung := open(t, h.through(t, dsn), dbconn.Options{MaxOpenConns: 1})
			h.hang()
			dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			wantOutage(t, "server hung", queryOne(dctx, hung), dbconn.ReadFailed)
		})
	}
}

func TestOutageSQLite(t *testing.T) {
	db := open(t, "sqlite://"+filepath.Join(t.TempDir(), "x.db"), dbconn.Options{})
	ctx := context.Background()
	var n int
	err := db.NewRaw("SELECT no_such_column FROM no_such_table").Scan(ctx, &n)
	if err == nil || dbconn.Classify(err) != dbconn.NoOutage {
		t.Errorf("bad statement: err = %v, Classify = %d", err, dbconn.Classify(err))
	}
	db.Close()
	wantOutage(t, "closed pool", queryOne(ctx, db), dbconn.ConnectFailed)
}

// Errors that already carry a code keep it; nil stays nil.
func TestOutageKeepsCodes(t *testing.T) {
	if dbconn.Unavailable(nil) != nil || dbconn.Classify(nil) != dbconn.NoOutage {
		t.Fatal("nil is not an outage")
	}
	nf := aggregation.Errorf(aggregation.ENotFound, "no user")
	if got := dbconn.Unavailable(fmt.Errorf("x: %w", nf)); aggregation.ErrorCode(got) != aggregation.ENotFound {
		t.Errorf("code = %q", aggregation.ErrorCode(got))
	}
	wantOutage(t, "deadline", context.DeadlineExceeded, dbconn.ReadFailed)
	wantOutage(t, "refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, dbconn.ConnectFailed)
}
