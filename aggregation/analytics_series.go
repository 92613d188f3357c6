package aggregation

import (
	"cmp"
	"slices"
	"time"
)

// Granularity is the width of a series' buckets. Buckets are built from
// day cells (Result.Days, CourseStat.Days), so nothing finer than a day
// exists: there is no hourly granularity.
type Granularity uint8

// The granularities of a series.
const (
	GranularityDay   Granularity = iota + 1
	GranularityWeek              // ISO weeks: Monday to Sunday
	GranularityMonth             // calendar months
)

// String returns DAY, WEEK or MONTH.
func (g Granularity) String() string {
	switch g {
	case GranularityDay:
		return "DAY"
	case GranularityWeek:
		return "WEEK"
	case GranularityMonth:
		return "MONTH"
	}
	return ""
}

// MaxSeriesPoints is the most buckets SeriesBetween fills in (about 273
// years of days).
const MaxSeriesPoints = 100_000

// The range SeriesBetween accepts: 0001-01-02 to 9999-12-31 UTC, a day
// within the years 1 to 9999 in any location.
const (
	seriesMin = -62135510400
	seriesMax = 253402214400
)

// SeriesPoint is one bucket of a series.
type SeriesPoint struct {
	// Start is the bucket's first instant, as Unix seconds: midnight (in
	// the series' location) of its first day, or where a clock change
	// skips that midnight, the change.
	Start   int64
	Elapsed int64 // seconds
	Events  int64 // counted events
}

// Series sums the day cells of every list (one list per user, or any
// lists) into buckets of the granularity, in ascending Start. Days are
// calendar days of loc, which must be the location the days were counted
// in (Service.Location; nil = UTC). A bucket appears when at least one
// cell falls in it: buckets between the first and the last without a cell
// are left out (SeriesBetween fills them in).
func Series(days [][]DayStat, g Granularity, loc *time.Location) ([]SeriesPoint, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	sums := map[Day]*SeriesPoint{}
	for _, list := range days {
		for _, d := range list {
			b := g.bucket(d.Day)
			p := sums[b]
			if p == nil {
				p = &SeriesPoint{}
				sums[b] = p
			}
			p.Elapsed += d.Elapsed
			p.Events += d.Events
		}
	}
	out := make([]SeriesPoint, 0, len(sums))
	for b, p := range sums {
		p.Start = b.start(loc)
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b SeriesPoint) int { return cmp.Compare(a.Start, b.Start) })
	return out, nil
}

// SeriesBetween is Series over the range [from, to) (Unix seconds): every
// bucket holding a day that overlaps the range appears, zero when no cell
// falls in it, so the first bucket may start before from; cells of days
// outside the range are left out. An empty range (from = to) has no
// bucket; to < from, a range beyond the years 1 to 9999 or one of more
// than MaxSeriesPoints buckets is EInvalid.
func SeriesBetween(days [][]DayStat, g Granularity, loc *time.Location, from, to int64) ([]SeriesPoint, error) {
	if err := g.validate(); err != nil {
		return nil, err
	}
	if to < from {
		return nil, Errorf(EInvalid, "series: to (%d) is before from (%d)", to, from)
	}
	if from < seriesMin || to > seriesMax {
		return nil, Errorf(EInvalid, "series: [%d, %d) is not within the years 1 to 9999", from, to)
	}
	if to == from {
		return []SeriesPoint{}, nil
	}
	first, last := dayOf(from, loc), dayOf(to-1, loc)
	lo, hi := g.bucket(first), g.bucket(last)
	n := g.count(lo, hi)
	if n > MaxSeriesPoints {
		return nil, Errorf(EInvalid, "series: %d %s buckets from %d to %d, more than %d", n, g, from, to, MaxSeriesPoints)
	}
	out := make([]SeriesPoint, 0, n)
	index := make(map[Day]int, n)
	for b := lo; b <= hi && int64(len(out)) < n; b = g.next(b) {
		index[b] = len(out)
		out = append(out, SeriesPoint{Start: b.start(loc)})
	}
	for _, list := range days {
		for _, d := range list {
			if d.Day < first || d.Day > last {
				continue
			}
			p := &out[index[g.bucket(d.Day)]]
			p.Elapsed += d.Elapsed
			p.Events += d.Events
		}
	}
	return out, nil
}

func (g Granularity) validate() error {
	if g.String() == "" {
		return Errorf(EInvalid, "series: unknown granularity %d", g)
	}
	return nil
}

// bucket returns the first day of the day's bucket.
func (g Granularity) bucket(d Day) Day {
	switch g {
	case GranularityWeek:
		// Day 0, 1970-01-01, is a Thursday: 3 days after a Monday.
		return d - Day((int64(d)%7+7+3)%7)
	case GranularityMonth:
		y, m, _ := d.date()
		return civilDay(y, m, 1)
	}
	return d
}

// next returns the first day of the bucket after the one starting on b.
func (g Granularity) next(b Day) Day {
	switch g {
	case GranularityWeek:
		return b + 7
	case GranularityMonth:
		y, m, _ := b.date()
		return civilDay(y, m+1, 1)
	}
	return b + 1
}

// count returns how many buckets there are from the one starting on lo to
// the one starting on hi, both included.
func (g Granularity) count(lo, hi Day) int64 {
	switch g {
	case GranularityWeek:
		return int64(hi-lo)/7 + 1
	case GranularityMonth:
		y0, m0, _ := lo.date()
		y1, m1, _ := hi.date()
		return int64(y1-y0)*12 + int64(m1-m0) + 1
	}
	return int64(hi-lo) + 1
}

// date returns the day's calendar date.
func (d Day) date() (int, time.Month, int) {
	return time.Unix(int64(d)*86400, 0).UTC().Date()
}

// civilDay returns the Day of a calendar date (normalized as time.Date
// does: month 13 is January of the next year).
func civilDay(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// start returns the day's first instant in loc (nil = UTC): its midnight,
// or where a clock change skips midnight, the change.
func (d Day) start(loc *time.Location) int64 {
	if loc == nil {
		loc = time.UTC
	}
	y, m, dd := d.date()
	t := time.Date(y, m, dd, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty != y || tm != m || td != dd {
		// time.Date may answer a skipped midnight in the zone before the
		// change, on the day before: the day starts where that zone ends.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			t = end
		}
	}
	return t.Unix()
}
