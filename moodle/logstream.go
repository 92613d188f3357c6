package moodle

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

// Paging of log reads: a page is one keyset query; rows are decoded and
// their course modules resolved a chunk at a time, so memory is bounded by
// a chunk plus the caches whatever the table size.
const (
	defaultPageSize = 50_000
	chunkSize       = 1024
)

// logColumns are the columns read from logstore_standard_log, in scan order.
const logColumns = "id, timecreated, userid, courseid, contextid, contextlevel, contextinstanceid, " +
	"action, target, eventname, crud, edulevel, origin, realuserid, anonymous, ip"

// UserEvents streams the user's events with from ≤ timecreated ≤ to in
// (timecreated, id) order until fn returns false. It implements
// aggregation.LogReader.
func (s *Source) UserEvents(ctx context.Context, userID, from, to int64, fn func(*aggregation.Event) bool) error {
	if to < from {
		return nil
	}
	var lastT, lastID int64
	first := true
	for {
		q := s.db.NewSelect().
			ColumnExpr(logColumns).
			TableExpr("?", s.table("logstore_standard_log")).
			Where("userid = ?", userID).
			Where("timecreated <= ?", to).
			OrderExpr("timecreated, id").
			Limit(defaultPageSize)
		if first {
			q = q.Where("timecreated >= ?", from)
		} else {
			// (timecreated, id) > (lastT, lastID), written with a leading range
			// every engine's optimizer can use.
			q = q.Where("timecreated >= ?", lastT).Where("(timecreated > ? OR id > ?)", lastT, lastID)
		}
		n, stopped, err := s.stream(ctx, q, func(ev *aggregation.Event) bool {
			lastT, lastID = ev.Time, ev.ID
			return fn(ev)
		})
		if err != nil {
			return fmt.Errorf("reading events of user %d: %w", userID, err)
		}
		if stopped || n < defaultPageSize {
			return nil
		}
		first = false
	}
}

// UsersEvents streams the events of the users with from ≤ timecreated ≤
// to in (userid, timecreated, id) order until fn returns false, in one
// query: rows of many users share the table's pages, so one pass reads
// each page once where a query per user reads it once per user. Rows are
// decoded a chunk at a time as they arrive. It implements
// aggregation.UsersLogReader.
func (s *Source) UsersEvents(ctx context.Context, userIDs []int64, from, to int64, fn func(*aggregation.Event) bool) error {
	if to < from || len(userIDs) == 0 {
		return nil
	}
	q := s.db.NewSelect().
		ColumnExpr(logColumns).
		TableExpr("?", s.table("logstore_standard_log")).
		Where("userid IN (?)", bun.List(userIDs)).
		Where("timecreated >= ?", from).
		Where("timecreated <= ?", to).
		OrderExpr("userid, timecreated, id")
	if _, _, err := s.stream(ctx, q, fn); err != nil {
		return fmt.Errorf("reading events of %d users: %w", len(userIDs), err)
	}
	return nil
}

// ScanLog streams every log row with id > afterID in id order (all users),
// until fn returns false. Rows are written in request batches, so ids are
// only roughly time-ordered and a row may commit after a higher id: callers
// keeping an id watermark re-read an overlap below it (see ScanFrom).
// It returns the highest id seen (afterID when none).
func (s *Source) ScanLog(ctx context.Context, afterID int64, fn func(*aggregation.Event) bool) (int64, error) {
	last := afterID
	for {
		q := s.db.NewSelect().
			ColumnExpr(logColumns).
			TableExpr("?", s.table("logstore_standard_log")).
			Where("id > ?", last).
			OrderExpr("id").
			Limit(defaultPageSize)
		n, stopped, err := s.stream(ctx, q, func(ev *aggregation.Event) bool {
			last = ev.ID
			return fn(ev)
		})
		if err != nil {
			return last, fmt.Errorf("scanning the log after id %d: %w", last, err)
		}
		if stopped || n < defaultPageSize {
			return last, nil
		}
	}
}

