package seed

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// BenchmarkSeed measures Seed end to end (generation and bulk load, with
// every index in place) on each available engine, in log rows per second.
// USESTATS_BENCH_ROWS sets the log size (default 200000):
//
//	USESTATS_BENCH_ROWS=1000000 go test -run '^$' -bench Seed -benchtime 1x ./seed
func BenchmarkSeed(b *testing.B) {
	rows := int64(200_000)
	if v := os.Getenv("USESTATS_BENCH_ROWS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("USESTATS_BENCH_ROWS=%q", v)
		}
		rows = n
	}
	ctx := context.Background()
	for _, e := range engines(b) {
		b.Run(e.name, func(b *testing.B) {
			var total int64
			for b.Loop() {
				prefix := testPrefix(b, e.db)
				st, err := Seed(ctx, e.db, Options{Seed: 1, MaxRows: rows, Prefix: prefix})
				if err != nil {
					b.Fatal(err)
				}
				total += st.LogRows
				b.StopTimer()
				if err := DropSchema(ctx, e.db, prefix); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
