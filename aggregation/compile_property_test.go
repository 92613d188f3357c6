package aggregation_test

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
)

// compileSite is a random multi-user log for the rollup properties: three
// users' generated streams under global ids in time order (with holes),
// some rows arriving late (a high id, an old time), committed in four
// stages, the first leaving a few ids uncommitted below the highest.
type compileSite struct {
	log    *rolluptest.MemLog
	stages [][]int64 // ids committed at each stage
	nows   []int64   // the compile clock of each stage
	users  []int64
	first  int64
	last   int64
}

func newCompileSite(r *rand.Rand) *compileSite {
	var all []aggregation.Event
	users := []int64{11, 12, 13}
	for _, u := range users {
		evs := genStream(r, r.IntN(160))
		for i := range evs {
			evs[i].UserID = u
		}
		all = append(all, evs...)
	}
	slices.SortStableFunc(all, func(a, b aggregation.Event) int { return cmp.Compare(a.Time, b.Time) })
	id := int64(1)
	for i := range all {
		all[i].ID = id
		id += 1 + r.Int64N(2)
	}
	s := &compileSite{users: users, first: genStart, last: genStart}
	if len(all) > 0 {
		s.first, s.last = all[0].Time, all[len(all)-1].Time
	}
	// Late rows: a few rows get ids after every other row.
	var late []int64
	for i := range all {
		if r.IntN(20) == 0 {
			all[i].ID = id
			late = append(late, id)
			id++
		}
	}
	s.log = rolluptest.NewMemLog(all)
	// Stages: rows up to a time, a few near the top held back; the held
	// rows with the rows just above (the watermark stays within the
	// overlap of them); the other rows up to a later time; the rest with
	// the late rows.
	cut1 := s.first + r.Int64N(s.last-s.first+1)
	cut2 := cut1 + r.Int64N(s.last-cut1+1)
	var top int64 // the highest id of stage 1
	for _, ev := range all {
		if !slices.Contains(late, ev.ID) && ev.Time <= cut1 {
			top = max(top, ev.ID)
		}
	}
	stages := make([][]int64, 4)
	for _, ev := range all {
		k := 3
		switch {
		case slices.Contains(late, ev.ID):
		case ev.Time <= cut1 && ev.ID > top-compileOverlap/2 && ev.ID != top && r.IntN(3) == 0:
			k = 1 // held back
		case ev.Time <= cut1:
			k = 0
		case ev.ID <= top+compileOverlap/2:
			k = 1
		case ev.Time <= cut2:
			k = 2
		}
		stages[k] = append(stages[k], ev.ID)
	}
	s.stages = stages
	s.nows = []int64{cut1 + r.Int64N(7200), cut1 + 7200 + r.Int64N(7200), cut2 + 7200 + r.Int64N(86400), s.last + r.Int64N(3*86400)}
	for i := 1; i < len(s.nows); i++ {
		s.nows[i] = max(s.nows[i], s.nows[i-1])
	}
	return s
}

// windows draws query windows: random bounds, whole days, all time.
func (s *compileSite) windows(r *rand.Rand, loc *time.Location) []aggregation.Window {
	at := func() int64 { return s.first - 86400 + r.Int64N(s.last-s.first+3*86400) }
	day := func(t int64) int64 {
		y, m, d := time.Unix(t, 0).In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()
	}
	out := []aggregation.Window{aggregation.AllTime}
	for range 3 {
		a, b := at(), at()
		a, b = min(a, b), max(a, b)
		out = append(out, aggregation.Window{From: a, To: b})
		da, db := day(a), day(b)+86400-1
		if db >= da {
			out = append(out, aggregation.Window{From: da, To: db})
		}
		out = append(out, aggregation.Window{From: da, To: math.MaxInt64}, aggregation.Window{From: math.MinInt64, To: b})
	}
	return out
}

// compileLocations are the time zones the properties cut days in.
func compileLocations(t testing.TB) []*time.Location {
	locs := []*time.Location{time.UTC, time.FixedZone("UTC+05:30", 19800)}
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		locs = append(locs, ny)
	}
	return locs
}

