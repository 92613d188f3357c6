// Package ttlcache keeps values for a fixed time, in a bounded number of
// entries. The serving edges use it for the look-ups every request
// repeats (token checks, user look-ups, the store's compile state, SCORM
// tracking): under load, the same few rows would otherwise be read from a
// database thousands of times a second.
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps keys to values for TTL after they are put. It is safe for
// concurrent use. A Cache with a TTL of 0 or less keeps nothing.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[K]entry[V]
}

type entry[V any] struct {
	v       V
	due     time.Time // from then on, Lookup asks for a refresh
	expires time.Time
	claimed bool // Lookup has asked a caller to refresh it since it was put
}

// New returns a cache keeping each value for ttl, at most limit entries
// (at least 1); now is its clock (nil = time.Now).
func New[K comparable, V any](ttl time.Duration, limit int, now func() time.Time) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[K, V]{ttl: ttl, max: max(limit, 1), now: now}
}

// Get returns the value put for k, unless it has expired.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	var zero V
	if c == nil || c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return zero, false
	}
	if !c.now().Before(e.expires) {
		delete(c.m, k)
		return zero, false
	}
	return e.v, true
}

// Put keeps v for k for the cache's TTL. When the cache is full, expired
// entries go first, and everything if none has expired: a burst of new
// keys never grows it past its bound.
func (c *Cache[K, V]) Put(k K, v V) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	if c.m == nil {
		c.m = make(map[K]entry[V])
	}
	c.m[k] = entry[V]{v: v, due: now.Add(c.ttl / 2), expires: now.Add(c.ttl)}
}

// Lookup is Get for refresh-ahead. Besides the value it says whether the
// caller should read k again now, in the background (due): the value has
// lived half its TTL and no caller has been told so since it was put. The
// caller told so Puts what it reads (or Deletes k when it is gone); if it
// cannot, the entry still expires at its TTL. A key asked for more often
// than every half TTL is thus never missed once it is cached, and a value
// is never used more than the TTL after it was read.
func (c *Cache[K, V]) Lookup(k K) (v V, ok, due bool) {
	if c == nil || c.ttl <= 0 {
		return v, false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return v, false, false
	}
	now := c.now()
	if !now.Before(e.expires) {
		delete(c.m, k)
		return v, false, false
	}
	if !e.claimed && !now.Before(e.due) {
		e.claimed = true
		c.m[k] = e
		return e.v, true, true
	}
	return e.v, true, false
}

// Delete drops k's entry.
func (c *Cache[K, V]) Delete(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// Clear drops every entry.
func (c *Cache[K, V]) Clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// Len returns the number of entries held, expired ones included.
func (c *Cache[K, V]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
