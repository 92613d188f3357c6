package moodle_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// sortedSite is a scan site on PostgreSQL, analyzed (the sorted path
// checks the planner's estimates), with what the tests of the sorted path
// read of it.
type sortedSite struct {
	scanSite
	lo, hi, maxID int64 // all users: lo ≤ userid < hi
	rows          int   // log rows
}

// withSortedSite runs f on a scan site on PostgreSQL: the other engines
// have no sorted path.
func withSortedSite(t *testing.T, f func(t *testing.T, s sortedSite)) {
	var pg *engine
	for _, e := range engines(t) {
		if e.name == "postgres" {
			pg = &e
		}
	}
	if pg == nil {
		t.Skip("the sorted scan is PostgreSQL's: set USESTATS_TEST_POSTGRES")
	}
	withScanSiteOn(t, *pg, func(t *testing.T, s scanSite) {
		ctx := context.Background()
		if err := seed.Analyze(ctx, s.db, s.prefix); err != nil {
			t.Fatal(err)
		}
		st := sortedSite{scanSite: s}
		var err error
		if st.maxID, err = s.src.MaxLogID(ctx); err != nil {
			t.Fatal(err)
		}
		if st.lo, st.hi, err = s.src.UserBounds(ctx); err != nil {
			t.Fatal(err)
		}
		st.hi++
		if err := s.db.NewSelect().ColumnExpr("count(*)").TableExpr(s.prefix+"logstore_standard_log").Scan(ctx, &st.rows); err != nil {
			t.Fatal(err)
		}
		if st.rows < 2000 {
			t.Fatalf("%d log rows: too few to test anything", st.rows)
		}
		t.Logf("users %d–%d: %d rows", st.lo, st.hi-1, st.rows)
		f(t, st)
	})
}

