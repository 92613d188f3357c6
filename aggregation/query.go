package aggregation

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/usestats/usestats/internal/ttlcache"
)

// Source says where an answer came from.
type Source uint8

// The sources of an answer.
const (
	SourceLive    Source = iota + 1 // computed from the log
	SourceRollups                   // read from compiled rollups only
	SourceMixed                     // rollups plus partial days or the newest events from the log
)

// String returns LIVE, ROLLUPS or MIXED.
func (s Source) String() string {
	switch s {
	case SourceRollups:
		return "ROLLUPS"
	case SourceMixed:
		return "MIXED"
	case SourceLive:
		return "LIVE"
	}
	return ""
}

// Query is one question: a window under a policy.
type Query struct {
	Policy Policy
	Window Window
	// Now caps the last event's credit (0: the service's clock).
	Now int64
	// Live forces the answer from the log, bypassing rollups.
	Live bool
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	// Logs streams users' events (required). A Logs that is also a
	// UsersLogReader reads a batch of users in one pass per share.
	Logs LogReader
	// Rollups reads compiled rollups; nil answers everything live.
	Rollups RollupReader
	// Location is the time zone of calendar days (nil = UTC).
	Location *time.Location
	// Now is the clock (default time.Now).
	Now func() int64
	// Workers bounds the log reads running at once across every call
	// (default 2): each holds a database query.
	Workers int
	// OnPanic is told of a panic recovered in a computation (for logging);
	// the call that hit it fails with an EInternal error.
	OnPanic func(v any, stack []byte)
	// Policies resolves policy names for the surfaces (Service.Policies);
	// nil knows the presets only.
	Policies *Policies
	// Enrolments gives the users' enrolment starts for policies with the
	// enrolment filter (default: Logs, when it is an EnrolmentReader).
	Enrolments EnrolmentReader
	// Scorm gives the times SCORM packages reported, for policies with the
	// SCORM layer (default: Logs, when it is a ScormReader; without one the
	// log's time stands).
	Scorm ScormReader
	// RollupCacheBytes is about how much memory the days read from the
	// store may keep to be used again while the store says the user's
	// rollups are unchanged (default 0: read every time). It needs a
	// Rollups that is a RollupVersionReader; answers are the same either
	// way.
	RollupCacheBytes int64
	// Roster reads courses, their members, groups and cohorts, for the
	// analytics over many learners (nil: those answer EUnavailable).
	Roster Roster
	// Grades reads final course grades, for participant lists sorted by
	// grade (nil: such a sort is EUnavailable).
	Grades GradeReader
	// CacheTTL is how long what the service read of the store's compile
	// state (each user's rollup version and horizon) and of SCORM tracking
	// is used again without asking (default 0: asked on every question).
	// An answer then reflects a compile, a forget or a SCORM write up to
	// CacheTTL late, as if the compile had run that much later; the log's
	// events are always read, so answers stay current to the second. An
	// entry asked for after half the TTL is read again in the background,
	// so users asked about often never wait for theirs to expire.
	CacheTTL time.Duration
}

// Service is the one query service every surface calls: GraphQL, the web
// services, MNET, the CLI and exports. It answers one user, many users or
// a course's participants for a window under a policy, from compiled
// rollups when the policy is compiled (plus the partial days and newest
// events from the log) and from the log otherwise, and says which
// (Result.Source). Log reads share one bounded pool; a panic in a
// computation fails its call, never the process. It is safe for
// concurrent use.
type Service struct {
	cfg    ServiceConfig
	multi  UsersLogReader // cfg.Logs as a UsersLogReader, or nil
	slots  chan struct{}
	cached rollupCache
	scorm  *scormCache
	// refresh reads the look-up caches' entries due for a refresh.
	refresh *ttlcache.Refresher
	// siteBatch is SiteUsersBatch (tests make it smaller).
	siteBatch int
}

