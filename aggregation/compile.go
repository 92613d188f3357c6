package aggregation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Compiler turns a site's log into compiled rollups for one policy and
// keeps them current, incrementally:
//
//   - A fresh compile (the key is not complete yet) fixes a watermark (the
//     highest log id) and a horizon (now less the policy's look-ahead),
//     splits the users into shards and compiles every user's events
//     before the horizon, one shard at a time, in one sequential read per
//     shard. Shards are claimed through the store, so several workers
//     (processes) share a run and a worker that dies loses only its
//     uncommitted shard.
//   - An incremental compile reads only the rows after the watermark (and
//     the ids below it that did not exist yet: the overlap), then
//     recompiles each touched user from the start of the earliest day
//     that changed: the previous horizon's day, or the day of a row that
//     arrived late. Sessions are never cut at a compile boundary: a
//     session crossing the recompiled day joins its earlier pieces.
//   - Users deleted in the site lose their rollups.
//
// Every write replaces what it recomputes in one transaction with the
// progress it stands for, so a compile killed at any point and run again
// leaves exactly what one clean compile leaves, and running it twice
// changes nothing.
type Compiler struct {
	Logs     LogScanner
	Store    CompileStore
	Policy   Policy
	Location *time.Location // days (nil = UTC)
	Now      func() int64   // clock (default time.Now)
	// Overlap is how many ids below the watermark are checked again for
	// rows that committed late (default 10 000).
	Overlap int64
	// Batch is how many users one store write holds (default 500).
	Batch int
	// Shards is how many user ranges a fresh compile is split into, for
	// the workers that share it (default 1). Each is one read of the log
	// in (user, time, id) order, which the database answers by scanning
	// the whole table: more shards than workers only cost.
	Shards int
	// RetainDays drops cells and pieces older than that many days on each
	// compile (0 = keep everything).
	RetainDays int
	// Progress, when set, is told of the work as it goes.
	Progress func(CompileProgress)
}

// CompileProgress reports a compile under way.
type CompileProgress struct {
	Phase       string // "fresh" or "incremental"
	Rows        int64  // events read so far
	RowsTotal   int64  // about how many a fresh compile reads (its watermark); 0 unknown
	Users       int64  // users compiled so far
	ShardsDone  int    // shards finished by this worker (fresh)
	ShardsTotal int    // shards of the run (fresh)
}

// CompileStats sums up one pass.
type CompileStats struct {
	Key       CompileKey
	Fresh     bool  // a fresh run was worked on
	Waiting   bool  // the fresh run's other shards are still with other workers
	Rows      int64 // events read
	Users     int64 // users compiled
	Forgotten int   // deleted users whose rollups were removed
	Horizon   int64
	Watermark int64
	// Raced: another worker's incremental pass moved the state first;
	// this one wrote nothing (the next pass goes on from there).
	Raced bool
}

