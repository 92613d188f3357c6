// Package rolluptest is the shared harness of the rollup tests: an
// in-memory CompileStore and LogScanner, and the field-by-field comparison
// of two answers. It imports only the standard library and aggregation.
package rolluptest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// MemStore is an in-memory aggregation.CompileStore. Claims are exclusive
// (one writer at a time), like a SQLite store.
type MemStore struct {
	mu   sync.Mutex
	keys map[aggregation.CompileKey]*memKey
	// Writes counts committed writes (claims' Done and WriteUsers), for
	// crash tests that stop after the n-th.
	Writes int
	// FailAfter, when positive, makes the write after that many fail
	// (and every later one) — a crash at a chosen point.
	FailAfter int
	versions  int64 // the last user version given
}

type memKey struct {
	state  aggregation.CompileState
	cells  map[int64][]aggregation.RollupEntry
	hours  map[int64][]aggregation.HourEntry
	pieces map[int64][]aggregation.SessionPiece
	users  map[int64]aggregation.UserState
	// versions: each user's version, new on every write of its state
	versions map[int64]int64
	shards   []memShard
	runs     int64
}

type memShard struct {
	aggregation.Shard
	done, claimed bool
}

var (
	_ aggregation.CompileStore        = (*MemStore)(nil)
	_ aggregation.RollupVersionReader = (*MemStore)(nil)
	_ aggregation.RollupSummaryReader = (*MemStore)(nil)
)

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{keys: map[aggregation.CompileKey]*memKey{}}
}

func (s *MemStore) key(k aggregation.CompileKey) *memKey {
	m := s.keys[k]
	if m == nil {
		m = &memKey{cells: map[int64][]aggregation.RollupEntry{}, hours: map[int64][]aggregation.HourEntry{},
			pieces: map[int64][]aggregation.SessionPiece{},
			users:  map[int64]aggregation.UserState{}, versions: map[int64]int64{}}
		s.keys[k] = m
	}
	return m
}

// commit counts a write, failing once FailAfter writes have committed.
func (s *MemStore) commit() error {
	if s.FailAfter > 0 && s.Writes >= s.FailAfter {
		return fmt.Errorf("rolluptest: store crashed after %d writes", s.Writes)
	}
	s.Writes++
	return nil
}

// Rollups implements aggregation.RollupReader.
func (s *MemStore) Rollups(_ context.Context, key aggregation.CompileKey, userIDs []int64, from, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	return s.read(key, userIDs, &from, to)
}

// RollupVersions implements aggregation.RollupVersionReader.
func (s *MemStore) RollupVersions(_ context.Context, key aggregation.CompileKey, userIDs []int64) (map[int64]*aggregation.UserRollups, bool, error) {
	return s.read(key, userIDs, nil, 0)
}

// read is Rollups, without days when from is nil.
func (s *MemStore) read(key aggregation.CompileKey, userIDs []int64, from *aggregation.Day, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.keys[key]
	if m == nil || !m.state.Complete {
		return nil, false, nil
	}
	out := make(map[int64]*aggregation.UserRollups, len(userIDs))
	for _, id := range userIDs {
		u := &aggregation.UserRollups{Horizon: m.state.Horizon, From: m.state.RetainFrom}
		if st, ok := m.users[id]; ok {
			u.Horizon = min(st.CompiledTo, m.state.Horizon)
			u.Version = m.versions[id]
		}
		out[id] = u
		if from == nil {
			continue
		}
		for _, c := range m.cells[id] {
			if c.Key.Day >= *from && c.Key.Day <= to {
				u.Cells = append(u.Cells, c)
			}
		}
		for _, h := range m.hours[id] {
			if h.Key.Day >= *from && h.Key.Day <= to {
				u.Hours = append(u.Hours, h)
			}
		}
		for _, p := range m.pieces[id] {
			if p.Day >= *from && p.Day <= to {
				p.Courses = slices.Clone(p.Courses)
				u.Pieces = append(u.Pieces, p)
			}
		}
	}
	return out, true, nil
}

// RollupSummaries implements aggregation.RollupSummaryReader: each day's
// summary is made from its cells as a store makes it when it writes them.
func (s *MemStore) RollupSummaries(_ context.Context, key aggregation.CompileKey, userIDs []int64, from, to aggregation.Day) (map[int64]*aggregation.UserSummaries, bool, error) {
	users, ok, err := s.read(key, userIDs, &from, to)
	if !ok || err != nil {
		return nil, ok, err
	}
	out := make(map[int64]*aggregation.UserSummaries, len(users))
	for id, u := range users {
		out[id] = Summaries(u)
	}
	return out, true, nil
}

