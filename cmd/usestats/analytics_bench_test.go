package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/resolvers"
	"github.com/usestats/usestats/seed"
)

// BenchmarkGraphQLParticipants1000 measures the analytics over a course
// of 1 000 learners on a seeded PostgreSQL database (the site of
// BenchmarkWSCourseStats1000), from compiled rollups read every time or
// from serve's cache of them once a first call filled it, over HTTP:
// the first page of 100 participants sorted by time with totalCount
// ("by-total"), the course's aggregate with a weekly series ("stats"),
// and the whole site's (its 1 000 learners and their teacher) summed up
// ("site"). It needs USESTATS_TEST_POSTGRES; the seeding and compile
// are not timed.
func BenchmarkGraphQLParticipants1000(b *testing.B) {
	src, comp, _ := compiledBenchSite(b, seed.Options{Seed: 1, Users: 1000, Courses: 1, Prefix: "gqlbench_"})
	scopes, _ := aggregation.ParseScopes("site:read")
	queries := map[string]string{
		"by-total": `{ course(by: {id: 2}) { participants(first: 100, scope: COURSE, orderBy: {field: TOTAL, direction: DESC}) {
		  totalCount edges { node { user { id lastname } stats { total lastAccess } } } } } }`,
		"stats": `{ course(by: {id: 2}) { stats { learners activeLearners total mean median p90 series(granularity: WEEK) { start elapsed } } } }`,
		"site":  `{ site { stats { users activeUsers total median p90 topCourses { courseId total } series(granularity: WEEK) { start elapsed } } } }`,
	}
	for _, cache := range []int64{0, 256 << 20} {
		reads := "rollups"
		if cache > 0 {
			reads = "rollups-cached"
		}
		svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: src, Rollups: comp, RollupCacheBytes: cache,
			Roster: src.Roster(), Grades: src.Directory(), Now: func() int64 { return seed.DefaultEnd }})
		if err != nil {
			b.Fatal(err)
		}
		h, err := resolvers.NewHandler(resolvers.Config{Service: svc, Directory: src.Directory(),
			Authenticate: func(context.Context, string) (aggregation.Scopes, error) { return scopes, nil }})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(h)
		for _, name := range []string{"by-total", "stats", "site"} {
			body, _ := json.Marshal(map[string]any{"query": queries[name]})
			call := func() {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", strings.NewReader(string(body)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer bench")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || strings.Contains(string(raw), `"errors"`) ||
					(name == "by-total" && !strings.Contains(string(raw), `"totalCount":1001`)) { // 1 000 learners and their teacher
					b.Fatalf("%d %.300s", resp.StatusCode, raw)
				}
			}
			b.Run(fmt.Sprintf("%s/reads=%s", name, reads), func(b *testing.B) {
				if cache > 0 {
					call()
				}
				for b.Loop() {
					call()
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/answer")
			})
		}
		srv.Close()
	}
}
