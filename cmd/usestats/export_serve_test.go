package main

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
)

// serve mounts the exports: the demo token reads a course's participants
// as CSV; without a token it is 401.
func TestServeExports(t *testing.T) {
	bin := buildBinary(t)
	s := startServer(t, bin, t.TempDir())
	get := func(path, token string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp, string(raw)
	}
	resp, body := get("/export/course/2/participants.csv?orderBy=total_desc", s.token)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %s: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) < 2 || strings.Join(rows[0][:6], ",") != "userid,username,firstname,lastname,total_seconds,total_hm" {
		t.Fatalf("%v: %.300s", err, body)
	}
	if resp, _ := get("/export/users.csv", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous export: %d", resp.StatusCode)
	}
}
