package aggregation

import (
	"cmp"
	"slices"
	"time"
)

// Accumulator is the Sink that builds daily and hourly rollups, sessions
// and first/last IPs from counted laps, and from them a Result. Its steady
// state does not allocate: cells are found through small caches in front
// of the rollup's tables.
type Accumulator struct {
	rollup   *Rollup
	clock    dayClock
	sessions []Session
	courses  []int64               // backing store of the sessions' Courses
	front    [frontSize]frontEntry // the cells a learner's day keeps touching
	hours    hourCache
}

// frontEntry caches one key's cell index in front of the rollup's table.
type frontEntry struct {
	key  RollupKey
	slot int32 // -1 when empty
}

const frontSize = 256

// hourCache finds the hourly cells of laps. Each timeline settles its
// laps in time order, so a course's laps mostly go on in its last hour or
// start a later one: byCourse keeps, for the last courses seen, their
// last hourly cell and the latest hour of their cells (tops, that of the
// others). A cell later than every cell of its course is new, and made
// without a lookup (hourTable.add); any other is looked up.
type hourCache struct {
	byCourse [8]courseHour // by the course's low bits
	tops     map[[2]int64]Hour
	mixed    bool // the rollup was handed out (Rollup): look every cell up
}

// courseHour is a course's last hourly cell.
type courseHour struct {
	user, course int64
	day          Day
	hour         Hour
	slot         int32 // -1: the entry is empty
	top          Hour  // the latest hour of the course's (and user's) cells
}

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
	for i := range a.hours.byCourse {
		a.hours.byCourse[i].slot = -1
	}
	clear(a.hours.tops)
	a.hours.mixed = false
}

// Lap adds a counted lap to its daily cell and to its hourly cell (the
// UTC hour of its event, in its course or the site); other laps are
// ignored.
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
	hour := HourOf(ev.Time)
	e := &a.hours.byCourse[uint64(k.CourseID)%uint64(len(a.hours.byCourse))]
	if e.hour != hour || e.course != k.CourseID || e.day != k.Day || e.user != k.UserID || e.slot < 0 {
		a.hours.find(a.rollup, &k, hour, e)
	}
	hc := &a.rollup.hours.cells[e.slot]
	hc.Elapsed += l.Credit
	hc.Events++
}

// find sets e to the hourly cell of the daily key k in hour, making the
// cell when there is none.
func (hc *hourCache) find(r *Rollup, k *RollupKey, hour Hour, e *courseHour) {
	if e.slot < 0 || e.course != k.CourseID || e.user != k.UserID {
		// Another course: keep the entry's latest hour, take the course's.
		if e.slot >= 0 {
			if hc.tops == nil {
				hc.tops = map[[2]int64]Hour{}
			}
			hc.tops[[2]int64{e.user, e.course}] = e.top
		}
		top, seen := hc.tops[[2]int64{k.UserID, k.CourseID}]
		if !seen {
			top = hour - 1 // no cell of the course yet
		}
		*e = courseHour{user: k.UserID, course: k.CourseID, top: top}
	}
	hk := HourKey{UserID: k.UserID, Day: k.Day, CourseID: k.CourseID, Hour: hour}
	if hour > e.top && !hc.mixed {
		e.slot, e.top = r.hours.add(&hk), hour // later than every cell of the course: new
	} else {
		e.slot, e.top = r.hourSlot(&hk), max(e.top, hour)
	}
	e.day, e.hour = k.Day, hour
}

// Session keeps a copy of a closed session.
func (a *Accumulator) Session(s *Session) {
	start := len(a.courses)
	a.courses = append(a.courses, s.Courses...)
	cp := *s
	cp.Courses = a.courses[start:len(a.courses):len(a.courses)]
	a.sessions = append(a.sessions, cp)
}

// Rollup returns the daily and hourly cells accumulated so far. The
// caller may change the rollup (Merge into it); the next laps then look
// their hourly cells up.
func (a *Accumulator) Rollup() *Rollup {
	a.hours.mixed = true
	return a.rollup
}

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
