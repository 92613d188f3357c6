package moodle

import (
	"context"
	"sync"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// NamesTTL is how long the Directory reuses course and activity
// descriptions (names, types, sections) read from Moodle: every answer
// names the courses and modules it reports, and reading them again for
// each would put one query per module type on the Moodle database per
// request. A renamed course or activity shows its new name within it.
const NamesTTL = time.Minute

// nameCache keeps descriptions by id for NamesTTL; missing ids (deleted
// courses or modules) are remembered too.
type nameCache[V any] struct {
	mu      sync.Mutex
	entries map[int64]nameEntry[V]
}

type nameEntry[V any] struct {
	v      V
	ok     bool // the id exists
	expiry time.Time
}

// get returns the cached values of ids and the ids to read.
func (c *nameCache[V]) get(ids []int64, now time.Time) (map[int64]V, []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int64]V, len(ids))
	var missing []int64
	for _, id := range ids {
		e, hit := c.entries[id]
		switch {
		case !hit || now.After(e.expiry):
			missing = append(missing, id)
		case e.ok:
			out[id] = e.v
		}
	}
	return out, missing
}

// put remembers what a read of ids found (absent ids: not existing).
func (c *nameCache[V]) put(ids []int64, found map[int64]V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) > 200_000 {
		c.entries = map[int64]nameEntry[V]{} // bounded: start over
	}
	exp := now.Add(NamesTTL)
	for _, id := range ids {
		v, ok := found[id]
		c.entries[id] = nameEntry[V]{v: v, ok: ok, expiry: exp}
	}
}

// cached answers ids from the cache and reads the rest with read.
func cached[V any](ctx context.Context, c *nameCache[V], ids []int64, read func(context.Context, []int64) (map[int64]V, error)) (map[int64]V, error) {
	now := time.Now()
	out, missing := c.get(ids, now)
	if len(missing) == 0 {
		return out, nil
	}
	found, err := read(ctx, missing)
	if err != nil {
		return nil, err
	}
	c.put(missing, found, now)
	for id, v := range found {
		out[id] = v
	}
	return out, nil
}

// nameCaches are a Source's caches of descriptions.
type nameCaches struct {
	courses nameCache[aggregation.CourseInfo]
	modules courseNames // by course (coursenames.go)
}
