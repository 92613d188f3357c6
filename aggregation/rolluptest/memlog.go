package rolluptest

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"

	"github.com/usestats/usestats/aggregation"
)

// MemLog is an in-memory site log (aggregation.LogScanner) whose rows
// become visible as a test commits them, in any id order: rows with ids
// below the highest visible one may still be missing (uncommitted), and a
// row may carry a time far before the rows around its id (a late row).
type MemLog struct {
	mu      sync.Mutex
	rows    []aggregation.Event // every row, visible or not, by id
	visible map[int64]bool
	deleted map[int64]bool
}

var _ aggregation.LogScanner = (*MemLog)(nil)

// NewMemLog returns a log holding rows, none visible yet.
func NewMemLog(rows []aggregation.Event) *MemLog {
	rs := slices.Clone(rows)
	slices.SortFunc(rs, func(a, b aggregation.Event) int { return cmp.Compare(a.ID, b.ID) })
	return &MemLog{rows: rs, visible: map[int64]bool{}, deleted: map[int64]bool{}}
}

// Commit makes the rows with the given ids visible.
func (l *MemLog) Commit(ids ...int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		l.visible[id] = true
	}
}

// CommitAll makes every row visible.
func (l *MemLog) CommitAll() {
	for _, r := range l.rows {
		l.Commit(r.ID)
	}
}

// Delete marks users deleted in the site.
func (l *MemLog) Delete(userIDs ...int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range userIDs {
		l.deleted[id] = true
	}
}

// Visible returns the visible rows (by id).
func (l *MemLog) Visible() []aggregation.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []aggregation.Event
	for _, r := range l.rows {
		if l.visible[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

func (l *MemLog) reader() aggregation.SliceReader { return aggregation.SliceReader(l.Visible()) }

// UserEvents implements aggregation.LogReader.
func (l *MemLog) UserEvents(ctx context.Context, userID, from, to int64, fn func(*aggregation.Event) bool) error {
	return l.reader().UserEvents(ctx, userID, from, to, fn)
}

// UsersEvents implements aggregation.UsersLogReader.
func (l *MemLog) UsersEvents(ctx context.Context, userIDs []int64, from, to int64, fn func(*aggregation.Event) bool) error {
	return l.reader().UsersEvents(ctx, userIDs, from, to, fn)
}

// MaxLogID implements aggregation.LogScanner.
func (l *MemLog) MaxLogID(context.Context) (int64, error) {
	var m int64
	for _, r := range l.Visible() {
		m = max(m, r.ID)
	}
	return m, nil
}

// LogIDs implements aggregation.LogScanner.
func (l *MemLog) LogIDs(_ context.Context, from, to int64) ([]int64, error) {
	var out []int64
	for _, r := range l.Visible() {
		if r.ID > from && r.ID <= to {
			out = append(out, r.ID)
		}
	}
	return out, nil
}

// UserBounds implements aggregation.LogScanner.
func (l *MemLog) UserBounds(context.Context) (int64, int64, error) {
	rs := l.Visible()
	if len(rs) == 0 {
		return 0, 0, nil
	}
	lo, hi := rs[0].UserID, rs[0].UserID
	for _, r := range rs {
		lo, hi = min(lo, r.UserID), max(hi, r.UserID)
	}
	return lo, hi, nil
}

// ScanUsers implements aggregation.LogScanner (it sends every row: the
// filter is optional).
func (l *MemLog) ScanUsers(ctx context.Context, lo, hi, maxID int64, _ aggregation.RowFilter, fn func(*aggregation.Event) bool) error {
	var evs aggregation.SliceReader
	var users []int64
	for _, r := range l.Visible() {
		if r.UserID >= lo && r.UserID < hi && r.ID <= maxID {
			evs = append(evs, r)
			users = append(users, r.UserID)
		}
	}
	slices.Sort(users)
	return evs.UsersEvents(ctx, slices.Compact(users), math.MinInt64, math.MaxInt64, fn)
}

// NewRows implements aggregation.LogScanner.
func (l *MemLog) NewRows(_ context.Context, after, upTo int64, extra []int64, fn func(userID, time int64)) error {
	for _, r := range l.Visible() {
		if r.ID > after && r.ID <= upTo || slices.Contains(extra, r.ID) {
			fn(r.UserID, r.Time)
		}
	}
	return nil
}

// DeletedUsers implements aggregation.LogScanner.
func (l *MemLog) DeletedUsers(context.Context) ([]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int64
	for id := range l.deleted {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}
