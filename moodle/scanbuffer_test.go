package moodle

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// A buffer sorts its rows by (user, time, id) whatever their arrival:
// nearly in order or shuffled, users dense (the counting sort) or spread
// over a span wider than the rows (the comparison sort), times tied; each
// row keeps its fields and strings.
func TestScanBufferSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name     string
		n        int
		users    func(i int) int64
		shuffled bool
	}{
		{"dense, nearly in order", 5000, func(i int) int64 { return int64(3 + rng.IntN(40)) }, false},
		{"dense, shuffled", 5000, func(i int) int64 { return int64(rng.IntN(300)) }, true},
		{"one user", 3000, func(int) int64 { return 7 }, true},
		{"negative and huge ids", 2000, func(i int) int64 { return []int64{math.MinInt64, -5, 0, math.MaxInt64}[rng.IntN(4)] }, true},
		{"sparse", 4000, func(i int) int64 { return int64(rng.IntN(50)) * 1_000_003 }, false},
		{"a single row", 1, func(int) int64 { return 12 }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows := make([]scanRow, c.n)
			for i := range rows {
				t0 := int64(1_700_000_000 + 10*i)
				if rng.IntN(10) == 0 {
					t0 -= int64(rng.IntN(5000)) // late rows
				}
				if rng.IntN(10) == 0 && i > 0 {
					t0 = rows[i-1].time // ties
				}
				rows[i] = scanRow{id: int64(100 + i), time: t0, user: c.users(i), course: int64(i % 7), level: 50 + int64(i%3)*10,
					instance: int64(i), kind: int64(i % 16), realUser: int64(i % 5),
					origin: []byte([]string{"", "web", "cli", "ws"}[i%4]), ip: fmt.Appendf(nil, "10.0.%d.%d", i%3, i%11)}
			}
			if c.shuffled {
				rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			}
			b := testScanBuffer(t, c.n)
			for i := range rows {
				if more, err := b.add(&rows[i]); !more || err != nil {
					t.Fatalf("row %d of %d did not fit: %v", i, c.n, err)
				}
			}
			b.sort()
			want := slices.Clone(rows)
			slices.SortFunc(want, func(x, y scanRow) int {
				return cmp.Or(cmp.Compare(x.user, y.user), cmp.Compare(x.time, y.time), cmp.Compare(x.id, y.id))
			})
			if len(b.keys) != len(want) {
				t.Fatalf("%d rows sorted, want %d", len(b.keys), len(want))
			}
			for i, key := range b.keys {
				got, w := &b.rows[key.row], &want[i]
				if got.id != w.id || got.time != w.time || got.user != w.user || got.course != w.course || int64(got.level) != w.level ||
					got.instance != w.instance || int64(got.kind) != w.kind || got.realUser != w.realUser ||
					b.strs.strs[got.origin] != string(w.origin) || b.strs.strs[got.ip] != string(w.ip) {
					t.Fatalf("row %d: %+v (origin %q, ip %q), want %+v", i, *got, b.strs.strs[got.origin], b.strs.strs[got.ip], *w)
				}
			}
		})
	}
}

// A buffer takes limit rows and limit distinct strings, no more.
func TestScanBufferLimit(t *testing.T) {
	b := testScanBuffer(t, 4)
	if cap(b.rows) != 4 || cap(b.keys) != 4 {
		t.Errorf("a buffer of 4 rows has room for %d rows, %d keys", cap(b.rows), cap(b.keys))
	}
	add := func(user int64, ip string) bool {
		t.Helper()
		more, err := b.add(&scanRow{user: user, ip: []byte(ip)})
		if err != nil {
			t.Fatal(err)
		}
		return more
	}
	for i, u := range []int64{5, 9, 5, 7} {
		if !add(u, "a") {
			t.Fatalf("row %d did not fit", i)
		}
	}
	if add(5, "a") || !b.full {
		t.Fatal("a fifth row fit in a buffer of 4")
	}

	// Strings: more distinct values than the limit fill the buffer too.
	b = testScanBuffer(t, 3)
	for i := range 2 {
		if more, _ := b.add(&scanRow{user: 1, origin: fmt.Appendf(nil, "o%d", i), ip: fmt.Appendf(nil, "i%d", i)}); !more {
			t.Fatalf("row %d did not fit", i)
		}
	}
	if more, _ := b.add(&scanRow{user: 1, origin: []byte("o9"), ip: []byte("i9")}); more || !b.full {
		t.Errorf("5 distinct strings fit in a buffer of 3 (%d strings)", len(b.strs.strs))
	}
}

// testScanBuffer returns a buffer of limit rows, freed when the test ends.
func testScanBuffer(t *testing.T, limit int) *scanBuffer {
	t.Helper()
	b, free, err := newScanBuffer(limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(free)
	return b
}
