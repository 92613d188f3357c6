package ttlcache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/usestats/usestats/internal/ttlcache"
)

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestExpiry(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := ttlcache.New[string, int](5*time.Second, 10, clk.now)
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("fresh: %d %v", v, ok)
	}
	clk.t = clk.t.Add(4999 * time.Millisecond)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("expired before its TTL")
	}
	clk.t = clk.t.Add(time.Millisecond)
	if _, ok := c.Get("a"); ok {
		t.Fatal("kept past its TTL")
	}
	if c.Len() != 0 {
		t.Fatalf("an expired entry read stays: %d", c.Len())
	}
	c.Put("b", 2)
	c.Put("b", 3) // a new put restarts the TTL and replaces the value
	if v, _ := c.Get("b"); v != 3 {
		t.Fatalf("replaced value: %d", v)
	}
	c.Clear()
	if _, ok := c.Get("b"); ok {
		t.Fatal("Clear kept an entry")
	}
}

func TestBound(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := ttlcache.New[int, int](time.Minute, 3, clk.now)
	c.Put(1, 1)
	clk.t = clk.t.Add(2 * time.Minute)
	c.Put(2, 2)
	c.Put(3, 3)
	c.Put(4, 4) // full: the expired 1 goes, the others stay
	if c.Len() != 3 {
		t.Fatalf("after dropping the expired entry: %d entries", c.Len())
	}
	for _, k := range []int{2, 3, 4} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%d was dropped with room made by an expired entry", k)
		}
	}
	c.Put(5, 5) // full of live entries: start over
	if c.Len() != 1 {
		t.Fatalf("over the bound: %d entries", c.Len())
	}
	if v, ok := c.Get(5); !ok || v != 5 {
		t.Fatal("the new entry was lost")
	}
	c.Put(5, 6) // an existing key never evicts
	if c.Len() != 1 {
		t.Fatalf("replacing evicted: %d", c.Len())
	}
}

func TestDisabledAndNil(t *testing.T) {
	c := ttlcache.New[int, int](0, 10, nil)
	c.Put(1, 1)
	if _, ok := c.Get(1); ok {
		t.Fatal("a TTL of 0 kept a value")
	}
	var n *ttlcache.Cache[int, int]
	n.Put(1, 1)
	n.Clear()
	if _, ok := n.Get(1); ok || n.Len() != 0 {
		t.Fatal("a nil cache holds something")
	}
}

func TestConcurrent(t *testing.T) {
	c := ttlcache.New[int, int](time.Minute, 50, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				c.Put((g*1000+i)%80, i)
				c.Get(i % 80)
			}
		}()
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Fatalf("%d entries over a bound of 50", c.Len())
	}
}

func TestLookupDue(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := ttlcache.New[string, int](10*time.Second, 10, clk.now)
	if _, ok, due := c.Lookup("a"); ok || due {
		t.Fatalf("missing key: ok %v due %v", ok, due)
	}
	c.Put("a", 1)
	clk.t = clk.t.Add(4999 * time.Millisecond)
	if v, ok, due := c.Lookup("a"); !ok || due || v != 1 {
		t.Fatalf("young entry: %d ok %v due %v", v, ok, due)
	}
	clk.t = clk.t.Add(time.Millisecond) // half the TTL
	if v, ok, due := c.Lookup("a"); !ok || !due || v != 1 {
		t.Fatalf("half-lived entry: %d ok %v due %v", v, ok, due)
	}
	if _, ok, due := c.Lookup("a"); !ok || due {
		t.Fatalf("a refresh is asked for once: ok %v due %v", ok, due)
	}
	clk.t = clk.t.Add(4999 * time.Millisecond)
	if _, ok, _ := c.Lookup("a"); !ok {
		t.Fatal("an entry whose refresh never came expired before its TTL")
	}
	clk.t = clk.t.Add(time.Millisecond)
	if _, ok, _ := c.Lookup("a"); ok {
		t.Fatal("an entry whose refresh never came outlived its TTL")
	}
	c.Put("b", 1)
	clk.t = clk.t.Add(6 * time.Second)
	if _, _, due := c.Lookup("b"); !due {
		t.Fatal("no refresh asked for")
	}
	c.Put("b", 2) // the refresh: a new life, asked for again at its half
	clk.t = clk.t.Add(6 * time.Second)
	if v, ok, due := c.Lookup("b"); !ok || !due || v != 2 {
		t.Fatalf("refreshed entry: %d ok %v due %v", v, ok, due)
	}
	c.Delete("b")
	if _, ok, _ := c.Lookup("b"); ok {
		t.Fatal("Delete kept the entry")
	}
	off := ttlcache.New[string, int](0, 10, clk.now)
	off.Put("a", 1)
	if _, ok, due := off.Lookup("a"); ok || due {
		t.Fatal("a cache with no TTL answered")
	}
}

