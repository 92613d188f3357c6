package aggregation

import (
	"context"
	"sync"
)

// rollupCache keeps the days the store answered for users, and uses them
// again as long as the store says each user's rollups are unchanged: a
// dashboard asks the same questions again and again, and checking a
// user's version is one short row where its days are hundreds. The check
// is exact — a compile that re-settled a user's past, a forgotten user or
// a retention pass is seen on the next question — and the events after
// the horizon always come from the log.
//
// It needs a RollupVersionReader; with another reader, or a budget of 0,
// every question reads the store.
type rollupCache struct {
	budget int64 // bytes of cells and pieces kept (an estimate); 0 disables
	mu     sync.Mutex
	m      map[rollupCacheKey]*rollupCacheEntry
	size   int64
}

type rollupCacheKey struct {
	key      CompileKey
	user     int64
	from, to Day
}

type rollupCacheEntry struct {
	version, from int64 // UserRollups.Version and From when read
	cells         []RollupEntry
	pieces        []SessionPiece
	size          int64
}

// Rough sizes of what an entry holds, for the budget.
const (
	cellBytes  = 120
	pieceBytes = 110
)

// read answers the users, from the cache where their versions match and
// from r for the rest, remembering what r answered. ok is false when the
// key is not complete (nothing is used from the cache then). Callers must
// not modify what it returns: cached cells and pieces are shared.
func (c *rollupCache) read(ctx context.Context, r RollupReader, key CompileKey, ids []int64, from, to Day) (map[int64]*UserRollups, bool, error) {
	vr, ok := r.(RollupVersionReader)
	if c.budget <= 0 || !ok {
		return r.Rollups(ctx, key, ids, from, to)
	}
	vs, ok, err := vr.RollupVersions(ctx, key, ids)
	if err != nil || !ok {
		return nil, ok, err
	}
	out := make(map[int64]*UserRollups, len(ids))
	var missing []int64
	c.mu.Lock()
	for _, id := range ids {
		v := vs[id]
		if v == nil {
			missing = append(missing, id)
			continue
		}
		if v.Version == 0 { // no compile state: no days
			out[id] = v
			continue
		}
		e := c.m[rollupCacheKey{key, id, from, to}]
		if e == nil || e.version != v.Version || e.from != v.From {
			missing = append(missing, id)
			continue
		}
		v.Cells, v.Pieces = e.cells, e.pieces
		out[id] = v
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
	defer c.mu.Unlock()
	for id, u := range got {
		out[id] = u
		if u.Version == 0 {
			continue
		}
		e := &rollupCacheEntry{version: u.Version, from: u.From, cells: u.Cells, pieces: u.Pieces,
			size: int64(len(u.Cells))*cellBytes + int64(len(u.Pieces))*pieceBytes}
		if e.size > c.budget/8 { // one user's long history never evicts everyone
			continue
		}
		k := rollupCacheKey{key, id, from, to}
		if old := c.m[k]; old != nil {
			c.size -= old.size
		}
		if c.m == nil || c.size+e.size > c.budget {
			c.m, c.size = make(map[rollupCacheKey]*rollupCacheEntry), 0 // over budget: start over
		}
		c.m[k] = e
		c.size += e.size
	}
	return out, true, nil
}
