package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func webUIGet(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func TestWebUIPages(t *testing.T) {
	h, err := newWebUI("")
	if err != nil {
		t.Fatal(err)
	}
	index := webUIGet(t, h, "GET", "/")
	body, _ := io.ReadAll(index.Body)
	if index.StatusCode != 200 || index.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(body), `<main id="main"`) {
		t.Fatalf("/: %d %q %.200s", index.StatusCode, index.Header.Get("Content-Type"), body)
	}
	if cc := index.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("/: Cache-Control %q, want no-cache", cc)
	}
	// Inline scripts would be refused by the CSP: every script is a file.
	if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "<script type=\"module\">") {
		t.Errorf("index.html has an inline script:\n%s", body)
	}

	// The dashboard's own paths (an SPA) answer index.html.
	for _, p := range []string{"/course/2", "/learner/5/", "/index.html", "/site"} {
		r := webUIGet(t, h, "GET", p)
		b, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || string(b) != string(body) {
			t.Errorf("%s: %d, not index.html", p, r.StatusCode)
		}
	}

	g := webUIGet(t, h, "GET", "/graphiql")
	gb, _ := io.ReadAll(g.Body)
	if g.StatusCode != 200 || !strings.Contains(string(gb), `id="graphiql"`) {
		t.Fatalf("/graphiql: %d %.200s", g.StatusCode, gb)
	}
	if string(gb) == string(body) {
		t.Fatal("/graphiql answered the dashboard")
	}
	// Nothing from another host: no absolute URL in the pages.
	for name, b := range map[string][]byte{"index": body, "graphiql": gb} {
		if strings.Contains(string(b), "http://") || strings.Contains(string(b), "https://") {
			t.Errorf("%s.html names another host:\n%s", name, b)
		}
	}
}

func TestWebUIAssets(t *testing.T) {
	h, err := newWebUI("")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(webUIGet(t, h, "GET", "/").Body)
	// The hashed script and stylesheet the page loads.
	var js, css string
	for _, f := range strings.Fields(strings.NewReplacer(`"`, " ").Replace(string(b))) {
		switch {
		case strings.HasPrefix(f, "/assets/") && strings.HasSuffix(f, ".js") && js == "":
			js = f
		case strings.HasPrefix(f, "/assets/") && strings.HasSuffix(f, ".css"):
			css = f
		}
	}
	if js == "" || css == "" {
		t.Fatalf("no script or stylesheet in index.html:\n%s", b)
	}
	for p, ct := range map[string]string{js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8", "/favicon.svg": "image/svg+xml"} {
		r := webUIGet(t, h, "GET", p)
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != ct {
			t.Errorf("%s: %d %q, want 200 %q", p, r.StatusCode, r.Header.Get("Content-Type"), ct)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", p)
		}
		wantCache := webAssetsCache
		if p == "/favicon.svg" {
			wantCache = "no-cache"
		}
		if got := r.Header.Get("Cache-Control"); got != wantCache {
			t.Errorf("%s: Cache-Control %q, want %q", p, got, wantCache)
		}
	}

	// Revalidation: the ETag answers 304.
	first := webUIGet(t, h, "GET", "/")
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-None-Match", first.Header.Get("ETag"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if first.Header.Get("ETag") == "" || rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match %q: %d, want 304", first.Header.Get("ETag"), rec.Code)
	}

	// Missing files are 404, not the dashboard.
	for _, p := range []string{"/assets/nope-1234.js", "/assets/", "/robots.txt", "/x/y.png"} {
		if r := webUIGet(t, h, "GET", p); r.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
	// HEAD works, other methods do not.
	if r := webUIGet(t, h, "HEAD", js); r.StatusCode != 200 || r.ContentLength <= 0 {
		t.Errorf("HEAD %s: %d, length %d", js, r.StatusCode, r.ContentLength)
	}
	if r := webUIGet(t, h, "POST", "/"); r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d, Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
	// A path that climbs out stays inside the build.
	if r := webUIGet(t, h, "GET", "/assets/../../embed.go"); r.StatusCode != 404 {
		t.Errorf("/assets/../../embed.go: %d, want 404", r.StatusCode)
	}
}

func TestWebUICSP(t *testing.T) {
	h, err := newWebUI("")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/course/3", "/graphiql", "/favicon.svg", "/nope.txt"} {
		csp := webUIGet(t, h, "GET", p).Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self';", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
			t.Errorf("%s: CSP %q allows inline or eval'd script", p, csp)
		}
		if p != "/graphiql" && strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q allows inline styles", p, csp)
		}
	}

	h, err = newWebUI("https://moodle.example.org, 'self'")
	if err != nil {
		t.Fatal(err)
	}
	csp := webUIGet(t, h, "GET", "/graphiql").Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors https://moodle.example.org 'self'") {
		t.Errorf("CSP %q: frame-ancestors not from the configuration", csp)
	}
	for _, bad := range []string{"https://a.example; script-src *", "'none' https://a.example", "https://a.example\r\nX: y", `"x"`} {
		if _, err := newWebUI(bad); err == nil {
			t.Errorf("newWebUI(%q): no error", bad)
		}
	}
}