// ScanFrom is ScanLog from a watermark with an overlap: it re-reads the
// overlap ids below the watermark (rows that may have committed late) and
// skips those already seen, as told by seen.
func (s *Source) ScanFrom(ctx context.Context, watermark, overlap int64, seen func(id int64) bool, fn func(*aggregation.Event) bool) (int64, error) {
	start := max(watermark-overlap, 0)
	high, err := s.ScanLog(ctx, start, func(ev *aggregation.Event) bool {
		if ev.ID <= watermark && seen != nil && seen(ev.ID) {
			return true
		}
		return fn(ev)
	})
	return max(high, watermark), err
}

// streamSlot waits for a stream's place in the pool. A stream holds its
// connection while it resolves course modules on another: with every
// connection held by a stream, none would move, so at most one less than
// the pool's connections stream at once.
func (s *Source) streamSlot(ctx context.Context) (func(), error) {
	if s.streams == nil {
		return func() {}, nil
	}
	select {
	case s.streams <- struct{}{}:
		return func() { <-s.streams }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stream runs one page query and hands its rows to fn, decoded and resolved
// a chunk at a time. It returns the number of rows read and whether fn
// asked to stop.
func (s *Source) stream(ctx context.Context, q *bun.SelectQuery, fn func(*aggregation.Event) bool) (int, bool, error) {
	release, err := s.streamSlot(ctx)
	if err != nil {
		return 0, false, err
	}
	defer release()
	rows, err := q.Rows(ctx)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var (
		chunk  = make([]aggregation.Event, 0, chunkSize)
		intern = make(interner)
		row    rawLogRow
		n      int
	)
	flush := func() (bool, error) {
		if err := s.resolve(ctx, chunk); err != nil {
			return false, err
		}
		for i := range chunk {
			if !fn(&chunk[i]) {
				return true, nil
			}
		}
		chunk = chunk[:0]
		return false, nil
	}
	for rows.Next() {
		if err := row.scan(rows); err != nil {
			return n, false, err
		}
		n++
		chunk = append(chunk, row.event(intern))
		if len(chunk) == chunkSize {
			if stop, err := flush(); stop || err != nil {
				return n, stop, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, false, err
	}
	stop, err := flush()
	return n, stop, err
}

// rawLogRow is the scan buffer of one log row: strings arrive as raw bytes
// and are interned, so a page of rows costs a handful of allocations.
type rawLogRow struct {
	id, time, user                  int64
	course                          sql.NullInt64
	ctxID, ctxLevel, ctxInstance    int64
	action, target, eventname, crud sql.RawBytes
	edulevel                        int64
	origin                          sql.RawBytes
	realUser                        sql.NullInt64
	anonymous                       int64
	ip                              sql.RawBytes
}

func (r *rawLogRow) scan(rows *sql.Rows) error {
	return rows.Scan(&r.id, &r.time, &r.user, &r.course, &r.ctxID, &r.ctxLevel, &r.ctxInstance,
		&r.action, &r.target, &r.eventname, &r.crud, &r.edulevel, &r.origin, &r.realUser, &r.anonymous, &r.ip)
}

func (r *rawLogRow) event(in interner) aggregation.Event {
	ev := aggregation.Event{
		ID: r.id, Time: r.time, UserID: r.user, CourseID: r.course.Int64,
		ContextID: r.ctxID, ContextLevel: int32(r.ctxLevel), ContextInstanceID: r.ctxInstance,
		Action: in.get(r.action), Target: in.get(r.target), EventName: in.get(r.eventname),
		EduLevel: int8(r.edulevel), Origin: in.get(r.origin), RealUserID: r.realUser.Int64,
		Anonymous: r.anonymous != 0, IP: in.get(r.ip),
	}
	if len(r.crud) > 0 {
		ev.CRUD = r.crud[0]
	}
	return ev
}

// interner returns one shared string per distinct byte sequence: log
// columns like action, target, eventname, origin and ip repeat endlessly.
type interner map[string]string

func (in interner) get(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	if len(in) > 100_000 { // a pathological column: stop growing
		return string(b)
	}
	s := string(b)
	in[s] = s
	return s
}
