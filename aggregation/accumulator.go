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
	courses  []int64 // backing store of the sessions' Courses
	ips      map[int64]*ipRange
	ipCourse int64
	ipLast   *ipRange
	front    [frontSize]frontEntry // the cells a learner's day keeps touching
}

// frontEntry caches one key's cell index in front of the rollup's table.
type frontEntry struct {
	key  RollupKey
	slot int32 // -1 when empty
}

const frontSize = 256

type ipRange struct {
	first, last string
}

// NewAccumulator returns an accumulator whose days are calendar days in loc
// (nil means UTC).
func NewAccumulator(loc *time.Location) *Accumulator {
	a := &Accumulator{
		rollup: NewRollup(),
		clock:  newDayClock(loc),
		ips:    make(map[int64]*ipRange),
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
	clear(a.ips)
	a.ipCourse, a.ipLast = 0, nil
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
		a.noteIP(k.CourseID, ev.IP)
	}
}

func (a *Accumulator) noteIP(course int64, ip string) {
	r := a.ipLast
	if r == nil || a.ipCourse != course {
		r = a.ips[course]
		if r == nil {
			r = &ipRange{first: ip}
			a.ips[course] = r
		}
		a.ipCourse, a.ipLast = course, r
	}
	r.last = ip
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

// Sessions returns the closed sessions in start order.
func (a *Accumulator) Sessions() []Session {
	out := slices.Clone(a.sessions)
	slices.SortStableFunc(out, func(x, y Session) int {
		return cmp.Or(cmp.Compare(x.UserID, y.UserID), cmp.Compare(x.Start, y.Start), cmp.Compare(x.Seq, y.Seq))
	})
	return out
}

// Result builds the user's result tree for the window under the policy.
func (a *Accumulator) Result(userID int64, p Policy, w Window) *Result {
	res := a.rollup.UserResult(userID)
	res.Policy = PolicyRef{Name: p.Name, Version: p.Version}
	res.From, res.To = w.From, w.To
	for _, s := range a.Sessions() {
		if s.UserID == userID {
			res.Sessions = append(res.Sessions, s)
		}
	}
	for i := range res.Courses {
		if r := a.ips[res.Courses[i].CourseID]; r != nil {
			res.Courses[i].FirstIP, res.Courses[i].LastIP = r.first, r.last
		}
	}
	return res
}
