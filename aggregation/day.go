package aggregation

import "time"

// Day is a calendar day in the site's time zone, counted in days since
// 1970-01-01 (so days compare and subtract as integers).
type Day int64

// String formats the day as YYYY-MM-DD.
func (d Day) String() string {
	return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
}

// ParseDay parses YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, Errorf(EInvalid, "day %q is not YYYY-MM-DD", s)
	}
	return Day(t.Unix() / 86400), nil
}

// dayClock maps Unix times to Days in one location, caching the bounds of
// the last day seen so consecutive events of a day cost two comparisons.
type dayClock struct {
	loc        *time.Location
	start, end int64 // [start, end) of day
	day        Day
}

func newDayClock(loc *time.Location) dayClock {
	if loc == nil {
		loc = time.UTC
	}
	return dayClock{loc: loc, start: 1, end: 0}
}

func (c *dayClock) dayOf(t int64) Day {
	if t >= c.start && t < c.end {
		return c.day
	}
	y, m, d := time.Unix(t, 0).In(c.loc).Date()
	c.start = time.Date(y, m, d, 0, 0, 0, 0, c.loc).Unix()
	c.end = time.Date(y, m, d+1, 0, 0, 0, 0, c.loc).Unix()
	c.day = Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	if t < c.start || t >= c.end { // outside time.Time's range: do not cache
		c.start, c.end = 1, 0
	}
	return c.day
}
