package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// The demo listens on 127.0.0.1 unless --addr (or USESTATS_ADDR) says
// otherwise; against a real Moodle database the default stays every
// interface.
func TestListenAddr(t *testing.T) {
	for _, c := range []struct {
		given string
		demo  bool
		want  string
	}{
		{"", true, "127.0.0.1:8080"},
		{"", false, ":8080"},
		{":9000", true, ":9000"},
		{"0.0.0.0:8080", true, "0.0.0.0:8080"},
		{"127.0.0.1:0", false, "127.0.0.1:0"},
	} {
		got, from := listenAddr(c.given, c.demo)
		if got != c.want || from == "" {
			t.Errorf("listenAddr(%q, demo %v) = %q (%q), want %q", c.given, c.demo, got, from, c.want)
		}
	}
}

// serve on the demo, with no --addr, listens on 127.0.0.1:8080 and logs
// it; USESTATS_ADDR is taken as --addr is.
func TestServeDemoListensOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a demo database")
	}
	ln, err := net.Listen("tcp", defaultDemoAddr)
	if err != nil {
		t.Skipf("%s is busy: %v", defaultDemoAddr, err)
	}
	ln.Close()
	t.Setenv("USESTATS_MOODLE", "")
	t.Setenv("USESTATS_ADDR", "")
	dir := t.TempDir()
	args := []string{"--demo-db", filepath.Join(dir, "demo.db"), "--store", "sqlite://" + filepath.Join(dir, "store.db"),
		"--demo-users", "3", "--compile-every", "0"}
	s := serveInProcess(t, args...)
	if s.base != "http://127.0.0.1:8080" {
		t.Errorf("demo without --addr serves %s, want http://127.0.0.1:8080", s.base)
	}
	if logs := s.errOut(); !strings.Contains(logs, `"addr":"127.0.0.1:8080"`) || !strings.Contains(logs, `"addr_from":"the demo's default`) {
		t.Errorf("the log does not say where the demo listens, and why:\n%s", logs)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	t.Setenv("USESTATS_ADDR", "127.0.0.1:0")
	s = serveInProcess(t, args...)
	if s.base == "http://127.0.0.1:8080" || !strings.HasPrefix(s.base, "http://127.0.0.1:") {
		t.Errorf("USESTATS_ADDR=127.0.0.1:0: serving %s", s.base)
	}
	if logs := s.errOut(); !strings.Contains(logs, `"addr_from":"--addr"`) {
		t.Errorf("the log does not say the address came from --addr:\n%s", logs)
	}
}
