package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// Rollups returns, for each of the users, the cells and session pieces of
// days from..to (inclusive) compiled under key, the user's horizon (the
// lower of its CompiledTo and the key's horizon; the key's horizon for a
// user without a state), the key's RetainFrom and the user's version. ok
// is false when key is unknown or not complete.
//
// It is the serving path: the key's row, the users' states and their days
// come from one statement (a UNION ALL of three selects), so they are one
// snapshot of the store and one round trip. More than maxListLen users
// take one statement per chunk inside a read-only (PostgreSQL: repeatable
// read) transaction.
func (s *Store) Rollups(ctx context.Context, key aggregation.CompileKey, userIDs []int64, from, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	return s.readUsers(ctx, key, userIDs, &from, to)
}

// RollupVersions implements aggregation.RollupVersionReader: Rollups
// without the days, the key's row and the users' states only.
func (s *Store) RollupVersions(ctx context.Context, key aggregation.CompileKey, userIDs []int64) (map[int64]*aggregation.UserRollups, bool, error) {
	return s.readUsers(ctx, key, userIDs, nil, 0)
}

// RollupSummaries implements aggregation.RollupSummaryReader: Rollups
// with each day's summary instead of its data, from the same snapshot of
// the key, the users' states and their days. A day stored without a
// summary makes its user Partial.
func (s *Store) RollupSummaries(ctx context.Context, key aggregation.CompileKey, userIDs []int64, from, to aggregation.Day) (map[int64]*aggregation.UserSummaries, bool, error) {
	ids := uniqueIDs(userIDs)
	r, err := s.read(ctx, key, ids, &from, to, true)
	if err != nil || !r.ok {
		return nil, false, err
	}
	out := make(map[int64]*aggregation.UserSummaries, len(ids))
	for _, id := range ids {
		u := r.sums[id]
		if u == nil {
			u = &aggregation.UserSummaries{}
		}
		u.Horizon, u.From, u.Version = r.userState(id)
		out[id] = u
	}
	return out, true, nil
}

// readUsers is Rollups, without days when from is nil.
func (s *Store) readUsers(ctx context.Context, key aggregation.CompileKey, userIDs []int64, from *aggregation.Day, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	ids := uniqueIDs(userIDs)
	r, err := s.read(ctx, key, ids, from, to, false)
	if err != nil || !r.ok {
		return nil, false, err
	}
	for _, id := range ids {
		u := r.users[id]
		if u == nil {
			u = &aggregation.UserRollups{}
			r.users[id] = u
		}
		u.Horizon, u.From, u.Version = r.userState(id)
	}
	return r.users, true, nil
}

// userState returns a user's horizon (the lower of its compiled_to and
// the key's horizon; the key's for a user without a state), the key's
// retention start and the user's version (0 without a state).
func (r *rollupResult) userState(id int64) (horizon, from, version int64) {
	horizon, from = r.horizon, r.retainFrom
	if st, ok := r.states[id]; ok {
		horizon = min(st[0], r.horizon)
		version = max(st[1], 1) // a state written before versions existed: 1 until its next write
	}
	return horizon, from, version
}

// read runs the rollups statement for the users (sorted, distinct): the
// days' data, or their summaries.
func (s *Store) read(ctx context.Context, key aggregation.CompileKey, ids []int64, from *aggregation.Day, to aggregation.Day, summaries bool) (*rollupResult, error) {
	r := &rollupResult{ids: ids, states: map[int64][2]int64{}, summaries: summaries}
	if summaries {
		r.sums = make(map[int64]*aggregation.UserSummaries, len(ids))
	} else {
		r.users = make(map[int64]*aggregation.UserRollups, len(ids))
	}
	if len(ids) <= maxListLen {
		if err := s.readRollups(ctx, s.rdb, key, ids, from, to, r); err != nil {
			return nil, wrap("read rollups", err)
		}
	} else {
		opts := &sql.TxOptions{ReadOnly: true}
		if s.rdb.Kind == dbconn.Postgres {
			opts.Isolation = sql.LevelRepeatableRead
		}
		tx, err := s.rdb.BeginTx(ctx, opts)
		if err != nil {
			return nil, wrap("read rollups", err)
		}
		defer tx.Rollback()
		for i := 0; i < len(ids) && (i == 0 || r.ok); i += maxListLen {
			if err := s.readRollups(ctx, tx, key, ids[i:min(i+maxListLen, len(ids))], from, to, r); err != nil {
				return nil, wrap("read rollups", err)
			}
		}
	}
	return r, nil
}

// rollupResult accumulates what Rollups reads.
type rollupResult struct {
	ok                  bool // the key is complete
	horizon, retainFrom int64
	states              map[int64][2]int64 // compiled_to and version of the users that have a state
	ids                 []int64            // the users asked for (sorted, distinct)
	summaries           bool               // the days' summaries are read, into sums; else users
	users               map[int64]*aggregation.UserRollups
	sums                map[int64]*aggregation.UserSummaries
}

// The kinds of row of the rollups statement.
const (
	rowKey = iota
	rowState
	rowDay
)

