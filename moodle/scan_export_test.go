package moodle

import (
	"context"

	"github.com/usestats/usestats/aggregation"
)

// ScanWithoutCopy makes s's ScanUsers read PostgreSQL through
// database/sql (on) or COPY (off); it returns the previous setting.
func ScanWithoutCopy(s *Source, on bool) bool { return s.scanNoCopy.Swap(on) }

// ScanCopyNative reports whether the connections of s's pool can run
// ScanUsers' COPY (PostgreSQL through the bun driver, wrapped or not).
func ScanCopyNative(ctx context.Context, s *Source) (bool, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var ok bool
	err = conn.Raw(func(dc any) error { _, ok = pgNetConn(dc); return nil })
	return ok, err
}

// ScanStats tell what ScanUsers' sorted path did: whether it read the
// range into its buffer, overflowed it, read the range in SQL order.
type ScanStats = scanStats

// ScanUsersBuffered is ScanUsers with a buffer of at most limit rows,
// checking the planner's estimate first or not (then only an overflow
// turns to the SQL order).
func ScanUsersBuffered(ctx context.Context, s *Source, lo, hi, maxID int64, f aggregation.RowFilter, limit int, estimate bool,
	fn func(*aggregation.Event) bool) (ScanStats, error) {
	return s.scanUsers(ctx, scanRange{lo: lo, hi: hi, maxID: maxID, f: f}, scanOptions{limit: limit, estimate: estimate}, fn)
}
