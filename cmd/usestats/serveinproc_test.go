package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// inprocServer is `usestats serve` running in the test's process
// (runServe): no binary to build, and flags, environment and files as a
// user gives them. Its stdout and stderr are files, read while it runs.
type inprocServer struct {
	base, token    string
	stdout, stderr string // the files' paths
	stop           func() error
}

func (s *inprocServer) out() string    { b, _ := os.ReadFile(s.stdout); return string(b) }
func (s *inprocServer) errOut() string { b, _ := os.ReadFile(s.stderr); return string(b) }

// serveInProcess starts runServe with args and waits for the URL it prints
// (and the demo token, on the demo) or for its end, which fails the test.
// The server is stopped at the end of the test unless stop was called.
func serveInProcess(t *testing.T, args ...string) *inprocServer {
	t.Helper()
	dir := t.TempDir()
	s := &inprocServer{stdout: filepath.Join(dir, "stdout"), stderr: filepath.Join(dir, "stderr")}
	stdout, err := os.Create(s.stdout)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(s.stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, args, stdout, stderr) }()
	s.stop = sync.OnceValue(func() error {
		cancel()
		err := <-done
		stdout.Close()
		stderr.Close()
		return err
	})
	t.Cleanup(func() { s.stop() })
	demo := !strings.Contains(strings.Join(args, " "), "--moodle ")
	deadline := time.Now().Add(90 * time.Second)
	for s.base == "" || demo && s.token == "" {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve %v ended before it was ready: %v\n%s", args, err, s.errOut())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve %v not ready after 90 s:\n%s", args, s.errOut())
		}
		out := s.out()
		if m := baseRE.FindStringSubmatch(out); m != nil {
			s.base = m[1]
		}
		if m := tokenRE.FindStringSubmatch(out); m != nil {
			s.token = m[1]
		}
	}
	return s
}