func (c *Compiler) defaults() (Policy, CompileKey, error) {
	p, err := c.Policy.Normalize()
	if err != nil {
		return p, CompileKey{}, err
	}
	if c.Logs == nil || c.Store == nil {
		return p, CompileKey{}, Errorf(EInvalid, "compiler: a log scanner and a store are required")
	}
	if c.Location == nil {
		c.Location = time.UTC
	}
	if c.Now == nil {
		c.Now = func() int64 { return time.Now().Unix() }
	}
	if c.Overlap <= 0 {
		c.Overlap = 10_000
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.Shards <= 0 {
		c.Shards = 1
	}
	return p, CompileKeyOf(PolicyRef{Name: p.Name, Version: p.Version}, c.Location), nil
}

// Key returns the key the compiler's rollups are stored under.
func (c *Compiler) Key() (CompileKey, error) {
	_, k, err := c.defaults()
	return k, err
}

// Run does one pass: it works on the fresh compile until its shards are
// all taken, and once the key is complete, compiles what is new.
func (c *Compiler) Run(ctx context.Context) (CompileStats, error) {
	p, key, err := c.defaults()
	stats := CompileStats{Key: key}
	if err != nil {
		return stats, err
	}
	st, err := c.Store.CompileState(ctx, key)
	if err != nil {
		return stats, fmt.Errorf("compile %s: %w", key, err)
	}
	if !st.Complete {
		stats.Fresh = true
		done, err := c.fresh(ctx, p, key, st, &stats)
		if err != nil || !done {
			stats.Waiting = err == nil
			return stats, err
		}
		if st, err = c.Store.CompileState(ctx, key); err != nil {
			return stats, fmt.Errorf("compile %s: %w", key, err)
		}
	}
	err = c.incremental(ctx, p, key, st, &stats)
	return stats, err
}

// horizonAt is the horizon of a compile at now: every event before it
// has all the events that can change its lap in the log already.
func horizonAt(p *Policy, now int64) int64 { return satSub(now, p.LookAhead()+1) }

// flushAt is the now a compile to horizon h flushes with: past every
// event's reach, so the result does not depend on the compile's clock.
func flushAt(p *Policy, h int64) int64 { return satAdd(h, p.LookAhead()+1) }

// gapsIn returns the ids in (from, to] missing from present (ascending).
func gapsIn(from, to int64, present []int64) []int64 {
	var gaps []int64
	next := from + 1
	for _, id := range present {
		for ; next < id && next <= to; next++ {
			gaps = append(gaps, next)
		}
		next = max(next, id+1)
	}
	for ; next <= to; next++ {
		gaps = append(gaps, next)
	}
	return gaps
}

// snapshot reads the log's watermark and the gaps in its overlap: the
// overlap is how far below the newest id a transaction may still be open
// (in ids), however many ids a pass covers.
func (c *Compiler) snapshot(ctx context.Context) (int64, []int64, error) {
	w, err := c.Logs.MaxLogID(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("reading the log's last id: %w", err)
	}
	from := max(w-c.Overlap, 0)
	ids, err := c.Logs.LogIDs(ctx, from, w)
	if err != nil {
		return 0, nil, fmt.Errorf("reading the log's recent ids: %w", err)
	}
	return w, gapsIn(from, w, ids), nil
}

// fresh works on the key's fresh compile; done reports that the run is
// finished (the key is complete).
func (c *Compiler) fresh(ctx context.Context, p Policy, key CompileKey, st CompileState, stats *CompileStats) (bool, error) {
	run := st.Run
	if run.ID == 0 {
		w, gaps, err := c.snapshot(ctx)
		if err != nil {
			return false, err
		}
		lo, hi, err := c.Logs.UserBounds(ctx)
		if err != nil {
			return false, fmt.Errorf("reading the log's user range: %w", err)
		}
		run, err = c.Store.BeginRun(ctx, key, CompileRun{Horizon: horizonAt(&p, c.Now()), Watermark: w, Gaps: gaps}, shardsOf(lo, hi, c.Shards))
		if err != nil {
			return false, fmt.Errorf("starting a compile of %s: %w", key, err)
		}
		if run.ID == 0 {
			return true, nil // another worker finished the run meanwhile
		}
	}
	stats.Horizon, stats.Watermark = run.Horizon, run.Watermark
	deleted, err := c.deletedSet(ctx)
	if err != nil {
		return false, err
	}
	total := c.Shards
	for n := 0; ; n++ {
		claim, ok, err := c.Store.ClaimShard(ctx, key, run.ID)
		if err != nil {
			return false, fmt.Errorf("claiming a shard of %s: %w", key, err)
		}
		if !ok {
			break
		}
		err = func() error {
			defer claim.Abort() // after Done it does nothing; after a panic it frees the shard
			return c.compileShard(ctx, p, run, claim, deleted, stats)
		}()
		if err != nil {
			return false, err
		}
		if c.Progress != nil {
			c.Progress(CompileProgress{Phase: "fresh", Rows: stats.Rows, RowsTotal: run.Watermark, Users: stats.Users, ShardsDone: n + 1, ShardsTotal: total})
		}
	}
	done, err := c.Store.FinishRun(ctx, key, run.ID)
	if err != nil {
		return false, fmt.Errorf("finishing the compile of %s: %w", key, err)
	}
	return done, nil
}

// progressEvery is how many events a fresh compile reads between two
// progress reports.
const progressEvery = 100_000

// batchCells bounds the cells, hours and pieces of one store write.
const batchCells = 50_000

// shardsOf splits the user ids lo..hi into about n ranges.
func shardsOf(lo, hi int64, n int) []Shard {
	if hi < lo {
		return []Shard{{Lo: 0, Hi: 1}}
	}
	span := hi - lo + 1
	size := max((span+int64(n)-1)/int64(n), 1)
	var out []Shard
	for a := lo; a <= hi; a += size {
		out = append(out, Shard{Lo: a, Hi: min(a+size, hi+1)})
	}
	return out
}

func (c *Compiler) deletedSet(ctx context.Context) (map[int64]bool, error) {
	ids, err := c.Logs.DeletedUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading deleted users: %w", err)
	}
	set := make(map[int64]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set, nil
}

// userCompiler runs a fresh compile's users, one at a time, through the
// engine into a PieceSink and collects what the store keeps: every event
// of the user before the run's horizon, all of its days.
type userCompiler struct {
	p    Policy
	w    Window // [MinInt64, horizon − 1]
	now  int64  // the flush clock of the horizon
	sink *PieceSink
	eng  *Engine
	user int64
	last int64 // latest event time of the user
}

func newUserCompiler(p Policy, loc *time.Location, horizon int64) *userCompiler {
	return &userCompiler{p: p, sink: NewPieceSink(p, loc),
		w: Window{From: math.MinInt64, To: horizon - 1}, now: flushAt(&p, horizon)}
}

// start begins a user.
func (u *userCompiler) start(user int64) error {
	u.sink.Reset()
	e, err := NewEngine(u.p, u.w, u.sink)
	if err != nil {
		return err
	}
	u.eng, u.user, u.last = e, user, math.MinInt64
	return nil
}

// push feeds one of the user's events.
func (u *userCompiler) push(ev *Event) error {
	u.last = max(u.last, ev.Time)
	if ev.Time > u.w.To && u.eng.Done() {
		return nil
	}
	return u.eng.Push(ev)
}

// end flushes the user and returns its compile.
func (u *userCompiler) end() UserCompile {
	u.eng.Flush(u.now)
	uc := UserCompile{UserID: u.user, FromDay: minDay,
		State: UserState{CompiledTo: math.MaxInt64, LastTime: u.last}}
	uc.Cells = u.sink.Rollup().AppendEntries(nil)
	uc.Hours = u.sink.Rollup().AppendHours(nil)
	uc.Pieces = slices.Clone(u.sink.Pieces())
	u.eng = nil
	return uc
}

// compileShard compiles every user of one shard in one read.
func (c *Compiler) compileShard(ctx context.Context, p Policy, run CompileRun, claim ShardClaim, deleted map[int64]bool, stats *CompileStats) error {
	sh := claim.Shard()
	uc := newUserCompiler(p, c.Location, run.Horizon)
	// Batches go to the store from a goroutine of their own, so the log
	// keeps streaming while the previous batch is written; a batch closes
	// at Batch users or batchCells cells and pieces, whichever comes first,
	// so memory stays flat whatever the shard's size.
	wctx, cancelWrites := context.WithCancel(ctx)
	defer cancelWrites()
	batches := make(chan []UserCompile, 1)
	written := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if v := recover(); v != nil {
				err = Errorf(EInternal, "compiler: panic writing rollups: %v", v)
			}
			if err != nil {
				cancelWrites()
			}
			for range batches { // drain after a failure
			}
			written <- err
		}()
		for b := range batches {
			if err = claim.Write(wctx, b); err != nil {
				err = fmt.Errorf("writing rollups of %d users: %w", len(b), err)
				return
			}
		}
	}()
	var batch []UserCompile
	size := 0
	send := func() {
		if len(batch) > 0 {
			batches <- batch
			batch, size = nil, 0
		}
	}
	add := func(u UserCompile) {
		batch = append(batch, u)
		size += len(u.Cells) + len(u.Hours) + len(u.Pieces)
		if len(batch) >= c.Batch || size >= batchCells {
			send()
		}
	}
	closed := false
	write := func() error {
		send()
		closed = true
		close(batches)
		return <-written
	}
	defer func() { // a panic below: the writer still ends
		if !closed {
			cancelWrites()
			close(batches)
			<-written
		}
	}()
	var runErr error
	skip := int64(math.MinInt64) // a deleted user being skipped
	err := c.Logs.ScanUsers(wctx, sh.Lo, sh.Hi, run.Watermark, p.RowFilter(), func(ev *Event) bool {
		stats.Rows++
		if c.Progress != nil && stats.Rows%progressEvery == 0 {
			c.Progress(CompileProgress{Phase: "fresh", Rows: stats.Rows, RowsTotal: run.Watermark, Users: stats.Users})
		}
		if ev.UserID == skip {
			return true
		}
		if uc.eng == nil || ev.UserID != uc.user {
			if uc.eng != nil {
				add(uc.end())
				stats.Users++
			}
			if deleted[ev.UserID] {
				// Answers for a deleted user come from the log.
				add(UserCompile{UserID: ev.UserID, FromDay: minDay, State: Forgotten})
				skip = ev.UserID
				return true
			}
			if runErr = uc.start(ev.UserID); runErr != nil {
				return false
			}
		}
		if runErr = uc.push(ev); runErr != nil {
			return false
		}
		return true
	})
	if err == nil {
		err = runErr
	}
	if err == nil && uc.eng != nil {
		add(uc.end())
		stats.Users++
	}
	if werr := write(); werr != nil {
		return werr // the scan's error, if any, came from the cancelled writes
	}
	if err != nil {
		return fmt.Errorf("compiling users %d–%d: %w", sh.Lo, sh.Hi-1, err)
	}
	if err := claim.Done(ctx); err != nil {
		return fmt.Errorf("committing users %d–%d: %w", sh.Lo, sh.Hi-1, err)
	}
	return nil
}

