package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Without a token every request reaches /metrics; with one, only a
// request carrying it as a Bearer credential does, others are 401.
func TestRequireBearer(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics") })
	call := func(h http.Handler, auth string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Header().Get("WWW-Authenticate")
	}
	open := requireBearer("", ok)
	for _, auth := range []string{"", "Bearer anything"} {
		if code, _ := call(open, auth); code != http.StatusOK {
			t.Errorf("no token, Authorization %q: %d, want 200", auth, code)
		}
	}
	guarded := requireBearer("s3cret-token", ok)
	for auth, want := range map[string]int{
		"":                           http.StatusUnauthorized,
		"Bearer":                     http.StatusUnauthorized,
		"Bearer ":                    http.StatusUnauthorized,
		"Bearer s3cret":              http.StatusUnauthorized,
		"Bearer s3cret-token-longer": http.StatusUnauthorized,
		"Basic s3cret-token":         http.StatusUnauthorized,
		"s3cret-token":               http.StatusUnauthorized,
		"Bearer s3cret-token":        http.StatusOK,
		"bearer  s3cret-token ":      http.StatusOK,
	} {
		code, challenge := call(guarded, auth)
		if code != want {
			t.Errorf("Authorization %q: %d, want %d", auth, code, want)
		}
		if code == http.StatusUnauthorized && !strings.HasPrefix(challenge, "Bearer ") {
			t.Errorf("Authorization %q: 401 without a Bearer challenge (%q)", auth, challenge)
		}
	}
}

// serve --metrics-token guards /metrics of the running service (the
// open default is checked by TestServeEndToEnd); USESTATS_METRICS_TOKEN
// sets it too.
func TestServeMetricsToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	get := func(s *server, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.base+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), "usestats_http_requests_total") {
			t.Errorf("/metrics answered 200 without the metrics: %.200s", body)
		}
		return resp.StatusCode
	}
	// The refused requests go first: the request counter then has rows
	// when the accepted one reads it (a counter shows once counted).
	type try struct {
		auth string
		want int
	}
	s := startServer(t, bin, t.TempDir(), "--metrics-token", "flag-secret")
	for _, c := range []try{{"", 401}, {"Bearer wrong", 401}, {"Bearer " + s.token, 401}, {"Bearer flag-secret", 200}} {
		if code := get(s, c.auth); code != c.want {
			t.Errorf("--metrics-token, Authorization %q: %d, want %d", c.auth, code, c.want)
		}
	}
	t.Setenv("USESTATS_METRICS_TOKEN", "env-secret")
	s = startServer(t, bin, t.TempDir())
	for _, c := range []try{{"", 401}, {"Bearer env-secret", 200}} {
		if code := get(s, c.auth); code != c.want {
			t.Errorf("USESTATS_METRICS_TOKEN, Authorization %q: %d, want %d", c.auth, code, c.want)
		}
	}
}
