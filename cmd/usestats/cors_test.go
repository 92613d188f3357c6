package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseCORSOrigins(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" https://a.example.org , http://localhost:5173/ ", []string{"https://a.example.org", "http://localhost:5173"}},
		{"https://*.example.org", []string{"https://*.example.org"}},
		{"*", []string{"*"}},
	} {
		got, err := parseCORSOrigins(tc.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"example.org", "ftp://example.org", "https://example.org/app", "https://", "https://u@example.org", "https://example.org?x=1"} {
		if _, err := parseCORSOrigins(bad); err == nil || !strings.Contains(err.Error(), "--cors-origins") {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
}

// corsRequest sends a request with an Origin (a preflight when preflight
// is set) through h.
func corsRequest(h http.Handler, origin string, preflight bool) *httptest.ResponseRecorder {
	method := http.MethodPost
	if preflight {
		method = http.MethodOptions
	}
	req := httptest.NewRequest(method, "/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
	req.Header.Set("Origin", origin)
	if preflight {
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Only listed origins get CORS headers; preflights allow the
// Authorization header and are answered without reaching the handler;
// credentials (cookies) are never allowed.
func TestWithCORS(t *testing.T) {
	reached := 0
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++; w.Write([]byte("ok")) })
	h := withCORS([]string{"https://dash.example.org", "https://*.example.net"}, next)

	for _, origin := range []string{"https://dash.example.org", "https://a.example.net"} {
		rec := corsRequest(h, origin, false)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != origin || rec.Body.String() != "ok" {
			t.Errorf("%s: allow-origin %q, body %q", origin, got, rec.Body)
		}
		if rec.Header().Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: credentials allowed", origin)
		}
		if exp := rec.Header().Get("Access-Control-Expose-Headers"); !strings.Contains(exp, "Retry-After") {
			t.Errorf("%s: exposed headers %q", origin, exp)
		}
		before := reached
		pre := corsRequest(h, origin, true)
		if pre.Code != http.StatusNoContent || reached != before ||
			!strings.Contains(strings.ToLower(pre.Header().Get("Access-Control-Allow-Headers")), "authorization") ||
			pre.Header().Get("Access-Control-Max-Age") != "600" {
			t.Errorf("%s preflight: %d, reached %v, headers %v", origin, pre.Code, reached != before, pre.Header())
		}
	}
	rec := corsRequest(h, "https://evil.example.com", false)
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("unlisted origin allowed: %q", got)
	}
	if rec := corsRequest(withCORS(nil, next), "https://dash.example.org", false); rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS headers without an allow-list")
	}
}

// The binary sends CORS headers on /graphql for its allow-list only; the
// web services keep Moodle's own header (any origin, as Moodle's REST
// server sends it), whatever the list.
func TestServeCORS(t *testing.T) {
	bin := buildBinary(t)
	s := startServer(t, bin, t.TempDir(), "--cors-origins", "https://dash.example.org")
	for _, tc := range []struct {
		path, origin, want string
	}{
		{"/graphql", "https://dash.example.org", "https://dash.example.org"},
		{"/graphql", "https://other.example.org", ""},
		{"/export/users.csv", "https://dash.example.org", "https://dash.example.org"},
		{"/webservice/rest/server.php", "https://other.example.org", "*"},
	} {
		req, _ := http.NewRequest(http.MethodOptions, s.base+tc.path, nil)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
			t.Errorf("%s from %s: allow-origin %q, want %q", tc.path, tc.origin, got, tc.want)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/graphql", strings.NewReader(`{"query":"{ policies { name } }"}`))
	req.Header.Set("Origin", "https://dash.example.org")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "https://dash.example.org" {
		t.Errorf("POST: %d, allow-origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
