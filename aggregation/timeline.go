package aggregation

import (
	"math"
	"slices"
)

// timeline is the state of one ordered run of events: the whole user
// (PerUser) or one course (PerCourse).
type timeline struct {
	e      *Engine
	course int64

	pend    Lap  // the event waiting for its next event (forward); its lap is built in place
	hasPend bool // pend holds an event
	pendIn  bool // pend is counted (inside the window)

	last      int64 // time of the last event that entered the timeline
	anchor    int64 // backward: time the next delta is measured from
	hasAnchor bool
	memlap    int64 // captured time waiting for the next counted event

	sess session
}

// session is the open session of a timeline.
type session struct {
	open    bool
	kept    bool  // longer than MinSession: its laps go straight to the sink
	span    int64 // Σ of every lap that joined, counted or not (the MinSession test)
	course  int64 // last non-site course, for SplitOnCourse
	joined  int64 // log id of the last lap that joined, counted or not
	any     bool  // a lap has joined
	s       Session
	pending []Lap // laps of a session not yet kept (MinSession > 0 only)
}

func (tl *timeline) init(e *Engine, course int64) {
	tl.e, tl.course = e, course
}

// settled reports that no counted lap of this timeline can still change
// once the stream has reached time at.
func (tl *timeline) settled(at int64) bool {
	waiting := tl.hasPend && tl.pendIn || len(tl.sess.pending) > 0
	return !waiting || satSub(at, tl.last) > tl.e.reach
}

func (tl *timeline) push(ev *Event) {
	tl.last = ev.Time
	if tl.e.p.Attribution == Backward {
		tl.pushBackward(ev)
		return
	}
	tl.pushForward(ev)
}

// pushForward settles the pending event with ev as its next event, then
// makes ev the pending one.
func (tl *timeline) pushForward(ev *Event) {
	p := &tl.e.p
	if tl.hasPend {
		tl.settle(ev.Time, false, 0)
	}
	in := tl.e.w.counts(ev.Time, ev.CourseID)
	if p.Logout && ev.isLogout() {
		// The gap before the logout went to the previous event; the logout
		// itself and the time after it are not counted (docs/time-engine.md §2.4).
		tl.memlap = 0
		tl.closeSession()
		if in {
			tl.e.explainSkipped(ev, ReasonLogout, "logout ends the session")
		}
		return
	}
	if ev.isLogin() {
		tl.memlap = 0 // a login starts afresh: nothing is carried into it
		if p.SplitOnLogin {
			tl.closeSession()
		}
	}
	tl.pend.Event = *ev
	tl.pend.Place = classify(ev)
	tl.hasPend, tl.pendIn = true, in
}

// settle computes the pending event's lap, either from its next event
// (at next) or, when final, from the credit capped at now.
func (tl *timeline) settle(next int64, final bool, now int64) {
	e := tl.e
	p := &e.p
	l := &tl.pend
	t := l.Event.Time
	closeAfter := false
	if final {
		l.Gap, l.Reason = NoGap, ReasonLastEvent
		l.Credit = min(p.Credit, max(satSub(now, t), 0))
		closeAfter = true
	} else {
		l.Gap = satSub(next, t)
		if p.over(l.Gap) {
			l.Credit, l.Reason = min(p.Credit, l.Gap), ReasonOverThreshold
			closeAfter = true
		} else {
			l.Credit, l.Reason = l.Gap, ReasonGap
		}
	}
	tl.hasPend = false
	l.Carried, l.Counted, l.Session, l.Detail = 0, false, -1, ""

	// Capture and ignore apply whether or not the event is in the window:
	// carried time is credited in the window of the event that receives it,
	// so the rollups of adjacent windows add up.
	if len(p.Capture) > 0 || len(p.Ignore) > 0 {
		name := moduleName(&l.Place, &l.Event)
		switch {
		case l.Event.isLogin():
		case slices.Contains(p.Capture, name):
			tl.memlap = satAdd(tl.memlap, l.Credit)
			l.Reason, l.Detail = ReasonCaptured, "captured module: time carried to the next event"
			if closeAfter {
				l.Detail = "captured module ending its run: time dropped"
			}
			tl.explainUncounted(l, closeAfter)
			return
		case slices.Contains(p.Ignore, name):
			l.Reason, l.Detail = ReasonIgnored, "ignored module: time dropped"
			tl.explainUncounted(l, closeAfter)
			return
		}
	}
	// Carried time is credited once, then reset (fix B2).
	l.Carried = tl.memlap
	l.Credit = satAdd(l.Credit, tl.memlap)
	tl.memlap = 0
	tl.join(l, satAdd(t, l.Credit), tl.pendIn)
	if closeAfter {
		tl.closeSession()
	}
}

// explainUncounted reports a captured or ignored lap (when it is in the
// window) and ends the session and the carried time if the gap after it
// ended the run.
func (tl *timeline) explainUncounted(l *Lap, closeAfter bool) {
	if tl.pendIn {
		tl.e.sink.Lap(l)
	}
	if closeAfter {
		// Carried time never crosses the end of a run: the next event may
		// lie days later, and a window starting between the two must give
		// the same laps as one that does not.
		tl.memlap = 0
		tl.closeSession()
	}
}

