package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// auto is text on a terminal and JSON elsewhere; text and json are taken
// as said; anything else is refused naming the flag.
func TestLogFormat(t *testing.T) {
	for _, c := range []struct {
		format   string
		terminal bool
		want     string
	}{
		{"auto", true, "text"}, {"auto", false, "json"}, {"", false, "json"},
		{"text", false, "text"}, {"json", true, "json"},
	} {
		if got, err := logFormat("serve", c.format, c.terminal); got != c.want || err != nil {
			t.Errorf("logFormat(%q, terminal %v) = %q, %v; want %q", c.format, c.terminal, got, err, c.want)
		}
	}
	if _, err := logFormat("serve", "yaml", true); aggregation.ErrorCode(err) != aggregation.EInvalid || !strings.Contains(err.Error(), "serve: --log-format") {
		t.Errorf("yaml: %v", err)
	}
}

// Written to a buffer or a file (not terminals), the default is JSON and
// no progress bar is allowed, whatever the format.
func TestNewLoggerNotATerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) {
		t.Fatal("a file or a buffer taken for a terminal")
	}
	for _, c := range []struct {
		format string
		json   bool
	}{{"auto", true}, {"json", true}, {"text", false}} {
		var buf bytes.Buffer
		log, bar, err := newLogger("serve", &buf, c.format, slog.LevelInfo)
		if err != nil {
			t.Fatal(err)
		}
		log.Info("serving", "addr", "127.0.0.1:8080")
		line := strings.TrimSpace(buf.String())
		if json.Valid([]byte(line)) != c.json {
			t.Errorf("%s: %q, want JSON %v", c.format, line, c.json)
		}
		if !c.json && !strings.Contains(line, `msg=serving addr=127.0.0.1:8080`) {
			t.Errorf("text: %q is not slog's text", line)
		}
		if bar {
			t.Errorf("%s: a progress bar allowed on a buffer", c.format)
		}
	}
}

// serve creating its demo with stderr a file writes JSON lines only, no
// progress bar among them, and logs the creation's rate; --log-format text
// gives slog's text lines, still without a bar.
func TestServeDemoLogsWithoutTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("creates a demo database")
	}
	t.Setenv("USESTATS_MOODLE", "")
	for _, format := range []string{"auto", "text"} {
		dir := t.TempDir()
		s := serveInProcess(t, "--addr", "127.0.0.1:0", "--demo-db", filepath.Join(dir, "demo.db"),
			"--store", "sqlite://"+filepath.Join(dir, "store.db"), "--demo-users", "5", "--compile-every", "0", "--log-format", format)
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
		logs := s.errOut()
		if strings.Contains(logs, "\r") || strings.Contains(logs, "log rows") || strings.Contains(logs, "█") {
			t.Errorf("%s: a progress bar in the log:\n%q", format, logs)
		}
		created := false
		for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
			if format == "auto" && !json.Valid([]byte(l)) {
				t.Errorf("auto, not a terminal: a line that is not JSON: %q", l)
			}
			if format == "text" && !strings.HasPrefix(l, "time=") {
				t.Errorf("text: a line that is not slog's text: %q", l)
			}
			created = created || strings.Contains(l, "created the demo Moodle database") && strings.Contains(l, "rows_per_s")
		}
		if !created {
			t.Errorf("%s: no log line of the demo's creation and its rate:\n%s", format, logs)
		}
	}
}
