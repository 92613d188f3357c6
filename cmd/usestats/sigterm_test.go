package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// serveShutdownTimeout is how long serve waits for requests in flight
// after SIGTERM (serve.go).
const serveShutdownTimeout = 15 * time.Second

// SIGTERM under load: 50 clients keep asking while the server stops.
// Every request the server accepted is answered in full (the server's
// request log and the clients' complete answers agree one for one: no
// accepted request lost its answer to a reset); the others fail to
// connect, or on a kept-alive connection the server closed idle; the
// process exits 0 within its shutdown timeout.
func TestSIGTERMUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and stops it under load")
	}
	s := startServer(t, buildBinary(t), t.TempDir())
	from, to := demoDays(365)
	q := `query($u: String!) { user(by: {username: $u}) { stats(range: {from: "` + from + `", to: "` + to + `"}, scope: MODULE) {
	  total courses { total modules { cmid elapsed } } sessionSummary { count mean } } } }`

	var (
		stop       atomic.Bool
		answered   atomic.Int64 // complete answers, any status
		good       atomic.Int64 // 200 without errors
		inFlight   atomic.Int64 // answered requests sent before SIGTERM and answered after it
		mu         sync.Mutex
		failures   = map[string]int{}
		bad        []string
		sigAt      atomic.Int64
		wg         sync.WaitGroup
		transport  = &http.Transport{MaxIdleConnsPerHost: 50}
		client     = &http.Client{Transport: transport, Timeout: time.Minute}
		afterStart = time.Now()
	)
	for c := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				body, _ := json.Marshal(map[string]any{"query": q, "variables": map[string]any{"u": fmt.Sprintf("learner%04d", 1+(c+i)%30)}})
				req, _ := http.NewRequest("POST", s.base+"/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+s.token)
				sent := time.Now().UnixNano()
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failures[failureKind(err)]++
					mu.Unlock()
					if sigAt.Load() == 0 {
						mu.Lock()
						bad = append(bad, "before SIGTERM: "+err.Error())
						mu.Unlock()
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				raw, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rerr != nil {
					// The server had begun answering: an accepted request cut.
					mu.Lock()
					bad = append(bad, fmt.Sprintf("answer cut after %d bytes: %v", len(raw), rerr))
					mu.Unlock()
					continue
				}
				answered.Add(1)
				if sig := sigAt.Load(); sig != 0 && sent < sig {
					inFlight.Add(1)
				}
				if resp.StatusCode == 200 && !bytes.Contains(raw, []byte(`"errors"`)) && json.Valid(raw) {
					good.Add(1)
				} else {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%d %.200s", resp.StatusCode, raw))
					mu.Unlock()
				}
			}
		}()
	}

	time.Sleep(3 * time.Second)
	before := good.Load()
	if before == 0 {
		t.Fatalf("no answer in 3 s of load:\n%s", s.stderr)
	}
	sigAt.Store(time.Now().UnixNano())
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(serveShutdownTimeout + 5*time.Second):
		t.Fatalf("no exit %v after SIGTERM (shutdown timeout %v)", serveShutdownTimeout+5*time.Second, serveShutdownTimeout)
	}
	took := time.Since(time.Unix(0, sigAt.Load()))
	time.Sleep(500 * time.Millisecond) // clients now find nobody listening
	stop.Store(true)
	wg.Wait()

	logged := 0
	for _, l := range strings.Split(s.stderr.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, `"path":"/graphql"`) {
			logged++
		}
	}
	t.Logf("%.1f s of load before SIGTERM, %d answers; exit %v %v after SIGTERM; %d answers in all (%d sent before SIGTERM and answered after it), "+
		"%d requests in the server's log; failures to connect or on closed idle connections: %v",
		time.Duration(sigAt.Load()-afterStart.UnixNano()).Seconds(), before, exitErr, took.Round(time.Millisecond), answered.Load(), inFlight.Load(), logged, failures)
	if exitErr != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", exitErr, s.stderr)
	}
	if took > serveShutdownTimeout {
		t.Errorf("exit %v after SIGTERM, past the shutdown timeout %v", took, serveShutdownTimeout)
	}
	if len(bad) > 0 {
		t.Errorf("%d requests failed badly; first: %q", len(bad), bad[:min(len(bad), 5)])
	}
	if int64(logged) != answered.Load() {
		t.Errorf("the server handled %d requests, the clients got %d complete answers", logged, answered.Load())
	}
	if inFlight.Load() == 0 {
		t.Error("no request was in flight at SIGTERM: the test proved nothing")
	}
	for kind := range failures {
		if kind == "other" {
			t.Errorf("unexpected transport failures: %v", failures)
		}
	}
}

// failureKind sorts a client error after SIGTERM: the listener gone
// (refused), or a request on a kept-alive connection the server closed
// while idle, which it never read (closed idle: EOF or reset before any
// answer byte).
func failureKind(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case strings.Contains(msg, "server closed idle connection"), strings.HasSuffix(msg, ": EOF"),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "closed idle"
	}
	return "other"
}
