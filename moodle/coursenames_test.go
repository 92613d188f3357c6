package moodle_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
)

// queryCounter counts the statements of a database; the ones that read a
// course's modules by course wait for slow first.
type queryCounter struct {
	all, byCourse atomic.Int64
	slow          time.Duration
}

func (c *queryCounter) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	c.all.Add(1)
	if strings.Contains(e.Query, "course_modules") && strings.Contains(e.Query, "cm.course =") {
		c.byCourse.Add(1)
		time.Sleep(c.slow)
	}
	return ctx
}

func (c *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// countedDB opens the engine read-only with a queryCounter on its
// statements; the test's cleanup closes it.
func countedDB(t *testing.T, url string) (*dbconn.DB, *queryCounter) {
	t.Helper()
	rdb, err := dbconn.Open(context.Background(), url, dbconn.Options{ReadOnly: true, MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	qc := &queryCounter{}
	rdb.DB = rdb.WithQueryHook(qc)
	return rdb, qc
}

// A module description not cached brings in its whole course: the other
// modules of that course are then answered without a query, another
// course's are read. Concurrent requests missing the same course share
// one read of it.
func TestDirectoryModulesByCourse(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			_, prefix, cleanup := filledSchema(t, e.url, fillDirectory)
			defer cleanup()
			rdb, qc := countedDB(t, e.url)
			src, err := moodle.New(ctx, rdb, prefix)
			if err != nil {
				t.Fatal(err)
			}
			d := src.Directory()
			ms, err := d.Modules(ctx, []int64{102})
			if err != nil || ms[102].Name != "Quiz one" || ms[102].CourseID != 5 {
				t.Fatalf("Modules(102) = %+v, %v", ms, err)
			}
			before := qc.all.Load()
			ms, err = d.Modules(ctx, []int64{101, 103, 102})
			if err != nil || len(ms) != 3 || ms[101].Name != "Reading one" || ms[101].Type != "page" || ms[103].Type != "learningtimecheck" {
				t.Fatalf("Modules(101, 103, 102) = %+v, %v", ms, err)
			}
			if n := qc.all.Load() - before; n != 0 {
				t.Errorf("%d queries for modules of a course already read, want 0", n)
			}
			ms, err = d.Modules(ctx, []int64{201, 999})
			if err != nil || len(ms) != 1 || ms[201].Name != "Café forum" {
				t.Fatalf("Modules(201, 999) = %+v, %v", ms, err)
			}
			if n := qc.byCourse.Load(); n != 2 {
				t.Errorf("%d reads of a course's modules for two courses, want 2", n)
			}
			before = qc.all.Load()
			if ms, err := d.Modules(ctx, []int64{999}); err != nil || len(ms) != 0 {
				t.Errorf("Modules(999) = %+v, %v", ms, err)
			}
			if n := qc.all.Load() - before; n != 0 {
				t.Errorf("%d queries for a missing module already looked up, want 0", n)
			}

			// Twenty requests at once on a fresh source: one read of course 5.
			src2, err := moodle.New(ctx, rdb, prefix)
			if err != nil {
				t.Fatal(err)
			}
			qc.byCourse.Store(0)
			qc.slow = 300 * time.Millisecond
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Go(func() {
					ms, err := src2.Directory().Modules(ctx, []int64{101})
					if err == nil && ms[101].Name != "Reading one" {
						err = fmt.Errorf("got %+v", ms)
					}
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			if n := qc.byCourse.Load(); n != 1 {
				t.Errorf("20 concurrent requests read course 5's modules %d times, want 1", n)
			}

			// A caller that gives up stops waiting; the read goes on for the others.
			src3, err := moodle.New(ctx, rdb, prefix)
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			if _, err := src3.Directory().Modules(cctx, []int64{101}); err == nil {
				t.Error("a request past its deadline got an answer while the read was held up")
			}
			if ms, err := src3.Directory().Modules(ctx, []int64{101}); err != nil || ms[101].Name != "Reading one" {
				t.Errorf("after a caller gave up: Modules(101) = %+v, %v", ms, err)
			}
		})
	}
}
