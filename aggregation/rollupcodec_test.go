package aggregation_test

import (
	"cmp"
	"context"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// compiledOf compiles a generated stream's cells and pieces (all time).
func compiledOf(t testing.TB, seed int) ([]aggregation.RollupEntry, []aggregation.SessionPiece) {
	evs, _ := propStream(uint64(seed))
	p := preset(t, "usestats")
	k := aggregation.NewPieceSink(p, nil)
	if _, err := aggregation.ComputeUser(context.Background(), aggregation.SliceReader(evs), genUser, p, aggregation.AllTime, genStart+1e8, k); err != nil {
		t.Fatal(err)
	}
	return k.Rollup().Entries(), slices.Clone(k.Pieces())
}

// Cells and pieces survive their compact form unchanged, whatever the
// window of days read back.
func TestRollupCodecRoundTrip(t *testing.T) {
	for seed := range 60 {
		cells, pieces := compiledOf(t, seed)
		cells = append(cells, aggregation.RollupEntry{
			Key:  aggregation.RollupKey{UserID: genUser, Day: -5, Bucket: aggregation.BucketActivity, CourseID: math.MaxInt64, SectionID: -1, CMID: math.MinInt64},
			Cell: aggregation.RollupCell{Elapsed: math.MaxInt64, Events: 1, First: math.MinInt64 + 1, Last: math.MinInt64 + 2, ModuleType: "ünïcode"},
		})
		got, err := aggregation.DecodeCells(nil, genUser, aggregation.EncodeCells(cells), -1<<40, 1<<40)
		if err != nil {
			t.Fatal(err)
		}
		sortCells(cells)
		sortCells(got)
		if !reflect.DeepEqual(cells, got) && !(len(cells) == 0 && len(got) == 0) {
			t.Fatalf("seed %d: cells changed:\n%v\n%v", seed, cells, got)
		}
		gp, err := aggregation.DecodePieces(nil, genUser, aggregation.EncodePieces(pieces), -1<<40, 1<<40)
		if err != nil {
			t.Fatal(err)
		}
		sortPieces(pieces)
		sortPieces(gp)
		if !reflect.DeepEqual(pieces, gp) && !(len(pieces) == 0 && len(gp) == 0) {
			t.Fatalf("seed %d: pieces changed:\n%v\n%v", seed, pieces, gp)
		}
		if len(cells) > 2 {
			d := cells[len(cells)/2].Key.Day
			part, _ := aggregation.DecodeCells(nil, genUser, aggregation.EncodeCells(cells), d, d)
			for _, c := range part {
				if c.Key.Day != d {
					t.Fatalf("day %v read back for [%v, %v]", c.Key.Day, d, d)
				}
			}
			if len(part) == 0 {
				t.Fatal("a day's cells were lost")
			}
		}
	}
}

func sortCells(cs []aggregation.RollupEntry) {
	slices.SortFunc(cs, func(a, b aggregation.RollupEntry) int {
		return cmp.Or(cmp.Compare(a.Key.Day, b.Key.Day), cmp.Compare(a.Key.CourseID, b.Key.CourseID), cmp.Compare(a.Key.Bucket, b.Key.Bucket),
			cmp.Compare(a.Key.SectionID, b.Key.SectionID), cmp.Compare(a.Key.CMID, b.Key.CMID))
	})
}

func sortPieces(ps []aggregation.SessionPiece) {
	slices.SortFunc(ps, func(a, b aggregation.SessionPiece) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Day, b.Day))
	})
}

// Months cut days at calendar month boundaries, before 1970 too.
func TestMonthOf(t *testing.T) {
	for _, c := range []struct {
		day   string
		month aggregation.Month
	}{{"1970-01-01", 0}, {"1970-01-31", 0}, {"1970-02-01", 1}, {"1969-12-31", -1}, {"2026-12-06", 683}} {
		d, _ := aggregation.ParseDay(c.day)
		if got := aggregation.MonthOf(d); got != c.month {
			t.Errorf("MonthOf(%s) = %d, want %d", c.day, got, c.month)
		}
		if f := c.month.FirstDay(); aggregation.MonthOf(f) != c.month || aggregation.MonthOf(f-1) != c.month-1 {
			t.Errorf("FirstDay(%d) = %s", c.month, f)
		}
	}
}

// Malformed blobs are errors, never panics.
func FuzzDecodeCells(f *testing.F) {
	cells, pieces := compiledOf(f, 3)
	f.Add(aggregation.EncodeCells(cells))
	f.Add(aggregation.EncodePieces(pieces))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = aggregation.DecodeCells(nil, 1, b, -1<<40, 1<<40)
		_, _ = aggregation.DecodePieces(nil, 1, b, -1<<40, 1<<40)
	})
}
