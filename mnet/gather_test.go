package mnet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

func TestParseStatsMessageOfOurAnswers(t *testing.T) {
	u, evs := usFixture()
	res := minutes(t, evs, u)
	for scope := ScopeSite; scope <= ScopeModule; scope++ {
		a, err := u.localStats(context.Background(), "alice", scope, 0, LayoutNested)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseStatsMessage(a.Message)
		if err != nil {
			t.Fatalf("scope %d: %v\n%s", scope, err, a.Message)
		}
		if m.Username != "alice" || m.LastName != "O'Brien & <Sons>" || m.Elapsed != res.Total.Elapsed/60*60 {
			t.Fatalf("scope %d: %+v", scope, m)
		}
		want := 0
		if scope >= ScopeCourse {
			want = 2
		}
		if len(m.Courses) != want || (want > 0 && (m.Courses[0].FullName != "Course <ten>" || m.Courses[0].Elapsed != res.Course(10).Total.Elapsed/60*60)) {
			t.Fatalf("scope %d courses: %+v", scope, m.Courses)
		}
	}
	if m, err := ParseStatsMessage("<USE_STATS><EMPTYSET /></USE_STATS>"); err != nil || !m.Empty || m.Elapsed != 0 {
		t.Fatalf("empty set: %+v %v", m, err)
	}
	for _, bad := range []string{"", "<USE_STATS><USER><ELAPSED>x</ELAPSED></USER></USE_STATS>", "<OTHER/>", "<USE_STATS><USER>a & b</USER></USE_STATS>"} {
		if _, err := ParseStatsMessage(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestGatherer(t *testing.T) {
	u, _ := usFixture()
	calls := map[string][]any{}
	done := make(chan struct{})
	defer close(done)
	g := &Gatherer{
		WWWRoot: "http://usestats.test",
		Caller:  "usestats",
		List: func(context.Context) ([]aggregation.HostInfo, error) {
			return []aggregation.HostInfo{{WWWRoot: "http://a.test", Name: "A"}, {WWWRoot: "http://slow.test", Name: "Slow"}}, nil
		},
	}
	var mu = make(chan struct{}, 1)
	mu <- struct{}{}
	g.Forward = func(ctx context.Context, host, method string, params []any) (any, error) {
		<-mu
		calls[host] = params
		mu <- struct{}{}
		switch host {
		case "http://a.test":
			a, err := u.localStats(ctx, "alice", ScopeCourse, 0, "")
			if err != nil {
				return nil, err
			}
			return a.encode(true)
		case "http://slow.test":
			select {
			case <-ctx.Done():
				return nil, &CallError{host, "transport", ctx.Err()}
			case <-done:
				return nil, errors.New("released")
			}
		case "http://missing.test":
			return Answer{Status: 520, Errors: []string{"Target user does not exist."}}.encode(false)
		case "http://fault.test":
			return nil, &RemoteFault{host, Fault{Code: 7020, Message: "wrong-wwwroot"}}
		}
		return nil, aggregation.Errorf(aggregation.ENotFound, "%s is not a registered host", host)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rows := g.UserStats(ctx, []string{"http://a.test/", "http://slow.test", "http://missing.test", "http://fault.test", "http://unknown.test"}, "alice", 0)
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	if len(rows) != 5 || rows[0].Err != nil || rows[0].Host.Name != "A" || rows[0].Elapsed == 0 || len(rows[0].Courses) != 2 {
		t.Fatalf("row a: %+v", rows[0])
	}
	codes := []string{"", aggregation.EUnavailable, aggregation.ENotFound, aggregation.EUnavailable, aggregation.ENotFound}
	for i, r := range rows {
		if got := aggregation.ErrorCode(r.Err); got != codes[i] {
			t.Errorf("row %d (%s): code %q want %q (%v)", i, r.Host.WWWRoot, got, codes[i], r.Err)
		}
	}
	p := calls["http://a.test"]
	c, _ := AsStruct(p[0])
	if c["username"] != "usestats" || c["remoteuserhostroot"] != "http://usestats.test" || p[1] != "alice" || p[2] != "http://a.test" || p[3] != int64(2) {
		t.Errorf("params %#v", p)
	}
}
