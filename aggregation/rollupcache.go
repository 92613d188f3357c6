package aggregation

import (
	"context"
	"slices"
	"sync"

	"github.com/usestats/usestats/internal/ttlcache"
)

// rollupCache keeps the days (daily and hourly cells, session pieces) the
// store answered for users, and uses them again as long as the store says
// each user's rollups are unchanged: a dashboard asks the same questions again and again, and checking a
// user's version is one short row where its days are hundreds. The check
// is exact — a compile that re-settled a user's past, a forgotten user or
// a retention pass is seen on the next question — and the events after
// the horizon always come from the log.
//
// It needs a RollupVersionReader; with another reader, or a budget of 0,
// every question reads the store.
type rollupCache struct {
	budget   int64               // bytes of cells, hours and pieces kept (an estimate); 0 disables
	versions *versionCache       // the users' versions, kept for ServiceConfig.CacheTTL (nil: read every time)
	refresh  *ttlcache.Refresher // reads the versions due for a refresh
	mu       sync.Mutex
	m        map[rollupCacheKey]*rollupCacheEntry
	size     int64
}

type rollupCacheKey struct {
	key      CompileKey
	user     int64
	from, to Day
}

type rollupCacheEntry struct {
	version, from int64 // UserRollups.Version and From when read
	cells         []RollupEntry
	hours         []HourEntry
	pieces        []SessionPiece
	noHours       bool
	memo          *rollupMemo
	size          int64
}

// rollupMemo is what the Service built from one cache entry's days: the
// daily and hourly cells as a Rollup and the sessions joined from the pieces (both from the
// retention start on), and the whole answers of windows the days answer
// alone. They are shared by every question the entry answers and never
// modified once built.
type rollupMemo struct {
	once     sync.Once
	cells    *Rollup
	sessions []Session

	mu      sync.Mutex
	results map[[2]int64]*Result // by window (From, To)
}

// maxMemoResults bounds the windows remembered per user.
const maxMemoResults = 8

// stored returns the cells and sessions of u from day first on, built
// once.
func (m *rollupMemo) stored(u *UserRollups, first Day) (*Rollup, []Session) {
	m.once.Do(func() { m.cells, m.sessions = storedPart(u, first) })
	return m.cells, m.sessions
}

// result returns the remembered answer for the window, or nil.
func (m *rollupMemo) result(w Window) *Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.results[[2]int64{w.From, w.To}]
}

// remember keeps the answer for the window.
func (m *rollupMemo) remember(w Window, r *Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.results == nil || len(m.results) >= maxMemoResults {
		m.results = map[[2]int64]*Result{}
	}
	m.results[[2]int64{w.From, w.To}] = r
}

// storedPart builds the cells and sessions of u's days from first on.
func storedPart(u *UserRollups, first Day) (*Rollup, []Session) {
	cells := newRollupFor(len(u.Cells), len(u.Hours))
	for _, c := range u.Cells {
		if c.Key.Day >= first {
			cells.Add(c.Key, c.Cell)
		}
	}
	for _, h := range u.Hours {
		if h.Key.Day >= first {
			cells.AddHour(h.Key, h.Cell)
		}
	}
	pieces := u.Pieces
	if first != minDay {
		pieces = slices.DeleteFunc(slices.Clone(pieces), func(p SessionPiece) bool { return p.Day < first })
	}
	return cells, SessionsFromPieces(pieces)
}

// Rough sizes of what an entry holds, for the budget: a cell as read
// (about 160 bytes) and again in the built Rollup; an hourly cell as read
// (48 bytes), again in the built Rollup (with its index) and in the
// remembered answers' Hours (twice 24 bytes); a piece as read and as part
// of a built session.
const (
	cellBytes  = 330
	hourBytes  = 200
	pieceBytes = 250
)

// cacheSize estimates the memory a cache entry of u's days takes.
func cacheSize(u *UserRollups) int64 {
	return int64(len(u.Cells))*cellBytes + int64(len(u.Hours))*hourBytes + int64(len(u.Pieces))*pieceBytes
}

// read answers the users, from the cache where their versions match and
// from r for the rest, remembering what r answered. ok is false when the
// key is not complete (nothing is used from the cache then). Callers must
// not modify what it returns: cached cells and pieces are shared.
func (c *rollupCache) read(ctx context.Context, r RollupReader, key CompileKey, ids []int64, from, to Day) (map[int64]*UserRollups, bool, error) {
	vr, ok := r.(RollupVersionReader)
	if c.budget <= 0 || !ok {
		return r.Rollups(ctx, key, ids, from, to)
	}
	vs, ok, err := versions(ctx, c.versions, c.refresh, vr, key, ids)
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
		v.Cells, v.Hours, v.Pieces, v.NoHours, v.memo = e.cells, e.hours, e.pieces, e.noHours, e.memo
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
		// A reader may have reserved room for more days than the user
		// has: keep only what is used.
		if cap(u.Cells) > len(u.Cells)+len(u.Cells)/4 {
			u.Cells = slices.Clone(u.Cells)
		}
		if cap(u.Hours) > len(u.Hours)+len(u.Hours)/4 {
			u.Hours = slices.Clone(u.Hours)
		}
		if cap(u.Pieces) > len(u.Pieces)+len(u.Pieces)/4 {
			u.Pieces = slices.Clone(u.Pieces)
		}
		e := &rollupCacheEntry{version: u.Version, from: u.From, cells: u.Cells, hours: u.Hours, pieces: u.Pieces,
			noHours: u.NoHours, memo: &rollupMemo{}, size: cacheSize(u)}
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
		u.memo = e.memo
	}
	return out, true, nil
}