// pushBackward credits ev with the time since the anchor.
func (tl *timeline) pushBackward(ev *Event) {
	e := tl.e
	p := &e.p
	if p.SplitOnLogin && ev.isLogin() {
		tl.closeSession()
	}
	l := &tl.pend
	l.Event = *ev
	l.Place = classify(ev)
	l.Carried, l.Counted, l.Session, l.Detail = 0, false, -1, ""
	switch {
	case !tl.hasAnchor:
		// Nothing before it in the run: the credit, exactly as after a gap
		// longer than the reach, so the lap does not depend on whether the
		// computation saw the event before that gap.
		l.Gap, l.Credit, l.Reason = NoGap, p.Credit, ReasonFirstEvent
		tl.anchor, tl.hasAnchor = ev.Time, true
	case satSub(ev.Time, tl.anchor) < p.Coalesce:
		l.Gap, l.Credit, l.Reason = satSub(ev.Time, tl.anchor), 0, ReasonCoalesced
	default:
		l.Gap = satSub(ev.Time, tl.anchor)
		if p.over(l.Gap) {
			tl.closeSession()
			l.Credit, l.Reason = min(p.Credit, l.Gap), ReasonOverThreshold
		} else {
			l.Credit, l.Reason = l.Gap, ReasonGap
		}
		tl.anchor = ev.Time
	}
	logout := p.Logout && ev.isLogout()
	in := e.w.counts(ev.Time, ev.CourseID)
	if len(p.Ignore) > 0 && !ev.isLogin() && slices.Contains(p.Ignore, moduleName(&l.Place, ev)) {
		l.Reason, l.Detail = ReasonIgnored, "ignored module: time dropped"
		if in {
			e.sink.Lap(l)
		}
	} else {
		tl.join(l, ev.Time, in)
	}
	if logout {
		tl.closeSession()
		tl.hasAnchor = false
	}
}

// join adds a lap to the open session (opening one if needed). Every lap
// of the timeline joins, so session boundaries and the MinSession decision
// do not depend on where the window cuts; only counted laps (inside the
// window) enter the reported session and reach the sink, held back while
// the session is not yet longer than MinSession.
func (tl *timeline) join(l *Lap, end int64, counted bool) {
	e := tl.e
	p := &e.p
	s := &tl.sess
	course := l.Event.CourseID
	if s.open && p.SplitOnCourse && course != SiteCourseID && s.course != SiteCourseID && course != s.course {
		tl.closeSession()
	}
	if !s.open {
		s.open, s.kept, s.span = true, p.MinSession == 0, 0
		s.course = SiteCourseID
		s.s.UserID = l.Event.UserID
		s.s.Elapsed, s.s.Events = 0, 0
		s.s.Courses = s.s.Courses[:0]
		s.s.FirstID, s.s.LastID, s.s.Continues, s.s.PrevID = 0, 0, false, 0
		s.any = false
		s.s.Seq = e.seq
		e.seq++
	}
	if course != SiteCourseID {
		s.course = course
	}
	s.span += l.Credit
	if counted {
		if s.s.Events == 0 {
			s.s.Start, s.s.End = l.Event.Time, l.Event.Time
			s.s.FirstID = l.Event.ID
			if s.any {
				s.s.Continues, s.s.PrevID = true, s.joined
			}
		}
		s.s.LastID = l.Event.ID
		if n := len(s.s.Courses); n == 0 || s.s.Courses[n-1] != course && !slices.Contains(s.s.Courses, course) {
			s.s.Courses = append(s.s.Courses, course)
		}
		s.s.Events++
		s.s.Elapsed += l.Credit
		s.s.End = max(s.s.End, end)
		l.Counted, l.Session = true, s.s.Seq
		if !s.kept {
			s.pending = append(s.pending, *l)
		} else {
			e.sink.Lap(l)
		}
	}
	s.joined, s.any = l.Event.ID, true
	if !s.kept && s.span > p.MinSession {
		s.kept = true
		for i := range s.pending {
			e.sink.Lap(&s.pending[i])
		}
		clear(s.pending)
		s.pending = s.pending[:0]
	}
}

// closeSession ends the open session: a kept session goes to the sink, a
// session not longer than MinSession is dropped with its laps uncounted.
func (tl *timeline) closeSession() {
	s := &tl.sess
	if !s.open {
		return
	}
	s.open = false
	if s.kept {
		if s.s.Events > 0 {
			tl.e.sink.Session(&s.s)
		}
		return
	}
	for i := range s.pending {
		l := &s.pending[i]
		l.Counted, l.Reason, l.Detail = false, ReasonShortSession, "session not longer than the minimum"
		tl.e.sink.Lap(l)
	}
	clear(s.pending)
	s.pending = s.pending[:0]
}

// finish settles the pending event with the credit and closes the session.
func (tl *timeline) finish(now int64) {
	if tl.hasPend {
		tl.settle(0, true, now)
	}
	tl.closeSession()
}

// satSub is a − b for times, saturating instead of wrapping (events at the
// ends of int64 must never produce a negative gap or credit).
func satSub(a, b int64) int64 {
	d := a - b
	if (a >= 0) != (b >= 0) && (d >= 0) != (a >= 0) {
		if a >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return d
}

// satAdd is a + b, saturating instead of wrapping.
func satAdd(a, b int64) int64 {
	s := a + b
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		if a >= 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}