// readRollups runs the rollups statement for some users on db.
func (s *Store) readRollups(ctx context.Context, db bun.IDB, key aggregation.CompileKey, ids []int64, from *aggregation.Day, to aggregation.Day, r *rollupResult) error {
	column := "data"
	if r.summaries {
		column = "summary"
	}
	q, args := rollupsQuery(key, ids, from, to, column)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var v rollupRow
	if from != nil {
		v.dec.days = daySpan(*from, to, 366)
	}
	dest := v.dest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := v.add(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// rollupsQuery builds the rollups statement: every select yields the same
// six columns (kind, user, day, two integers, data); ids are literals and
// the key's strings bound. The NULL is typed for PostgreSQL, which
// resolves the column types of a UNION pairwise. Without from, the days
// are left out; column is the days' column to read (data or summary).
func rollupsQuery(key aggregation.CompileKey, ids []int64, from *aggregation.Day, to aggregation.Day, column string) (string, []any) {
	const keyID = "(SELECT id FROM usestats_compile_keys WHERE policy = ? AND version = ? AND zone = ? AND complete)"
	var b strings.Builder
	b.Grow(700 + 2*12*len(ids))
	b.WriteString("SELECT 0, 0, 0, horizon, retain_from, CAST(NULL AS BYTEA) " +
		"FROM usestats_compile_keys WHERE policy = ? AND version = ? AND zone = ? AND complete")
	args := []any{key.Policy, key.Version, key.Zone}
	if len(ids) == 0 {
		return b.String(), args
	}
	list := string(appendIDs(nil, ids))
	b.WriteString("\nUNION ALL SELECT 1, user_id, 0, compiled_to, version, NULL " +
		"FROM usestats_compile_users WHERE key_id = " + keyID + " AND user_id IN (")
	b.WriteString(list)
	b.WriteString(")")
	args = append(args, key.Policy, key.Version, key.Zone)
	if from == nil {
		return b.String(), args
	}
	b.WriteString("\nUNION ALL SELECT 2, user_id, day, 0, 0, " + column + " " +
		"FROM usestats_rollup_days WHERE key_id = " + keyID + " AND ")
	if dense(ids) {
		// One range of the primary key rather than a list, which the
		// planner reads with a scan of the whole table once the list
		// is a good part of it; the few days of users between the ids
		// but not among them are dropped as they are read.
		b.WriteString("user_id BETWEEN " + string(appendInt(nil, ids[0])) + " AND " + string(appendInt(nil, ids[len(ids)-1])))
	} else {
		b.WriteString("user_id IN (" + list + ")")
	}
	b.WriteString(" AND day BETWEEN " + string(appendInt(nil, int64(*from))) + " AND " + string(appendInt(nil, int64(to))))
	args = append(args, key.Policy, key.Version, key.Zone)
	return b.String(), args
}

// dense reports whether the ids (sorted, distinct) are most of the ids
// between the first and the last: read as a range (see rollupsQuery).
func dense(ids []int64) bool {
	if len(ids) < 64 {
		return false
	}
	span := uint64(ids[len(ids)-1]) - uint64(ids[0]) // no overflow: sorted
	return span < 2*uint64(len(ids))
}

// rollupRow is one row of the rollups statement. Its fields scan
// themselves (sql.Scanner), which spares database/sql's reflection.
type rollupRow struct {
	n    [5]scanInt // kind, user, day, a, b
	data scanBytes
	dec  dayDecoder
}

func (v *rollupRow) dest() []any {
	return []any{&v.n[0], &v.n[1], &v.n[2], &v.n[3], &v.n[4], &v.data}
}

// add files the row into r.
func (v *rollupRow) add(r *rollupResult) error {
	n := &v.n
	switch n[0] {
	case rowKey:
		r.ok, r.horizon, r.retainFrom = true, int64(n[3]), int64(n[4])
	case rowState:
		r.states[int64(n[1])] = [2]int64{int64(n[3]), int64(n[4])}
	case rowDay:
		user, day := int64(n[1]), aggregation.Day(n[2])
		if _, asked := slices.BinarySearch(r.ids, user); !asked { // read with a range of ids
			return nil
		}
		if r.summaries {
			return v.addSummary(r, user, day)
		}
		u := r.users[user]
		if u == nil {
			u = &aggregation.UserRollups{}
			r.users[user] = u
		}
		if err := v.dec.decode(u, user, day, v.data); err != nil {
			return fmt.Errorf("rollups of user %d on day %d: %w", user, day, err)
		}
	default:
		return fmt.Errorf("rollups: unknown row kind %d", n[0])
	}
	return nil
}

// addSummary files a day's summary (NULL: none) into r.
func (v *rollupRow) addSummary(r *rollupResult, user int64, day aggregation.Day) error {
	u := r.sums[user]
	if u == nil {
		u = &aggregation.UserSummaries{}
		r.sums[user] = u
	}
	if v.data == nil {
		u.Partial = true
		return nil
	}
	d, err := decodeSummary(day, v.data)
	if err != nil {
		return fmt.Errorf("summary of user %d on day %d: %w", user, day, err)
	}
	u.Days = append(u.Days, d)
	return nil
}

// scanBytes scans a binary column without copying: the bytes are valid
// until the next row is read.
type scanBytes []byte

// Scan implements sql.Scanner.
func (x *scanBytes) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		*x = v
	case string:
		*x = []byte(v)
	case nil:
		*x = nil
	default:
		return fmt.Errorf("store: cannot read %T as bytes", src)
	}
	return nil
}

// daySpan returns the number of days from..to, at least 1 and at most
// limit (without overflow for any bounds).
func daySpan(from, to aggregation.Day, limit int) int {
	if to < from {
		return 1
	}
	if d := uint64(to) - uint64(from); d < uint64(limit) {
		return int(d) + 1
	}
	return limit
}

// scanInt scans an integer column (NULL reads as 0).
type scanInt int64

// Scan implements sql.Scanner.
func (x *scanInt) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*x = scanInt(v)
	case nil:
		*x = 0
	case bool:
		*x = 0
		if v {
			*x = 1
		}
	case []byte:
		return x.parse(string(v))
	case string:
		return x.parse(v)
	default:
		return fmt.Errorf("store: cannot read %T as an integer", src)
	}
	return nil
}

func (x *scanInt) parse(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	*x = scanInt(n)
	return err
}
