package aggregation_test

import (
	"context"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
)

// countingRollups counts the store reads and the users asked.
type countingRollups struct {
	aggregation.RollupReader
	reads, users int
}

func (c *countingRollups) Rollups(ctx context.Context, key aggregation.CompileKey, ids []int64, from, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	c.reads++
	c.users += len(ids)
	return c.RollupReader.Rollups(ctx, key, ids, from, to)
}

// With a RollupTTL, a user's stored days are read once per TTL, the
// answers stay equal to the log's, and only missing users are read.
func TestServiceRollupTTL(t *testing.T) {
	p := preset(t, "usestats")
	s := newCompileSite(propRand(5, 'T'))
	for _, ids := range s.stages {
		s.log.Commit(ids...)
	}
	st := rolluptest.NewMemStore()
	now := s.nows[len(s.nows)-1]
	if _, err := compileWith(s.log, st, p, time.UTC, now).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock := now
	counting := &countingRollups{RollupReader: st}
	svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: counting, RollupTTL: 5, Now: func() int64 { return clock }})
	live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Now: func() int64 { return clock }})
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
	ask(s.users[0])
	ask(s.users[0])
	clock += 4
	ask(s.users[0], s.users[1])
	if counting.reads != 2 || counting.users != 2 {
		t.Fatalf("%d reads of %d users within the TTL, want 2 reads of 2", counting.reads, counting.users)
	}
	clock += 2 // the first user's read is 6 s old
	ask(s.users[0])
	if counting.reads != 3 {
		t.Fatalf("%d reads after the TTL, want 3", counting.reads)
	}
	none, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: counting, Now: func() int64 { return clock }})
	for range 2 {
		if _, err := none.User(context.Background(), s.users[0], q); err != nil {
			t.Fatal(err)
		}
	}
	if counting.reads != 5 {
		t.Fatalf("without a TTL: %d reads, want 5", counting.reads)
	}
}