// Summaries returns the summaries of a user's stored days, as a store
// makes them from the days it writes (a day is stored when it has a
// cell, an hourly cell or a session piece), in day order.
func Summaries(u *aggregation.UserRollups) *aggregation.UserSummaries {
	cells := map[aggregation.Day][]*aggregation.RollupEntry{}
	hours := map[aggregation.Day][]*aggregation.HourEntry{}
	var days []aggregation.Day
	for i := range u.Cells {
		d := u.Cells[i].Key.Day
		cells[d] = append(cells[d], &u.Cells[i])
		days = append(days, d)
	}
	for i := range u.Hours {
		d := u.Hours[i].Key.Day
		hours[d] = append(hours[d], &u.Hours[i])
		days = append(days, d)
	}
	for _, p := range u.Pieces {
		days = append(days, p.Day)
	}
	slices.Sort(days)
	sum := &aggregation.UserSummaries{Horizon: u.Horizon, From: u.From, Version: u.Version}
	for _, d := range slices.Compact(days) {
		sum.Days = append(sum.Days, aggregation.SummarizeDay(d, cells[d], hours[d]))
	}
	return sum
}

// nextVersion returns a user version never given before.
func (s *MemStore) nextVersion() int64 {
	s.versions++
	return s.versions
}

// CompileState implements aggregation.CompileStore.
func (s *MemStore) CompileState(_ context.Context, key aggregation.CompileKey) (aggregation.CompileState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.keys[key]; m != nil {
		return m.state, nil
	}
	return aggregation.CompileState{}, nil
}

// BeginRun implements aggregation.CompileStore.
func (s *MemStore) BeginRun(_ context.Context, key aggregation.CompileKey, run aggregation.CompileRun, shards []aggregation.Shard) (aggregation.CompileRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.key(key)
	if m.state.Run.ID != 0 {
		return m.state.Run, nil
	}
	if m.state.Complete {
		return aggregation.CompileRun{}, nil
	}
	if err := s.commit(); err != nil {
		return run, err
	}
	m.runs++
	run.ID = m.runs
	m.state = aggregation.CompileState{Run: run}
	clear(m.cells)
	clear(m.hours)
	clear(m.pieces)
	clear(m.users)
	clear(m.versions)
	m.shards = m.shards[:0]
	for _, sh := range shards {
		sh.RunID = run.ID
		m.shards = append(m.shards, memShard{Shard: sh})
	}
	return run, nil
}

// ClaimShard implements aggregation.CompileStore.
func (s *MemStore) ClaimShard(_ context.Context, key aggregation.CompileKey, runID int64) (aggregation.ShardClaim, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.keys[key]
	if m == nil || m.state.Run.ID != runID {
		return nil, false, nil
	}
	for i := range m.shards {
		if !m.shards[i].done && !m.shards[i].claimed {
			m.shards[i].claimed = true
			return &memClaim{s: s, key: key, i: i, sh: m.shards[i].Shard}, true, nil
		}
	}
	return nil, false, nil
}

type memClaim struct {
	s      *MemStore
	key    aggregation.CompileKey
	i      int
	sh     aggregation.Shard
	staged []aggregation.UserCompile
	closed bool
}

func (c *memClaim) Shard() aggregation.Shard { return c.sh }

func (c *memClaim) Write(_ context.Context, users []aggregation.UserCompile) error {
	for _, u := range users {
		c.staged = append(c.staged, cloneCompile(u))
	}
	return nil
}

func (c *memClaim) Done(context.Context) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	m := c.s.keys[c.key]
	c.closed = true
	m.shards[c.i].claimed = false
	if err := c.s.commit(); err != nil {
		return err
	}
	for _, u := range c.staged {
		m.apply(u, c.s.nextVersion())
	}
	m.shards[c.i].done = true
	return nil
}

func (c *memClaim) Abort() error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if !c.closed {
		c.s.keys[c.key].shards[c.i].claimed = false
		c.closed = true
	}
	return nil
}

