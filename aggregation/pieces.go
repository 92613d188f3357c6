package aggregation

import (
	"cmp"
	"slices"
	"time"
)

// SessionPiece is the part of one session that falls on one calendar day:
// what compiled rollups keep of sessions. The pieces of the days of a
// window rebuild the window's sessions exactly as a computation of that
// window reports them (fields from its counted laps only), see
// SessionsFromPieces.
type SessionPiece struct {
	UserID  int64
	Key     int64 // FirstID of the whole session: names it across days and compiles
	Day     Day
	Start   int64   // first counted event of the day
	End     int64   // latest end (event + lap) of the day's laps
	Elapsed int64   // Σ of the day's laps
	Events  int64   // counted events of the day
	Courses []int64 // distinct courses of the day, first-seen order
	FirstID int64   // log id of the day's first counted event
	LastID  int64   // log id of the day's last counted event
	// PrevLastID is the LastID of the session's piece before this one, 0
	// for its first piece.
	PrevLastID int64
}

// PieceSink is the Sink that cuts counted laps and sessions into daily
// session pieces next to an Accumulator's cells. Every piece's Key is its
// session's FirstID in this computation; a session that continues one cut
// at the start of the computation (Session.Continues) is listed by
// Continued, and its first piece has PrevLastID = PrevID: the caller
// renames its pieces to the earlier part's key.
type PieceSink struct {
	*Accumulator
	backward  bool
	clock     dayClock
	open      map[int]*pieceRun // by engine session Seq
	done      []SessionPiece
	continued []Continued
}

// Continued is a session that began before the computation's window: the
// log id of its first counted event and of the last event before the
// window that joined it.
type Continued struct {
	UserID  int64
	FirstID int64
	PrevID  int64
}

type pieceRun struct {
	pieces []SessionPiece
}

// NewPieceSink returns a sink whose days are calendar days in loc, for
// the policy p (whose attribution fixes where a lap ends).
func NewPieceSink(p Policy, loc *time.Location) *PieceSink {
	return &PieceSink{Accumulator: NewAccumulator(loc), backward: p.Attribution == Backward,
		clock: newDayClock(loc), open: map[int]*pieceRun{}}
}

// Reset empties the sink for the next user.
func (k *PieceSink) Reset() {
	k.Accumulator.Reset()
	clear(k.open)
	k.done = k.done[:0]
	k.continued = k.continued[:0]
}

// Continued returns the sessions that began before the window.
func (k *PieceSink) Continued() []Continued { return k.continued }

// Lap adds a counted lap to its cell and to its session's piece of the day.
func (k *PieceSink) Lap(l *Lap) {
	k.Accumulator.Lap(l)
	if !l.Counted {
		return
	}
	ev := &l.Event
	run := k.open[l.Session]
	if run == nil {
		run = new(pieceRun)
		k.open[l.Session] = run
	}
	day := k.clock.dayOf(ev.Time)
	end := ev.Time
	if !k.backward {
		end = satAdd(ev.Time, l.Credit)
	}
	n := len(run.pieces)
	if n == 0 || run.pieces[n-1].Day != day {
		p := SessionPiece{UserID: ev.UserID, Day: day, Start: ev.Time, End: end, FirstID: ev.ID}
		if n > 0 {
			p.PrevLastID = run.pieces[n-1].LastID
		}
		run.pieces = append(run.pieces, p)
		n++
	}
	p := &run.pieces[n-1]
	p.End = max(p.End, end)
	p.Elapsed += l.Credit
	p.Events++
	p.LastID = ev.ID
	if !slices.Contains(p.Courses, ev.CourseID) {
		p.Courses = append(p.Courses, ev.CourseID)
	}
}

// Session closes the session's pieces.
func (k *PieceSink) Session(s *Session) {
	k.Accumulator.Session(s)
	run := k.open[s.Seq]
	if run == nil {
		return
	}
	delete(k.open, s.Seq)
	if s.Continues {
		run.pieces[0].PrevLastID = s.PrevID
		k.continued = append(k.continued, Continued{UserID: s.UserID, FirstID: s.FirstID, PrevID: s.PrevID})
	}
	for i := range run.pieces {
		run.pieces[i].Key = s.FirstID
	}
	k.done = append(k.done, run.pieces...)
}

// Pieces returns the pieces of the closed sessions (the sink's own
// memory: valid until Reset). Call it after the engine is flushed.
func (k *PieceSink) Pieces() []SessionPiece { return k.done }

// SessionsFromPieces rebuilds the sessions of a run of whole days from the
// pieces of those days (any order): each session's pieces are joined in
// day order. A session whose earlier pieces lie before the days has
// Continues set and PrevID = the LastID of its last piece before them.
// The result is in SortSessions order.
func SessionsFromPieces(pieces []SessionPiece) []Session {
	ps := slices.Clone(pieces)
	slices.SortFunc(ps, func(a, b SessionPiece) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Day, b.Day))
	})
	var out []Session
	for i := 0; i < len(ps); {
		j := i + 1
		for j < len(ps) && ps[j].UserID == ps[i].UserID && ps[j].Key == ps[i].Key {
			j++
		}
		first := &ps[i]
		s := Session{UserID: first.UserID, Start: first.Start, End: first.End, FirstID: first.FirstID,
			Continues: first.PrevLastID != 0, PrevID: first.PrevLastID}
		for _, p := range ps[i:j] {
			s.extend(p.End, p.Elapsed, p.Events, p.LastID, p.Courses)
		}
		out = append(out, s)
		i = j
	}
	SortSessions(out)
	return out
}

// MergeSessions joins the sessions of consecutive windows computed apart,
// given in window order: a session that continues (Continues, PrevID) one
// of an earlier window whose LastID is PrevID is added to it. The result
// is in SortSessions order, with Continues and PrevID of the first part.
func MergeSessions(parts ...[]Session) []Session {
	var out []Session
	byLast := map[[2]int64]int{} // (user, LastID) → index in out
	for _, part := range parts {
		for _, s := range part {
			if s.Continues {
				if i, ok := byLast[[2]int64{s.UserID, s.PrevID}]; ok {
					t := &out[i]
					delete(byLast, [2]int64{t.UserID, t.LastID})
					t.extend(s.End, s.Elapsed, s.Events, s.LastID, s.Courses)
					byLast[[2]int64{t.UserID, t.LastID}] = i
					continue
				}
			}
			s.Courses = slices.Clone(s.Courses)
			out = append(out, s)
			byLast[[2]int64{s.UserID, s.LastID}] = len(out) - 1
		}
	}
	SortSessions(out)
	return out
}

// extend adds a later part of the session (its end, time, events, last
// log id and courses in first-seen order) to s.
func (s *Session) extend(end, elapsed, events, lastID int64, courses []int64) {
	s.End = max(s.End, end)
	s.Elapsed += elapsed
	s.Events += events
	s.LastID = lastID
	for _, c := range courses {
		if !slices.Contains(s.Courses, c) {
			s.Courses = append(s.Courses, c)
		}
	}
}
