package moodle

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

var _ aggregation.LogScanner = (*Source)(nil)

// MaxLogID returns the highest log id (0 for an empty log). It implements
// aggregation.LogScanner.
func (s *Source) MaxLogID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	err := s.db.NewSelect().ColumnExpr("MAX(id)").TableExpr("?", s.table("logstore_standard_log")).Scan(ctx, &id)
	if err != nil {
		return 0, fmt.Errorf("reading the highest log id: %w", err)
	}
	return id.Int64, nil
}

// LogIDs returns the log ids in (from, to], ascending. It implements
// aggregation.LogScanner; callers ask for a short range (the overlap
// window below a watermark).
func (s *Source) LogIDs(ctx context.Context, from, to int64) ([]int64, error) {
	if to <= from {
		return nil, nil
	}
	var ids []int64
	err := s.db.NewSelect().Column("id").TableExpr("?", s.table("logstore_standard_log")).
		Where("id > ?", from).Where("id <= ?", to).OrderExpr("id").Scan(ctx, &ids)
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("reading the log ids in (%d, %d]: %w", from, to, err)
	}
	return ids, nil
}

// UserBounds returns the lowest and highest user id of the log's rows (0,
// 0 for an empty log). It implements aggregation.LogScanner. Each bound is
// its own query: every engine answers a lone MIN or MAX of an indexed
// column (user-module's leading column) from the index.
func (s *Source) UserBounds(ctx context.Context) (lo, hi int64, err error) {
	var b [2]sql.NullInt64
	for i, agg := range []string{"MIN(userid)", "MAX(userid)"} {
		if err := s.db.NewSelect().ColumnExpr(agg).TableExpr("?", s.table("logstore_standard_log")).Scan(ctx, &b[i]); err != nil {
			return 0, 0, fmt.Errorf("reading the log's user ids: %w", err)
		}
	}
	return b[0].Int64, b[1].Int64, nil
}

// DeletedUsers returns the ids of the users deleted in the site (user.deleted
// set), ascending. It implements aggregation.LogScanner.
func (s *Source) DeletedUsers(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := s.db.NewSelect().Column("id").TableExpr("?", s.table("user")).
		Where("deleted <> 0").OrderExpr("id").Scan(ctx, &ids)
	if err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("reading deleted users: %w", err)
	}
	return ids, nil
}

// newRowsBatch is how many extra ids one NewRows query names.
const newRowsBatch = 1000

