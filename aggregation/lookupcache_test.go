package aggregation_test

import (
	"context"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
	"github.com/usestats/usestats/internal/directorytest"
)

// countingVersions counts the reads of users' compile states.
type countingVersions struct {
	*rolluptest.MemStore
	versionReads int
}

func (c *countingVersions) RollupVersions(ctx context.Context, key aggregation.CompileKey, ids []int64) (map[int64]*aggregation.UserRollups, bool, error) {
	c.versionReads++
	return c.MemStore.RollupVersions(ctx, key, ids)
}

// With a CacheTTL, a user's compile state is read once per TTL: a forget
// within it is seen when it expires, and every answer equals the log's.
func TestServiceCacheTTLVersions(t *testing.T) {
	p := preset(t, "usestats")
	s := newCompileSite(propRand(9, 'V'))
	for _, ids := range s.stages {
		s.log.Commit(ids...)
	}
	st := &countingVersions{MemStore: rolluptest.NewMemStore()}
	now := s.nows[len(s.nows)-1]
	if _, err := compileWith(s.log, st.MemStore, p, nil, now).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock := now
	svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: st, RollupCacheBytes: 1 << 20,
		CacheTTL: 5 * time.Second, Now: func() int64 { return clock }})
	live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Now: func() int64 { return clock }})
	q := aggregation.Query{Policy: p, Window: aggregation.AllTime}
	a := s.users[0]
	ask := func() aggregation.Source {
		t.Helper()
		got, err := svc.User(context.Background(), a, q)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := live.User(context.Background(), a, q)
		if d := rolluptest.Diff(ref, got); d != "" {
			t.Fatalf("%s", d)
		}
		return got.Source
	}
	want := func(got, want aggregation.Source) {
		t.Helper()
		if got != want {
			t.Fatalf("source %v, want %v", got, want)
		}
	}
	stored := ask()
	if stored == aggregation.SourceLive {
		t.Fatal("the compiled user is answered live: the test proves nothing")
	}
	want(ask(), stored)
	if st.versionReads != 1 {
		t.Fatalf("%d reads of the compile state for two questions within the TTL, want 1", st.versionReads)
	}
	if err := aggregation.ForgetUsers(context.Background(), st.MemStore, []int64{a}); err != nil {
		t.Fatal(err)
	}
	clock += 4
	want(ask(), stored) // the forget is not seen yet: the answer is still right
	clock++
	want(ask(), aggregation.SourceLive) // the TTL is over: the user is forgotten
	if st.versionReads != 2 {
		t.Fatalf("%d reads of the compile state, want 2", st.versionReads)
	}
}

// With a CacheTTL, the same SCORM read is made once per TTL; another
// window is its own read.
func TestServiceCacheTTLScorm(t *testing.T) {
	tracks := &scormTracks{values: scormValues()}
	clock := int64(far)
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(scormEvents()),
		Scorm: tracks, CacheTTL: 5 * time.Second, Now: func() int64 { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	plain := scormService(t, &scormTracks{values: scormValues()})
	p := preset(t, "usestats")
	ask := func(w aggregation.Window) {
		t.Helper()
		got, err := svc.User(context.Background(), 7, aggregation.Query{Policy: p, Window: w})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := plain.User(context.Background(), 7, aggregation.Query{Policy: p, Window: w})
		if d := rolluptest.Diff(want, got); d != "" {
			t.Fatalf("%s", d)
		}
	}
	ask(scormWindow)
	ask(scormWindow)
	if tracks.calls != 1 {
		t.Fatalf("%d SCORM reads for one question asked twice within the TTL, want 1", tracks.calls)
	}
	narrower := aggregation.Window{From: scormWindow.From, To: scormWindow.To - 1}
	ask(narrower)
	if tracks.calls != 2 {
		t.Fatalf("%d SCORM reads after another window, want 2", tracks.calls)
	}
	clock += 5
	ask(scormWindow)
	if tracks.calls != 3 {
		t.Fatalf("%d SCORM reads after the TTL, want 3", tracks.calls)
	}
}

// A CachedDirectory finds a user once per TTL and never keeps a miss.
func TestCachedDirectory(t *testing.T) {
	dir := directorytest.New()
	dir.AddUsers(aggregation.UserInfo{ID: 5, Username: "ann", FirstName: "Ann"})
	clock := time.Unix(1000, 0)
	c := aggregation.NewCachedDirectory(dir, 5*time.Second, func() time.Time { return clock })
	find := func(key aggregation.UserKey) (aggregation.UserInfo, error) {
		t.Helper()
		return c.FindUser(context.Background(), key)
	}
	for range 3 {
		if u, err := find(aggregation.UserKey{Username: "ann"}); err != nil || u.ID != 5 {
			t.Fatalf("ann: %+v %v", u, err)
		}
	}
	if n := dir.Calls()["FindUser"]; n != 1 {
		t.Fatalf("%d look-ups for three within the TTL, want 1", n)
	}
	for range 2 {
		if _, err := find(aggregation.UserKey{Username: "bob"}); aggregation.ErrorCode(err) != aggregation.ENotFound {
			t.Fatalf("bob: %v", err)
		}
	}
	if n := dir.Calls()["FindUser"]; n != 3 {
		t.Fatalf("%d look-ups: a miss was kept", n)
	}
	dir.AddUsers(aggregation.UserInfo{ID: 5, Username: "ann", FirstName: "Anne"})
	clock = clock.Add(5 * time.Second)
	if u, _ := find(aggregation.UserKey{Username: "ann"}); u.FirstName != "Anne" {
		t.Fatalf("after the TTL: %+v", u)
	}
	if _, err := c.Users(context.Background(), []int64{5}); err != nil || dir.Calls()["Users"] != 1 {
		t.Fatalf("Users does not pass through: %v %v", err, dir.Calls())
	}
}

// A SCORM read for more users than a dashboard's single learner is never
// kept: its values could be large.
func TestServiceCacheTTLScormBulkNotKept(t *testing.T) {
	var events []aggregation.Event
	var ids []int64
	for u := int64(7); u < 17; u++ { // ten learners with the same SCORM laps
		for _, ev := range scormEvents() {
			ev.UserID = u
			events = append(events, ev)
		}
		ids = append(ids, u)
	}
	tracks := &scormTracks{values: scormValues()}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(events),
		Scorm: tracks, CacheTTL: time.Hour, Now: func() int64 { return far }})
	if err != nil {
		t.Fatal(err)
	}
	q := aggregation.Query{Policy: preset(t, "usestats"), Window: scormWindow}
	for range 2 {
		if _, err := svc.Users(context.Background(), ids, q); err != nil {
			t.Fatal(err)
		}
	}
	if tracks.calls != 2 {
		t.Fatalf("%d SCORM reads for a bulk question asked twice, want 2 (not kept)", tracks.calls)
	}
	for range 2 {
		if _, err := svc.Users(context.Background(), ids[:2], q); err != nil {
			t.Fatal(err)
		}
	}
	if tracks.calls != 3 {
		t.Fatalf("%d SCORM reads after a two-user question asked twice, want 3 (kept)", tracks.calls)
	}
}
