package store

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// Random days, extreme values included, read back exactly as written.
func TestDayCodecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	extremes := []int64{0, 1, -1, 86399, 86400, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 40}
	num := func() int64 {
		switch rng.IntN(3) {
		case 0:
			return extremes[rng.IntN(len(extremes))]
		case 1:
			return rng.Int64N(100000) - 50000
		}
		return int64(rng.Uint64())
	}
	strs := []string{"", "quiz", "10.0.0.1", "2001:db8::ffff", "é\x00\xff"}
	for i := range 2000 {
		day := aggregation.Day(num())
		var cells []*aggregation.RollupEntry
		for range rng.IntN(20) {
			e := &aggregation.RollupEntry{
				Key: aggregation.RollupKey{UserID: 7, Day: day, Bucket: aggregation.Bucket(rng.IntN(256)), CourseID: num(),
					SectionID: num(), CMID: num()},
				Cell: aggregation.RollupCell{Elapsed: num(), Events: num(), First: num(), Last: num(),
					ModuleType: strs[rng.IntN(len(strs))]},
			}
			if rng.IntN(2) == 0 {
				e.Cell.FirstIP = aggregation.IPMark{IP: strs[rng.IntN(len(strs))], Time: num(), ID: num()}
			}
			if rng.IntN(2) == 0 {
				e.Cell.LastIP = aggregation.IPMark{IP: strs[rng.IntN(len(strs))], Time: num(), ID: num()}
			}
			cells = append(cells, e)
		}
		var pieces []*aggregation.SessionPiece
		for range rng.IntN(4) {
			p := &aggregation.SessionPiece{UserID: 7, Day: day, Key: num(), Start: num(), End: num(), Elapsed: num(),
				Events: num(), FirstID: num(), LastID: num(), PrevLastID: num()}
			for range rng.IntN(4) {
				p.Courses = append(p.Courses, num())
			}
			pieces = append(pieces, p)
		}
		b := appendDay(nil, day, cells, pieces)
		var got aggregation.UserRollups
		d := dayDecoder{days: 1}
		if err := d.decode(&got, 7, day, b); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var want aggregation.UserRollups
		for _, c := range cells {
			want.Cells = append(want.Cells, *c)
		}
		for _, p := range pieces {
			want.Pieces = append(want.Pieces, *p)
		}
		if len(got.Cells)+len(want.Cells) > 0 && !reflect.DeepEqual(got.Cells, want.Cells) {
			t.Fatalf("case %d: cells\n got %+v\nwant %+v", i, got.Cells, want.Cells)
		}
		if len(got.Pieces)+len(want.Pieces) > 0 && !reflect.DeepEqual(got.Pieces, want.Pieces) {
			t.Fatalf("case %d: pieces\n got %+v\nwant %+v", i, got.Pieces, want.Pieces)
		}
	}
}

// Whatever the bytes, decoding returns an error or entries, never panics.
func FuzzDayDecode(f *testing.F) {
	f.Add(appendDay(nil, 3, []*aggregation.RollupEntry{{Cell: aggregation.RollupCell{ModuleType: "quiz",
		FirstIP: aggregation.IPMark{IP: "1.2.3.4", Time: 5, ID: 6}}}},
		[]*aggregation.SessionPiece{{Key: 1, Courses: []int64{2, 3}}}))
	f.Add([]byte{dayVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var u aggregation.UserRollups
		d := dayDecoder{days: 366}
		_ = d.decode(&u, 1, 2, b)
	})
}
