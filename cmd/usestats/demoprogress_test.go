package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Without a bar the demo's creation logs its progress at most once per
// interval, with the rows written and their rate.
func TestRowsLogger(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	clock := time.Unix(1000, 0)
	logRows := rowsLogger(log, 5*time.Second, func() time.Time { return clock })
	for _, step := range []struct {
		after time.Duration
		rows  int64
	}{{time.Second, 10_000}, {5 * time.Second, 60_000}, {time.Second, 70_000}, {5 * time.Second, 120_000}} {
		clock = clock.Add(step.after)
		logRows(step.rows)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (one per 5 s):\n%s", len(lines), out.String())
	}
	var first struct {
		Msg      string  `json:"msg"`
		LogRows  int64   `json:"log_rows"`
		RowsPerS float64 `json:"rows_per_s"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Msg != "creating the demo Moodle database" || first.LogRows != 60_000 || first.RowsPerS != 10_000 {
		t.Errorf("first progress line %+v, want 60 000 rows at 10 000 rows/s", first)
	}
}
