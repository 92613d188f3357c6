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
	expires time.Time
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
	c.m[k] = entry[V]{v: v, expires: now.Add(c.ttl)}
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
