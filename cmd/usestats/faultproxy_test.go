package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usestats/usestats/dbconn/dbconntest"
	"github.com/usestats/usestats/store"
)

// faultMode is what a faultProxy does to the traffic it carries.
type faultMode int

const (
	proxyPass  faultMode = iota // forward both ways
	proxyKill                   // close every connection, and new ones at once
	proxyHang                   // forward nothing, close nothing
	proxySlow                   // forward each chunk after a delay
	proxyReset                  // cut the next answer from the server halfway with a reset
)

func (m faultMode) String() string {
	return [...]string{"pass", "kill", "hang", "slow", "reset"}[m]
}

// faultProxy is a TCP proxy on the loopback between usestats and a
// database server, whose faults the test switches.
type faultProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration
	open   atomic.Int64 // connections to the server now open

	mu      sync.Mutex
	mode    faultMode
	changed chan struct{} // closed when the mode changes
	conns   map[*proxyConn]bool
}

type proxyConn struct {
	client, server net.Conn
	once           sync.Once
	done           chan struct{}
}

// close ends both sides; reset makes it a TCP reset rather than a FIN.
func (c *proxyConn) close(p *faultProxy, reset bool) {
	c.once.Do(func() {
		if reset {
			for _, n := range []net.Conn{c.client, c.server} {
				if tc, ok := n.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
			}
		}
		c.client.Close()
		c.server.Close()
		close(c.done)
		p.open.Add(-1)
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	})
}

// newFaultProxy listens on a free loopback port and forwards to target
// (host:port) until the test ends.
func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, delay: 200 * time.Millisecond, changed: make(chan struct{}), conns: map[*proxyConn]bool{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.set(proxyKill)
	})
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

// set switches the mode; kill and reset take effect on open connections
// at once (kill closes them, reset cuts the next answer).
func (p *faultProxy) set(m faultMode) {
	p.mu.Lock()
	p.mode = m
	close(p.changed)
	p.changed = make(chan struct{})
	var victims []*proxyConn
	if m == proxyKill {
		for c := range p.conns {
			victims = append(victims, c)
		}
	}
	p.mu.Unlock()
	for _, c := range victims {
		c.close(p, false)
	}
}

func (p *faultProxy) current() (faultMode, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.changed
}

func (p *faultProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if m, _ := p.current(); m == proxyKill {
			client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		c := &proxyConn{client: client, server: server, done: make(chan struct{})}
		p.open.Add(1)
		p.mu.Lock()
		p.conns[c] = true
		p.mu.Unlock()
		go p.pipe(c, c.server, c.client, false)
		go p.pipe(c, c.client, c.server, true)
	}
}

// pipe copies src to dst under the proxy's mode.
func (p *faultProxy) pipe(c *proxyConn, dst, src net.Conn, fromServer bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			m, changed := p.current()
			for m == proxyHang {
				select {
				case <-changed:
				case <-c.done:
					return
				}
				m, changed = p.current()
			}
			switch m {
			case proxyKill:
				c.close(p, false)
				return
			case proxySlow:
				time.Sleep(p.delay)
			case proxyReset:
				if fromServer {
					dst.Write(buf[:(n+1)/2])
					c.close(p, true)
					return
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				c.close(p, false)
				return
			}
		}
		if err != nil {
			c.close(p, false)
			return
		}
	}
}

// through returns dbURL with its host replaced by the proxy's address.
func (p *faultProxy) through(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.addr()
	return u.String()
}

