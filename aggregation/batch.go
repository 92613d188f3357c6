package aggregation

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
)

// UsersLogReader streams the events of several users in one pass, which a
// database answers far faster than one query per user when their rows
// are interleaved in the log.
type UsersLogReader interface {
	// UsersEvents calls fn for each event of the users (ascending ids,
	// no repeats) with from ≤ time ≤ to, in (user, time, id) order, until
	// fn returns false or the events run out. The *Event is only valid
	// during the call.
	UsersEvents(ctx context.Context, userIDs []int64, from, to int64, fn func(*Event) bool) error
}

// ComputeUsers is ComputeUser for several users from one stream of their
// events: each user gets the same look-behind, window and look-ahead
// events as ComputeUser gives it, so the results are identical. sink
// returns the sink of a user; done is called once per user, in ascending
// id order, after the user's engine is flushed with now, with the
// normalized policy. userIDs may be in any order and hold repeats.
func ComputeUsers(ctx context.Context, r UsersLogReader, userIDs []int64, p Policy, w Window, now int64,
	sink func(userID int64) Sink, done func(userID int64, p Policy)) error {
	return computeUsers(ctx, r, userIDs, p, w, now, sink, done, 0)
}

// computeUsers is ComputeUsers with at least minBehind seconds of
// look-behind.
func computeUsers(ctx context.Context, r UsersLogReader, userIDs []int64, p Policy, w Window, now int64,
	sink func(userID int64) Sink, done func(userID int64, p Policy), minBehind int64) error {
	ids := slices.Clone(userIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil
	}
	// Validate once, before any read.
	p, err := p.Normalize()
	if err != nil {
		return err
	}
	if err := w.Validate(); err != nil {
		return err
	}
	from, to := w.From, w.To
	if lb := max(p.LookBehind(), minBehind); lb > 0 && from > math.MinInt64+lb {
		from -= lb
	}
	if to < math.MaxInt64 {
		to = satAdd(to, p.LookAhead())
	}
	next := 0 // index in ids of the next user to start
	var (
		cur    *Engine
		curID  int64
		last   int64 = math.MinInt64
		runErr error
	)
	finish := func() {
		if cur != nil {
			cur.Flush(now)
			done(curID, p)
			cur = nil
		}
	}
	// start begins the users up to and including id, finishing those
	// without events on the way.
	start := func(id int64) error {
		finish()
		for next < len(ids) && ids[next] <= id {
			e, err := NewEngine(p, w, sink(ids[next]))
			if err != nil {
				return err
			}
			cur, curID = e, ids[next]
			next++
			if curID != id {
				finish()
			}
		}
		return nil
	}
	err = r.UsersEvents(ctx, ids, from, to, func(ev *Event) bool {
		if ev.UserID < last {
			runErr = fmt.Errorf("aggregation: users' events out of order: user %d after %d", ev.UserID, last)
			return false
		}
		last = ev.UserID
		if cur == nil || ev.UserID != curID {
			if runErr = start(ev.UserID); runErr != nil {
				return false
			}
			if cur == nil || curID != ev.UserID {
				return true // not asked for
			}
		}
		if ev.Time > w.To && cur.Done() {
			return true // past the window, every lap already known
		}
		if runErr = cur.Push(ev); runErr != nil {
			return false
		}
		return true
	})
	if err == nil {
		err = runErr
	}
	if err != nil {
		return err
	}
	if next < len(ids) {
		if err := start(ids[len(ids)-1]); err != nil {
			return err
		}
	}
	finish()
	return nil
}

// UsersEvents implements UsersLogReader.
func (s SliceReader) UsersEvents(ctx context.Context, userIDs []int64, from, to int64, fn func(*Event) bool) error {
	var evs []Event
	for i := range s {
		if _, ok := slices.BinarySearch(userIDs, s[i].UserID); ok && s[i].Time >= from && s[i].Time <= to {
			evs = append(evs, s[i])
		}
	}
	slices.SortFunc(evs, cmpUser)
	return emit(ctx, evs, fn)
}

// cmpUser orders events by (user, time, id).
func cmpUser(a, b Event) int {
	return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Time, b.Time), cmp.Compare(a.ID, b.ID))
}