func TestRefresher(t *testing.T) {
	r := ttlcache.NewRefresher(2, time.Minute)
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	read := func(ctx context.Context) {
		<-release
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%v %v", ctx.Value(key{}), ctx.Err()))
	}
	for range 2 {
		if !r.Go(ctx, read) {
			t.Fatal("a refresh within the limit was refused")
		}
	}
	if r.Go(ctx, read) {
		t.Fatal("a refresh over the limit ran")
	}
	cancel() // the asking request ends: its refreshes go on
	close(release)
	r.Wait()
	if len(seen) != 2 || seen[0] != "v <nil>" || seen[1] != "v <nil>" {
		t.Fatalf("refreshes saw %q, want the request's values and no cancellation", seen)
	}
	if !r.Go(context.Background(), func(context.Context) { panic("boom") }) {
		t.Fatal("a slot was not given back")
	}
	r.Wait() // the panic ended only its refresh
	var deadline bool
	short := ttlcache.NewRefresher(1, time.Millisecond)
	short.Go(context.Background(), func(ctx context.Context) { <-ctx.Done(); deadline = true })
	short.Wait()
	if !deadline {
		t.Fatal("a refresh ran without its deadline")
	}
	var nilRefresher *ttlcache.Refresher
	if nilRefresher.Go(ctx, read) {
		t.Fatal("a nil Refresher ran a refresh")
	}
}

func TestFetch(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := ttlcache.New[string, int](10*time.Second, 10, clk.now)
	r := ttlcache.NewRefresher(1, time.Minute)
	errGone, errDown := fmt.Errorf("gone"), fmt.Errorf("down")
	var reads int
	answer, fail := 1, error(nil)
	read := func(context.Context) (int, error) { reads++; return answer, fail }
	gone := func(err error) bool { return err == errGone }
	fetch := func() (int, error) {
		v, err := ttlcache.Fetch(context.Background(), c, r, "k", read, gone)
		r.Wait()
		return v, err
	}
	if v, err := fetch(); v != 1 || err != nil || reads != 1 {
		t.Fatalf("miss: %d %v, %d reads", v, err, reads)
	}
	answer = 2
	clk.t = clk.t.Add(6 * time.Second)
	if v, _ := fetch(); v != 1 || reads != 2 {
		t.Fatalf("due: %d (want the kept 1), %d reads (want a background one)", v, reads)
	}
	if v, _ := fetch(); v != 2 || reads != 2 {
		t.Fatalf("after the refresh: %d, %d reads", v, reads)
	}
	clk.t = clk.t.Add(6 * time.Second)
	fail = errDown
	if v, _ := fetch(); v != 2 || reads != 3 {
		t.Fatalf("due, read fails: %d, %d reads", v, reads)
	}
	if v, err := fetch(); v != 2 || err != nil {
		t.Fatalf("a failed refresh dropped the entry: %d %v", v, err)
	}
	clk.t = clk.t.Add(5 * time.Second) // the refreshed entry is due again
	fail = nil
	fetch()
	clk.t = clk.t.Add(6 * time.Second)
	fail = errGone
	fetch() // due: the background read finds it gone
	if _, err := fetch(); err != errGone {
		t.Fatalf("a gone key is still kept: %v", err)
	}
	if _, err := fetch(); err != errGone || reads != 7 {
		t.Fatalf("a failed read was kept: %v, %d reads", err, reads)
	}
}
