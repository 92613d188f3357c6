package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gate is a handler that holds each request until released, and counts
// how many it holds at once. A request with the header X-Gate waits on
// that key's own channel, so a test can release it alone.
type gate struct {
	release       chan struct{}
	entered       chan struct{}
	mu            sync.Mutex
	keyed         map[string]chan struct{}
	now, maxSeen  atomic.Int64
	answeredCount atomic.Int64
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), entered: make(chan struct{}, 100), keyed: map[string]chan struct{}{}}
}

// releaseOf returns the channel a request waits on.
func (g *gate) releaseOf(key string) chan struct{} {
	if key == "" {
		return g.release
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keyed[key] == nil {
		g.keyed[key] = make(chan struct{})
	}
	return g.keyed[key]
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := g.now.Add(1)
	for {
		m := g.maxSeen.Load()
		if n <= m || g.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	g.entered <- struct{}{}
	<-g.releaseOf(r.Header.Get("X-Gate"))
	g.now.Add(-1)
	g.answeredCount.Add(1)
	io.WriteString(w, "answered")
}

// sendAsync makes a request to h in a goroutine and returns its recorder when
// done is closed.
func sendAsync(h http.Handler, r *http.Request) (*httptest.ResponseRecorder, chan struct{}) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, r)
	}()
	return rec, done
}

func gqlRequest(token string) *http.Request {
	r := httptest.NewRequest("POST", "/graphql", strings.NewReader(`{"query":"{ me { id } }"}`))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// A request over the limit waits for a turn and is answered when one is
// free; requests without credentials are not counted.
func TestInFlightWaitsForATurn(t *testing.T) {
	g := newGate()
	l := newInFlight(1, time.Minute)
	h := l.wrap(g, graphQLSurface, withCredentials)
	_, first := sendAsync(h, gqlRequest("a"))
	<-g.entered
	second, secondDone := sendAsync(h, gqlRequest("b"))
	settles(t, func() bool { return l.queued.Load() == 1 })
	if got := limitMetric(t, l, "usestats_inflight_requests"); got != 1 {
		t.Fatalf("in-flight gauge %v, want 1", got)
	}
	if got := limitMetric(t, l, "usestats_inflight_queued_requests"); got != 1 {
		t.Fatalf("queued gauge %v, want 1", got)
	}
	// Anonymous: not counted, answered while the slot is held.
	anonReq := gqlRequest("")
	anonReq.Header.Set("X-Gate", "anonymous")
	anon, anonDone := sendAsync(h, anonReq)
	<-g.entered
	g.releaseOf("anonymous") <- struct{}{}
	<-anonDone
	if anon.Body.String() != "answered" {
		t.Fatalf("anonymous request: %q", anon.Body.String())
	}
	if l.queued.Load() != 1 {
		t.Fatal("the queued request started while the slot was held")
	}
	g.release <- struct{}{} // the first ends: the second gets its turn
	<-first
	<-g.entered
	g.release <- struct{}{}
	<-secondDone
	if second.Code != 200 || second.Body.String() != "answered" {
		t.Fatalf("queued request: %d %q", second.Code, second.Body.String())
	}
	if l.running.Load() != 0 || l.queued.Load() != 0 {
		t.Fatalf("after: %d running, %d queued", l.running.Load(), l.queued.Load())
	}
}

// Under a burst, never more than the limit are answered at once, and all
// are answered.
func TestInFlightBound(t *testing.T) {
	g := newGate()
	l := newInFlight(3, time.Minute)
	h := l.wrap(g, wsSurface, every)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/webservice/rest/server.php", nil))
		}()
	}
	for range 3 {
		<-g.entered
	}
	settles(t, func() bool { return l.queued.Load() == 17 }) // the rest wait
	if n := g.now.Load(); n != 3 {
		t.Fatalf("%d answered at once, want 3", n)
	}
	for i := range 20 {
		g.release <- struct{}{}
		if i < 17 {
			<-g.entered // a waiting one takes the free turn
		}
	}
	wg.Wait()
	if g.maxSeen.Load() != 3 || g.answeredCount.Load() != 20 {
		t.Fatalf("at most %d at once (want 3), %d answered (want 20)", g.maxSeen.Load(), g.answeredCount.Load())
	}
}

// A request whose turn does not come within the wait is refused as busy,
// in its surface's shape, with Retry-After; one whose client leaves gets
// nothing.
func TestInFlightBusy(t *testing.T) {
	cases := []struct {
		name    string
		surface surface
		req     func() *http.Request
		status  int
		body    string
	}{
		{"graphql", graphQLSurface, func() *http.Request { return gqlRequest("t") }, http.StatusServiceUnavailable, `"code":"UNAVAILABLE"`},
		{"ws-json", wsSurface, func() *http.Request {
			return httptest.NewRequest("GET", "/webservice/rest/server.php?moodlewsrestformat=json", nil)
		}, 200, `"errorcode":"servicebusy"`},
		{"ws-xml", wsSurface, func() *http.Request { return httptest.NewRequest("GET", "/webservice/rest/server.php", nil) }, 200, "<ERRORCODE>servicebusy</ERRORCODE>"},
		{"mnet", mnetSurface, func() *http.Request { return httptest.NewRequest("POST", "/mnet/xmlrpc/server.php", nil) }, 200, "<name>faultCode</name><value><int>7000</int>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGate()
			l := newInFlight(1, 20*time.Millisecond)
			h := l.wrap(g, c.surface, every)
			_, first := sendAsync(h, c.req())
			<-g.entered
			rec, done := sendAsync(h, c.req())
			<-done
			if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.body) || rec.Header().Get("Retry-After") != "1" {
				t.Fatalf("busy answer: %d %q Retry-After %q", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
			}
			if got := limitMetric(t, l, "usestats_inflight_busy_total"); got != 1 {
				t.Fatalf("busy counter %v, want 1", got)
			}
			// A client that leaves while it waits: nothing written, not busy.
			ctx, cancel := context.WithCancel(context.Background())
			l.wait = time.Minute
			gone, goneDone := sendAsync(h, c.req().WithContext(ctx))
			settles(t, func() bool { return l.queued.Load() == 1 })
			cancel()
			<-goneDone
			if gone.Body.Len() != 0 || l.busy.Load() != 1 || l.queued.Load() != 0 {
				t.Fatalf("a client that left: body %q, busy %d, queued %d", gone.Body.String(), l.busy.Load(), l.queued.Load())
			}
			g.release <- struct{}{}
			<-first
		})
	}
}

// No limit: the handler itself.
func TestInFlightOff(t *testing.T) {
	g := newGate()
	if l := newInFlight(0, time.Second); l.wrap(g, graphQLSurface, every) != http.Handler(g) || l.collectors() != nil {
		t.Fatal("a limit of 0 still wraps")
	}
}

// A negative --max-inflight stops serve before anything starts.
func TestServeMaxInFlightRefused(t *testing.T) {
	_, stderr, code := usestats(t, "serve", "--max-inflight", "-1", "--demo-db", t.TempDir()+"/demo.db")
	if code == 0 || !strings.Contains(stderr, "--max-inflight") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// limitMetric reads one of the limit's figures as /metrics shows it.
func limitMetric(t *testing.T, l *inFlight, name string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.collectors()...)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// settles polls cond for up to 5 s.
func settles(t *testing.T, cond func() bool) {
	t.Helper()
	if waitFor(5*time.Second, cond) < 0 {
		t.Fatal("condition not met within 5 s")
	}
}
