package store

import (
	"bytes"
	"encoding/hex"
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
		var hours []*aggregation.HourEntry
		for range rng.IntN(20) {
			hour := aggregation.Hour(int64(day)*24 + rng.Int64N(60) - 20)
			if rng.IntN(10) == 0 {
				hour = aggregation.Hour(num())
			}
			hours = append(hours, &aggregation.HourEntry{
				Key:  aggregation.HourKey{UserID: 7, Day: day, CourseID: num(), Hour: hour},
				Cell: aggregation.HourCell{Elapsed: num(), Events: num()},
			})
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
		b := appendDay(nil, day, cells, hours, pieces)
		var got aggregation.UserRollups
		d := dayDecoder{days: 1}
		if err := d.decode(&got, 7, day, b); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		var want aggregation.UserRollups
		for _, c := range cells {
			want.Cells = append(want.Cells, *c)
		}
		for _, h := range hours {
			want.Hours = append(want.Hours, *h)
		}
		for _, p := range pieces {
			want.Pieces = append(want.Pieces, *p)
		}
		if got.NoHours {
			t.Fatalf("case %d: a version %d day reads as without hours", i, dayVersion)
		}
		if len(got.Cells)+len(want.Cells) > 0 && !reflect.DeepEqual(got.Cells, want.Cells) {
			t.Fatalf("case %d: cells\n got %+v\nwant %+v", i, got.Cells, want.Cells)
		}
		if len(got.Hours)+len(want.Hours) > 0 && !reflect.DeepEqual(got.Hours, want.Hours) {
			t.Fatalf("case %d: hours\n got %+v\nwant %+v", i, got.Hours, want.Hours)
		}
		if len(got.Pieces)+len(want.Pieces) > 0 && !reflect.DeepEqual(got.Pieces, want.Pieces) {
			t.Fatalf("case %d: pieces\n got %+v\nwant %+v", i, got.Pieces, want.Pieces)
		}
	}
}

// A day written by usestats before hours were kept (format version 1,
// bytes made by its encoder) still reads, with no hours, and marks the
// user's rollups NoHours, so the service answers them from the log.
func TestDayCodecVersion1(t *testing.T) {
	b, err := hex.DecodeString("010200000000007802a0380007020a3eca01a00b04883bcc6204706167650831302e302e302e31883b" +
		"060831302e302e302e32d49d011002a0388c1f8c1f0c020c0002000a")
	if err != nil {
		t.Fatal(err)
	}
	day := aggregation.Day(20000)
	base := int64(day) * 86400
	want := aggregation.UserRollups{
		Cells: []aggregation.RollupEntry{
			{Key: aggregation.RollupKey{UserID: 7, Day: day, Bucket: aggregation.BucketSite},
				Cell: aggregation.RollupCell{Elapsed: 60, Events: 1, First: base + 3600, Last: base + 3600}},
			{Key: aggregation.RollupKey{UserID: 7, Day: day, Bucket: aggregation.BucketActivity, CourseID: 5, SectionID: 31, CMID: 101},
				Cell: aggregation.RollupCell{Elapsed: 720, Events: 2, First: base + 3780, Last: base + 10090, ModuleType: "page",
					FirstIP: aggregation.IPMark{IP: "10.0.0.1", Time: base + 3780, ID: 3},
					LastIP:  aggregation.IPMark{IP: "10.0.0.2", Time: base + 10090, ID: 8}}},
		},
		Pieces: []aggregation.SessionPiece{{UserID: 7, Key: 1, Day: day, Start: base + 3600, End: base + 5590, Elapsed: 1990,
			Events: 6, Courses: []int64{0, 5}, FirstID: 1, LastID: 7}},
		NoHours: true,
	}
	var got aggregation.UserRollups
	d := dayDecoder{days: 1}
	if err := d.decode(&got, 7, day, b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("version 1 day\n got %+v\nwant %+v", got, want)
	}
	// The same day written now carries its hours and does not mark the user.
	var cells []*aggregation.RollupEntry
	for i := range want.Cells {
		cells = append(cells, &want.Cells[i])
	}
	hours := []*aggregation.HourEntry{
		{Key: aggregation.HourKey{UserID: 7, Day: day, Hour: aggregation.HourOf(base + 3600)}, Cell: aggregation.HourCell{Elapsed: 60, Events: 1}},
		{Key: aggregation.HourKey{UserID: 7, Day: day, CourseID: 5, Hour: aggregation.HourOf(base + 3780)}, Cell: aggregation.HourCell{Elapsed: 600, Events: 1}},
		{Key: aggregation.HourKey{UserID: 7, Day: day, CourseID: 5, Hour: aggregation.HourOf(base + 10090)}, Cell: aggregation.HourCell{Elapsed: 120, Events: 1}},
	}
	v2 := appendDay(nil, day, cells, hours, []*aggregation.SessionPiece{&want.Pieces[0]})
	if v2[0] != dayVersion || bytes.Equal(v2, b) {
		t.Fatalf("a day is written as version %d", v2[0])
	}
	got = aggregation.UserRollups{}
	if err := d.decode(&got, 7, day, v2); err != nil {
		t.Fatal(err)
	}
	want.NoHours = false
	for _, h := range hours {
		want.Hours = append(want.Hours, *h)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("version 2 day\n got %+v\nwant %+v", got, want)
	}
}

// Whatever the bytes, decoding returns an error or entries, never panics.
func FuzzDayDecode(f *testing.F) {
	f.Add(appendDay(nil, 3, []*aggregation.RollupEntry{{Cell: aggregation.RollupCell{ModuleType: "quiz",
		FirstIP: aggregation.IPMark{IP: "1.2.3.4", Time: 5, ID: 6}}}},
		[]*aggregation.HourEntry{{Key: aggregation.HourKey{CourseID: 2, Hour: 80}, Cell: aggregation.HourCell{Elapsed: 60, Events: 1}}},
		[]*aggregation.SessionPiece{{Key: 1, Courses: []int64{2, 3}}}))
	f.Add([]byte{dayVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{dayVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{dayVersion1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var u aggregation.UserRollups
		d := dayDecoder{days: 366}
		_ = d.decode(&u, 1, 2, b)
	})
}