// hostOf is the host:port of a database URL.
func hostOf(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// faultAnswer is what a client got: the HTTP status and the first
// error's code (GraphQL extensions.code, or the web service's exception
// class).
type faultAnswer struct {
	status int
	code   string
	body   string
}

// ask sends one of the site's legitimate requests: GraphQL one user's
// stats (a different learner each time, so that its days are not all in
// the serving cache) or
// the web services' get_users_course_stats.
func (s *loadSite) ask(t *testing.T, client *http.Client, i int, ws bool) faultAnswer {
	t.Helper()
	var req *http.Request
	if ws {
		form := url.Values{"wstoken": {s.ws}, "wsfunction": {"block_use_stats_get_users_course_stats"}, "moodlewsrestformat": {"json"},
			"uidsource": {"username"}, "uids[]": s.courseUsernames[:3], "cidsource": {"id"}, "cid": {fmt.Sprint(s.course)}}
		req, _ = http.NewRequest("POST", s.proc.base+"/webservice/rest/server.php", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		body, _ := json.Marshal(map[string]any{"query": `query($u: String!) { user(by: {username: $u}) { id stats { total } } }`,
			"variables": map[string]any{"u": fmt.Sprintf("learner%04d", 1+int64(i)%s.users)}})
		req, _ = http.NewRequest("POST", s.proc.base+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/graphql-response+json")
		req.Header.Set("Authorization", "Bearer "+s.gqlToken)
	}
	resp, err := client.Do(req)
	if err != nil {
		return faultAnswer{code: "transport: " + err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := faultAnswer{status: resp.StatusCode, body: fmt.Sprintf("%.300s", raw)}
	var v struct {
		Errors []struct {
			Extensions struct{ Code string } `json:"extensions"`
		} `json:"errors"`
		Exception string `json:"exception"`
	}
	if ws && bytes.HasPrefix(raw, []byte("{")) || !ws {
		json.Unmarshal(raw, &v)
	}
	switch {
	case len(v.Errors) > 0:
		a.code = v.Errors[0].Extensions.Code
	case v.Exception != "":
		a.code = v.Exception
	}
	return a
}

// ready is the status of /readyz.
func ready(base string) int {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond every 100 ms for up to limit and returns how long
// it took, or -1.
func waitFor(limit time.Duration, cond func() bool) time.Duration {
	start := time.Now()
	for time.Since(start) < limit {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return -1
}

// Outage answers: GraphQL says UNAVAILABLE with 503 (a request that ran
// out of time waiting for a hung server may say TIMEOUT with 504), or
// with 200 beside the part that could be answered; the web services
// Moodle's dml exceptions. With the store down, an answer whose reads of
// the store were all kept (--cache-ttl) is whole.
func outageAnswer(a faultAnswer, ws, storeDown bool) bool {
	if storeDown && !ws && a.status == 200 && a.code == "" && strings.Contains(a.body, `"total":`) {
		// The store is what is down, and everything the answer needs of
		// it was read within --cache-ttl: the token, the compile state
		// and the stored days are in memory, the live tail comes from
		// Moodle. A whole answer is then the right one.
		return true
	}
	if ws {
		return a.status == 200 && strings.HasPrefix(a.code, "dml_")
	}
	outage := a.code == "UNAVAILABLE" || a.code == "TIMEOUT"
	// A user looked up within --cache-ttl resolves from the cache and
	// only its stats fail: a partial answer, which GraphQL over HTTP
	// sends with 200; a request that fails whole gets 503 or 504.
	return a.status == 503 && a.code == "UNAVAILABLE" || a.status == 504 && a.code == "TIMEOUT" ||
		a.status == 200 && outage && strings.Contains(a.body, `"stats":null`)
}

// runFaults puts the proxy through every fault while the site serves:
// readiness flips and clients get outage errors while the database is
// away, both come back within seconds of its return, and afterwards the
// process holds no more goroutines, threads or files than before, and no
// more connections to the database than its pool's bound.
func runFaults(t *testing.T, s *loadSite, p *faultProxy, bound int, storeDown bool) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	pid := s.proc.cmd.Process.Pid
	i := 0
	healthy := func() bool {
		i++
		return ready(s.proc.base) == 200 && s.ask(t, client, i, false).status == 200 && s.ask(t, client, i, true).code == ""
	}
	if waitFor(10*time.Second, healthy) < 0 {
		t.Fatalf("not healthy before the faults: %+v", s.ask(t, client, 0, false))
	}
	for range 20 { // the pools and caches in use before the baseline
		i++
		s.ask(t, client, i, i%2 == 0)
	}
	time.Sleep(time.Second)
	goroutines, gerr := metricValue(s.proc.base, "go_goroutines")
	threads, _ := procStatus(pid, "Threads")
	fds := countFDs(pid)
	if gerr != nil {
		t.Fatal(gerr)
	}
	t.Logf("before the faults: %d goroutines, %d threads, %d files, %d connections through the proxy", goroutines, threads, fds, p.open.Load())

	for _, m := range []faultMode{proxyKill, proxyHang, proxyReset, proxySlow} {
		p.set(m)
		if m == proxySlow {
			// A slow database answers slowly: still ready, answers right
			// or honestly late.
			for k := range 4 {
				i++
				a := s.ask(t, client, i, k%2 == 1)
				if !(a.status == 200 && a.code == "") && !outageAnswer(a, k%2 == 1, storeDown) {
					t.Errorf("slow: %+v", a)
				}
			}
			if r := ready(s.proc.base); r != 200 {
				t.Errorf("slow: /readyz %d", r)
			}
		} else {
			if d := waitFor(10*time.Second, func() bool { return ready(s.proc.base) == 503 }); d < 0 {
				t.Errorf("%v: /readyz still %d 10 s into the outage", m, ready(s.proc.base))
			} else {
				t.Logf("%v: not ready after %v", m, d.Round(10*time.Millisecond))
			}
			for k := range 4 {
				i++
				ws := k%2 == 1
				if a := s.ask(t, client, i, ws); !outageAnswer(a, ws, storeDown) {
					t.Errorf("%v: %s answer during the outage: %+v", m, map[bool]string{false: "GraphQL", true: "web-service"}[ws], a)
				}
			}
		}
		p.set(proxyPass)
		d := waitFor(15*time.Second, healthy)
		if d < 0 {
			t.Errorf("%v: not back 15 s after the database returned: /readyz %d, %+v", m, ready(s.proc.base), s.ask(t, client, i, false))
			continue
		}
		t.Logf("%v: recovered %v after the database returned", m, d.Round(10*time.Millisecond))
		if d > 5*time.Second {
			t.Errorf("%v: recovery took %v, want a few seconds", m, d)
		}
	}

	// No leak: what the faults left behind is gone within seconds.
	var g int
	var th, f int64
	settled := waitFor(15*time.Second, func() bool {
		g, _ = metricValue(s.proc.base, "go_goroutines")
		th, _ = procStatus(pid, "Threads")
		f = countFDs(pid)
		return g <= goroutines+5 && f <= fds+5 && p.open.Load() <= int64(bound)
	})
	t.Logf("after the faults: %d goroutines, %d threads, %d files, %d connections through the proxy", g, th, f, p.open.Load())
	if settled < 0 {
		t.Errorf("leak: goroutines %d → %d, files %d → %d, connections %d (bound %d)", goroutines, g, fds, f, p.open.Load(), bound)
	}
	if s.moodleConns != nil {
		if n, err := s.moodleConns(); err == nil && n > bound {
			t.Errorf("%d sessions on the Moodle database after the faults, the pool's bound is %d", n, bound)
		}
	}
}

// countFDs is the number of open files of the process.
func countFDs(pid int) int64 {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return int64(len(ents))
}

// The Moodle database behind a proxy the test controls, on PostgreSQL
// (whose sessions pg_stat_activity counts) and MariaDB, and the store on
// PostgreSQL behind one (the Moodle database SQLite: tokens cannot be
// checked while it is away): killed, hung, reset mid-answer and slow.
// The three run side by side: they mostly wait.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and breaks its databases")
	}
	bin := buildBinary(t)
	for name, env := range map[string]string{"postgres": "USESTATS_TEST_POSTGRES", "mariadb": "USESTATS_TEST_MYSQL"} {
		t.Run("moodle="+name, func(t *testing.T) {
			t.Parallel()
			dbURL := dbconntest.Require(t, env)
			p := newFaultProxy(t, hostOf(t, dbURL))
			app := ""
			if name == "postgres" {
				app = fmt.Sprintf("usestats-fault-%d", time.Now().UnixNano()%1_000_000)
			}
			s := startFaultSite(t, bin, dbURL, p.through(t, dbURL), "sqlite://"+filepath.Join(t.TempDir(), "store.db"), app)
			runFaults(t, s, p, 4, false)
		})
	}
	t.Run("store=postgres", func(t *testing.T) {
		t.Parallel()
		pg := dbconntest.Require(t, "USESTATS_TEST_POSTGRES")
		p := newFaultProxy(t, hostOf(t, pg))
		stURL := pgSchema(t, pg)
		s := startFaultSite(t, bin, "sqlite://"+filepath.Join(t.TempDir(), "moodle.db"), "", p.through(t, stURL), "")
		runFaults(t, s, p, store.PostgresMaxConns+4, true) // the store's pool and its rollup readers'
	})
}

// startFaultSite serves a small site with the server reaching its
// databases through the proxies: via (the Moodle URL through a proxy, or
// "" for moodleURL itself) and storeURL. Requests and web-service calls
// are given 3 s.
func startFaultSite(t *testing.T, bin, moodleURL, via, storeURL, app string) *loadSite {
	t.Helper()
	return startLoadSite(t, bin, moodleURL, storeURL, siteOptions{users: 20, via: via, app: app,
		extra: []string{"--request-timeout", "3s", "--ws-timeout", "3s"}})
}
