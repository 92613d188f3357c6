package aggregation_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// ComputeUsers over one stream of several users gives each user exactly
// what ComputeUser gives from that user's own reads: same look-behind,
// window and look-ahead, for every policy, including users without
// events, repeated ids and ids asked in any order.
func TestPropertyComputeUsers(t *testing.T) {
	streams := propStreamsAll()
	ctx := context.Background()
	for _, pp := range propPolicies(t) {
		t.Run(pp.name, func(t *testing.T) {
			for seed := 0; seed+3 < len(streams); seed += 4 {
				var all aggregation.SliceReader
				users := []int64{40, 7, 22, 7, 3}            // 3 has no events; 7 twice
				for k, uid := range []int64{40, 7, 22, 99} { // 99 is not asked for
					for _, ev := range streams[seed+k] {
						ev.UserID = uid
						all = append(all, ev)
					}
				}
				w, now := propWindow(propRand(seed, 'u'), streams[seed])
				got := map[int64]*aggregation.Result{}
				accs := map[int64]*aggregation.Accumulator{}
				var order []int64
				err := aggregation.ComputeUsers(ctx, all, users, pp.p, w, now,
					func(uid int64) aggregation.Sink {
						accs[uid] = aggregation.NewAccumulator(nil)
						return accs[uid]
					},
					func(uid int64, p aggregation.Policy) {
						order = append(order, uid)
						got[uid] = accs[uid].Result(uid, p, w)
					})
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if !reflect.DeepEqual(order, []int64{3, 7, 22, 40}) {
					t.Fatalf("seed %d: users done in order %v", seed, order)
				}
				for _, uid := range []int64{3, 7, 22, 40} {
					acc := aggregation.NewAccumulator(nil)
					p, err := aggregation.ComputeUser(ctx, all, uid, pp.p, w, now, acc)
					if err != nil {
						t.Fatal(err)
					}
					if want := acc.Result(uid, p, w); !reflect.DeepEqual(got[uid], want) {
						t.Fatalf("seed %d user %d: batch result differs:\n got %+v\nwant %+v", seed, uid, got[uid], want)
					}
				}
			}
		})
	}
}

// Negative user ids, which ComputeUser accepts, are not "out of order".
func TestComputeUsersNegativeIDs(t *testing.T) {
	p, _ := aggregation.Preset(aggregation.DefaultPolicy)
	evs := aggregation.SliceReader{{ID: 1, UserID: -3, Time: 100}, {ID: 2, UserID: -3, Time: 400}, {ID: 3, UserID: 2, Time: 100}}
	var got []int64
	err := aggregation.ComputeUsers(context.Background(), evs, []int64{2, -3}, p, aggregation.AllTime, 1000,
		func(int64) aggregation.Sink { return aggregation.NewAccumulator(nil) },
		func(id int64, _ aggregation.Policy) { got = append(got, id) })
	if err != nil || !reflect.DeepEqual(got, []int64{-3, 2}) {
		t.Fatalf("users %v, %v", got, err)
	}
}

// outOfOrder yields user 5's event before user 4's.
type outOfOrder struct{}

func (outOfOrder) UsersEvents(_ context.Context, _ []int64, _, _ int64, fn func(*aggregation.Event) bool) error {
	for _, ev := range []aggregation.Event{{ID: 1, UserID: 5, Time: 10}, {ID: 2, UserID: 4, Time: 11}} {
		if !fn(&ev) {
			return nil
		}
	}
	return nil
}

// A reader that breaks the (user, time, id) order is an error, not a
// silent mix of two users.
func TestComputeUsersOrder(t *testing.T) {
	p, _ := aggregation.Preset(aggregation.DefaultPolicy)
	err := aggregation.ComputeUsers(context.Background(), outOfOrder{}, []int64{4, 5}, p, aggregation.AllTime, 100,
		func(int64) aggregation.Sink { return aggregation.NewAccumulator(nil) }, func(int64, aggregation.Policy) {})
	if err == nil {
		t.Fatal("out-of-order stream accepted")
	}
	// An invalid policy is refused before reading.
	err = aggregation.ComputeUsers(context.Background(), outOfOrder{}, []int64{4}, aggregation.Policy{Threshold: -1}, aggregation.AllTime, 100,
		func(int64) aggregation.Sink { return aggregation.NewAccumulator(nil) }, func(int64, aggregation.Policy) {})
	if err == nil {
		t.Fatal("invalid policy accepted")
	}
}
