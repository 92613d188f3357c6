package moodle_test

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// benchSiteMarker is the table a cached benchmark site gets once it is
// completely seeded, naming the seed options and the log rows: a site
// without it, or seeded with other options, is seeded again from scratch.
const benchSiteMarker = "usestats_bench_seeded"

// benchSite returns the URL and log size of a Moodle site seeded with opt
// (default prefix), seeding it once and reusing it afterwards. On
// PostgreSQL it lives in its own database (name, created next to the test
// database of baseURL); on SQLite in a file of the user cache directory.
// 300 learners over 500 days give 1.53 M log rows (the database
// cmd/usestats' rollup benchmarks use too).
func benchSite(b *testing.B, kind, baseURL, name string, opt seed.Options) (string, int64) {
	b.Helper()
	ctx := context.Background()
	var siteURL string
	switch kind {
	case "postgres":
		u, err := url.Parse(baseURL)
		if err != nil {
			b.Fatal(err)
		}
		admin, err := dbconn.Open(ctx, baseURL, dbconn.Options{})
		if err != nil {
			b.Fatal(err)
		}
		var n int
		if err := admin.NewSelect().ColumnExpr("count(*)").TableExpr("pg_database").Where("datname = ?", name).Scan(ctx, &n); err != nil {
			admin.Close()
			b.Fatal(err)
		}
		if n == 0 {
			if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
				admin.Close()
				b.Fatal(err)
			}
		}
		admin.Close()
		u.Path = "/" + name
		siteURL = u.String()
	case "sqlite":
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		dir = filepath.Join(dir, "usestats")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		siteURL = "sqlite://" + filepath.Join(dir, name+".db")
	default:
		b.Fatalf("no cached benchmark site on %s", kind)
	}
	db, err := dbconn.Open(ctx, siteURL, dbconn.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	spec := fmt.Sprintf("seed %d, %d learners, %d days", opt.Seed, opt.Users, opt.Days)
	var (
		rows int64
		was  string
	)
	err = db.NewSelect().ColumnExpr("rows, spec").TableExpr(benchSiteMarker).Scan(ctx, &rows, &was)
	if err == nil && rows > 0 && was == spec {
		// Other benchmarks share the database and may append rows.
		var now int64
		if err := db.NewSelect().ColumnExpr("count(*)").TableExpr("mdl_logstore_standard_log").Scan(ctx, &now); err == nil && now >= rows {
			b.Logf("%s: reusing %s (%s: %d log rows)", kind, db.Redacted, spec, now)
			return siteURL, now
		}
	}
	b.Logf("%s: seeding %s with %s (once; later runs reuse it)", kind, db.Redacted, spec)
	start := time.Now()
	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+benchSiteMarker); err != nil {
		b.Fatal(err)
	}
	opt.Reset = true
	st, err := seed.Seed(ctx, db, opt)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+benchSiteMarker+" (rows BIGINT NOT NULL, spec VARCHAR(200) NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	if _, err := db.NewInsert().Model(&map[string]any{"rows": st.LogRows, "spec": spec}).TableExpr(benchSiteMarker).Exec(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d log rows seeded in %s", kind, st.LogRows, time.Since(start).Round(time.Second))
	return siteURL, st.LogRows
}