// NewService returns a service for cfg.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Logs == nil {
		return nil, Errorf(EInvalid, "query service: a log reader is required")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = func() int64 { return time.Now().Unix() }
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	clock := func() time.Time { return time.Unix(cfg.Now(), 0) } // the look-up caches' TTL runs on the service's clock
	refresh := newRefresher(cfg.CacheTTL)
	s := &Service{cfg: cfg, slots: make(chan struct{}, cfg.Workers), siteBatch: SiteUsersBatch,
		cached:  rollupCache{budget: cfg.RollupCacheBytes, versions: newVersionCache(cfg.CacheTTL, clock), refresh: refresh},
		scorm:   newScormCache(cfg.CacheTTL, clock),
		refresh: refresh}
	if cfg.Policies == nil {
		cfg.Policies = &Policies{}
	}
	s.cfg.Policies = cfg.Policies
	if cfg.Enrolments == nil {
		s.cfg.Enrolments, _ = cfg.Logs.(EnrolmentReader)
	}
	if cfg.Scorm == nil {
		s.cfg.Scorm, _ = cfg.Logs.(ScormReader)
	}
	s.multi, _ = cfg.Logs.(UsersLogReader)
	return s, nil
}

// WaitRefreshes waits until the look-up caches' background reads started
// so far have ended (see ServiceConfig.CacheTTL): serve calls it when it
// shuts down.
func (s *Service) WaitRefreshes() { s.refresh.Wait() }

// Location returns the time zone of the service's days.
func (s *Service) Location() *time.Location { return s.cfg.Location }

// Policies returns the policies the service's callers choose from: the
// presets and, when the site has its block_use_stats settings, "site",
// which is then the default of every surface.
func (s *Service) Policies() *Policies { return s.cfg.Policies }

// Now returns the service's clock.
func (s *Service) Now() int64 { return s.cfg.Now() }

// Workers returns the size of the log-read pool.
func (s *Service) Workers() int { return cap(s.slots) }

// acquire takes a slot of the pool, or fails when ctx ends first.
func (s *Service) acquire(ctx context.Context) (func(), error) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// guard runs fn, turning a panic into an EInternal error.
func (s *Service) guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if s.cfg.OnPanic != nil {
				s.cfg.OnPanic(v, debug.Stack())
			}
			err = &Error{Code: EInternal, Message: fmt.Sprintf("internal error (panic: %v)", v)}
		}
	}()
	return fn()
}

// normalize validates a query and fills its clock.
func (s *Service) normalize(q Query) (Query, error) {
	p, err := q.Policy.Normalize()
	if err != nil {
		return q, err
	}
	if err := q.Window.Validate(); err != nil {
		return q, err
	}
	q.Policy = p
	if q.Now == 0 {
		q.Now = s.cfg.Now()
	}
	return q, nil
}

// User answers one user's query.
func (s *Service) User(ctx context.Context, userID int64, q Query) (*Result, error) {
	rs, err := s.Users(ctx, []int64{userID}, q)
	if err != nil {
		return nil, err
	}
	return rs[userID], nil
}

// Users answers the query for several users (any order, repeats allowed):
// one result per distinct user.
func (s *Service) Users(ctx context.Context, userIDs []int64, q Query) (map[int64]*Result, error) {
	q, err := s.normalize(q)
	if err != nil {
		return nil, err
	}
	ids := slices.Clone(userIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return map[int64]*Result{}, nil
	}
	starts, err := s.courseStarts(ctx, ids, q)
	if err != nil {
		return nil, err
	}
	out, err := s.answers(ctx, ids, q, starts)
	if err != nil {
		return nil, err
	}
	// The SCORM layer, on every answer whatever its source.
	if err := s.addScorm(ctx, q, starts, out); err != nil {
		return nil, err
	}
	return out, nil
}

