package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/export"
	"github.com/usestats/usestats/resolvers"
	"github.com/usestats/usestats/seed"
)

// BenchmarkSite10k measures what reads a whole site of 10 000 learners
// and a year of activity (about 3 M log rows) on PostgreSQL, from
// compiled rollups in a PostgreSQL store, with serve's rollup cache
// ("cached") and without ("store"; site-wide answers sum the days'
// summaries, which the cache does not keep, so both read the store and
// should agree): GraphQL's
// site { stats } (totals, percentiles, top courses, a weekly series) and
// the CSV export of every user with their time (/export/users.csv),
// whose rows/s and the heap in use after it are reported. It needs
// USESTATS_TEST_POSTGRES; seeding and compiling (about a minute) are not
// timed.
func BenchmarkSite10k(b *testing.B) {
	src, comp, st := compiledBenchSite(b, seed.Options{Seed: 3, Users: 10_000, Days: 365, MaxRows: 3_000_000, Prefix: "sitebench_"})
	b.Logf("site: %d learners, %d log rows", st.Learners, st.LogRows)
	scopes, _ := aggregation.ParseScopes("site:read")
	auth := func(context.Context, string) (aggregation.Scopes, error) { return scopes, nil }
	now := func() int64 { return seed.DefaultEnd }
	for _, cache := range []int64{256 << 20, 0} {
		reads := "cached"
		if cache == 0 {
			reads = "store"
		}
		svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: src, Rollups: comp, RollupCacheBytes: cache,
			Roster: src.Roster(), Grades: src.Directory(), Now: now})
		if err != nil {
			b.Fatal(err)
		}
		gql, err := resolvers.NewHandler(resolvers.Config{Service: svc, Directory: src.Directory(), Authenticate: auth})
		if err != nil {
			b.Fatal(err)
		}
		exp, err := export.NewHandler(export.Config{Service: svc, Directory: src.Directory(), Authenticate: auth, Now: now})
		if err != nil {
			b.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/graphql", gql)
		mux.Handle(export.Prefix, exp)
		srv := httptest.NewServer(mux)
		do := func(method, path, body string) []byte {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer bench")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || strings.Contains(string(raw[:min(len(raw), 200)]), `"errors"`) {
				b.Fatalf("%s %d %.300s", path, resp.StatusCode, raw)
			}
			return raw
		}
		query, _ := json.Marshal(map[string]any{"query": `{ site { stats { users activeUsers total median p90 topCourses { courseId total } series(granularity: WEEK) { start elapsed } } } }`})
		b.Run(fmt.Sprintf("site-stats/reads=%s", reads), func(b *testing.B) {
			do(http.MethodPost, "/graphql", string(query)) // fills the cache (untimed)
			for b.Loop() {
				do(http.MethodPost, "/graphql", string(query))
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/answer")
		})
		b.Run(fmt.Sprintf("export-users-csv/reads=%s", reads), func(b *testing.B) {
			rows := 0
			for b.Loop() {
				rows += strings.Count(string(do(http.MethodGet, "/export/users.csv", "")), "\n") - 1
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		})
		srv.Close()
	}
}
