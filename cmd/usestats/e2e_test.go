package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles usestats once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "usestats")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// server is a running `usestats serve`.
type server struct {
	cmd    *exec.Cmd
	base   string
	token  string
	stderr *bytes.Buffer
}

var (
	baseRE  = regexp.MustCompile(`GraphQL: (http://\S+)/graphql`)
	tokenRE = regexp.MustCompile(`demo token \(site:read\): (ust_\S+)`)
)

// startServer runs the binary on a free port with a fresh demo database and
// waits for the URL and the demo token it prints.
func startServer(t *testing.T, bin, dir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--demo-db", filepath.Join(dir, "demo.db"),
		"--store", "sqlite://" + filepath.Join(dir, "store.db"), "--demo-users", "30"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "USESTATS_MOODLE=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(90 * time.Second)
	for s.base == "" || s.token == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before it was ready:\n%s", s.stderr)
			}
			if m := baseRE.FindStringSubmatch(l); m != nil {
				s.base = m[1]
			}
			if m := tokenRE.FindStringSubmatch(l); m != nil {
				s.token = m[1]
			}
		case <-deadline:
			t.Fatalf("server not ready after 90 s:\n%s", s.stderr)
		}
	}
	go func() {
		for range lines { // keep draining stdout
		}
	}()
	return s
}

// demoDays are the dates (YYYY-MM-DD, UTC) of the last n whole days of a
// demo created today: its data end yesterday.
func demoDays(n int) (from, to string) {
	end := time.Unix(demoEnd(time.Now()), 0).UTC()
	return end.AddDate(0, 0, -n).Format(time.DateOnly), end.AddDate(0, 0, -1).Format(time.DateOnly)
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20 s after SIGTERM")
	}
}

func (s *server) query(t *testing.T, token, q string, vars map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, _ := http.NewRequest("POST", s.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON (%d): %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// The real binary, on its demo database, answers a tokened query with the
// same number the report command computes for the same user and window; it
// serves health, readiness and metrics, refuses anonymous queries, and stops
// cleanly on SIGTERM.
func TestServeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	s := startServer(t, bin, dir)

	const q = `query($from: Time, $to: Time) {
	  user(by: {username: "learner0002"}) { id username stats(range: {from: $from, to: $to}) { source total events } }
	}`
	// The demo's data end yesterday: the last 60 whole days.
	from, to := demoDays(60)
	vars := map[string]any{"from": from, "to": to}
	code, resp := s.query(t, s.token, q, vars)
	if code != 200 || resp["errors"] != nil {
		t.Fatalf("query: %d %v", code, resp)
	}
	stats := resp["data"].(map[string]any)["user"].(map[string]any)["stats"].(map[string]any)
	total := int64(stats["total"].(float64))
	if total <= 0 {
		t.Fatalf("demo user has no time: %v", resp)
	}

	out, stderr, rc := usestats(t, "report", "--moodle", "sqlite://"+filepath.Join(dir, "demo.db"),
		"--user", "learner0002", "--from", from, "--to", to)
	if rc != 0 {
		t.Fatalf("report: %s", stderr)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Total != total || rep.Events != int64(stats["events"].(float64)) {
		t.Errorf("GraphQL says %d s / %v events, report says %d s / %d events", total, stats["events"], rep.Total, rep.Events)
	}
	// serve compiles the demo before its first request: its answer for
	// these whole days comes from the rollups; the report reads the log.
	if stats["source"] != "ROLLUPS" || rep.Source != "LIVE" {
		t.Errorf("sources: GraphQL %v, report %q; want ROLLUPS and LIVE", stats["source"], rep.Source)
	}

	if code, resp := s.query(t, "", q, vars); code != 401 || !strings.Contains(fmt.Sprint(resp), "UNAUTHENTICATED") {
		t.Errorf("anonymous query: %d %v", code, resp)
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "usestats_http_requests_total"} {
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %.200s", path, resp.StatusCode, body)
		}
	}

	s.stop(t)
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean-stop log line:\n%s", s.stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(s.stderr.String()), "\n") {
		if strings.HasPrefix(l, "{") && !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %s", l)
		}
	}
}

// The graphql-http audit suite (npm package graphql-http, installed by
// .ci/run into tools/graphql-audit) against the live server: every MUST
// passes; the SHOULD count is logged.
func TestGraphQLHTTPAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary and Node")
	}
	dir, _ := filepath.Abs("../../tools/graphql-audit")
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "graphql-http"))
	if err != nil || modErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node (%v) or graphql-http (%v) missing: .ci/run installs them", err, modErr)
		}
		t.Skip("node or tools/graphql-audit/node_modules missing: run npm ci --prefix tools/graphql-audit")
	}
	s := startServer(t, buildBinary(t), t.TempDir())
	cmd := exec.Command(node, "audit.mjs", s.base+"/graphql", s.token)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("graphql-http audit failed: %v", err)
	}
	if !regexp.MustCompile(`graphql-http audit: .*MUST 13/13`).Match(out) {
		t.Fatalf("no audit summary with every MUST passing in the output")
	}
}
