package store

import (
	"context"
	"database/sql"
	"fmt"
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

// readUsers is Rollups, without days when from is nil.
func (s *Store) readUsers(ctx context.Context, key aggregation.CompileKey, userIDs []int64, from *aggregation.Day, to aggregation.Day) (map[int64]*aggregation.UserRollups, bool, error) {
	ids := uniqueIDs(userIDs)
	r := rollupResult{users: make(map[int64]*aggregation.UserRollups, len(ids)), states: map[int64][2]int64{}}
	if len(ids) <= maxListLen {
		if err := s.readRollups(ctx, s.rdb, key, ids, from, to, &r); err != nil {
			return nil, false, wrap("read rollups", err)
		}
	} else {
		opts := &sql.TxOptions{ReadOnly: true}
		if s.rdb.Kind == dbconn.Postgres {
			opts.Isolation = sql.LevelRepeatableRead
		}
		tx, err := s.rdb.BeginTx(ctx, opts)
		if err != nil {
			return nil, false, wrap("read rollups", err)
		}
		defer tx.Rollback()
		for i := 0; i < len(ids) && (i == 0 || r.ok); i += maxListLen {
			if err := s.readRollups(ctx, tx, key, ids[i:min(i+maxListLen, len(ids))], from, to, &r); err != nil {
				return nil, false, wrap("read rollups", err)
			}
		}
	}
	if !r.ok {
		return nil, false, nil
	}
	for _, id := range ids {
		u := r.users[id]
		if u == nil {
			u = &aggregation.UserRollups{}
			r.users[id] = u
		}
		u.Horizon, u.From = r.horizon, r.retainFrom
		if st, ok := r.states[id]; ok {
			u.Horizon = min(st[0], r.horizon)
			u.Version = max(st[1], 1) // a state written before versions existed: 1 until its next write
		}
	}
	return r.users, true, nil
}

// rollupResult accumulates what Rollups reads.
type rollupResult struct {
	ok                  bool // the key is complete
	horizon, retainFrom int64
	states              map[int64][2]int64 // compiled_to and version of the users that have a state
	users               map[int64]*aggregation.UserRollups
}

// The kinds of row of the rollups statement.
const (
	rowKey = iota
	rowState
	rowDay
)

// readRollups runs the rollups statement for some users on db.
func (s *Store) readRollups(ctx context.Context, db bun.IDB, key aggregation.CompileKey, ids []int64, from *aggregation.Day, to aggregation.Day, r *rollupResult) error {
	q, args := rollupsQuery(key, ids, from, to)
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
// are left out.
func rollupsQuery(key aggregation.CompileKey, ids []int64, from *aggregation.Day, to aggregation.Day) (string, []any) {
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
	b.WriteString("\nUNION ALL SELECT 2, user_id, day, 0, 0, data " +
		"FROM usestats_rollup_days WHERE key_id = " + keyID + " AND user_id IN (")
	b.WriteString(list)
	b.WriteString(") AND day BETWEEN " + string(appendInt(nil, int64(*from))) + " AND " + string(appendInt(nil, int64(to))))
	args = append(args, key.Policy, key.Version, key.Zone)
	return b.String(), args
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
