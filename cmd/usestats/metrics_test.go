package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/store"
)

// The calls the web-service and MNET handlers report through
// observeCall are counted by name and outcome in /metrics.
func TestMetricsCountCalls(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mdb, err := dbconn.Open(ctx, "sqlite://"+filepath.Join(dir, "m.db"), dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mdb.Close()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := newMetrics(mdb, st)
	ws, mn := observeCall("ws"), observeCall("mnet")
	h := m.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ws":
			ws(r, "block_use_stats_get_user_stats", "unavailable")
		case "/mnet":
			mn(r, "blocks/use_stats/rpclib.php/use_stats_rpc_get_stats", "ok")
		}
	}))
	for _, p := range []string{"/ws", "/ws", "/mnet", "/other"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, p, nil))
	}
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`usestats_ws_calls_total{function="block_use_stats_get_user_stats",outcome="unavailable"} 2`,
		`usestats_mnet_calls_total{method="blocks/use_stats/rpclib.php/use_stats_rpc_get_stats",outcome="ok"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %s", want)
		}
	}
}
