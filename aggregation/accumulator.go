package aggregation

import (
	"cmp"
	"slices"
	"time"
)

// Accumulator is the Sink that builds daily rollups, sessions and first/last
// IPs from counted laps, and from them a Result. Its steady state does not
// allocate: cells are found through a small direct-mapped cache in front of
// the rollup's map.
type Accumulator struct {
	rollup   *Rollup
	clock    dayClock
	sessions []Session
	courses  []int64               // backing store of the sessions' Courses
	front    [frontSize]frontEntry // the cells a learner's day keeps touching
}

// frontEntry caches one key's cell index in front of the rollup's table.
type frontEntry struct {
	key  RollupKey
	slot int32 // -1 when empty
}

const frontSize = 256

// NewAccumulator returns an accumulator whose days are calendar days in loc
// (nil means UTC).
func NewAccumulator(loc *time.Location) *Accumulator {
	a := &Accumulator{
		rollup: NewRollup(),
		clock:  newDayClock(loc),
	}
	a.Reset()
	return a
}

// Reset empties the accumulator (for the next user or window), keeping its
// memory so a long-running compiler does not allocate per event.
func (a *Accumulator) Reset() {
	a.rollup.Reset()
	clear(a.sessions)
	a.sessions, a.courses = a.sessions[:0], a.courses[:0]
	for i := range a.front {
		a.front[i].slot = -1
	}
}

// Lap adds a counted lap to its cell; other laps are ignored.
func (a *Accumulator) Lap(l *Lap) {
	if !l.Counted {
		return
	}
	ev := &l.Event
	k := RollupKey{
		UserID:   ev.UserID,
		Day:      a.clock.dayOf(ev.Time),
		Bucket:   l.Place.Bucket,
		CourseID: l.Place.CourseID,
	}
	if k.Bucket == BucketActivity {
		k.SectionID, k.CMID = l.Place.SectionID, l.Place.CMID
	}
	h := hashKey(&k)
	f := &a.front[h&(frontSize-1)]
	if f.slot < 0 || f.key != k {
		f.key, f.slot = k, a.rollup.slotHashed(&k, h)
	}
	c := &a.rollup.cells[f.slot]
	if c.Events == 0 {
		c.First, c.Last = ev.Time, ev.Time
		if k.Bucket == BucketActivity {
			c.ModuleType = ev.moduleType()
		}
	} else {
		c.First, c.Last = min(c.First, ev.Time), max(c.Last, ev.Time)
	}
	c.Elapsed += l.Credit
	c.Events++
	if ev.IP != "" && k.CourseID != SiteCourseID {
		// Laps of one place arrive in (time, id) order.
		if c.FirstIP.IP == "" {
			c.FirstIP = IPMark{IP: ev.IP, Time: ev.Time, ID: ev.ID}
		}
		c.LastIP = IPMark{IP: ev.IP, Time: ev.Time, ID: ev.ID}
	}
}

// Session keeps a copy of a closed session.
func (a *Accumulator) Session(s *Session) {
	start := len(a.courses)
	a.courses = append(a.courses, s.Courses...)
	cp := *s
	cp.Courses = a.courses[start:len(a.courses):len(a.courses)]
	a.sessions = append(a.sessions, cp)
}

// Rollup returns the daily cells accumulated so far.
func (a *Accumulator) Rollup() *Rollup { return a.rollup }

// empty reports whether nothing was counted: no cell, no session.
func (a *Accumulator) empty() bool { return a.rollup.Len() == 0 && len(a.sessions) == 0 }

// Sessions returns the closed sessions in start order (see SortSessions).
func (a *Accumulator) Sessions() []Session {
	out := slices.Clone(a.sessions)
	SortSessions(out)
	return out
}

// SortSessions orders sessions by user, start and first event: an order
// that does not depend on the window they were computed in.
func SortSessions(ss []Session) {
	slices.SortStableFunc(ss, func(x, y Session) int {
		return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.Start, y.Start), cmp.Compare(x.FirstID, y.FirstID), cmp.Compare(x.Seq, y.Seq))
	})
}

// Result builds the user's result tree for the window under the policy.
func (a *Accumulator) Result(userID int64, p Policy, w Window) *Result {
	var ss []Session
	for _, s := range a.Sessions() {
		if s.UserID == userID {
			ss = append(ss, s)
		}
	}
	return BuildResult(userID, p, w, a.rollup, ss)
}

// BuildResult builds a user's result tree for the window under the policy
// from daily cells and the sessions (in SortSessions order). Each session's
// Seq becomes its index: engine sequence numbers depend on where a
// computation started, and answers must not.
func BuildResult(userID int64, p Policy, w Window, r *Rollup, sessions []Session) *Result {
	res := r.UserResult(userID)
	res.Policy = PolicyRef{Name: p.Name, Version: p.Version}
	res.From, res.To = w.From, w.To
	res.Sessions = sessions
	for i := range res.Sessions {
		res.Sessions[i].Seq = i
	}
	return res
}
