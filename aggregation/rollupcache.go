package aggregation

import (
	"context"
	"sync"
)

// rollupCache keeps what the store answered for a user, a compile key and
// a run of days for a few seconds: a dashboard asks the same questions
// again and again, and a stored answer stays exact as long as it is used
// with its own horizon (the events after it always come from the log).
// What it can miss for those seconds is a compile that re-settled the
// user's past (a late row) or removed the user's rollups.
type rollupCache struct {
	ttl int64 // seconds; 0 disables the cache
	mu  sync.Mutex
	m   map[rollupCacheKey]rollupCacheEntry
}

type rollupCacheKey struct {
	key      CompileKey
	user     int64
	from, to Day
}

type rollupCacheEntry struct {
	u  *UserRollups
	at int64
}

// rollupCacheMax bounds the entries; past it the cache starts over.
const rollupCacheMax = 20_000

// read answers the users from the cache where it can and from r for the
// rest, remembering what r answered. ok is false when the key is not
// complete (nothing is cached then).
func (c *rollupCache) read(ctx context.Context, r RollupReader, key CompileKey, ids []int64, from, to Day, now int64) (map[int64]*UserRollups, bool, error) {
	if c.ttl <= 0 {
		return r.Rollups(ctx, key, ids, from, to)
	}
	out := make(map[int64]*UserRollups, len(ids))
	var missing []int64
	c.mu.Lock()
	for _, id := range ids {
		e, ok := c.m[rollupCacheKey{key, id, from, to}]
		if ok && now-e.at < c.ttl && now >= e.at {
			out[id] = e.u
		} else {
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, true, nil
	}
	got, ok, err := r.Rollups(ctx, key, missing, from, to)
	if err != nil || !ok {
		return nil, ok, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m)+len(got) > rollupCacheMax {
		c.m = make(map[rollupCacheKey]rollupCacheEntry)
	}
	for id, u := range got {
		c.m[rollupCacheKey{key, id, from, to}] = rollupCacheEntry{u: u, at: now}
		out[id] = u
	}
	c.mu.Unlock()
	return out, true, nil
}
