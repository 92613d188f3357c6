package aggregation

import "slices"

// Engine computes one user's laps and sessions from that user's events,
// pushed in (time, id) order. It holds O(1) state per timeline: the one
// event whose lap is not known yet (forward attribution), the backward
// anchor, the carried captured time and the open session. The only other
// buffer is the laps of a session that is not yet longer than the policy's
// MinSession (a few seconds of activity), reused between sessions.
//
// An Engine is not safe for concurrent use; use one per user.
type Engine struct {
	p    Policy
	w    Window
	sink Sink

	user    int64
	last    Event // the previous pushed event, for the order check
	started bool
	flushed bool
	reach   int64 // max(Threshold, Credit): past it, a gap's lap no longer depends on its length

	single   timeline
	byCourse map[int64]*timeline
	cacheID  int64
	cacheTL  *timeline
	seq      int // sessions opened so far

	scratch      Lap      // explanation of events that never reach a timeline
	originDetail []string // "origin cli", … for DropOrigins, built once
}

// NewEngine returns an engine for one user and window. The policy and window
// are validated; the policy is normalized (see Policy.Normalize).
func NewEngine(p Policy, w Window, sink Sink) (*Engine, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, err
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return newEngine(p, w, sink)
}

// newEngine is NewEngine for a policy already normalized and a window
// already validated: what a batch makes for each of its users.
func newEngine(p Policy, w Window, sink Sink) (*Engine, error) {
	if sink == nil {
		return nil, Errorf(EInvalid, "engine: nil sink")
	}
	e := &Engine{p: p, w: w, sink: sink}
	for _, o := range p.DropOrigins {
		e.originDetail = append(e.originDetail, "origin "+o)
	}
	e.reach = max(p.Threshold, p.Credit)
	e.single.init(e, 0)
	return e, nil
}

// Policy returns the normalized policy the engine applies.
func (e *Engine) Policy() Policy { return e.p }

// Push feeds the next event. Events must belong to one user and come in
// (time, id) order; otherwise Push returns an EInvalid error and ignores
// the event.
func (e *Engine) Push(ev *Event) error {
	if e.flushed {
		return Errorf(EInvalid, "engine: push after flush")
	}
	if e.started {
		if ev.UserID != e.user {
			return Errorf(EInvalid, "engine: event %d belongs to user %d, not %d", ev.ID, ev.UserID, e.user)
		}
		if ev.Before(&e.last) {
			return Errorf(EInvalid, "engine: event %d (t=%d) comes before event %d (t=%d)", ev.ID, ev.Time, e.last.ID, e.last.Time)
		}
	}
	e.started = true
	e.user = ev.UserID
	e.last.ID, e.last.Time = ev.ID, ev.Time
	if reason, detail, drop := e.filter(ev); drop {
		if e.w.counts(ev.Time, ev.CourseID) {
			e.explainSkipped(ev, reason, detail)
		}
		return nil
	}
	e.timelineFor(ev.CourseID).push(ev)
	return nil
}

// Done reports whether the events pushed so far settle every counted lap,
// assuming any further event lies after the window. A caller that has pushed
// the whole window keeps pushing the user's following events (look-ahead)
// until Done, then calls Flush. A timeline is settled once nothing of it
// inside the window waits for a next event, or once the stream has moved
// more than max(Threshold, Credit) past its last event: any later event
// would be an over-threshold gap earning exactly the credit.
func (e *Engine) Done() bool {
	if !e.single.settled(e.last.Time) {
		return false
	}
	for _, tl := range e.byCourse {
		if !tl.settled(e.last.Time) {
			return false
		}
	}
	return true
}

// Flush ends the stream: the pending event of every timeline gets the
// credit, capped so it never reaches past now (never negative), and every
// open session is closed. After Flush the engine accepts no more events.
func (e *Engine) Flush(now int64) {
	if e.flushed {
		return
	}
	e.flushed = true
	e.single.finish(now)
	if len(e.byCourse) > 0 {
		ids := make([]int64, 0, len(e.byCourse))
		for id := range e.byCourse {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			e.byCourse[id].finish(now)
		}
	}
}

// timelineFor returns the timeline an event of the course belongs to.
func (e *Engine) timelineFor(course int64) *timeline {
	if e.p.Timeline == PerUser {
		return &e.single
	}
	if e.cacheTL != nil && e.cacheID == course {
		return e.cacheTL
	}
	if e.byCourse == nil {
		e.byCourse = make(map[int64]*timeline)
	}
	tl, ok := e.byCourse[course]
	if !ok {
		tl = new(timeline)
		tl.init(e, course)
		e.byCourse[course] = tl
	}
	e.cacheID, e.cacheTL = course, tl
	return tl
}

// filter applies event hygiene: rows that are not the user's own activity
// never enter a timeline.
func (e *Engine) filter(ev *Event) (Reason, string, bool) {
	p := &e.p
	for i, o := range p.DropOrigins {
		if ev.Origin == o {
			return ReasonDropped, e.originDetail[i], true
		}
	}
	switch {
	case !p.KeepFailed && ev.Action == "failed":
		return ReasonDropped, "failed action", true
	case !p.KeepLoginAs && ev.RealUserID != 0:
		return ReasonDropped, "logged in as another user", true
	case !p.KeepAnonymous && ev.Anonymous:
		return ReasonDropped, "anonymous", true
	case p.SkipGraded && ev.isGraded():
		return ReasonGraded, "user_graded row stepped over", true
	}
	if ev.CourseID == SiteCourseID {
		switch p.Site {
		case SiteNone:
			return ReasonDropped, "site-level row", true
		case SiteLoginLogout:
			if !ev.isLogin() && !ev.isLogout() {
				return ReasonDropped, "site-level row other than login/logout", true
			}
		}
	}
	return 0, "", false
}

func (e *Engine) explainSkipped(ev *Event, reason Reason, detail string) {
	l := &e.scratch
	l.Event = *ev
	l.Place = classify(ev)
	l.Gap, l.Credit, l.Carried = NoGap, 0, 0
	l.Reason, l.Counted, l.Session, l.Detail = reason, false, -1, detail
	e.sink.Lap(l)
}

// classify returns the place an event's time belongs to (docs/time-engine.md §2.3,
// with every course's modules resolved: fix B7).
func classify(ev *Event) Place {
	if ev.CourseID == SiteCourseID {
		return Place{Bucket: BucketSite}
	}
	switch ev.ContextLevel {
	case ContextModule:
		cm := ev.CMID
		if cm == 0 {
			cm = ev.ContextInstanceID
		}
		return Place{Bucket: BucketActivity, CourseID: ev.CourseID, CMID: cm, SectionID: ev.SectionID}
	case ContextSystem, ContextUser:
		return Place{Bucket: BucketOther, CourseID: ev.CourseID}
	}
	return Place{Bucket: BucketCourse, CourseID: ev.CourseID}
}

// moduleName is the name capture and ignore lists are matched against: the
// module type for activities, else the reference's pseudo-module names.
func moduleName(pl *Place, ev *Event) string {
	switch pl.Bucket {
	case BucketActivity:
		return ev.moduleType()
	case BucketCourse:
		return "course"
	}
	if ev.ContextLevel == ContextUser || ev.isLogin() {
		return "user"
	}
	return "system"
}