func cloneCompile(u aggregation.UserCompile) aggregation.UserCompile {
	u.Cells = slices.Clone(u.Cells)
	u.Hours = slices.Clone(u.Hours)
	u.Pieces = slices.Clone(u.Pieces)
	for i := range u.Pieces {
		u.Pieces[i].Courses = slices.Clone(u.Pieces[i].Courses)
	}
	return u
}

// apply replaces a user's days from FromDay on and saves its state; a
// forgotten user is left alone unless all its days are replaced.
func (m *memKey) apply(u aggregation.UserCompile, version int64) {
	if st, ok := m.users[u.UserID]; ok && st == aggregation.Forgotten && u.FromDay != aggregation.MinDay {
		return
	}
	m.cells[u.UserID] = slices.DeleteFunc(m.cells[u.UserID], func(e aggregation.RollupEntry) bool { return e.Key.Day >= u.FromDay })
	m.cells[u.UserID] = append(m.cells[u.UserID], u.Cells...)
	m.hours[u.UserID] = slices.DeleteFunc(m.hours[u.UserID], func(e aggregation.HourEntry) bool { return e.Key.Day >= u.FromDay })
	m.hours[u.UserID] = append(m.hours[u.UserID], u.Hours...)
	m.pieces[u.UserID] = slices.DeleteFunc(m.pieces[u.UserID], func(p aggregation.SessionPiece) bool { return p.Day >= u.FromDay })
	m.pieces[u.UserID] = append(m.pieces[u.UserID], u.Pieces...)
	m.users[u.UserID] = u.State
	m.versions[u.UserID] = version
}

// FinishRun implements aggregation.CompileStore.
func (s *MemStore) FinishRun(_ context.Context, key aggregation.CompileKey, runID int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.keys[key]
	if m == nil {
		return false, nil
	}
	if m.state.Run.ID != runID {
		return m.state.Complete, nil
	}
	for _, sh := range m.shards {
		if !sh.done {
			return false, nil
		}
	}
	if err := s.commit(); err != nil {
		return false, err
	}
	r := m.state.Run
	m.state = aggregation.CompileState{Complete: true, Horizon: r.Horizon, Watermark: r.Watermark, Gaps: r.Gaps}
	m.shards = nil
	return true, nil
}

// UserStates implements aggregation.CompileStore.
func (s *MemStore) UserStates(_ context.Context, key aggregation.CompileKey, userIDs []int64) (map[int64]aggregation.UserState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int64]aggregation.UserState{}
	if m := s.keys[key]; m != nil {
		for _, id := range userIDs {
			if st, ok := m.users[id]; ok {
				out[id] = st
			}
		}
	}
	return out, nil
}

