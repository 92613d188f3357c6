package aggregation

import (
	"math"
	"time"
)

// plan is how one user's window is answered: an optional live head (the
// partial first day), whole days from rollups, and an optional live tail
// (the partial last day, or everything from the user's compile horizon on).
// The parts are consecutive and cover the window exactly.
//
// The rollups hold no event at or after the horizon, so the days that
// rollupDays asks for are used whole: when the horizon falls inside them,
// its day holds only the events before it and the later days nothing.
type plan struct {
	head, tail *Window
	rollups    bool
}

// rollupDays returns the days [from, to] a window may need from rollups,
// before the user's horizon is known, and whether it needs any.
func rollupDays(w Window, loc *time.Location) (from, to Day, ok bool) {
	a, e := wholeDays(w, loc)
	if a >= e {
		return 0, 0, false
	}
	from, to = minDay, maxDay
	if a != math.MinInt64 {
		from = dayOf(a, loc)
	}
	if e != math.MaxInt64 {
		to = dayOf(e-1, loc)
	}
	return from, to, true
}

// The day range of an unbounded window.
const (
	minDay Day = -1 << 40
	maxDay Day = 1 << 40
)

// wholeDays returns [a, e): the whole calendar days inside the window (a
// and e are day starts; an unbounded end stays unbounded).
func wholeDays(w Window, loc *time.Location) (a, e int64) {
	a, e = w.From, w.To
	if a != math.MinInt64 {
		if s := dayStart(a, loc); s != a {
			a = nextDay(a, loc)
		}
	}
	if e != math.MaxInt64 {
		e++
		if s := dayStart(e, loc); s != e {
			e = s
		}
	}
	return a, e
}

// planFor splits the window given the user's horizon h and the start of
// retained rollups from (0 = all retained). A user whose rollups were
// removed (horizon before every event) is answered from the log.
func planFor(w Window, h, from int64, loc *time.Location) plan {
	if h <= math.MinInt64+1 {
		ww := w
		return plan{tail: &ww}
	}
	a, e := wholeDays(w, loc)
	if from != 0 && a < from {
		a = nextDay(from-1, loc) // the first whole retained day
	}
	end := e // rollups cover [a, end)
	if h < end {
		end = h
	}
	if a >= end {
		ww := w
		return plan{tail: &ww}
	}
	pl := plan{rollups: true}
	if w.From < a {
		pl.head = &Window{From: w.From, To: a - 1}
	}
	if end <= w.To { // live from the horizon or the partial last day
		pl.tail = &Window{From: end, To: w.To}
	}
	return pl
}
