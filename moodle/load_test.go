package moodle_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
)

// 100 clients reading logs at once through a pool of 4 connections, on a
// cold course-module cache (every stream resolves course modules on a
// second connection): all of them finish with every user's events, and on
// PostgreSQL the server never sees more than 4 sessions with our
// application_name (pg_stat_activity, counted from a separate connection).
func TestConcurrentReadsBoundedPool(t *testing.T) {
	const bound, clients, users = 4, 100, 10
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			withFixture(t, e, syntheticLog(users, 20_000), func(t *testing.T, fixture *moodle.Source) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				want := map[int64]int{}
				for u := int64(3); u < 3+users; u++ {
					if err := fixture.UserEvents(ctx, u, 0, 1<<40, func(*aggregation.Event) bool { want[u]++; return true }); err != nil {
						t.Fatal(err)
					}
				}
				app := fmt.Sprintf("usestats-loadtest-%d", rand.Uint32())
				src, err := moodle.OpenWith(ctx, e.url, fixture.Prefix(), moodle.Options{MaxConns: bound, AppName: app})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()

				var (
					wg     sync.WaitGroup
					mu     sync.Mutex
					errs   []error
					done   = make(chan struct{})
					most   int
					sample func() int
				)
				if src.DB().Kind == dbconn.Postgres {
					admin, err := dbconn.Open(ctx, e.url, dbconn.Options{MaxOpenConns: 1})
					if err != nil {
						t.Fatal(err)
					}
					defer admin.Close()
					sample = func() int {
						var n int
						if err := admin.QueryRowContext(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE application_name = ?", app).Scan(&n); err != nil {
							t.Error(err)
						}
						return n
					}
				}
				for i := range clients {
					wg.Go(func() {
						u := int64(3 + i%users)
						n := 0
						err := src.UserEvents(ctx, u, 0, 1<<40, func(*aggregation.Event) bool { n++; return true })
						if err == nil && n != want[u] {
							err = fmt.Errorf("user %d: %d events, want %d", u, n, want[u])
						}
						if err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
					})
				}
				go func() { wg.Wait(); close(done) }()
				for running := sample != nil; running; {
					select {
					case <-done:
						running = false
					default:
						most = max(most, sample())
					}
				}
				<-done
				if len(errs) > 0 {
					t.Fatalf("%d of %d clients failed, the first: %v", len(errs), clients, errs[0])
				}
				if st := src.DB().Stats(); st.MaxOpenConnections != bound || st.MaxIdleClosed != 0 {
					t.Errorf("pool after the load: %+v", st)
				}
				if sample != nil {
					t.Logf("at most %d sessions named %s", most, app)
					if most < 1 || most > bound {
						t.Errorf("PostgreSQL saw up to %d of our sessions, want 1…%d", most, bound)
					}
				}
			})
		})
	}
}

// Scans of every user's log hold their place in the pool like streams:
// four at once through two connections, on a cold course-module cache,
// all finish instead of each waiting for the other's connection.
func TestConcurrentScansBoundedPool(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			withFixture(t, e, syntheticLog(6, 5_000), func(t *testing.T, fixture *moodle.Source) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				src, err := moodle.OpenWith(ctx, e.url, fixture.Prefix(), moodle.Options{MaxConns: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				var wg sync.WaitGroup
				counts := make([]int, 4)
				errs := make([]error, 4)
				for i := range counts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = src.ScanUsers(ctx, 0, 1<<40, 1<<40, aggregation.RowFilter{}, func(*aggregation.Event) bool { counts[i]++; return true })
					}()
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil || counts[i] == 0 || counts[i] != counts[0] {
						t.Fatalf("scan %d: %d events, %v (scan 0: %d)", i, counts[i], err, counts[0])
					}
				}
			})
		})
	}
}
