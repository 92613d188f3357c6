package moodle_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// syntheticLog writes n log rows: users take turns in blocks of events
// spaced 30–300 s apart, each a course view or a view of one of 40 course
// modules of course 2, ids in time order like a real site.
func syntheticLog(users int, n int64) func(ctx context.Context, w *seed.Writer) error {
	return func(ctx context.Context, w *seed.Writer) error {
		mod := seed.Defaults[seed.Module]()
		mod.ID, mod.Name = 1, "page"
		if err := w.Add(ctx, mod); err != nil {
			return err
		}
		for cm := int64(1); cm <= 40; cm++ {
			r := seed.Defaults[seed.CourseModule]()
			r.ID, r.Course, r.Module, r.Instance, r.Section = cm, 2, 1, cm, 10+cm%5
			if err := w.Add(ctx, r); err != nil {
				return err
			}
		}
		t := int64(1_700_000_000)
		for id := int64(1); id <= n; id++ {
			r := seed.Defaults[seed.Log]()
			r.ID, r.TimeCreated = id, t
			r.UserID = 3 + (id/50)%int64(users)
			r.CourseID = seed.Some(int64(2))
			r.CRUD, r.EduLevel, r.Origin, r.IP = "r", 2, seed.Some("web"), seed.Some("192.0.2.1")
			if id%4 == 0 {
				r.EventName, r.Component, r.Action, r.Target = `\core\event\course_viewed`, "core", "viewed", "course"
				r.ContextID, r.ContextLevel, r.ContextInstanceID = 52, 50, 2
			} else {
				cm := 1 + id%40
				r.EventName, r.Component, r.Action, r.Target = `\mod_page\event\course_module_viewed`, "mod_page", "viewed", "course_module"
				r.ContextID, r.ContextLevel, r.ContextInstanceID = 1000+cm, 70, cm
			}
			if err := w.Add(ctx, r); err != nil {
				return err
			}
			t += 30 + id%271
		}
		return nil
	}
}

// Streaming is bounded: a 1 M-row scan of the whole log (all users) keeps
// the heap flat, sampled every 10 000 rows. Runs on PostgreSQL when its URL
// is set (COPY loads the rows in seconds), else on SQLite.
func TestScanFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 M rows")
	}
	const rows = 1_000_000
	es := engines(t)
	e := es[0]
	for _, x := range es {
		if x.name == "postgres" {
			e = x
		}
	}
	withFixture(t, e, syntheticLog(1000, rows), func(t *testing.T, src *moodle.Source) {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var n int64
		var peakEarly, peak uint64
		_, err := src.ScanLog(context.Background(), 0, func(ev *aggregation.Event) bool {
			n++
			if n%10_000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				if n <= 100_000 {
					peakEarly = peak
				}
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != rows {
			t.Fatalf("scanned %d rows, want %d", n, rows)
		}
		t.Logf("%s: heap base %.1f MB, peak over the first 100k rows %.1f MB, over 1M rows %.1f MB",
			e.name, mb(base), mb(peakEarly), mb(peak))
		if peak > base+64<<20 {
			t.Errorf("heap grew by %.1f MB while scanning", mb(peak-base))
		}
		if peak > peakEarly+16<<20 {
			t.Errorf("heap keeps growing with the rows read: %.1f MB after 100k rows, %.1f MB after 1M", mb(peakEarly), mb(peak))
		}
	})
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// withFixture is forEachEngine for one engine.
func withFixture(t *testing.T, e engine, fill func(context.Context, *seed.Writer) error, f func(*testing.T, *moodle.Source)) {
	t.Helper()
	ctx := context.Background()
	db, prefix, cleanup := newSchema(t, e.url)
	defer cleanup()
	w := seed.NewWriter(db, prefix)
	start := time.Now()
	if err := fill(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := seed.Analyze(ctx, db, prefix); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: fixture written in %s", e.name, time.Since(start).Round(time.Millisecond))
	src, err := moodle.Open(ctx, e.url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	f(t, src)
}

// Rows streamed per second from each engine: the whole log by id, and one
// user's window in (timecreated, id) order with module resolution.
// Set USESTATS_BENCH_ROWS to change the size (default 500 000).
func BenchmarkStream(b *testing.B) {
	n := int64(500_000)
	if v := os.Getenv("USESTATS_BENCH_ROWS"); v != "" {
		fmt.Sscan(v, &n)
	}
	for _, e := range benchEngines(b) {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			db, prefix, cleanup := newSchema(b, e.url)
			defer cleanup()
			w := seed.NewWriter(db, prefix)
			if err := syntheticLog(10, n)(ctx, w); err != nil {
				b.Fatal(err)
			}
			if err := w.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			if err := seed.Analyze(ctx, db, prefix); err != nil {
				b.Fatal(err)
			}
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			b.Run("scan", func(b *testing.B) {
				var rows int64
				for i := 0; i < b.N; i++ {
					if _, err := src.ScanLog(ctx, 0, func(*aggregation.Event) bool { rows++; return true }); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			})
			b.Run("user", func(b *testing.B) {
				var rows int64
				for i := 0; i < b.N; i++ {
					if err := src.UserEvents(ctx, 3, 0, 1<<62, func(*aggregation.Event) bool { rows++; return true }); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
			})
		})
	}
}

func benchEngines(b *testing.B) []engine {
	var out []engine
	for _, e := range []struct{ name, env string }{{"postgres", "USESTATS_TEST_POSTGRES"}, {"mariadb", "USESTATS_TEST_MYSQL"}} {
		if url := os.Getenv(e.env); url != "" {
			out = append(out, engine{e.name, url})
		}
	}
	out = append(out, engine{"sqlite", "sqlite://" + b.TempDir() + "/bench.db"})
	return out
}