// checkRollupsEqualLive answers every user and window from the rollups
// and from the log, at a now not before the compile's, and compares.
func checkRollupsEqualLive(t *testing.T, s *compileSite, st *rolluptest.MemStore, p aggregation.Policy, loc *time.Location, now int64, r *rand.Rand, what string) {
	t.Helper()
	ctx := context.Background()
	qnow := now + r.Int64N(3600)
	live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Location: loc, Now: func() int64 { return qnow }})
	windows := s.windows(r, loc)
	// Read every time, and with the serving cache: asked twice, the second
	// answers come from what the first built.
	for _, cache := range []int64{0, 1 << 20} {
		fromRollups, err := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: st, Location: loc,
			RollupCacheBytes: cache, Now: func() int64 { return qnow }})
		if err != nil {
			t.Fatal(err)
		}
		for ask := range 1 + min(cache, 1) {
			d, _, err := rolluptest.Compare(ctx, live, fromRollups, s.users, p, windows)
			if err != nil {
				t.Fatal(err)
			}
			if d != "" {
				t.Fatalf("%s, now %d, zone %s, cache %d, ask %d: %s", what, qnow, loc, cache, ask+1, d)
			}
		}
		if cache == 0 {
			d, err := rolluptest.CompareSite(ctx, live, fromRollups, s.users, p, windows)
			if err != nil {
				t.Fatal(err)
			}
			if d != "" {
				t.Fatalf("%s, now %d, zone %s: %s", what, qnow, loc, d)
			}
		}
	}
}

func compileWith(log aggregation.LogScanner, st aggregation.CompileStore, p aggregation.Policy, loc *time.Location, now int64) *aggregation.Compiler {
	return &aggregation.Compiler{Logs: log, Store: st, Policy: p, Location: loc,
		Now: func() int64 { return now }, Overlap: compileOverlap, Batch: 2, Shards: 2}
}

// compileOverlap is the overlap of the compiles of the properties: rows
// commit late only this close below the highest id.
const compileOverlap = 40

