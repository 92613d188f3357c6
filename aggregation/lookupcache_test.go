package aggregation_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
	"github.com/usestats/usestats/internal/directorytest"
)

// countingVersions counts the reads of users' compile states.
type countingVersions struct {
	*rolluptest.MemStore
	versionReads atomic.Int64
}

func (c *countingVersions) RollupVersions(ctx context.Context, key aggregation.CompileKey, ids []int64) (map[int64]*aggregation.UserRollups, bool, error) {
	c.versionReads.Add(1)
	return c.MemStore.RollupVersions(ctx, key, ids)
}

// With a CacheTTL, a user's compile state is read once per TTL, and again
// in the background when it is asked for after half the TTL: a forget is
// seen after that read, or when the state expires, and every answer
// equals the log's.
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
	var clock atomic.Int64 // the background reads read it too
	clock.Store(now)
	svc, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Rollups: st, RollupCacheBytes: 1 << 20,
		CacheTTL: 5 * time.Second, Now: clock.Load})
	live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.log, Now: clock.Load})
	q := aggregation.Query{Policy: p, Window: aggregation.AllTime}
	ask := func(a int64) aggregation.Source {
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
	reads := func(want int64) {
		t.Helper()
		svc.WaitRefreshes()
		if n := st.versionReads.Load(); n != want {
			t.Fatalf("%d reads of the compile state, want %d", n, want)
		}
	}
	a, b := s.users[0], s.users[1]
	stored := ask(a)
	if stored == aggregation.SourceLive {
		t.Fatal("the compiled user is answered live: the test proves nothing")
	}
	want(ask(a), stored)
	reads(1) // two questions within the TTL
	if err := aggregation.ForgetUsers(context.Background(), st.MemStore, []int64{a}); err != nil {
		t.Fatal(err)
	}
	clock.Add(2)
	want(ask(a), stored) // the forget is not seen yet: the answer is still right
	reads(1)             // before half the TTL: no read
	clock.Add(1)
	want(ask(a), stored) // past half the TTL: answered as kept, read again in the background
	reads(2)
	want(ask(a), aggregation.SourceLive) // that read saw the forget, before the TTL
	reads(2)

	// A state not asked for in the second half of its TTL expires.
	if ask(b) == aggregation.SourceLive {
		t.Fatal("the compiled user b is answered live: the test proves nothing")
	}
	reads(3)
	if err := aggregation.ForgetUsers(context.Background(), st.MemStore, []int64{b}); err != nil {
		t.Fatal(err)
	}
	clock.Add(5)
	want(ask(b), aggregation.SourceLive) // the TTL is over: read, and the user is forgotten
	reads(4)
}

// With a CacheTTL, the same SCORM read is made once per TTL; another
// window is its own read.
func TestServiceCacheTTLScorm(t *testing.T) {
	tracks := &scormTracks{values: scormValues()}
	var clock atomic.Int64
	clock.Store(far)
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(scormEvents()),
		Scorm: tracks, CacheTTL: 5 * time.Second, Now: clock.Load})
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
	reads := func(want int, after string) {
		t.Helper()
		svc.WaitRefreshes()
		if n := tracks.count(); n != want {
			t.Fatalf("%d SCORM reads %s, want %d", n, after, want)
		}
	}
	ask(scormWindow)
	ask(scormWindow)
	reads(1, "for one question asked twice within the TTL")
	narrower := aggregation.Window{From: scormWindow.From, To: scormWindow.To - 1}
	ask(narrower)
	reads(2, "after another window")
	clock.Add(3)
	ask(scormWindow)
	reads(3, "past half the TTL (read again in the background)")
	clock.Add(3)
	ask(scormWindow) // 6 s after the first read, 3 s after the refresh: kept, and due again
	reads(4, "past half the refreshed TTL")
	ask(narrower) // 6 s after its read: expired
	reads(5, "after the TTL")
}

// A CachedDirectory finds a user once per TTL, again in the background
// when asked for after half the TTL, and never keeps a miss.
func TestCachedDirectory(t *testing.T) {
	dir := directorytest.New()
	dir.AddUsers(aggregation.UserInfo{ID: 5, Username: "ann", FirstName: "Ann"})
	var clock atomic.Int64
	clock.Store(1000)
	c := aggregation.NewCachedDirectory(dir, 5*time.Second, func() time.Time { return time.Unix(clock.Load(), 0) })
	find := func(key aggregation.UserKey) (aggregation.UserInfo, error) {
		t.Helper()
		return c.FindUser(context.Background(), key)
	}
	calls := func(want int, after string) {
		t.Helper()
		c.WaitRefreshes()
		if n := dir.Calls()["FindUser"]; n != want {
			t.Fatalf("%d look-ups %s, want %d", n, after, want)
		}
	}
	for range 3 {
		if u, err := find(aggregation.UserKey{Username: "ann"}); err != nil || u.ID != 5 {
			t.Fatalf("ann: %+v %v", u, err)
		}
	}
	calls(1, "for three within the TTL")
	for range 2 {
		if _, err := find(aggregation.UserKey{Username: "bob"}); aggregation.ErrorCode(err) != aggregation.ENotFound {
			t.Fatalf("bob: %v", err)
		}
	}
	calls(3, "for bob twice: a miss was kept")
	dir.AddUsers(aggregation.UserInfo{ID: 5, Username: "ann", FirstName: "Anne"})
	clock.Add(3)
	if u, _ := find(aggregation.UserKey{Username: "ann"}); u.FirstName != "Ann" {
		t.Fatalf("within the TTL: %+v", u)
	}
	calls(4, "past half the TTL (looked up again in the background)")
	if u, _ := find(aggregation.UserKey{Username: "ann"}); u.FirstName != "Anne" {
		t.Fatalf("after the background look-up: %+v", u)
	}
	calls(4, "after the background look-up")
	dir.AddUsers(aggregation.UserInfo{ID: 5, Username: "ann2", FirstName: "Anne"}) // renamed: ann is gone
	clock.Add(3)
	if u, err := find(aggregation.UserKey{Username: "ann"}); err != nil || u.ID != 5 {
		t.Fatalf("ann within the TTL of the refresh: %+v %v", u, err)
	}
	calls(5, "past half the refreshed TTL")
	if _, err := find(aggregation.UserKey{Username: "ann"}); aggregation.ErrorCode(err) != aggregation.ENotFound {
		t.Fatalf("a user the background look-up did not find is still kept: %v", err)
	}
	clock.Add(5)
	if u, _ := find(aggregation.UserKey{Username: "ann2"}); u.FirstName != "Anne" {
		t.Fatalf("ann2: %+v", u)
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
	if n := tracks.count(); n != 2 {
		t.Fatalf("%d SCORM reads for a bulk question asked twice, want 2 (not kept)", n)
	}
	for range 2 {
		if _, err := svc.Users(context.Background(), ids[:2], q); err != nil {
			t.Fatal(err)
		}
	}
	if n := tracks.count(); n != 3 {
		t.Fatalf("%d SCORM reads after a two-user question asked twice, want 3 (kept)", n)
	}
}
