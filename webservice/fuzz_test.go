package webservice

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzServeREST posts arbitrary urlencoded bodies: every answer must be
// HTTP 200 with a well-formed JSON or XML document, never a panic.
func FuzzServeREST(f *testing.F) {
	for _, tc := range goldenCases {
		if len(tc.rq.body) < 4096 {
			f.Add([]byte(tc.rq.body + "&moodlewsrestformat=json"))
			f.Add([]byte(tc.rq.body))
		}
	}
	for _, tc := range badInputs {
		if len(tc.body) < 4096 {
			f.Add([]byte(tokSite + tc.body))
		}
	}
	f.Add([]byte("a[][][]=1&a[]=%ff&" + tokSite + fnUsers + "&uids[x][]=3"))
	h := newTestHandler(f, func(c *testConfig) {
		c.Limits = Limits{MaxBodyBytes: 64 << 10, MaxVars: 500, MaxArrayLen: 200}
		c.MaxUsers = 50
		c.Authenticate = func(ctx context.Context, token, ip string) (Principal, error) {
			if token == "brokentoken" {
				token = "" // the one token that fails on purpose
			}
			return authenticate(ctx, token, ip)
		}
	})
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		out := w.Body.Bytes()
		format := formatXML
		if w.Header().Get("Content-Type") == "application/json" {
			format = formatJSON
		}
		checkWellFormed(t, format, out)
		if bytes.Contains(out, []byte("generalexceptionmessage")) {
			t.Fatalf("internal error: %s", out)
		}
	})
}
