package aggregation

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Hour is an hour of UTC time, counted in hours since 1970-01-01T00:00Z:
// the hour holding the Unix time t is ⌊t / 3600⌋. Hours do not depend on
// a time zone, so hourly cells answer series and heat maps in any zone
// (see HourSeries, Heatmap), where daily cells answer only in the zone
// their days were cut in.
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

// Period is the width of the buckets of a series built from hours, in the
// series' time zone.
type Period uint8

// The periods of a series.
const (
	PeriodHour  Period = iota + 1 // an hour of the zone's clock
	PeriodDay                     // a calendar day of the zone
	PeriodWeek                    // an ISO week of the zone: Monday to Sunday
	PeriodMonth                   // a calendar month of the zone
)

// String returns HOUR, DAY, WEEK or MONTH.
func (p Period) String() string {
	switch p {
	case PeriodHour:
		return "HOUR"
	case PeriodDay:
		return "DAY"
	case PeriodWeek:
		return "WEEK"
	case PeriodMonth:
		return "MONTH"
	}
	return ""
}

// PeriodPoint is one bucket of a series built from hours.
type PeriodPoint struct {
	// Start is the bucket's first instant in the series' zone, as Unix
	// seconds: the start of its hour of the zone's clock (HOUR), or
	// midnight of its first day (DAY, WEEK, MONTH).
	Start   int64
	Elapsed int64 // seconds
	Events  int64 // counted events
}

// HeatCell is one cell of a weekday × hour heat map.
type HeatCell struct {
	Weekday int // ISO: 1 = Monday … 7 = Sunday
	Hour    int // 0 … 23, of the zone's clock
	Elapsed int64
	Events  int64
}

// HourSeries sums the users' hours (Result.Hours; nil results are
// skipped) into buckets of the period in loc (nil = UTC), in ascending
// Start. A bucket appears when at least one hour falls in it.
//
// Each UTC hour goes, whole, to the bucket holding its start instant. In
// a zone whose offset is a whole number of hours (UTC, Europe/Paris in
// summer and in winter) every bucket is made of whole UTC hours, so a
// series is exact to the second. In a zone whose offset is not (+05:30,
// +05:45, −03:30) hours and buckets overlap by a fraction of an hour, and
// an hour's time is counted where its start falls: the series is rounded
// to the hour (e.g. in +05:30, the UTC hour 18:00–19:00 is 23:30–00:30
// and counts wholly in the first day). Even in the zone the daily cells
// are cut in, a DAY series may then differ from Result.Days, which follow
// the events to the second. Across a daylight-saving change HOUR buckets
// follow the clock: the skipped hour has no bucket and the repeated one
// has two, one per UTC hour (their Start differs); the days are 23 and 25
// hours long.
func HourSeries(results []*Result, p Period, loc *time.Location) ([]PeriodPoint, error) {
	return SeriesOfHours(userHours(results), p, loc)
}

// CourseHourSeries is HourSeries over the users' time in one course
// (CourseStat.Hours).
func CourseHourSeries(results []*Result, courseID int64, p Period, loc *time.Location) ([]PeriodPoint, error) {
	return SeriesOfHours(courseHours(results, courseID), p, loc)
}

// SeriesOfHours is HourSeries over lists of hours (one per user, or any
// lists; each in any order).
func SeriesOfHours(lists [][]HourStat, p Period, loc *time.Location) ([]PeriodPoint, error) {
	if p.String() == "" {
		return nil, Errorf(EInvalid, "series: unknown period %d", p)
	}
	z := newZoneClock(loc)
	index := map[int64]int{} // bucket key → index in out
	var starts []int64       // the buckets' Start, by index
	out := []PeriodPoint{}
	var month monthOf
	for _, list := range lists {
		for i := range list {
			h := &list[i]
			t := h.Hour.Start()
			local := t + z.offset(t)
			var key int64
			switch p {
			case PeriodHour:
				key = t - floorMod(local, 3600) // the instant the zone's hour began
			case PeriodDay:
				key = floorDiv(local, 86400) // the zone's calendar day
			case PeriodWeek:
				d := floorDiv(local, 86400)
				key = d - floorMod(d+3, 7) // its Monday (day 0 was a Thursday)
			case PeriodMonth:
				key = month.key(floorDiv(local, 86400))
			}
			j, ok := index[key]
			if !ok {
				j = len(out)
				index[key] = j
				out = append(out, PeriodPoint{})
				starts = append(starts, key)
			}
			out[j].Elapsed += h.Elapsed
			out[j].Events += h.Events
		}
	}
	for j, key := range starts {
		out[j].Start = bucketStart(p, key, z.loc)
	}
	slices.SortFunc(out, func(a, b PeriodPoint) int { return cmp.Compare(a.Start, b.Start) })
	return out, nil
}