// NewRows calls fn with the user and time of each row whose id is in
// (after, upTo] or in extra, each row once, in no particular order. It
// implements aggregation.LogScanner. The range is one query; the extra
// ids outside it (the gaps of an overlap window, a few) are read in
// batches by primary key.
func (s *Source) NewRows(ctx context.Context, after, upTo int64, extra []int64, fn func(userID, time int64)) error {
	read := func(q *bun.SelectQuery, what string) error {
		rows, err := q.Rows(ctx)
		if err != nil {
			return fmt.Errorf("reading new log rows (%s): %w", what, err)
		}
		defer rows.Close()
		var user, t int64
		for rows.Next() {
			if err := rows.Scan(&user, &t); err != nil {
				return fmt.Errorf("reading new log rows (%s): %w", what, err)
			}
			fn(user, t)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading new log rows (%s): %w", what, err)
		}
		return nil
	}
	base := func() *bun.SelectQuery {
		return s.db.NewSelect().ColumnExpr("userid, timecreated").TableExpr("?", s.table("logstore_standard_log"))
	}
	if upTo > after {
		if err := read(base().Where("id > ?", after).Where("id <= ?", upTo), fmt.Sprintf("ids in (%d, %d]", after, upTo)); err != nil {
			return err
		}
	}
	var ids []int64
	for _, id := range extra {
		if id <= after || id > upTo {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	for start := 0; start < len(ids); start += newRowsBatch {
		batch := ids[start:min(start+newRowsBatch, len(ids))]
		if err := read(base().Where("id IN (?)", bun.List(batch)), fmt.Sprintf("%d ids from %d", len(batch), batch[0])); err != nil {
			return err
		}
	}
	return nil
}

// ScanUsers calls fn for each event of the users lo ≤ userid < hi whose log
// id is ≤ maxID, in (userid, timecreated, id) order, until fn returns
// false. It implements aggregation.LogScanner: it is the read of a fresh
// compile, one streamed query per call.
//
// The rows f rejects are left out by the query itself, and only what the
// time engine reads is fetched: seven integer columns (id, timecreated,
// userid, courseid, contextlevel, contextinstanceid and realuserid when
// login-as rows are kept), a kind code computed by the database from
// action, target and anonymous (see scanKind), origin and ip. The events
// carry exactly what the engine and the accumulator read of the rows f
// keeps, whatever the policy: ID, Time, UserID, CourseID (0 for NULL),
// ContextLevel, ContextInstanceID, RealUserID (0 when f drops login-as
// rows: every row left has none), Anonymous, Origin, IP, the resolved
// CMID, ModuleType and SectionID, and Action and Target for the rows
// whose action the engine tests (loggedin, login, loggedout, logout,
// failed, and graded with target user; both "" for any other row).
// EventName, CRUD, EduLevel and ContextID are left empty.
//
// On PostgreSQL the rows arrive through COPY … TO STDOUT, decoded without
// database/sql (see scancopy.go): unordered and sorted here when they fit
// in a bounded buffer, else in the query's order (see scansort.go);
// elsewhere through database/sql, in the query's order.
func (s *Source) ScanUsers(ctx context.Context, lo, hi, maxID int64, f aggregation.RowFilter, fn func(*aggregation.Event) bool) error {
	_, err := s.scanUsers(ctx, scanRange{lo: lo, hi: hi, maxID: maxID, f: f}, scanOptions{limit: scanBufferRows, estimate: true}, fn)
	return err
}

// scanUsers is ScanUsers with the sorted path's options; it also returns
// what that path did.
func (s *Source) scanUsers(ctx context.Context, r scanRange, opt scanOptions, fn func(*aggregation.Event) bool) (scanStats, error) {
	var st scanStats
	if r.hi <= r.lo {
		return st, nil
	}
	k := newScanSink(ctx, s, fn)
	release, err := s.streamSlot(ctx)
	if err != nil {
		return st, err
	}
	defer release()
	if s.db.Kind == dbconn.Postgres && !s.scanNoCopy.Load() {
		err = s.scanSorted(ctx, r, opt, k, &st)
	} else {
		err = s.scanRows(ctx, r.query(s, true), k.add)
	}
	if err == nil {
		err = k.finish()
	}
	if err != nil {
		return st, fmt.Errorf("scanning the events of users %d to %d: %w", r.lo, r.hi-1, err)
	}
	return st, nil
}

// scanRange is what one ScanUsers call reads: the users lo ≤ userid < hi,
// the log ids ≤ maxID, the rows f keeps.
type scanRange struct {
	lo, hi, maxID int64
	f             aggregation.RowFilter
}

// query is scanQuery for the range, in (userid, timecreated, id) order
// when ordered.
func (r scanRange) query(s *Source, ordered bool) *bun.SelectQuery {
	q := s.scanQuery(r.lo, r.hi, r.maxID, r.f)
	if ordered {
		q = q.OrderExpr("userid, timecreated, id")
	}
	return q
}

// scanKind is the kind code ScanUsers' query computes per row: the low
// bits say which of the actions the engine tests the row has, the
// anonymous bit is set for an anonymous row when f keeps them.
type scanKind = int64

// The kind codes.
const (
	kindOther      scanKind = iota // any other action
	kindLoggedIn                   // action loggedin
	kindLogin                      // action login
	kindLoggedOut                  // action loggedout
	kindLogout                     // action logout
	kindFailed                     // action failed
	kindGradedUser                 // action graded, target user (\core\event\user_graded)

	kindActionMask scanKind = 7
	kindAnonymous  scanKind = 8 // anonymous <> 0
)

// kindActions is the action each kind code stands for.
var kindActions = [...]string{
	kindOther: "", kindLoggedIn: "loggedin", kindLogin: "login", kindLoggedOut: "loggedout",
	kindLogout: "logout", kindFailed: "failed", kindGradedUser: "graded",
}

// scanColumnCount is the number of columns of scanQuery, in scan order:
// id, timecreated, userid, courseid, contextlevel, contextinstanceid,
// kind, realuserid (integers), origin, ip (strings, NULL as "").
const scanColumnCount = 10

// scanQuery is ScanUsers' query: the narrow projection and f's filters,
// in no order.
func (s *Source) scanQuery(lo, hi, maxID int64, f aggregation.RowFilter) *bun.SelectQuery {
	// Strings compare byte for byte, as the engine compares them: MariaDB
	// and MySQL columns have case- and pad-insensitive collations.
	str := func(expr string) string {
		if s.db.Kind == dbconn.MySQL {
			return "CAST(" + expr + " AS BINARY)"
		}
		return expr
	}
	action, target := str("COALESCE(action, '')"), str("COALESCE(target, '')")
	kind := fmt.Sprintf("CASE %s WHEN 'loggedin' THEN %d WHEN 'login' THEN %d WHEN 'loggedout' THEN %d WHEN 'logout' THEN %d "+
		"WHEN 'failed' THEN %d WHEN 'graded' THEN CASE WHEN %s = 'user' THEN %d ELSE %d END ELSE %d END",
		action, kindLoggedIn, kindLogin, kindLoggedOut, kindLogout, kindFailed, target, kindGradedUser, kindOther, kindOther)
	if !f.DropAnonymous {
		kind = fmt.Sprintf("(%s) + CASE WHEN anonymous <> 0 THEN %d ELSE 0 END", kind, kindAnonymous)
	}
	realUser := "0"
	if !f.DropLoginAs {
		realUser = "COALESCE(realuserid, 0)"
	}
	cols := []string{"id", "timecreated", "userid", "COALESCE(courseid, 0)", "contextlevel", "contextinstanceid", kind, realUser, "origin", "ip"}
	q := s.db.NewSelect().
		ColumnExpr(strings.Join(cols, ", ")).
		TableExpr("?", s.table("logstore_standard_log")).
		Where("userid >= ?", lo).Where("userid < ?", hi).Where("id <= ?", maxID)
	// Each filter keeps exactly the rows the engine's filter keeps, NULLs
	// read as the engine reads them (a NULL string is "", a NULL course 0).
	if len(f.DropOrigins) > 0 {
		q = q.Where(str("COALESCE(origin, '')")+" NOT IN (?)", bun.List(f.DropOrigins))
	}
	if f.DropFailed {
		q = q.Where(action + " <> 'failed'")
	}
	if f.DropLoginAs {
		q = q.Where("(realuserid IS NULL OR realuserid = 0)")
	}
	if f.DropAnonymous {
		q = q.Where("anonymous = 0")
	}
	if f.DropGraded {
		q = q.Where("NOT (" + action + " = 'graded' AND " + target + " = 'user')")
	}
	switch f.SiteRows {
	case aggregation.SiteNone:
		q = q.Where("courseid <> 0") // a NULL course is course 0
	case aggregation.SiteLoginLogout:
		q = q.Where("(courseid <> 0 OR " + action + " IN ('loggedin', 'login', 'loggedout', 'logout'))")
	}
	return q
}

// scanRow is one row of scanQuery.
type scanRow struct {
	id, time, user, course, level, instance, kind, realUser int64
	origin, ip                                              []byte // nil or empty: none
}

// scanSink turns scanned rows into events a chunk at a time, resolving
// their course modules per chunk as stream does, and hands them to fn.
type scanSink struct {
	ctx     context.Context
	s       *Source
	fn      func(*aggregation.Event) bool
	chunk   []aggregation.Event
	strs    scanStrings // the strings of the rows streamed through add
	rec     scanRec     // add's row, as addRec reads it
	stopped bool        // fn returned false: the rest is not wanted

	// cms holds the resolutions this scan has used (from the Source's
	// cache or read), so a module event costs one map look-up; missing
	// collects a chunk's course modules not in it.
	cms     map[int64]cmInfo
	missing []int64
}

// maxScanCMs bounds a scan's own course-module map; past it, it restarts.
const maxScanCMs = 100_000

// maxSinkStrings bounds the strings a streaming scan keeps to share them
// between rows; past it, the table restarts (a pathological column).
const maxSinkStrings = 100_000

func newScanSink(ctx context.Context, s *Source, fn func(*aggregation.Event) bool) *scanSink {
	return &scanSink{ctx: ctx, s: s, fn: fn, chunk: make([]aggregation.Event, 0, chunkSize),
		strs: newScanStrings(), cms: make(map[int64]cmInfo)}
}

// add queues the event of a row read in order (see addRec).
func (k *scanSink) add(r *scanRow) (bool, error) {
	if len(k.strs.strs) > maxSinkStrings {
		k.strs.reset() // the queued events keep their own strings
	}
	k.rec.set(r, &k.strs)
	return k.addRec(&k.rec, k.strs.strs)
}

// addRec queues the event of r, whose strings are indices in strs; with a
// full chunk it resolves and delivers the chunk. It reports whether more
// rows are wanted.
func (k *scanSink) addRec(r *scanRec, strs []string) (bool, error) {
	n := len(k.chunk)
	k.chunk = k.chunk[:n+1]
	ev := &k.chunk[n]
	kind := scanKind(r.kind)
	a := kind & kindActionMask
	*ev = aggregation.Event{
		ID: r.id, Time: r.time, UserID: r.user, CourseID: r.course,
		ContextLevel: r.level, ContextInstanceID: r.instance,
		RealUserID: r.realUser, Anonymous: kind&kindAnonymous != 0,
		Origin: strs[r.origin], IP: strs[r.ip],
	}
	if a > kindOther && a < scanKind(len(kindActions)) {
		ev.Action = kindActions[a]
		if a == kindGradedUser {
			ev.Target = "user"
		}
	}
	if len(k.chunk) < chunkSize {
		return true, nil
	}
	return k.flush()
}

// flush resolves and delivers the queued events.
func (k *scanSink) flush() (bool, error) {
	if k.stopped {
		return false, nil
	}
	if len(k.chunk) == 0 {
		return true, nil
	}
	if err := k.ctx.Err(); err != nil {
		return false, err
	}
	if err := k.resolve(); err != nil {
		return false, err
	}
	for i := range k.chunk {
		if !k.fn(&k.chunk[i]) {
			k.stopped = true
			break
		}
	}
	k.chunk = k.chunk[:0]
	return !k.stopped, nil
}

// resolve fills CMID, ModuleType and SectionID of the chunk's module
// events, as Source.resolve does, asking the Source only for the course
// modules this scan has not met yet.
func (k *scanSink) resolve() error {
	if len(k.cms) > maxScanCMs-chunkSize {
		clear(k.cms) // restart before the chunk: all it needs is then read
	}
	k.missing = k.missing[:0]
	for i := range k.chunk {
		ev := &k.chunk[i]
		if ev.ContextLevel != aggregation.ContextModule {
			continue
		}
		if _, ok := k.cms[ev.ContextInstanceID]; !ok && !slices.Contains(k.missing, ev.ContextInstanceID) {
			k.missing = append(k.missing, ev.ContextInstanceID)
		}
	}
	if len(k.missing) > 0 {
		got, err := k.s.cmInfos(k.ctx, k.missing)
		if err != nil {
			return err
		}
		for id, cm := range got {
			k.cms[id] = cm
		}
	}
	for i := range k.chunk {
		ev := &k.chunk[i]
		if ev.ContextLevel != aggregation.ContextModule {
			continue
		}
		ev.CMID = ev.ContextInstanceID // the cmid, copied at event time: survives deletion
		if cm := k.cms[ev.CMID]; cm.known {
			ev.ModuleType, ev.SectionID = cm.typ, cm.section
		}
	}
	return nil
}

// finish delivers what is left after the last row.
func (k *scanSink) finish() error {
	_, err := k.flush()
	return err
}

// rowFunc takes one decoded row and reports whether more are wanted; the
// row and its strings are only valid during the call.
type rowFunc func(*scanRow) (bool, error)

// scanRows reads q, a scanQuery, through database/sql and hands each row
// to add.
func (s *Source) scanRows(ctx context.Context, q *bun.SelectQuery, add rowFunc) error {
	rows, err := q.Rows(ctx)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		r          scanRow
		origin, ip sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&r.id, &r.time, &r.user, &r.course, &r.level, &r.instance, &r.kind, &r.realUser, &origin, &ip); err != nil {
			return err
		}
		r.origin, r.ip = origin, ip
		more, err := add(&r)
		if err != nil || !more {
			return err
		}
	}
	return rows.Err()
}
