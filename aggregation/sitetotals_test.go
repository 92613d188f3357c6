package aggregation_test

import (
	"context"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
)

// countingStore counts the users whose days are read in full and those
// whose days' summaries are.
type countingStore struct {
	*rolluptest.MemStore
	full, summed int
}

func (c *countingStore) Rollups(ctx context.Context, key aggregation.CompileKey, ids []int64, from, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	c.full += len(ids)
	return c.MemStore.Rollups(ctx, key, ids, from, to)
}

func (c *countingStore) RollupSummaries(ctx context.Context, key aggregation.CompileKey, ids []int64, from, to aggregation.Day) (map[int64]*aggregation.UserSummaries, bool, error) {
	c.summed += len(ids)
	return c.MemStore.RollupSummaries(ctx, key, ids, from, to)
}

// Site-wide answers sum the stored days' summaries of every user whose
// stored days answer alone, without reading their days, and answer the
// others in full: the users with events in a window's partial first day
// or after their horizon. Either way they equal the log's answers.
func TestSiteTotalsFromSummaries(t *testing.T) {
	ctx := context.Background()
	p := preset(t, "usestats")
	for seed := range 4 {
		r := propRand(seed, 'T')
		s := newCompileSite(r)
		s.log.CommitAll()
		loc := compileLocations(t)[seed%len(compileLocations(t))]
		st := &countingStore{MemStore: rolluptest.NewMemStore()}
		compiledAt := s.last + p.LookAhead() + 3600 // the horizon after every event
		if _, err := compileWith(s.log, st.MemStore, p, loc, compiledAt).Run(ctx); err != nil {
			t.Fatal(err)
		}
		now := compiledAt + 600
		live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Location: loc, Now: func() int64 { return now }})
		svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: st, Location: loc, Now: func() int64 { return now }})

		// Whole days up to today's end: every user from summaries.
		y, m, d := time.Unix(s.first, 0).In(loc).Date()
		ty, tm, td := time.Unix(now, 0).In(loc).Date()
		whole := aggregation.Window{From: time.Date(y, m, d, 0, 0, 0, 0, loc).Unix(), To: time.Date(ty, tm, td+1, 0, 0, 0, 0, loc).Unix() - 1}
		if diff, err := rolluptest.CompareSite(ctx, live, svc, s.users, p, []aggregation.Window{whole, aggregation.AllTime}); err != nil || diff != "" {
			t.Fatalf("seed %d: %v %s", seed, err, diff)
		}
		if st.full != 0 || st.summed == 0 {
			t.Fatalf("seed %d: %d users read in full, %d from summaries; want every user from summaries", seed, st.full, st.summed)
		}

		// A window starting inside an active day: the users with events
		// that day are answered in full, the others from summaries.
		st.full, st.summed = 0, 0
		mid := aggregation.Window{From: s.first + 1, To: whole.To}
		if diff, err := rolluptest.CompareSite(ctx, live, svc, s.users, p, []aggregation.Window{mid}); err != nil || diff != "" {
			t.Fatalf("seed %d: %v %s", seed, err, diff)
		}
		dayEnd := time.Date(y, m, d+1, 0, 0, 0, 0, loc).Unix()
		if st.full == 0 && len(eventsIn(s.log, s.first+1, dayEnd)) > 0 {
			t.Fatalf("seed %d: the users with events in the partial first day were not answered in full", seed)
		}

		// A new event after the horizon: its user in full, still equal.
		st.full = 0
		evs := eventsIn(s.log, s.first, s.last+1)
		if len(evs) == 0 {
			continue
		}
		late := evs[len(evs)-1]
		late.ID, late.Time = 1<<40, compiledAt+60
		s.log = rolluptest.NewMemLog(append(s.log.Visible(), late))
		s.log.CommitAll()
		live, _ = aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Location: loc, Now: func() int64 { return now }})
		svc, _ = aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: st, Location: loc, Now: func() int64 { return now }})
		if diff, err := rolluptest.CompareSite(ctx, live, svc, s.users, p, []aggregation.Window{whole}); err != nil || diff != "" {
			t.Fatalf("seed %d after a new event: %v %s", seed, err, diff)
		}
		if st.full == 0 {
			t.Fatalf("seed %d: the user with an event after the horizon was not answered in full", seed)
		}
	}
}

// eventsIn returns the log's visible events in [from, to).
func eventsIn(l *rolluptest.MemLog, from, to int64) []aggregation.Event {
	var out []aggregation.Event
	for _, ev := range l.Visible() {
		if ev.Time >= from && ev.Time < to {
			out = append(out, ev)
		}
	}
	return out
}
