package aggregation

// Explainer is the Sink that records laps (counted or not) and sessions, in
// the order the engine settles them: the answer to "why is this number?".
// Offset and Limit bound what it keeps (a page of laps), so explaining a
// long history costs memory for one page only; Seen counts every lap.
type Explainer struct {
	Offset   int // laps to skip before keeping any
	Limit    int // laps to keep at most; 0 = no limit
	Seen     int // laps reported so far, kept or not
	Laps     []Lap
	Sessions []Session
}

// Lap records a copy of the lap when it falls in the page.
func (x *Explainer) Lap(l *Lap) {
	x.Seen++
	if x.Seen <= x.Offset || (x.Limit > 0 && len(x.Laps) >= x.Limit) {
		return
	}
	x.Laps = append(x.Laps, *l)
}

// Session records a copy of the session.
func (x *Explainer) Session(s *Session) {
	cp := *s
	cp.Courses = append([]int64(nil), s.Courses...)
	x.Sessions = append(x.Sessions, cp)
}

// Tee is a Sink that forwards everything to several sinks.
type Tee []Sink

// Lap forwards the lap to every sink.
func (t Tee) Lap(l *Lap) {
	for _, s := range t {
		s.Lap(l)
	}
}

// Session forwards the session to every sink.
func (t Tee) Session(s *Session) {
	for _, k := range t {
		k.Session(s)
	}
}

// Run pushes events (one user's, in order) through a new engine for the
// policy and window, then flushes it with now. Events after the window are
// used as look-ahead only. It is the convenience form of NewEngine + Push +
// Flush for callers that hold the events in memory.
func Run(p Policy, w Window, now int64, events []Event, sink Sink) (Policy, error) {
	e, err := NewEngine(p, w, sink)
	if err != nil {
		return p, err
	}
	for i := range events {
		if err := e.Push(&events[i]); err != nil {
			return e.Policy(), err
		}
		if events[i].Time > w.To && e.Done() {
			break
		}
	}
	e.Flush(now)
	return e.Policy(), nil
}

// Compute runs the events through the policy and returns the user's result
// tree with days in UTC. For other time zones use an Accumulator directly.
func Compute(p Policy, w Window, now int64, events []Event) (*Result, error) {
	acc := NewAccumulator(nil)
	p, err := Run(p, w, now, events, acc)
	if err != nil {
		return nil, err
	}
	var user int64
	if len(events) > 0 {
		user = events[0].UserID
	}
	return acc.Result(user, p, w), nil
}

// Explain runs the events through the policy and returns every lap and
// session.
func Explain(p Policy, w Window, now int64, events []Event) (*Explainer, error) {
	x := &Explainer{}
	if _, err := Run(p, w, now, events, x); err != nil {
		return nil, err
	}
	return x, nil
}
