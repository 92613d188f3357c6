package aggregation

import (
	"context"
	"math"
)

// LogReader streams one user's events. Adapters (the Moodle database, a
// test fixture) implement it; the core never knows where events come from.
type LogReader interface {
	// UserEvents calls fn for each event of the user with from ≤ time ≤ to,
	// in (time, id) order, until fn returns false or the events run out.
	// The *Event is only valid during the call.
	UserEvents(ctx context.Context, userID, from, to int64, fn func(*Event) bool) error
}

// LookBehind returns how many seconds before a window's start a reader must
// supply so that the window's laps and session decisions do not depend on
// where it starts. Forward laps over one user timeline need none; carried
// (captured) time, backward deltas and per-course timelines need the reach
// of one run, max(Threshold, Credit); a minimum session needs that plus
// MinSession, enough context for a session crossing the start to prove it
// is long enough.
func (p *Policy) LookBehind() int64 {
	if p.Attribution == Forward && p.Timeline == PerUser && p.MinSession == 0 && len(p.Capture) == 0 {
		return 0
	}
	return p.reach() + p.MinSession + 1
}

// LookAhead returns how many seconds after a window's end can still change
// its laps: the reach of one run, plus MinSession for a session crossing
// the end that is not yet proven long enough.
func (p *Policy) LookAhead() int64 {
	return p.reach() + p.MinSession + 1
}

func (p *Policy) reach() int64 { return max(p.Threshold, p.Credit) }

// joinBehind is the look-behind that lets a computation see the event
// before its window that a session crossing the window's start last
// joined, so the session's parts can be joined (Session.Continues).
func (p *Policy) joinBehind() int64 { return p.reach() + p.MinSession + 1 }

// ComputeUser streams a user's events for the window through the policy
// into sink: the look-behind context (see LookBehind), the window, then
// look-ahead events after the window until the engine has every lap it
// needs (fix B3), at most LookAhead past To, and flushes with now. It
// returns the normalized policy.
func ComputeUser(ctx context.Context, r LogReader, userID int64, p Policy, w Window, now int64, sink Sink) (Policy, error) {
	return computeUser(ctx, r, userID, p, w, now, sink, 0)
}

// computeUser is ComputeUser with at least minBehind seconds of look-behind.
func computeUser(ctx context.Context, r LogReader, userID int64, p Policy, w Window, now int64, sink Sink, minBehind int64) (Policy, error) {
	e, err := NewEngine(p, w, sink)
	if err != nil {
		return p, err
	}
	p = e.Policy()
	lb := max(p.LookBehind(), minBehind)
	from := w.From
	if lb > 0 && from > math.MinInt64+lb {
		from -= lb
	} else if lb > 0 {
		from = math.MinInt64
	}
	var pushErr error
	push := func(ev *Event) bool {
		if pushErr = e.Push(ev); pushErr != nil {
			return false
		}
		return true
	}
	if lb == 0 {
		if err := r.UserEvents(ctx, userID, from, w.To, push); err != nil {
			return p, err
		}
	} else {
		// One read from the look-behind on; events before the window wait
		// in b until the window's first event shows whether they hold a
		// clean point (see lookbehind.go), else the read starts again from
		// further back.
		var b behind
		for step := 0; ; step++ {
			b.reset(p.reach(), from)
			started, short := false, false
			start := func(t int64) bool {
				if !b.ready(t) && from != math.MinInt64 {
					short = true
					return false
				}
				started = true
				evs := b.context(t)
				for i := range evs {
					if !push(&evs[i]) {
						return false
					}
				}
				return true
			}
			err := r.UserEvents(ctx, userID, from, w.To, func(ev *Event) bool {
				if !started {
					if ev.Time < w.From {
						b.add(ev)
						return true
					}
					if !start(ev.Time) {
						return false
					}
				}
				return push(ev)
			})
			if err != nil {
				return p, err
			}
			if !started && !short && pushErr == nil {
				start(math.MaxInt64) // no event in the window
			}
			if !short {
				break
			}
			from = widen(from, w.From, step)
		}
	}
	if pushErr != nil {
		return p, pushErr
	}
	if w.To < math.MaxInt64 && !e.Done() {
		// No event later than To + LookAhead can change a lap of the window:
		// past it every pending event earns exactly the credit.
		lookahead := func(ev *Event) bool { return push(ev) && !e.Done() }
		if err := r.UserEvents(ctx, userID, w.To+1, satAdd(w.To, p.LookAhead()), lookahead); err != nil {
			return p, err
		}
		if pushErr != nil {
			return p, pushErr
		}
	}
	e.Flush(now)
	return p, nil
}

// SliceReader is a LogReader over events held in memory (one or several
// users, any order): for tests and small callers.
type SliceReader []Event

// UserEvents implements LogReader.
func (s SliceReader) UserEvents(ctx context.Context, userID, from, to int64, fn func(*Event) bool) error {
	var evs []Event
	for i := range s {
		if s[i].UserID == userID && s[i].Time >= from && s[i].Time <= to {
			evs = append(evs, s[i])
		}
	}
	SortEvents(evs)
	return emit(ctx, evs, fn)
}

// emit calls fn for each event until fn returns false or ctx ends.
func emit(ctx context.Context, evs []Event, fn func(*Event) bool) error {
	for i := range evs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !fn(&evs[i]) {
			return nil
		}
	}
	return nil
}
