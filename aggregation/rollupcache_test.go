package aggregation_test

import (
	"context"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
)

// countingRollups counts the reads of days and the users they asked for.
type countingRollups struct {
	*rolluptest.MemStore
	reads, users int
}

func (c *countingRollups) Rollups(ctx context.Context, key aggregation.CompileKey, ids []int64, from, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	c.reads++
	c.users += len(ids)
	return c.MemStore.Rollups(ctx, key, ids, from, to)
}

// With a cache, a user's stored days are read again only when the store
// says they changed: after a compile that touched the user, after a
// forget; answers stay equal to the log's throughout.
func TestServiceRollupCache(t *testing.T) {
	p := preset(t, "usestats")
	s := newCompileSite(propRand(5, 'T'))
	s.log.Commit(s.stages[0]...)
	st := &countingRollups{MemStore: rolluptest.NewMemStore()}
	now := s.nows[len(s.nows)-1]
	compile := func() {
		t.Helper()
		if _, err := compileWith(s.log, st.MemStore, p, nil, now).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	compile()
	svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: st, RollupCacheBytes: 1 << 20, Now: func() int64 { return now }})
	live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Now: func() int64 { return now }})
	q := aggregation.Query{Policy: p, Window: aggregation.AllTime}
	ask := func(ids ...int64) {
		t.Helper()
		got, err := svc.Users(context.Background(), ids, q)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := live.Users(context.Background(), ids, q)
		for _, id := range ids {
			if d := rolluptest.Diff(want[id], got[id]); d != "" {
				t.Fatalf("user %d: %s", id, d)
			}
		}
	}
	a, b := s.users[0], s.users[1]
	ask(a)
	ask(a)
	ask(a, b)
	if st.reads != 2 || st.users != 2 {
		t.Fatalf("%d reads of %d users' days, want 2 of 2 (each user once)", st.reads, st.users)
	}

	// New rows, compiled: the users they touched are read again, once.
	for _, ids := range s.stages[1:] {
		s.log.Commit(ids...)
	}
	compile()
	before := st.users
	ask(s.users...)
	ask(s.users...)
	if n := st.users - before; n == 0 || n > len(s.users) {
		t.Fatalf("after a compile: %d users' days read, want between 1 and %d", n, len(s.users))
	}
	// Windows of whole past days, answered by the stored days alone and
	// remembered: each keeps its own answer, asked again and again.
	first := dayFloor(s.first)
	for range 2 {
		for _, days := range []int64{2, 3, 7} {
			q.Window = aggregation.Window{From: first, To: first + days*86400 - 1}
			ask(s.users...)
			q.Window.From += 86400
			ask(s.users...)
		}
	}
	q.Window = aggregation.AllTime

	// A forgotten user: read again, answered as the log answers now.
	s.log.Delete(a)
	if err := aggregation.ForgetUsers(context.Background(), st.MemStore, []int64{a}); err != nil {
		t.Fatal(err)
	}
	before = st.users
	ask(a, b)
	if n := st.users - before; n != 1 {
		t.Fatalf("after forgetting one user: %d users' days read, want 1", n)
	}

	// Without a budget every question reads the days.
	none, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: st, Now: func() int64 { return now }})
	before = st.reads
	for range 2 {
		if _, err := none.User(context.Background(), b, q); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.reads - before; n != 2 {
		t.Fatalf("without a cache: %d reads for 2 questions, want 2", n)
	}
}

// dayFloor returns the start of t's UTC day.
func dayFloor(t int64) int64 { return t - ((t%86400)+86400)%86400 }

// oldDays reads as a store holding some users' days as they were stored
// before hours were kept: without hourly cells, marked NoHours.
type oldDays struct {
	*rolluptest.MemStore
	old map[int64]bool
}

func (o oldDays) Rollups(ctx context.Context, key aggregation.CompileKey, ids []int64, from, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	users, ok, err := o.MemStore.Rollups(ctx, key, ids, from, to)
	for id, u := range users {
		if o.old[id] && len(u.Cells) > 0 {
			u.Hours, u.NoHours = nil, true
		}
	}
	return users, ok, err
}

// A user whose stored days lack their hours is answered from the log,
// with or without the cache and however often asked; the others still
// from the rollups.
func TestServiceNoHoursAnswersLive(t *testing.T) {
	p := preset(t, "usestats")
	s := newCompileSite(propRand(6, 'H'))
	s.log.CommitAll()
	st, now := rolluptest.NewMemStore(), s.nows[len(s.nows)-1]
	if _, err := compileWith(s.log, st, p, nil, now).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, b := s.users[0], s.users[1]
	reader := oldDays{MemStore: st, old: map[int64]bool{a: true}}
	live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Now: func() int64 { return now }})
	q := aggregation.Query{Policy: p, Window: aggregation.AllTime}
	want, err := live.Users(context.Background(), []int64{a, b}, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(want[a].Hours) == 0 || want[b].Total.Events == 0 {
		t.Fatal("a user without time: the test proves nothing")
	}
	for _, cache := range []int64{0, 1 << 20} {
		svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: reader, RollupCacheBytes: cache,
			Now: func() int64 { return now }})
		for ask := range 2 {
			got, err := svc.Users(context.Background(), []int64{a, b}, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []int64{a, b} {
				if d := rolluptest.Diff(want[id], got[id]); d != "" {
					t.Fatalf("cache %d, ask %d, user %d: %s", cache, ask+1, id, d)
				}
			}
			if got[a].Source != aggregation.SourceLive || got[a].Total.Events > 0 && len(got[a].Hours) == 0 {
				t.Fatalf("cache %d, ask %d: the user with old days answered from %s with %d hours", cache, ask+1, got[a].Source, len(got[a].Hours))
			}
			if got[b].Total.Events > 0 && got[b].Source == aggregation.SourceLive {
				t.Fatalf("cache %d, ask %d: the other user answered from the log", cache, ask+1)
			}
		}
	}
}
