package aggregation

import "math"

// A computation of a window must start where the engine's state is the
// same as if it had started at the user's first event: a clean point,
// i.e. an event more than the policy's reach after the event before it.
// Across such a gap every run ends (the event before it earns the full
// credit or its captured time is dropped), every session closes, and a
// backward anchor gives the event exactly the credit it gets without one.
// From a clean point on, laps, carried time and sessions do not depend on
// where the computation started, so windows computed apart add up to the
// window computed at once.
//
// Computations read the look-behind before the window, and if it holds no
// clean point (a user active without a break for longer than that), read
// again from further back.

// maxBehindSteps bounds the look-behind widenings before reading the
// user's whole history.
const maxBehindSteps = 4

// widen returns the next, earlier start of a read that found no clean
// point after from (×8 the distance to the window, then the beginning).
func widen(from, windowFrom int64, step int) int64 {
	d := satSub(windowFrom, from)
	if step >= maxBehindSteps || d > math.MaxInt64/8 {
		return math.MinInt64
	}
	return max(satSub(windowFrom, d*8), math.MinInt64)
}

// behind buffers the events of one user read before a window's start and
// finds the latest clean point among them.
type behind struct {
	reach int64
	from  int64 // start of the read: no event before it was read
	prev  int64 // time of the last buffered event (from when none)
	clean int   // index in buf of the latest clean point; -1 none
	buf   []Event
}

// reset starts a read at from.
func (b *behind) reset(reach, from int64) {
	b.reach, b.from, b.prev, b.clean = reach, from, from, -1
	clear(b.buf)
	b.buf = b.buf[:0]
	if from == math.MinInt64 {
		b.clean = 0 // the user's first event: the state is fresh
	}
}

// add buffers an event before the window.
func (b *behind) add(ev *Event) {
	if satSub(ev.Time, b.prev) > b.reach {
		b.clean = len(b.buf)
	}
	b.prev = ev.Time
	b.buf = append(b.buf, *ev)
}

// ready reports whether the engine can start, given the first event at or
// after the window start at t (math.MaxInt64 when there is none): the
// buffer holds a clean point, or the window's own first event is one.
func (b *behind) ready(t int64) bool {
	return b.clean >= 0 || satSub(t, b.prev) > b.reach
}

// context returns the buffered events the engine needs (from the latest
// clean point on; none when the window's first event is itself clean).
func (b *behind) context(t int64) []Event {
	if b.clean < 0 || satSub(t, b.prev) > b.reach {
		return nil
	}
	return b.buf[b.clean:]
}