// PendingUsers implements aggregation.CompileStore.
func (s *MemStore) PendingUsers(_ context.Context, key aggregation.CompileKey, since int64) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	if m := s.keys[key]; m != nil {
		for id, st := range m.users {
			if st.LastTime >= since {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// SessionKeys implements aggregation.CompileStore.
func (s *MemStore) SessionKeys(_ context.Context, key aggregation.CompileKey, refs [][2]int64) (map[[2]int64]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[[2]int64]int64{}
	m := s.keys[key]
	if m == nil {
		return out, nil
	}
	for _, r := range refs {
		for _, p := range m.pieces[r[0]] {
			if p.LastID == r[1] {
				out[r] = p.Key
			}
		}
	}
	return out, nil
}

// WriteUsers implements aggregation.CompileStore.
func (s *MemStore) WriteUsers(_ context.Context, key aggregation.CompileKey, users []aggregation.UserCompile, next *aggregation.CompileState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.commit(); err != nil {
		return err
	}
	m := s.key(key)
	for _, u := range users {
		m.apply(cloneCompile(u), s.nextVersion())
	}
	if next != nil {
		run := m.state.Run
		m.state = *next
		m.state.Run = run
	}
	return nil
}

// ForgetUsers implements aggregation.CompileStore.
func (s *MemStore) ForgetUsers(_ context.Context, userIDs []int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.commit(); err != nil {
		return err
	}
	for _, m := range s.keys {
		for _, id := range userIDs {
			delete(m.cells, id)
			delete(m.hours, id)
			delete(m.pieces, id)
			m.users[id] = aggregation.Forgotten
			m.versions[id] = s.nextVersion()
		}
	}
	return nil
}

// Advance implements aggregation.CompileStore.
func (s *MemStore) Advance(_ context.Context, key aggregation.CompileKey, users []aggregation.UserCompile, from, next aggregation.CompileState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.key(key)
	cur := m.state
	if cur.Complete != from.Complete || cur.Horizon != from.Horizon || cur.Watermark != from.Watermark || cur.Run.ID != 0 {
		return aggregation.ErrStateMoved
	}
	if err := s.commit(); err != nil {
		return err
	}
	for _, u := range users {
		m.apply(cloneCompile(u), s.nextVersion())
	}
	m.state = next
	m.state.Run = aggregation.CompileRun{}
	return nil
}

// Retain implements aggregation.CompileStore.
func (s *MemStore) Retain(_ context.Context, key aggregation.CompileKey, t int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.keys[key]
	if m == nil {
		return nil
	}
	if err := s.commit(); err != nil {
		return err
	}
	loc, err := time.LoadLocation(key.Zone)
	if err != nil {
		return err
	}
	y, mo, d := time.Unix(t, 0).In(loc).Date()
	day := aggregation.Day(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	for id := range m.cells {
		m.cells[id] = slices.DeleteFunc(m.cells[id], func(e aggregation.RollupEntry) bool { return e.Key.Day < day })
	}
	for id := range m.hours {
		m.hours[id] = slices.DeleteFunc(m.hours[id], func(e aggregation.HourEntry) bool { return e.Key.Day < day })
	}
	for id := range m.pieces {
		m.pieces[id] = slices.DeleteFunc(m.pieces[id], func(p aggregation.SessionPiece) bool { return p.Day < day })
	}
	m.state.RetainFrom = t
	return nil
}

// Keys implements aggregation.CompileStore.
func (s *MemStore) Keys(context.Context) ([]aggregation.CompileKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []aggregation.CompileKey
	for k := range s.keys {
		out = append(out, k)
	}
	return out, nil
}

// DropKey implements aggregation.CompileStore.
func (s *MemStore) DropKey(_ context.Context, key aggregation.CompileKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, key)
	return nil
}

// Dump returns everything the store holds for key in a canonical order,
// for comparing two stores.
func (s *MemStore) Dump(key aggregation.CompileKey) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.keys[key]
	if m == nil {
		return "<none>"
	}
	st := m.state
	out := fmt.Sprintf("state complete=%t horizon=%d watermark=%d gaps=%v retain=%d run=%d\n",
		st.Complete, st.Horizon, st.Watermark, st.Gaps, st.RetainFrom, st.Run.ID)
	var ids []int64
	for id := range m.users {
		ids = append(ids, id)
	}
	for id := range m.cells {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for _, id := range ids {
		if st, ok := m.users[id]; ok {
			out += fmt.Sprintf("user %d compiled_to=%d last=%d\n", id, st.CompiledTo, st.LastTime)
		}
		cells := slices.Clone(m.cells[id])
		slices.SortFunc(cells, func(a, b aggregation.RollupEntry) int { return compareEntry(&a, &b) })
		for _, c := range cells {
			out += fmt.Sprintf("  cell %+v %+v\n", c.Key, c.Cell)
		}
		hours := slices.Clone(m.hours[id])
		slices.SortFunc(hours, func(a, b aggregation.HourEntry) int { return aggregation.CompareHourKeys(&a.Key, &b.Key) })
		for _, h := range hours {
			out += fmt.Sprintf("  hour %+v %+v\n", h.Key, h.Cell)
		}
		pieces := slices.Clone(m.pieces[id])
		slices.SortFunc(pieces, func(a, b aggregation.SessionPiece) int {
			if a.Key != b.Key {
				return cmpInt(a.Key, b.Key)
			}
			return cmpInt(int64(a.Day), int64(b.Day))
		})
		for _, p := range pieces {
			out += fmt.Sprintf("  piece %+v\n", p)
		}
	}
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compareEntry(a, b *aggregation.RollupEntry) int {
	for _, d := range [...]int{
		cmpInt(int64(a.Key.Day), int64(b.Key.Day)), cmpInt(a.Key.CourseID, b.Key.CourseID),
		cmpInt(int64(a.Key.Bucket), int64(b.Key.Bucket)), cmpInt(a.Key.SectionID, b.Key.SectionID),
		cmpInt(a.Key.CMID, b.Key.CMID),
	} {
		if d != 0 {
			return d
		}
	}
	return 0
}
