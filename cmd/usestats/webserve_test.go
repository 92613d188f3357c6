package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// serve mounts the web pages: the dashboard at /, GraphiQL at /graphiql,
// each with the CSP and the frame-ancestors --frame-ancestors gives, while
// /graphql answers as before; --graphiql=false serves no page.
func TestServeWebPages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	s := startServer(t, bin, t.TempDir(), "--frame-ancestors", "https://moodle.example.org")
	for _, path := range []string{"/", "/graphiql", "/course/2"} {
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors https://moodle.example.org") {
			t.Errorf("GET %s: %d %q, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), csp)
		}
		if !strings.Contains(string(body), "<script") || strings.Contains(string(body), "https://") {
			t.Errorf("GET %s: not the bundled page:\n%.300s", path, body)
		}
	}
	if code, resp := s.query(t, s.token, `{ policies { name } }`, nil); code != 200 || resp["errors"] != nil {
		t.Errorf("/graphql beside the pages: %d %v", code, resp)
	}

	off := startServer(t, bin, t.TempDir(), "--graphiql=false")
	resp, err := http.Get(off.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / with --graphiql=false: %d, want 404", resp.StatusCode)
	}
}

// A frame-ancestors list that could break out of its header stops serve
// before anything starts.
func TestServeFrameAncestorsRefused(t *testing.T) {
	_, stderr, code := usestats(t, "serve", "--frame-ancestors", "https://a.example; script-src *", "--demo-db", t.TempDir()+"/demo.db")
	if code == 0 || !strings.Contains(stderr, "frame-ancestors") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
