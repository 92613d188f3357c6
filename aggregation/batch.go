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
// returns the sink of a user (asked again for a user whose look-behind
// must be read again: the last sink is the user's); done is called once
// per user after its engine is flushed with now, with the normalized
// policy. userIDs may be in any order and hold repeats.
func ComputeUsers(ctx context.Context, r UsersLogReader, userIDs []int64, p Policy, w Window, now int64,
	sink func(userID int64) Sink, done func(userID int64, p Policy)) error {
	return computeUsers(ctx, r, userIDs, p, w, now, sink, done, 0, nil)
}

// computeUsers is ComputeUsers with at least minBehind seconds of
// look-behind and, for the users courseFrom names, their course starts
// (Window.CourseFrom; nil: w's own for everyone).
func computeUsers(ctx context.Context, r UsersLogReader, userIDs []int64, p Policy, w Window, now int64,
	sink func(userID int64) Sink, done func(userID int64, p Policy), minBehind int64, courseFrom map[int64]map[int64]int64) error {
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
	lb := max(p.LookBehind(), minBehind)
	from, to := w.From, w.To
	if lb > 0 && from > math.MinInt64+lb {
		from -= lb
	} else if lb > 0 {
		from = math.MinInt64
	}
	if to < math.MaxInt64 {
		to = satAdd(to, p.LookAhead())
	}
	next := 0 // index in ids of the next user to start
	var (
		cur     *Engine
		curID   int64
		last    int64 = math.MinInt64
		runErr  error
		b       behind  // the current user's events before the window
		started bool    // the current user's context is pushed
		skip    int64   = math.MinInt64
		retry   []int64 // users whose look-behind held no clean point
	)
	// begin pushes the current user's context before its first event at or
	// after the window start (t), or gives up on the user for a retry.
	begin := func(t int64) bool {
		if lb == 0 || started {
			return true
		}
		if !b.ready(t) && from != math.MinInt64 {
			retry = append(retry, curID)
			skip, cur = curID, nil
			return false
		}
		started = true
		ctxEvs := b.context(t)
		for i := range ctxEvs {
			if runErr = cur.Push(&ctxEvs[i]); runErr != nil {
				return false
			}
		}
		return true
	}
	finish := func() {
		if cur != nil && begin(math.MaxInt64) && cur != nil {
			cur.Flush(now)
			done(curID, p)
		}
		cur = nil
	}
	// start begins the users up to and including id, finishing those
	// without events on the way.
	start := func(id int64) error {
		finish()
		if runErr != nil { // the previous user's context failed to push
			return runErr
		}
		for next < len(ids) && ids[next] <= id {
			e, err := newEngine(p, w.withStarts(courseFrom[ids[next]]), sink(ids[next])) // both checked above
			if err != nil {
				return err
			}
			cur, curID = e, ids[next]
			b.reset(p.reach(), from)
			started = false
			next++
			if curID != id {
				finish()
				if runErr != nil {
					return runErr
				}
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
		if ev.UserID == skip {
			return true
		}
		if cur == nil || ev.UserID != curID {
			if runErr = start(ev.UserID); runErr != nil {
				return false
			}
			if cur == nil || curID != ev.UserID {
				return true // not asked for
			}
		}
		if !started && lb > 0 {
			if ev.Time < w.From {
				b.add(ev)
				return true
			}
			if !begin(ev.Time) {
				return runErr == nil
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
	if runErr != nil {
		return runErr
	}
	// Users active without a break through the look-behind: one at a
	// time, reading further back.
	for _, id := range retry {
		if _, err := computeUser(ctx, oneUser{r}, id, p, w.withStarts(courseFrom[id]), now, sink(id), minBehind); err != nil {
			return err
		}
		done(id, p)
	}
	return nil
}

// oneUser reads one user's events through a UsersLogReader.
type oneUser struct{ r UsersLogReader }

func (o oneUser) UserEvents(ctx context.Context, userID, from, to int64, fn func(*Event) bool) error {
	return o.r.UsersEvents(ctx, []int64{userID}, from, to, fn)
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