// answers answers the users (sorted, distinct) with their course starts:
// from compiled rollups when they serve the query, with the log's head and
// tail, else from the log.
func (s *Service) answers(ctx context.Context, ids []int64, q Query, starts map[int64]map[int64]int64) (map[int64]*Result, error) {
	out := make(map[int64]*Result, len(ids))
	var compiled map[int64]*UserRollups
	if s.cfg.Rollups != nil && !q.Live && q.Window.CourseFrom == nil {
		if from, to, need := rollupDays(q.Window, s.cfg.Location); need {
			key := CompileKeyOf(PolicyRef{Name: q.Policy.Name, Version: q.Policy.Version}, s.cfg.Location)
			users, ok, err := s.cached.read(ctx, s.cfg.Rollups, key, ids, from, to)
			if err != nil {
				return nil, fmt.Errorf("reading rollups: %w", err)
			}
			if ok {
				compiled = users
				// Days stored without their hours, or that the enrolment
				// filter would cut, never answer: the log does.
				for id, u := range compiled {
					if u.NoHours || filteredOut(u, starts[id]) {
						lo := liveOnly
						compiled[id] = &lo
					}
				}
			}
		}
	}
	if compiled == nil {
		parts, err := s.liveParts(ctx, ids, q, starts, func(int64) *Window { return &q.Window }, 0)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			r := finish(id, q, parts[id].Rollup(), parts[id].Sessions())
			r.Source = SourceLive
			out[id] = r
		}
		return out, nil
	}
	plans := make(map[int64]plan, len(ids))
	for _, id := range ids {
		var h, from int64
		if u := compiled[id]; u != nil {
			h, from = u.Horizon, u.From
		}
		plans[id] = planFor(q.Window, h, from, s.cfg.Location)
	}
	behind := q.Policy.joinBehind()
	heads, err := s.liveParts(ctx, ids, q, starts, func(id int64) *Window { return plans[id].head }, behind)
	if err != nil {
		return nil, err
	}
	tails, err := s.liveParts(ctx, ids, q, starts, func(id int64) *Window { return plans[id].tail }, behind)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		out[id] = s.assemble(id, q, plans[id], compiled[id], heads[id], tails[id])
	}
	return out, nil
}

// assemble joins one user's answer from its live head, stored days and
// live tail (each may be missing). An answer from the stored days alone
// is remembered with the cached days that gave it, and handed out again
// (a copy of the Result; its slices are shared) while they stay the
// store's.
func (s *Service) assemble(id int64, q Query, pl plan, u *UserRollups, head, tail *Accumulator) *Result {
	useStored := pl.rollups && u != nil
	source := SourceLive
	switch {
	case (head != nil || tail != nil) && useStored:
		source = SourceMixed
	case useStored:
		source = SourceRollups
	}
	// A live part that counted nothing (today's tail of a learner who has
	// not come back) adds nothing: the stored days answer alone.
	if head != nil && head.empty() && useStored {
		head = nil
	}
	if tail != nil && tail.empty() && useStored {
		tail = nil
	}
	alone := useStored && head == nil && tail == nil && u.memo != nil
	if alone {
		if r := u.memo.result(q.Window); r != nil && r.Policy == (PolicyRef{Name: q.Policy.Name, Version: q.Policy.Version}) {
			c := *r
			c.Source = source
			return &c
		}
	}
	var storedCells *Rollup
	var parts [][]Session
	if useStored {
		// Days before the retention start are the head's (a store may
		// still hold some until its next pass drops them).
		first := minDay
		if u.From != 0 {
			first = dayOf(u.From, s.cfg.Location)
		}
		var sessions []Session
		if u.memo != nil {
			storedCells, sessions = u.memo.stored(u, first)
		} else {
			storedCells, sessions = storedPart(u, first)
		}
		parts = append(parts, sessions)
	}
	cells := storedCells
	if head != nil || tail != nil || cells == nil {
		n, h := 0, 0
		if storedCells != nil {
			n, h = storedCells.Len(), storedCells.HourLen()
		}
		cells = newRollupFor(n, h)
		if head != nil {
			cells.Merge(head.Rollup())
			parts = append([][]Session{head.Sessions()}, parts...)
		}
		if storedCells != nil {
			cells.Merge(storedCells)
		}
		if tail != nil {
			cells.Merge(tail.Rollup())
			parts = append(parts, tail.Sessions())
		}
	}
	r := finish(id, q, cells, MergeSessions(parts...))
	r.Source = source
	if alone {
		u.memo.remember(q.Window, r)
		c := *r
		return &c
	}
	return r
}