// BenchmarkScanUsers reads a whole seeded log, all users in one call, and
// reports events/s (events handed to the callback per second) and rows/s
// (log rows covered per second): ScanUsers with the usestats policy's row
// filter and with a filter that keeps every row (on PostgreSQL through
// COPY and through database/sql), ScanUsers feeding the time engine and an
// accumulator user by user, a fresh compile into an in-memory store (one
// shard and the compiler's default 32), and the full-column UsersEvents. PostgreSQL (USESTATS_TEST_POSTGRES): a cached
// database usestats_bench_1m5 of about 1.53 M rows; SQLite: a cached file
// of about 270 k rows.
func BenchmarkScanUsers(b *testing.B) {
	type site struct {
		name, url string
		rows      int64
	}
	var sites []site
	if u := os.Getenv("USESTATS_TEST_POSTGRES"); u != "" {
		pgURL, rows := benchSite(b, "postgres", u, "usestats_bench_1m5", seed.Options{Seed: 1, Users: 300, Days: 500})
		sites = append(sites, site{"postgres", pgURL, rows})
	}
	liteURL, rows := benchSite(b, "sqlite", "", "usestats_bench_270k", seed.Options{Seed: 1, Users: 60, Days: 480})
	sites = append(sites, site{"sqlite", liteURL, rows})
	for _, st := range sites {
		b.Run(st.name, func(b *testing.B) {
			ctx := context.Background()
			src, err := moodle.Open(ctx, st.url, "")
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			maxID, err := src.MaxLogID(ctx)
			if err != nil {
				b.Fatal(err)
			}
			lo, hi, err := src.UserBounds(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p, _ := aggregation.Preset(aggregation.DefaultPolicy)
			all := aggregation.RowFilter{SiteRows: aggregation.SiteAll}
			paths := []struct {
				name string
				rows bool // database/sql instead of COPY
			}{{"copy", false}}
			if st.name == "postgres" {
				paths = append(paths, struct {
					name string
					rows bool
				}{"sql", true})
			}
			report := func(b *testing.B, events int64) {
				b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(st.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(events)/float64(b.N), "events/op")
			}
			for _, path := range paths {
				for _, f := range []struct {
					name string
					f    aggregation.RowFilter
				}{{"usestats", p.RowFilter()}, {"all", all}} {
					name := "ScanUsers/" + f.name
					if st.name == "postgres" {
						name += "/" + path.name
					}
					b.Run(name, func(b *testing.B) {
						defer moodle.ScanWithoutCopy(src, moodle.ScanWithoutCopy(src, path.rows))
						var events int64
						for b.Loop() {
							if err := src.ScanUsers(ctx, lo, hi+1, maxID, f.f, func(*aggregation.Event) bool { events++; return true }); err != nil {
								b.Fatal(err)
							}
						}
						report(b, events)
					})
				}
			}
			b.Run("ScanUsers/usestats/32-shards", func(b *testing.B) {
				// The compiler's default split: 32 ranges of user ids, one
				// query each.
				size := (hi - lo + 32) / 32
				var events int64
				for b.Loop() {
					for a := lo; a <= hi; a += size {
						if err := src.ScanUsers(ctx, a, min(a+size, hi+1), maxID, p.RowFilter(), func(*aggregation.Event) bool { events++; return true }); err != nil {
							b.Fatal(err)
						}
					}
				}
				report(b, events)
			})
			b.Run("ScanUsers+engine/usestats", func(b *testing.B) {
				acc := aggregation.NewAccumulator(nil)
				w := aggregation.Window{From: math.MinInt64, To: math.MaxInt64 - 1}
				var events int64
				for b.Loop() {
					var eng *aggregation.Engine
					user := int64(-1)
					err := src.ScanUsers(ctx, lo, hi+1, maxID, p.RowFilter(), func(ev *aggregation.Event) bool {
						events++
						if ev.UserID != user {
							if eng != nil {
								eng.Flush(seed.DefaultEnd)
							}
							acc.Reset()
							if eng, err = aggregation.NewEngine(p, w, acc); err != nil {
								return false
							}
							user = ev.UserID
						}
						err = eng.Push(ev)
						return err == nil
					})
					if err != nil {
						b.Fatal(err)
					}
					eng.Flush(seed.DefaultEnd)
				}
				report(b, events)
			})
			for _, shards := range []int{1, 32} {
				// A fresh compile into an in-memory store: the read, the
				// engine and the rollups, without a database store.
				b.Run(fmt.Sprintf("Compile/memstore/%d-shards", shards), func(b *testing.B) {
					var events int64
					for b.Loop() {
						c := &aggregation.Compiler{Logs: src, Store: rolluptest.NewMemStore(), Policy: p, Shards: shards,
							Now: func() int64 { return seed.DefaultEnd + 86400 }}
						st, err := c.Run(ctx)
						if err != nil {
							b.Fatal(err)
						}
						events += st.Rows
					}
					report(b, events)
				})
			}
			b.Run("UsersEvents", func(b *testing.B) {
				var users []int64
				for u := lo; u <= hi; u++ {
					users = append(users, u)
				}
				var events int64
				for b.Loop() {
					if err := src.UsersEvents(ctx, users, 0, 1<<62, func(*aggregation.Event) bool { events++; return true }); err != nil {
						b.Fatal(err)
					}
				}
				report(b, events)
			})
		})
	}
}
