package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// The rollup benchmarks run on a PostgreSQL Moodle database of at least
// 1.5 M log rows (300 learners over 500 days), created once in the
// database usestats_bench_1m5 of the server of USESTATS_TEST_POSTGRES and
// kept for later runs (seeding it takes a few minutes).
const (
	benchDB   = "usestats_bench_1m5"
	benchRows = 1_500_000
)

// benchMoodle returns the URL of the benchmark's Moodle database, seeding
// it when it is missing or short.
func benchMoodle(b *testing.B) string {
	b.Helper()
	admin := os.Getenv("USESTATS_TEST_POSTGRES")
	if admin == "" {
		b.Skip("USESTATS_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	u, _ := url.Parse(admin)
	u.Path = "/" + benchDB
	dsn := u.String()
	db, err := dbconn.Open(ctx, admin, dbconn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int
	_ = db.NewRaw("SELECT count(*) FROM pg_database WHERE datname = ?", benchDB).Scan(ctx, &n)
	if n == 0 {
		if _, err := db.ExecContext(ctx, "CREATE DATABASE ?", bun.Ident(benchDB)); err != nil {
			b.Fatal(err)
		}
	}
	mdb, err := dbconn.Open(ctx, dsn, dbconn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer mdb.Close()
	var rows int64
	if err := mdb.NewRaw("SELECT count(*) FROM mdl_logstore_standard_log").Scan(ctx, &rows); err != nil || rows < benchRows {
		b.Logf("seeding %s (%d rows): a few minutes, once", benchDB, benchRows)
		if _, err := seed.Seed(ctx, mdb, seed.Options{Seed: 1, Users: 300, Days: 500, MaxRows: benchRows + 50_000, Reset: true}); err != nil {
			b.Fatal(err)
		}
	}
	return dsn
}

// BenchmarkCompileFresh compiles the whole 1.5 M-row log into a fresh
// store (PostgreSQL and SQLite), end to end through the binary, and
// reports events/s and the compile's peak RSS.
func BenchmarkCompileFresh(b *testing.B) {
	dsn := benchMoodle(b)
	bin := buildBinaryB(b)
	for _, kind := range []string{"postgres", "sqlite"} {
		b.Run("store="+kind, func(b *testing.B) {
			var rows, rss int64
			for b.Loop() {
				b.StopTimer()
				st := storeForB(b, kind)
				b.StartTimer()
				out, usage := runCompileB(b, bin, dsn, st)
				rows += freshRows(out)
				rss = max(rss, usage.Maxrss)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(rss)/1024, "MB-RSS")
		})
	}
}

// BenchmarkCompileIncremental10k appends 10 000 rows to the compiled log
// (at the current time, spread over 50 users) and times the pass that
// compiles them.
func BenchmarkCompileIncremental10k(b *testing.B) {
	dsn := benchMoodle(b)
	bin := buildBinaryB(b)
	ctx := context.Background()
	db, err := dbconn.Open(ctx, dsn, dbconn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "DELETE FROM mdl_logstore_standard_log WHERE id > ?", int64(1<<40)); err != nil {
		b.Fatal(err)
	}
	st := storeForB(b, "postgres")
	runCompileB(b, bin, dsn, st)
	// The appended rows go at the end (before db closes), and any a killed
	// run left behind go first.
	removeAppended := func() {
		if _, err := db.ExecContext(context.Background(), "DELETE FROM mdl_logstore_standard_log WHERE id > ?", int64(1<<40)); err != nil {
			b.Error(err)
		}
	}
	defer removeAppended()
	round := int64(0)
	for b.Loop() {
		b.StopTimer()
		round++
		now := time.Now().Unix()
		// 10 000 copies of recent rows of 50 users, under ids far above the
		// seeded ones (removed at the end), 2 s apart per user.
		q := `INSERT INTO mdl_logstore_standard_log (id, eventname, component, action, target, objecttable, objectid, crud, edulevel,
		  contextid, contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other, timecreated, origin, ip, realuserid)
		  SELECT ? + row_number() OVER (), eventname, component, action, target, objecttable, objectid, crud, edulevel,
		  contextid, contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other,
		  ? - 7200 + (row_number() OVER (PARTITION BY userid)) * 2, origin, ip, realuserid
		  FROM (SELECT * FROM mdl_logstore_standard_log WHERE userid IN (SELECT DISTINCT userid FROM mdl_logstore_standard_log WHERE userid > 2 ORDER BY userid LIMIT 50)
		        AND id < ? ORDER BY id DESC LIMIT 10000) r`
		if _, err := db.ExecContext(ctx, q, int64(1<<40)+round*100_000, now, int64(1<<40)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		out, _ := runCompileB(b, bin, dsn, st)
		if !strings.Contains(out, "incremental pass, 10000 rows read") {
			b.Fatalf("the pass did not read the 10 000 new rows:\n%s", out)
		}
	}
}

// BenchmarkGraphQLRollups serves GraphQL from the compiled 1.5 M-row log
// and, after asking every user once (cold-ms: the mean of those first
// answers), offers 100 and 1 000 requests/s from up to 100 concurrent
// clients (open loop, vegeta) for 10 s: one user's year at module scope, from the
// rollups (2025) or with today's live tail (the last 365 days), 300
// users in turn. It reports p50/p99 and the most connections the service
// held on the Moodle database (pg_stat_activity) against the bound of 4.
func BenchmarkGraphQLRollups(b *testing.B) {
	dsn := benchMoodle(b)
	ctx := context.Background()
	stURL := storeForB(b, "postgres")
	runCompileB(b, buildBinaryB(b), dsn, stURL)
	src, err := moodle.OpenWith(ctx, dsn, "", moodle.Options{MaxConns: 4, AppName: "usestats-bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	st, err := openStore(ctx, stURL)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	token, err := benchToken(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: src, Rollups: st, Workers: 2, RollupCacheBytes: 256 << 20, CacheTTL: defaultCacheTTL}) // serve's defaults
	if err != nil {
		b.Fatal(err)
	}
	srv := benchGraphQL(b, svc, src.Directory(), st, time.Minute)
	defer srv.Close()
	now := time.Now()
	windows := map[string][2]string{
		"year-2025":     {"2025-01-01", "2025-12-31"},
		"last-365-days": {now.AddDate(-1, 0, 0).Format(time.DateOnly), now.Format(time.DateOnly)},
	}
	for name, win := range windows {
		for _, rate := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/rate=%d", name, rate), func(b *testing.B) {
				query := `query($u: String!) { user(by: {username: $u}) { stats(range: {from: "` + win[0] + `", to: "` + win[1] + `"}, scope: MODULE) {
			  source total events courses { total courseTime activityTime otherTime modules { cmid name type elapsed events } sections { elapsed } } sessionSummary { count mean } } } }`
				var i atomic.Int64
				targeter := func(t *vegeta.Target) error {
					n := i.Add(1)
					body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"u": fmt.Sprintf("learner%04d", 1+n%300)}})
					*t = vegeta.Target{Method: "POST", URL: srv.URL + "/graphql", Body: body,
						Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}}}
					return nil
				}
				peak := watchMoodleConns(b, dsn, "usestats-bench")
				// Every user asked once first (untimed by the attack): the
				// serving cache then holds their days, as it does on a
				// site in use. The mean of these first answers is the
				// cold latency.
				cold := warmUp(b, srv.URL, token, query, 300)
				for b.Loop() {
					var m vegeta.Metrics
					atk := vegeta.NewAttacker(vegeta.Workers(100), vegeta.MaxWorkers(100), vegeta.KeepAlive(true))
					var sample []byte
					for res := range atk.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, 10*time.Second, name) {
						if res.Code != 200 || bytes.Contains(res.Body, []byte(`"errors"`)) {
							b.Fatalf("request failed: %d %s %.300s", res.Code, res.Error, res.Body)
						}
						if sample == nil {
							sample = res.Body
						}
						m.Add(res)
					}
					m.Close()
					b.ReportMetric(float64(m.Latencies.P50.Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(m.Latencies.P99.Microseconds())/1000, "p99-ms")
					b.ReportMetric(m.Throughput, "req/s")
					b.ReportMetric(m.Success*100, "%ok")
					b.Logf("%s: %s", name, sourceOf(sample))
				}
				b.ReportMetric(float64(peak()), "moodle-conns")
				b.ReportMetric(float64(cold.Microseconds())/1000, "cold-ms")
			})
		}
	}
}