// finish builds an answer: the merge keys of sessions are internal.
func finish(userID int64, q Query, cells *Rollup, sessions []Session) *Result {
	for i := range sessions {
		sessions[i].Continues, sessions[i].PrevID = false, 0
	}
	return BuildResult(userID, q.Policy, q.Window, cells, sessions)
}

// liveParts computes, from the log, each user's window given by win (nil:
// nothing to compute for that user), with at least behind seconds of
// look-behind and the user's course starts (the enrolment filter). Users
// with the same window are read together, in shares of the pool.
func (s *Service) liveParts(ctx context.Context, ids []int64, q Query, starts map[int64]map[int64]int64, win func(int64) *Window, behind int64) (map[int64]*Accumulator, error) {
	groups := map[[2]int64][]int64{}
	var order [][2]int64
	for _, id := range ids {
		w := win(id)
		if w == nil {
			continue
		}
		k := [2]int64{w.From, w.To}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], id)
	}
	out := make(map[int64]*Accumulator, len(ids))
	var mu sync.Mutex
	for _, k := range order {
		w := Window{From: k[0], To: k[1], CourseFrom: q.Window.CourseFrom}
		users := groups[k]
		var shares [][]int64
		if s.multi != nil {
			shares = slices.Collect(slices.Chunk(users, (len(users)+cap(s.slots)-1)/cap(s.slots)))
		} else {
			for _, id := range users {
				shares = append(shares, []int64{id})
			}
		}
		err := s.parallel(ctx, len(shares), func(ctx context.Context, i int) error {
			share := shares[i]
			accs := make(map[int64]*Accumulator, len(share))
			var err error
			if s.multi != nil {
				err = computeUsers(ctx, s.multi, share, q.Policy, w, q.Now,
					func(id int64) Sink {
						accs[id] = NewAccumulator(s.cfg.Location)
						return accs[id]
					}, func(int64, Policy) {}, behind, starts)
			} else {
				acc := NewAccumulator(s.cfg.Location)
				accs[share[0]] = acc
				_, err = computeUser(ctx, s.cfg.Logs, share[0], q.Policy, w.withStarts(starts[share[0]]), q.Now, acc, behind)
			}
			if err != nil {
				return fmt.Errorf("computing %d users: %w", len(share), err)
			}
			mu.Lock()
			for id, a := range accs {
				out[id] = a
			}
			mu.Unlock()
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parallel runs fn(ctx, i) for i in [0, n), each holding a slot of the
// pool, and returns the first error (the others are then cancelled). A
// panic in fn fails the call.
func (s *Service) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	fail := func(err error) {
		once.Do(func() { first = err; cancel(err) })
	}
	for i := range n {
		release, err := s.acquire(ctx)
		if err != nil {
			fail(err)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			if err := s.guard(func() error { return fn(ctx, i) }); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	return first
}

// Explain returns one page of the user's laps for the query (limit laps
// after skipping offset; 0 keeps nothing) and every session, always from
// the log: rollups keep sums, not laps.
func (s *Service) Explain(ctx context.Context, userID int64, q Query, offset, limit int) (*Explainer, error) {
	q, err := s.normalize(q)
	if err != nil {
		return nil, err
	}
	x := &Explainer{Offset: offset, Limit: limit}
	if limit == 0 {
		return new(Explainer), nil
	}
	starts, err := s.courseStarts(ctx, []int64{userID}, q)
	if err != nil {
		return nil, err
	}
	// With the SCORM layer, the answer is built alongside for its rows.
	var sink Sink = x
	var acc *Accumulator
	if s.scormOn(q) {
		acc = NewAccumulator(s.cfg.Location)
		sink = Tee{x, acc}
	}
	err = s.parallel(ctx, 1, func(ctx context.Context, _ int) error {
		_, err := ComputeUser(ctx, s.cfg.Logs, userID, q.Policy, q.Window.withStarts(starts[userID]), q.Now, sink)
		return err
	})
	if err != nil {
		return nil, err
	}
	if acc != nil {
		if err := s.explainScorm(ctx, userID, q, starts, acc, x); err != nil {
			return nil, err
		}
	}
	return x, nil
}