// Rollups compiled in stages (fresh, then incremental with new rows, rows
// that committed below the watermark and rows that arrived late) answer
// every window exactly as the log does, and the final store equals a
// clean compile of the whole log.
func TestPropertyRollupsEqualLive(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 6
	}
	locs := compileLocations(t)
	for _, pp := range propPolicies(t) {
		t.Run(pp.name, func(t *testing.T) {
			for seed := range seeds {
				r := propRand(seed, 'C')
				loc := locs[seed%len(locs)]
				s := newCompileSite(r)
				st := rolluptest.NewMemStore()
				for i, ids := range s.stages {
					s.log.Commit(ids...)
					if i == len(s.stages)-1 && r.IntN(3) == 0 {
						s.log.Delete(s.users[r.IntN(len(s.users))])
					}
					if _, err := compileWith(s.log, st, pp.p, loc, s.nows[i]).Run(context.Background()); err != nil {
						t.Fatalf("seed %d stage %d: %v", seed, i, err)
					}
					checkRollupsEqualLive(t, s, st, pp.p, loc, s.nows[i], r, "seed "+itoa(seed)+" stage "+itoa(i))
				}
				clean := rolluptest.NewMemStore()
				c := compileWith(s.log, clean, pp.p, loc, s.nows[len(s.nows)-1])
				if _, err := c.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				key, _ := c.Key()
				if d := rolluptest.DiffLines(clean.Dump(key), st.Dump(key)); d != "" {
					t.Fatalf("seed %d: staged store differs from a clean compile (- clean, + staged):\n%s", seed, d)
				}
			}
		})
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// A compile that fails at any write (a crash: nothing of that write
// lands) and is run again leaves exactly what a clean compile leaves; a
// second run changes nothing.
func TestCompileCrashResume(t *testing.T) {
	p := preset(t, "usestats")
	for seed := range 4 {
		r := propRand(seed, 'K')
		loc := compileLocations(t)[seed%2]
		s := newCompileSite(r)
		for k := 1; ; k++ {
			st := rolluptest.NewMemStore()
			crashed := false
			for i, ids := range s.stages {
				s.log.Commit(ids...)
				c := compileWith(s.log, st, p, loc, s.nows[i])
				st.FailAfter = k
				if _, err := c.Run(context.Background()); err != nil {
					crashed = true
				}
				st.FailAfter = 0
				if _, err := c.Run(context.Background()); err != nil { // the restart
					t.Fatalf("seed %d, crash after write %d: resuming: %v", seed, k, err)
				}
			}
			clean := rolluptest.NewMemStore()
			c := compileWith(s.log, clean, p, loc, s.nows[len(s.nows)-1])
			if _, err := c.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			key, _ := c.Key()
			if d := rolluptest.DiffLines(clean.Dump(key), st.Dump(key)); d != "" {
				t.Fatalf("seed %d, crash after write %d: (- clean, + resumed)\n%s", seed, k, d)
			}
			again := st.Dump(key)
			if _, err := compileWith(s.log, st, p, loc, s.nows[len(s.nows)-1]).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if d := rolluptest.DiffLines(again, st.Dump(key)); d != "" {
				t.Fatalf("seed %d: a second run changed the store:\n%s", seed, d)
			}
			if !crashed {
				if k < 5 {
					t.Fatalf("seed %d: only %d writes to crash at", seed, k)
				}
				break
			}
			// Reset the log's visibility for the next crash point.
			s = newCompileSite(propRand(seed, 'K'))
		}
	}
}

// With a retention period, the days before it are dropped from the store
// and answered from the log: every window still equals the log's answer.
func TestCompileRetention(t *testing.T) {
	p := preset(t, "usestats")
	dropped := 0
	for seed := range 6 {
		r := propRand(seed, 'R')
		s := newCompileSite(r)
		for _, ids := range s.stages {
			s.log.Commit(ids...)
		}
		st := rolluptest.NewMemStore()
		now := s.nows[len(s.nows)-1]
		c := compileWith(s.log, st, p, time.UTC, now)
		c.RetainDays = 1 + r.IntN(20)
		for range 2 { // the fresh pass, then one that drops
			if _, err := c.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		key, _ := c.Key()
		state, _ := st.CompileState(context.Background(), key)
		if state.RetainFrom == 0 {
			t.Fatalf("seed %d: nothing retained", seed)
		}
		got, _, _ := st.Rollups(context.Background(), key, s.users, -1<<40, 1<<40)
		cut := aggregation.Day(state.RetainFrom / 86400)
		for _, u := range got {
			for _, cell := range u.Cells {
				if cell.Key.Day < cut {
					t.Fatalf("seed %d: a cell of %s kept, retention from %s", seed, cell.Key.Day, cut)
				}
			}
		}
		full := rolluptest.NewMemStore()
		if _, err := compileWith(s.log, full, p, time.UTC, now).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		all, _, _ := full.Rollups(context.Background(), key, s.users, -1<<40, 1<<40)
		for _, u := range all {
			for _, cell := range u.Cells {
				if cell.Key.Day < cut {
					dropped++
				}
			}
		}
		checkRollupsEqualLive(t, s, st, p, time.UTC, now, r, "retention seed "+itoa(seed))
	}
	if dropped == 0 {
		t.Fatal("the retention never dropped a cell: the test proves nothing")
	}
}

// racingStore runs another worker's pass just before the first Advance it
// is asked for.
type racingStore struct {
	*rolluptest.MemStore
	other func()
}

func (r *racingStore) Advance(ctx context.Context, key aggregation.CompileKey, users []aggregation.UserCompile, from, next aggregation.CompileState) error {
	if r.other != nil {
		o := r.other
		r.other = nil
		o()
	}
	return r.MemStore.Advance(ctx, key, users, from, next)
}

// Two incremental passes at once: the one that read the state first and
// writes last writes nothing (its rows are the other's), and answers
// stay the log's.
func TestCompileRacingPasses(t *testing.T) {
	p := preset(t, "usestats")
	for seed := range 4 {
		r := propRand(seed, 'X')
		s := newCompileSite(r)
		st := rolluptest.NewMemStore()
		s.log.Commit(s.stages[0]...)
		if _, err := compileWith(s.log, st, p, time.UTC, s.nows[0]).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, ids := range s.stages[1:] {
			s.log.Commit(ids...)
		}
		later := s.nows[len(s.nows)-1]
		racing := &racingStore{MemStore: st, other: func() {
			if _, err := compileWith(s.log, st, p, time.UTC, later+60).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		}}
		stats, err := compileWith(s.log, racing, p, time.UTC, later).Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !stats.Raced {
			t.Fatalf("seed %d: the stale pass did not notice the other: %+v", seed, stats)
		}
		checkRollupsEqualLive(t, s, st, p, time.UTC, later+60, r, "racing seed "+itoa(seed))
	}
}

// A panic in the middle of a fresh compile frees the shard and ends the
// writer; the next run completes the store as a clean compile does.
func TestCompilePanicFreesShard(t *testing.T) {
	p := preset(t, "usestats")
	s := newCompileSite(propRand(2, 'P'))
	for _, ids := range s.stages {
		s.log.Commit(ids...)
	}
	now := s.nows[len(s.nows)-1]
	st := rolluptest.NewMemStore()
	c := compileWith(panickyLog{s.log}, st, p, time.UTC, now)
	c.Batch = 1 // the writer is busy when the read panics
	before := runtime.NumGoroutine()
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Fatal("no panic")
			}
		}()
		_, _ = c.Run(context.Background())
	}()
	time.Sleep(10 * time.Millisecond)
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left behind", n-before)
	}
	c.Logs = s.log
	if _, err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	clean := rolluptest.NewMemStore()
	if _, err := compileWith(s.log, clean, p, time.UTC, now).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	key, _ := c.Key()
	if d := rolluptest.DiffLines(clean.Dump(key), st.Dump(key)); d != "" {
		t.Fatalf("after the panic (- clean, + resumed):\n%s", d)
	}
}

