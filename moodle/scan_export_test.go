package moodle

import "context"

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
