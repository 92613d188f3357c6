package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/resolvers"
	"github.com/usestats/usestats/seed"
	"github.com/usestats/usestats/store"
)

// BenchmarkGraphQLLoad measures the GraphQL service on the demo data (the
// database `serve` creates: 300 learners, three months of activity, SQLite)
// with 50 concurrent clients: requests/s and p50/p99 latency for one user's
// year at module scope (50 different users in turn), and for one course's
// first 100 participants with their time in the course.
func BenchmarkGraphQLLoad(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := dbconn.Open(ctx, "sqlite://"+filepath.Join(dir, "demo.db"), dbconn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := seed.Seed(ctx, db, seed.Options{Seed: 1, Users: 300}); err != nil {
		b.Fatal(err)
	}
	db.Close()
	src, err := moodle.Open(ctx, "sqlite://"+filepath.Join(dir, "demo.db"), "")
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	st, err := openStore(ctx, "sqlite://"+filepath.Join(dir, "store.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	token, err := benchToken(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: src})
	if err != nil {
		b.Fatal(err)
	}
	srv := benchGraphQL(b, svc, src.Directory(), st, 5*time.Minute) // measure latency under load, do not cut it
	defer srv.Close()

	const userYear = `query($u: String!) { user(by: {username: $u}) { stats(range: {from: "2025-01-01", to: "2025-12-31"}, scope: MODULE) {
	  total events courses { total courseTime activityTime otherTime modules { cmid name type elapsed events } sections { elapsed } } sessionSummary { count mean } } } }`
	const course100 = `{ course(by: {id: 3}) { participants(first: 100, range: {from: "2025-01-01", to: "2025-12-31"}, scope: COURSE) {
	  edges { node { user { username } stats { total activityTime events } } } } } }`
	b.Run("user-year-module", func(b *testing.B) {
		load(b, srv.URL+"/graphql", token, func(i int) (string, map[string]any) {
			return userYear, map[string]any{"u": fmt.Sprintf("learner%04d", 1+i%50)}
		})
	})
	b.Run("course-100-participants", func(b *testing.B) {
		load(b, srv.URL+"/graphql", token, func(int) (string, map[string]any) { return course100, nil })
	})
}

// benchGraphQL serves GraphQL for a benchmark: the service's answers,
// the store's tokens, a request deadline.
func benchGraphQL(b *testing.B, svc *aggregation.Service, dir aggregation.Directory, st *store.Store, timeout time.Duration) *httptest.Server {
	b.Helper()
	// As serve wires it: look-ups kept for its default --cache-ttl, and
	// its default --max-inflight.
	h, err := resolvers.NewHandler(resolvers.Config{
		Service: svc, Directory: aggregation.NewCachedDirectory(dir, defaultCacheTTL, nil),
		Authenticate: newTokenAuth(st, defaultCacheTTL, nil).check,
		Now:          func() int64 { return time.Now().Unix() },
		Timeout:      timeout,
	})
	if err != nil {
		b.Fatal(err)
	}
	return httptest.NewServer(newInFlight(defaultMaxInFlight, timeout).wrap(h, graphQLSurface, withCredentials))
}

func benchToken(ctx context.Context, st *store.Store) (string, error) {
	scopes, _ := aggregation.ParseScopes("site:read")
	plain, _, err := st.CreateToken(ctx, "bench", scopes, time.Now().Unix())
	return plain, err
}

// load sends b.N requests from 50 concurrent clients and reports requests/s
// and the p50 and p99 latencies. Every response must be a 200 without
// errors.
func load(b *testing.B, url, token string, next func(i int) (string, map[string]any)) {
	const clients = 50
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var (
		n       atomic.Int64
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, b.N)
		failure atomic.Value
		wg      sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(n.Add(1)) - 1
				if i >= b.N {
					return
				}
				q, vars := next(i)
				body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failure.Store(err.Error())
					return
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				if resp.StatusCode != 200 || bytes.Contains(raw, []byte(`"errors"`)) {
					failure.Store(fmt.Sprintf("%d %.300s", resp.StatusCode, raw))
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failure.Load(); f != nil {
		b.Fatalf("request failed: %v", f)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
