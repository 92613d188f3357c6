package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func limitedFor(perSecond int) (*rateLimits, *fakeClock) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := newRateLimits(perSecond)
	l.now = clock.now
	return l, clock
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })

func send(h http.Handler, ip, target, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(`{"query":"{ __typename }"}`))
	req.RemoteAddr = ip + ":40000"
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRateLimitOff(t *testing.T) {
	if l := newRateLimits(0); l != nil {
		t.Fatal("0 must mean no limits")
	}
	var l *rateLimits
	h := l.wrap(okHandler, graphQLSurface)
	for range 100 {
		if rec := send(h, "10.0.0.1", "/graphql", ""); rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
}

// GraphQL: a bucket of 2N per IP and per credential, refilled at N a
// second; RATE_LIMITED with 429 and Retry-After once empty.
func TestRateLimitGraphQL(t *testing.T) {
	l, clock := limitedFor(1)
	h := l.wrap(okHandler, graphQLSurface)
	for i := range 2 {
		if rec := send(h, "10.0.0.1", "/graphql", "Bearer a"); rec.Code != http.StatusOK {
			t.Fatalf("request %d: status %d", i, rec.Code)
		}
	}
	rec := send(h, "10.0.0.1", "/graphql", "Bearer a")
	var body struct {
		Errors []struct {
			Message    string
			Extensions struct{ Code string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.Errors) != 1 {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" || body.Errors[0].Extensions.Code != "RATE_LIMITED" {
		t.Errorf("refusal: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// The same credential from another IP shares the credential's bucket.
	if rec := send(h, "10.0.0.2", "/graphql", "Bearer a"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("same token, other IP: %d", rec.Code)
	}
	// Another credential from the first IP shares the IP's bucket.
	if rec := send(h, "10.0.0.1", "/graphql", "Bearer b"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("other token, same IP: %d", rec.Code)
	}
	// A refusal spent nothing: 10.0.0.2 still has its whole bucket.
	for i := range 2 {
		if rec := send(h, "10.0.0.2", "/graphql", ""); rec.Code != http.StatusOK {
			t.Errorf("fresh IP, request %d: %d", i, rec.Code)
		}
	}
	// A second later the bucket has one token again.
	clock.t = clock.t.Add(time.Second)
	if rec := send(h, "10.0.0.1", "/graphql", "Bearer a"); rec.Code != http.StatusOK {
		t.Errorf("after a second: %d", rec.Code)
	}
	if rec := send(h, "10.0.0.1", "/graphql", "Bearer a"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("one token only: %d", rec.Code)
	}
}

// The web services answer a Moodle exception with HTTP 200, in the format
// asked; MNET an XML-RPC fault. Both say Retry-After.
func TestRateLimitShapes(t *testing.T) {
	l, _ := limitedFor(1)
	ws := l.wrap(okHandler, wsSurface)
	for range 2 {
		send(ws, "10.0.0.3", "/webservice/rest/server.php?wstoken=t1", "")
	}
	rec := send(ws, "10.0.0.4", "/webservice/rest/server.php?wstoken=t1&moodlewsrestformat=json", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(rec.Body.String(), `"exception":"moodle_exception"`) || !strings.Contains(rec.Body.String(), `"errorcode":"ratelimited"`) {
		t.Errorf("ws json: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	rec = send(ws, "10.0.0.3", "/webservice/rest/server.php", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<EXCEPTION class="moodle_exception">`) ||
		!strings.Contains(rec.Body.String(), "<ERRORCODE>ratelimited</ERRORCODE>") {
		t.Errorf("ws xml: %d %s", rec.Code, rec.Body)
	}
	mnet := l.wrap(okHandler, mnetSurface)
	for range 2 {
		send(mnet, "10.0.0.5", "/mnet/xmlrpc/server.php", "")
	}
	rec = send(mnet, "10.0.0.5", "/mnet/xmlrpc/server.php", "")
	if rec.Code != http.StatusOK || rec.Header().Get("Retry-After") == "" ||
		!strings.Contains(rec.Body.String(), "<name>faultCode</name><value><int>7000</int>") {
		t.Errorf("mnet: %d %s", rec.Code, rec.Body)
	}
}

// The buckets' memory is bounded: idle ones are dropped, and never more
// than rateMaxKeys are kept.
func TestRateLimitMemoryBounded(t *testing.T) {
	l, clock := limitedFor(5)
	for i := range rateMaxKeys + 500 {
		if ok, _ := l.allow(fmt.Sprintf("ip 10.%d.%d.%d", i>>16, i>>8&255, i&255)); !ok {
			t.Fatalf("key %d refused", i)
		}
	}
	if n := len(l.buckets); n > rateMaxKeys {
		t.Errorf("%d buckets kept, limit %d", n, rateMaxKeys)
	}
	clock.t = clock.t.Add(2 * rateIdle)
	l.allow("ip 192.0.2.1")
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets after they were all idle, want 1", n)
	}
}