// incremental compiles what came after the key's watermark.
func (c *Compiler) incremental(ctx context.Context, p Policy, key CompileKey, st CompileState, stats *CompileStats) error {
	w, gaps, err := c.snapshot(ctx)
	if err != nil {
		return err
	}
	w = max(w, st.Watermark)
	h := max(st.Horizon, horizonAt(&p, c.Now()))
	stats.Horizon, stats.Watermark = h, w
	touched := map[int64]span{}
	err = c.Logs.NewRows(ctx, st.Watermark, w, st.Gaps, func(user, t int64) {
		stats.Rows++
		s, ok := touched[user]
		if !ok {
			s = span{t, t}
		}
		touched[user] = span{min(s.lo, t), max(s.hi, t)}
	})
	if err != nil {
		return fmt.Errorf("reading new log rows: %w", err)
	}
	pending, err := c.Store.PendingUsers(ctx, key, st.Horizon)
	if err != nil {
		return fmt.Errorf("reading pending users: %w", err)
	}
	deleted, err := c.deletedSet(ctx)
	if err != nil {
		return err
	}
	users := make([]int64, 0, len(touched)+len(pending))
	for id := range touched {
		users = append(users, id)
	}
	users = append(users, pending...)
	var del []int64
	for id := range deleted {
		del = append(del, id)
	}
	slices.Sort(users)
	users = slices.Compact(users)
	states, err := c.Store.UserStates(ctx, key, append(slices.Clone(users), del...))
	if err != nil {
		return fmt.Errorf("reading user states: %w", err)
	}
	// Deleted users that still have rollups lose them.
	var forget []int64
	for _, id := range del {
		if s, ok := states[id]; ok && s != Forgotten {
			forget = append(forget, id)
		}
	}
	if len(forget) > 0 {
		if err := ForgetUsers(ctx, c.Store, forget); err != nil {
			return err
		}
		stats.Forgotten = len(forget)
	}
	// Each user is recompiled from the start of its earliest changed day.
	groups := map[int64][]int64{}
	var starts []int64
	for _, id := range users {
		if deleted[id] {
			continue
		}
		from := min(h, st.Horizon)
		if s, ok := states[id]; ok {
			from = min(from, s.CompiledTo)
		}
		if t, ok := touched[id]; ok {
			// A row at t can change the laps and sessions of the events
			// up to a run's reach before it (a late row).
			from = min(from, satSub(t.lo, p.LookAhead()))
		}
		if from > math.MinInt64+1 {
			from = dayStart(from, c.Location)
		} else {
			from = math.MinInt64
		}
		// Days before the retention start stay dropped.
		if st.RetainFrom != 0 && from < st.RetainFrom {
			from = st.RetainFrom
		}
		if groups[from] == nil {
			starts = append(starts, from)
		}
		groups[from] = append(groups[from], id)
	}
	slices.Sort(starts)
	// One write holds every user and the new state: a user's rollups and
	// the horizon they are valid to never disagree, even for a moment.
	var all []UserCompile
	for _, from := range starts {
		for chunk := range slices.Chunk(groups[from], c.Batch) {
			out, err := c.recompile(ctx, p, key, chunk, from, h, states, touched)
			if err != nil {
				return err
			}
			all = append(all, out...)
			stats.Users += int64(len(out))
			if c.Progress != nil {
				c.Progress(CompileProgress{Phase: "incremental", Rows: stats.Rows, Users: stats.Users})
			}
		}
	}
	next := CompileState{Complete: true, Horizon: h, Watermark: w, Gaps: gaps, RetainFrom: st.RetainFrom}
	if err := c.Store.Advance(ctx, key, all, st, next); err != nil {
		if errors.Is(err, ErrStateMoved) {
			stats.Raced = true // another worker compiled these rows first
			return nil
		}
		return fmt.Errorf("saving the rollups of %d users: %w", len(all), err)
	}
	if c.RetainDays > 0 {
		cut := dayStart(satSub(c.Now(), int64(c.RetainDays)*86400), c.Location)
		if cut > st.RetainFrom {
			if err := c.Store.Retain(ctx, key, cut); err != nil {
				return fmt.Errorf("dropping rollups before %d: %w", cut, err)
			}
		}
	}
	return nil
}

