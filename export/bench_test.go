package export_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/export"
	"github.com/usestats/usestats/internal/directorytest"
)

// userLog is an in-memory log indexed by user, so that the benchmark
// measures the export and the service, not a scan of one slice.
type userLog map[int64][]aggregation.Event

func (l userLog) UserEvents(ctx context.Context, id, from, to int64, fn func(*aggregation.Event) bool) error {
	return l.UsersEvents(ctx, []int64{id}, from, to, fn)
}

func (l userLog) UsersEvents(ctx context.Context, ids []int64, from, to int64, fn func(*aggregation.Event) bool) error {
	for _, id := range ids {
		evs := l[id]
		for i := range evs {
			if evs[i].Time >= from && evs[i].Time <= to && !fn(&evs[i]) {
				return nil
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// heapWriter discards what it is given; with gc set it collects garbage
// every 64 KiB and keeps the largest heap then live.
type heapWriter struct {
	gc      bool
	n, next int
	peak    uint64
}

func (w *heapWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.gc && w.n >= w.next {
		w.next = w.n + 64<<10
		w.peak = max(w.peak, liveHeap())
	}
	return len(p), nil
}

// liveHeap collects garbage and returns the heap then allocated.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchSite is a site of n users, each with a login and 4–15 course
// views over one day.
func benchSite(b *testing.B, n int) *export.Exporter {
	b.Helper()
	dir := directorytest.New()
	log := userLog{}
	for id := int64(2); id < int64(n)+2; id++ {
		dir.AddUsers(aggregation.UserInfo{ID: id, Username: fmt.Sprintf("user%06d", id), FirstName: "First", LastName: fmt.Sprintf("Last%d", id%997)})
		start := T0 + (id%60)*86400
		evs := []aggregation.Event{{ID: id * 100, UserID: id, Time: start, ContextID: 1, ContextLevel: aggregation.ContextSystem,
			Action: "loggedin", Target: "user", EventName: `\core\event\user_loggedin`, Origin: "web"}}
		for k := range id%12 + 4 {
			course := 2 + id%5
			evs = append(evs, aggregation.Event{ID: id*100 + k + 1, UserID: id, Time: start + (k+1)*(id%7+1)*60, CourseID: course,
				ContextID: 50 + course, ContextLevel: aggregation.ContextCourse, ContextInstanceID: course,
				Action: "viewed", Target: "course", EventName: `\core\event\course_viewed`, Origin: "web"})
		}
		log[id] = evs
	}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: log, Roster: dir, Now: func() int64 { return far }})
	if err != nil {
		b.Fatal(err)
	}
	ex, err := export.New(export.Config{Service: svc, Directory: dir, Now: func() int64 { return far }})
	if err != nil {
		b.Fatal(err)
	}
	return ex
}

// BenchmarkExportUsersCSV exports the site's users as CSV from an
// in-memory service (the log read, every user's time, the rows): rows/s,
// the live heap of the site itself (directory and log) and the most the
// export added to it (after the timed runs, one more export collects
// garbage every 64 KiB of output and keeps the largest live heap, less
// the site's), in id order (streamed a batch at a time)
// and by total (a small row held for every user). Target: ≥ 20 000
// rows/s at 10 000 users; in id order, the export's heap the same
// whatever the number of users.
//
//	go test -run '^$' -bench ExportUsersCSV -benchtime 5x ./export
func BenchmarkExportUsersCSV(b *testing.B) {
	for _, n := range []int{2500, 10000} {
		ex := benchSite(b, n)
		for _, order := range []string{"id_asc", "total_desc"} {
			b.Run(fmt.Sprintf("users=%d/%s", n, order), func(b *testing.B) {
				req, err := ex.Parse(export.Users, 0, export.CSV, map[string][]string{"orderBy": {order}})
				if err != nil {
					b.Fatal(err)
				}
				w := &heapWriter{}
				b.ResetTimer()
				for range b.N {
					if err := ex.Write(context.Background(), req, w); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
				base := liveHeap()
				w = &heapWriter{gc: true}
				if err := ex.Write(context.Background(), req, w); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(base)/(1<<20), "site-heap-MB")
				b.ReportMetric(float64(max(w.peak, base)-base)/(1<<20), "export-heap-MB")
			})
		}
	}
}