// warmUp asks the query for learner0001…learnerNNNN once each, one at a
// time, and returns the mean latency.
func warmUp(b *testing.B, base, token, query string, users int) time.Duration {
	b.Helper()
	start := time.Now()
	for n := 1; n <= users; n++ {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"u": fmt.Sprintf("learner%04d", n)}})
		req, _ := http.NewRequest("POST", base+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || bytes.Contains(raw, []byte(`"errors"`)) {
			b.Fatalf("warm-up: %d %.300s", resp.StatusCode, raw)
		}
	}
	return time.Since(start) / time.Duration(users)
}

// sourceOf reads the source field of a stats answer.
func sourceOf(body []byte) string {
	if i := bytes.Index(body, []byte(`"source":"`)); i >= 0 {
		rest := body[i+10:]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			return "source " + string(rest[:j])
		}
	}
	return "no source"
}

// watchMoodleConns polls pg_stat_activity for the sessions of the
// application on the database until the benchmark ends and returns the
// peak it saw.
func watchMoodleConns(b *testing.B, dsn, app string) func() int {
	ctx, cancel := context.WithCancel(context.Background())
	db, err := dbconn.Open(ctx, dsn, dbconn.Options{AppName: "usestats-watch"})
	if err != nil {
		b.Fatal(err)
	}
	var peak atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			var n int64
			if err := db.NewRaw("SELECT count(*) FROM pg_stat_activity WHERE application_name = ? AND datname = current_database()", app).Scan(ctx, &n); err == nil {
				peak.Store(max(peak.Load(), n))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var once sync.Once
	stop := func() int {
		once.Do(func() { cancel(); wg.Wait(); db.Close() })
		return int(peak.Load())
	}
	b.Cleanup(func() { stop() })
	return stop
}

// buildBinaryB compiles usestats for a benchmark.
func buildBinaryB(b *testing.B) string {
	b.Helper()
	bin := b.TempDir() + "/usestats"
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// storeForB returns a fresh store: a PostgreSQL schema or a SQLite file.
func storeForB(b *testing.B, kind string) string {
	if kind == "postgres" {
		return pgSchema(b, os.Getenv("USESTATS_TEST_POSTGRES"))
	}
	return "sqlite://" + b.TempDir() + "/store.db"
}

// runCompileB runs one compile pass and returns its output and resource
// usage.
func runCompileB(b *testing.B, bin, moodleURL, storeURL string) (string, *syscall.Rusage) {
	cmd := exec.Command(bin, "compile", "--moodle", moodleURL, "--store", storeURL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("compile: %v\n%s", err, out.String())
	}
	return out.String(), cmd.ProcessState.SysUsage().(*syscall.Rusage)
}

// freshRows reads the rows of the fresh pass from a compile's output.
func freshRows(out string) int64 { return int64(countFreshRows(out)) }
