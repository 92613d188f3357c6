package aggregation_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// countingReader records how many events a query handed out.
type countingReader struct {
	aggregation.SliceReader
	served int
}

func (c *countingReader) UserEvents(ctx context.Context, user, from, to int64, fn func(*aggregation.Event) bool) error {
	return c.SliceReader.UserEvents(ctx, user, from, to, func(ev *aggregation.Event) bool {
		c.served++
		return fn(ev)
	})
}

// ComputeUser reads the window and only as much look-ahead as the engine
// needs, and gives the same numbers as the in-memory run over everything.
func TestComputeUserLookAhead(t *testing.T) {
	const T2 = 1700200000
	evs := example3(T2)
	// more of user 7's events far after the window, and another user's
	evs = append(evs, newStream(7).withID(100).course(T2+20000, 5).course(T2+20100, 5).events...)
	evs = append(evs, newStream(9).withID(200).course(T2+100, 5).events...)
	w := aggregation.Window{From: T2, To: T2 + 7201}
	r := &countingReader{SliceReader: evs}
	acc := aggregation.NewAccumulator(nil)
	p, err := aggregation.ComputeUser(context.Background(), r, 7, preset(t, "usestats"), w, T2+30000, acc)
	if err != nil {
		t.Fatal(err)
	}
	got := acc.Result(7, p, w)
	wantStat(t, "course 5 via ComputeUser", got.Course(5).Total, 3600+900+59, 3)
	if r.served != 4 {
		t.Errorf("reader served %d events, want the 3 of the window + 1 look-ahead", r.served)
	}
}

// Policies that need context read before the window: the result equals the
// in-memory run over the whole stream.
func TestComputeUserLookBehind(t *testing.T) {
	const T = 1705000000
	s := newStream(7)
	for i := int64(0); i < 40; i++ {
		s.course(T+i*170, 5+3*(i%2))
	}
	for _, name := range aggregation.PresetNames() {
		w := aggregation.Window{From: T + 2000, To: T + 5000}
		acc := aggregation.NewAccumulator(nil)
		p, err := aggregation.ComputeUser(context.Background(), aggregation.SliceReader(s.events), 7, preset(t, name), w, far, acc)
		if err != nil {
			t.Fatal(err)
		}
		full := aggregation.NewAccumulator(nil)
		if _, err := aggregation.Run(preset(t, name), w, far, s.events, full); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(acc.Rollup().Entries(), full.Rollup().Entries()) {
			t.Errorf("%s: ComputeUser differs from the run over the whole stream", name)
		}
		if p.Name != name {
			t.Errorf("policy %s reported as %s", name, p.Name)
		}
	}
}

func TestComputeUserErrors(t *testing.T) {
	_, err := aggregation.ComputeUser(context.Background(), aggregation.SliceReader(nil), 7, aggregation.Policy{}, aggregation.AllTime, far, &aggregation.Explainer{})
	if aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("bad policy: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = aggregation.ComputeUser(ctx, aggregation.SliceReader(example1(1700000000)), 7, preset(t, "usestats"), aggregation.AllTime, far, &aggregation.Explainer{})
	if err == nil {
		t.Errorf("cancelled context: no error")
	}
}

// Windows cut through a long session (minimum session) and right after a
// captured event: ComputeUser reads enough context on both sides to give
// the numbers of the run over the whole stream.
func TestComputeUserContextForMinSessionAndCapture(t *testing.T) {
	const T = 1706000000
	s := newStream(7)
	for i := int64(0); i <= 20; i++ {
		s.course(T+i*60, 5)
	}
	edx := preset(t, "edx5")
	edx.MinSession = 600
	withCapture := preset(t, "usestats")
	c := newStream(7).course(T, 5).view(T+100, 703).view(T+400, 701).course(T+460, 5)
	for _, tc := range []struct {
		name string
		p    aggregation.Policy
		evs  []aggregation.Event
		w    aggregation.Window
	}{
		{"edx5 with a 600 s minimum session, window in its tail", edx, s.events, aggregation.Window{From: T + 1000, To: T + 1200}},
		{"edx5 with a 600 s minimum session, window in its head", edx, s.events, aggregation.Window{From: T, To: T + 200}},
		{"usestats, window right after a captured event", withCapture, c.events, aggregation.Window{From: T + 400, To: T + 460}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc := aggregation.NewAccumulator(nil)
			if _, err := aggregation.ComputeUser(context.Background(), aggregation.SliceReader(tc.evs), 7, tc.p, tc.w, far, acc); err != nil {
				t.Fatal(err)
			}
			full := aggregation.NewAccumulator(nil)
			if _, err := aggregation.Run(tc.p, tc.w, far, tc.evs, full); err != nil {
				t.Fatal(err)
			}
			got, want := acc.Result(7, tc.p, tc.w).Total, full.Result(7, tc.p, tc.w).Total
			if got != want || want.Elapsed == 0 {
				t.Errorf("ComputeUser total %+v, whole-stream run %+v", got, want)
			}
		})
	}
}