// span is the earliest and latest time of a user's new rows.
type span struct{ lo, hi int64 }

// ForgetUsers removes the users' rollups and sessions under every key of
// the store and marks them uncompiled, so their answers come from the log
// (privacy requests, users deleted in the site). A user who is still
// active is compiled again from the log at their next activity.
func ForgetUsers(ctx context.Context, st CompileStore, userIDs []int64) error {
	if len(userIDs) == 0 {
		return nil
	}
	if err := st.ForgetUsers(ctx, userIDs); err != nil {
		return fmt.Errorf("forgetting %d users: %w", len(userIDs), err)
	}
	return nil
}

// recompile computes the users' window [from, h) from the log, its
// sessions joined to their earlier pieces, and returns what to write.
func (c *Compiler) recompile(ctx context.Context, p Policy, key CompileKey, users []int64, from, h int64,
	states map[int64]UserState, touched map[int64]span) ([]UserCompile, error) {
	w := Window{From: from, To: h - 1}
	fromDay := minDay
	if from != math.MinInt64 {
		fromDay = dayOf(from, c.Location)
	}
	now := flushAt(&p, h)
	lastOf := func(id int64) int64 {
		last := int64(math.MinInt64)
		if s, ok := states[id]; ok {
			last = s.LastTime
		}
		if t, ok := touched[id]; ok {
			last = max(last, t.hi)
		}
		return last
	}
	sinks := map[int64]*PieceSink{}
	out := make([]UserCompile, 0, len(users))
	var cont []Continued
	err := computeUsers(ctx, c.Logs, users, p, w, now,
		func(id int64) Sink {
			k := NewPieceSink(p, c.Location)
			sinks[id] = k
			return k
		},
		func(id int64, _ Policy) {
			k := sinks[id]
			delete(sinks, id)
			cont = append(cont, k.Continued()...)
			out = append(out, UserCompile{UserID: id, FromDay: fromDay,
				State: UserState{CompiledTo: math.MaxInt64, LastTime: lastOf(id)},
				Cells: k.Rollup().AppendEntries(nil), Hours: k.Rollup().AppendHours(nil), Pieces: k.Pieces()})
		}, p.joinBehind(), nil)
	if err != nil {
		return nil, fmt.Errorf("recompiling %d users: %w", len(users), err)
	}
	if err := c.joinContinued(ctx, key, out, cont); err != nil {
		return nil, err
	}
	return out, nil
}

// joinContinued renames the pieces of sessions that continue a session
// compiled earlier to that session's key.
func (c *Compiler) joinContinued(ctx context.Context, key CompileKey, out []UserCompile, cont []Continued) error {
	if len(cont) == 0 {
		return nil
	}
	refs := make([][2]int64, len(cont))
	for i, s := range cont {
		refs[i] = [2]int64{s.UserID, s.PrevID}
	}
	keys, err := c.Store.SessionKeys(ctx, key, refs)
	if err != nil {
		return fmt.Errorf("finding continued sessions: %w", err)
	}
	rename := map[[2]int64]int64{} // (user, FirstID) → stored key
	for _, s := range cont {
		if k, ok := keys[[2]int64{s.UserID, s.PrevID}]; ok {
			rename[[2]int64{s.UserID, s.FirstID}] = k
		}
	}
	for i := range out {
		for j := range out[i].Pieces {
			pc := &out[i].Pieces[j]
			if k, ok := rename[[2]int64{pc.UserID, pc.Key}]; ok {
				pc.Key = k
			}
		}
	}
	return nil
}