// A forget that lands while a pass is under way wins: the pass does not
// bring part of the user's days back.
func TestForgetDuringPass(t *testing.T) {
	p := preset(t, "usestats")
	s := newCompileSite(propRand(4, 'F'))
	st := rolluptest.NewMemStore()
	s.log.Commit(s.stages[0]...)
	ctx := context.Background()
	if _, err := compileWith(s.log, st, p, time.UTC, s.nows[0]).Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ids := range s.stages[1:] {
		s.log.Commit(ids...)
	}
	gone := s.users[0]
	racing := &racingStore{MemStore: st, other: func() {
		if err := aggregation.ForgetUsers(ctx, st, []int64{gone}); err != nil {
			t.Fatal(err)
		}
	}}
	later := s.nows[len(s.nows)-1]
	if _, err := compileWith(s.log, racing, p, time.UTC, later).Run(ctx); err != nil {
		t.Fatal(err)
	}
	key, _ := compileWith(s.log, st, p, time.UTC, later).Key()
	states, _ := st.UserStates(ctx, key, []int64{gone})
	got, _, _ := st.Rollups(ctx, key, []int64{gone}, -1<<40, 1<<40)
	if states[gone] != aggregation.Forgotten && len(got[gone].Cells) > 0 {
		// The pass replaced all its days (a full recompile): then it must
		// hold everything, which the comparison below checks.
		t.Logf("user %d recompiled in full", gone)
	}
	checkRollupsEqualLive(t, s, st, p, time.UTC, later, propRand(4, 'G'), "forget during a pass")
}

// panickyLog panics in the middle of a scan, at its second user.
type panickyLog struct{ *rolluptest.MemLog }

func (l panickyLog) ScanUsers(ctx context.Context, lo, hi, maxID int64, f aggregation.RowFilter, fn func(*aggregation.Event) bool) error {
	users := map[int64]bool{}
	return l.MemLog.ScanUsers(ctx, lo, hi, maxID, f, func(ev *aggregation.Event) bool {
		users[ev.UserID] = true
		if len(users) == 2 {
			panic("the log reader broke")
		}
		return fn(ev)
	})
}