// sqlEvents reads the events of the users lo ≤ userid < hi through
// database/sql, in the SQL ORDER BY: what the sorted path must give.
func sqlEvents(t *testing.T, src *moodle.Source, lo, hi, maxID int64, f aggregation.RowFilter) []aggregation.Event {
	t.Helper()
	defer moodle.ScanWithoutCopy(src, moodle.ScanWithoutCopy(src, true))
	var out []aggregation.Event
	if err := src.ScanUsers(context.Background(), lo, hi, maxID, f, func(ev *aggregation.Event) bool { out = append(out, *ev); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameEvents reports the first difference between two event lists.
func sameEvents(got, want []aggregation.Event) error {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Errorf("event %d of %d:\ngot  %+v\nwant %+v", i, len(want), got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d events, want %d", len(got), len(want))
	}
	return nil
}

// The sorted path gives, field by field and in order, the events the
// SQL ORDER BY gives, whatever its buffer: the range sorted in the
// buffer, read in SQL order when estimated too large for it, or when it
// overflows; for several row filters and user ranges.
func TestScanSortedEquivalence(t *testing.T) {
	withSortedSite(t, func(t *testing.T, s sortedSite) {
		ctx := context.Background()
		filters := map[string]aggregation.RowFilter{"all": {SiteRows: aggregation.SiteAll}}
		for _, p := range scanPolicies(t) {
			switch p.Name {
			case aggregation.DefaultPolicy, "keep login-as", "site none", "odd origins", "keep all, per course, logout":
				filters[p.Name] = p.RowFilter()
			}
		}
		cases := []struct {
			name     string
			limit    int
			estimate bool
			want     moodle.ScanStats // for the whole log without filters
		}{
			{"default buffer", 2_000_000, true, moodle.ScanStats{Buffered: true}},
			{"just fits", s.rows, false, moodle.ScanStats{Buffered: true}},
			{"fits, within the estimate's margin", s.rows*8/7 + 10, true, moodle.ScanStats{Buffered: true}},
			{"estimated too large", s.rows, true, moodle.ScanStats{Ordered: true}},
			{"overflows by a row", s.rows - 1, false, moodle.ScanStats{Buffered: true, Overflowed: true, Ordered: true}},
			{"overflows early", s.rows / 3, false, moodle.ScanStats{Buffered: true, Overflowed: true, Ordered: true}},
			{"tiny buffer", 3, true, moodle.ScanStats{Ordered: true}},
			{"tiny buffer, overflowing", 3, false, moodle.ScanStats{Buffered: true, Overflowed: true, Ordered: true}},
		}
		ranges := [][2]int64{{s.lo, s.hi}, {4, 6}, {s.lo, 5}, {6, s.hi + 100}}
		for name, f := range filters {
			for _, r := range ranges {
				want := sqlEvents(t, s.src, r[0], r[1], s.maxID, f)
				for _, c := range cases {
					var got []aggregation.Event
					st, err := moodle.ScanUsersBuffered(ctx, s.src, r[0], r[1], s.maxID, f, c.limit, c.estimate, func(ev *aggregation.Event) bool {
						got = append(got, *ev)
						return true
					})
					if err != nil {
						t.Fatalf("%s, users %d–%d, %s: %v", name, r[0], r[1]-1, c.name, err)
					}
					if err := sameEvents(got, want); err != nil {
						t.Errorf("%s, users %d–%d, %s (%+v): %v", name, r[0], r[1]-1, c.name, st, err)
					}
					if r == [2]int64{s.lo, s.hi} && name == "all" && st != c.want {
						t.Errorf("%s: %+v, want %+v", c.name, st, c.want)
					}
				}
			}
		}
	})
}

// A sorted scan stops where fn asks, having delivered exactly the events
// before, and a cancelled one ends with the context's error, whether it
// read through the buffer or, estimated too large or overflowing, in SQL
// order; either way the pool keeps working.
func TestScanSortedStop(t *testing.T) {
	withSortedSite(t, func(t *testing.T, s sortedSite) {
		ctx := context.Background()
		all := aggregation.RowFilter{SiteRows: aggregation.SiteAll}
		want := sqlEvents(t, s.src, s.lo, s.hi, s.maxID, all)
		for _, c := range []struct {
			limit    int
			estimate bool
		}{{s.rows, false}, {s.rows / 3, true}, {s.rows / 3, false}} {
			for _, stop := range []int{1, 5, 1024, 1025, len(want) / 2, len(want) - 1} {
				var got []aggregation.Event
				st, err := moodle.ScanUsersBuffered(ctx, s.src, s.lo, s.hi, s.maxID, all, c.limit, c.estimate, func(ev *aggregation.Event) bool {
					got = append(got, *ev)
					return len(got) < stop
				})
				if err != nil {
					t.Fatalf("%+v, stopping after %d: %v", c, stop, err)
				}
				if err := sameEvents(got, want[:stop]); err != nil {
					t.Errorf("%+v (%+v), stopping after %d: %v", c, st, stop, err)
				}
			}
			for _, at := range []int{3, len(want) / 2} {
				cctx, cancel := context.WithCancel(ctx)
				n := 0
				_, err := moodle.ScanUsersBuffered(cctx, s.src, s.lo, s.hi, s.maxID, all, c.limit, c.estimate, func(*aggregation.Event) bool {
					if n++; n == at {
						cancel()
					}
					return true
				})
				cancel()
				if !errors.Is(err, context.Canceled) || n >= len(want) {
					t.Errorf("%+v, cancelled after %d events: %d events, err = %v", c, at, n, err)
				}
			}
			// Every connection of the pool (4) still answers.
			for range 5 {
				n := 0
				if _, err := moodle.ScanUsersBuffered(ctx, s.src, s.lo, s.hi, s.maxID, all, c.limit, c.estimate, func(*aggregation.Event) bool { n++; return true }); err != nil || n != len(want) {
					t.Fatalf("%+v, after stops and cancels: %d events, %v; want %d", c, n, err, len(want))
				}
			}
		}
		// A context cancelled before the scan: nothing is read.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := moodle.ScanUsersBuffered(cctx, s.src, s.lo, s.hi, s.maxID, all, s.rows/3, true, func(*aggregation.Event) bool {
			t.Error("an event with the context cancelled")
			return false
		}); !errors.Is(err, context.Canceled) {
			t.Errorf("a scan with the context cancelled: %v", err)
		}
	})
}
