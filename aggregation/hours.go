package aggregation

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Hour is an hour of UTC time, counted in hours since 1970-01-01T00:00Z:
// the hour holding the Unix time t is ⌊t / 3600⌋. Hours do not depend on
// a time zone, so hourly cells can answer in any zone, where daily cells
// answer only in the zone their days were cut in.
type Hour int64

// HourOf returns the hour holding the Unix time t.
func HourOf(t int64) Hour { return Hour(floorDiv(t, 3600)) }

// Start returns the hour's first second, as a Unix time (math.MinInt64
// for the first hour, which starts before it).
func (h Hour) Start() int64 {
	if h < math.MinInt64/3600 {
		return math.MinInt64
	}
	return int64(h) * 3600
}

// String formats the hour as YYYY-MM-DDTHHZ.
func (h Hour) String() string {
	return time.Unix(h.Start(), 0).UTC().Format("2006-01-02T15Z")
}

// addHour adds secs to the hour's stat, inserting the hour (no events)
// when the list has none, in hour order.
func addHour(hours []HourStat, h Hour, secs int64) []HourStat {
	return addSorted(hours, HourStat{Hour: h}, func(s *HourStat) Hour { return s.Hour }, func(s *HourStat) { s.Elapsed += secs })
}

// addSorted applies add to the element of list (in key order) with the
// key of blank, inserting blank first where the list has none.
func addSorted[S any, K cmp.Ordered](list []S, blank S, key func(*S) K, add func(*S)) []S {
	i, ok := slices.BinarySearchFunc(list, key(&blank), func(s S, k K) int { return cmp.Compare(key(&s), k) })
	if !ok {
		list = slices.Insert(list, i, blank)
	}
	add(&list[i])
	return list
}

// floorDiv returns ⌊a / b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}