// Heatmap sums the users' hours (Result.Hours; nil results are skipped)
// by weekday and hour of the day in loc (nil = UTC): 168 cells, Monday
// 0:00 to 23:00, then Tuesday's, … Sunday's, zero where no time fell. An hour
// counts where its start instant falls, so in a zone whose offset is not
// a whole number of hours it is rounded to the hour (in +05:30 the UTC
// hour 10:00 is counted at 15:00); across a daylight-saving change the
// skipped hour gets nothing and the repeated one both UTC hours. See
// HourSeries.
func Heatmap(results []*Result, loc *time.Location) []HeatCell {
	return HeatmapOfHours(userHours(results), loc)
}

// CourseHeatmap is Heatmap over the users' time in one course
// (CourseStat.Hours).
func CourseHeatmap(results []*Result, courseID int64, loc *time.Location) []HeatCell {
	return HeatmapOfHours(courseHours(results, courseID), loc)
}

// HeatmapOfHours is Heatmap over lists of hours (one per user, or any
// lists).
func HeatmapOfHours(lists [][]HourStat, loc *time.Location) []HeatCell {
	out := make([]HeatCell, 7*24)
	for i := range out {
		out[i].Weekday, out[i].Hour = i/24+1, i%24
	}
	z := newZoneClock(loc)
	for _, list := range lists {
		for i := range list {
			h := &list[i]
			t := h.Hour.Start()
			local := t + z.offset(t)
			weekday := floorMod(floorDiv(local, 86400)+3, 7) // 0 = Monday
			c := &out[weekday*24+floorMod(local, 86400)/3600]
			c.Elapsed += h.Elapsed
			c.Events += h.Events
		}
	}
	return out
}

// userHours returns the results' Hours lists.
func userHours(results []*Result) [][]HourStat {
	lists := make([][]HourStat, 0, len(results))
	for _, r := range results {
		if r != nil {
			lists = append(lists, r.Hours)
		}
	}
	return lists
}

// courseHours returns the Hours lists of the results' course.
func courseHours(results []*Result, courseID int64) [][]HourStat {
	lists := make([][]HourStat, 0, len(results))
	for _, r := range results {
		if r == nil {
			continue
		}
		if c := r.Course(courseID); c != nil {
			lists = append(lists, c.Hours)
		}
	}
	return lists
}

// bucketStart returns the first instant of the bucket of key (see
// SeriesOfHours) in loc.
func bucketStart(p Period, key int64, loc *time.Location) int64 {
	switch p {
	case PeriodHour:
		return key
	case PeriodMonth:
		return time.Date(int(floorDiv(key, 12)), time.Month(floorMod(key, 12)+1), 1, 0, 0, 0, 0, loc).Unix()
	}
	y, m, d := time.Unix(key*86400, 0).UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()
}

// monthOf maps calendar days (days since 1970-01-01) to months (year × 12
// + month − 1), remembering the last day's: a user's hours come in order.
type monthOf struct {
	day, month int64
	ok         bool
}

func (m *monthOf) key(day int64) int64 {
	if !m.ok || day != m.day {
		y, mo, _ := time.Unix(day*86400, 0).UTC().Date()
		m.day, m.month, m.ok = day, int64(y)*12+int64(mo)-1, true
	}
	return m.month
}

// zoneClock gives the UTC offset of a location at a Unix time, keeping
// the bounds of the last zone period (between two transitions) it looked
// up, so hours of one period cost two comparisons.
type zoneClock struct {
	loc    *time.Location
	lo, hi int64 // off applies in [lo, hi); empty (lo > hi) when unknown
	off    int64
}

func newZoneClock(loc *time.Location) zoneClock {
	if loc == nil {
		loc = time.UTC
	}
	return zoneClock{loc: loc, lo: 1, hi: 0}
}

func (z *zoneClock) offset(t int64) int64 {
	if t >= z.lo && t < z.hi {
		return z.off
	}
	lt := time.Unix(t, 0).In(z.loc)
	_, off := lt.Zone()
	start, end := lt.ZoneBounds()
	z.off, z.lo, z.hi = int64(off), math.MinInt64, math.MaxInt64
	if !start.IsZero() {
		z.lo = start.Unix()
	}
	if !end.IsZero() {
		z.hi = end.Unix()
	}
	if t < z.lo || t >= z.hi { // outside time.Time's range: do not cache
		z.lo, z.hi = 1, 0
	}
	return z.off
}

// floorDiv returns ⌊a / b⌋ for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// floorMod returns a mod b in [0, b) for b > 0.
func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
