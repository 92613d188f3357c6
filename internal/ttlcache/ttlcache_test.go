package ttlcache_test

import (
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
