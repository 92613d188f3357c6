package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// Compiled rollups (issue 12): Store implements aggregation.CompileStore.
//
// Tables (migration 0003_rollups): usestats_compile_keys holds one row per
// compile key (policy, version, zone) with its state and the fresh run in
// progress; the big tables repeat the key's small integer id:
// usestats_rollup_days holds one row per user and day, whose data packs
// the day's cells and session pieces (daycodec.go), usestats_session_ends
// one row per session piece (to find a session by its last log id), and
// usestats_compile_users one row per user; usestats_compile_shards holds
// the shards of the runs in progress.
//
// Reads run on their own pool on SQLite (see Store.rdb). Writes are
// transactions; on PostgreSQL days and session ends are loaded with COPY. Id
// lists (IN lists, VALUES rows) are written into the SQL as integer
// literals, never bound, so no engine's parameter limit applies; they are
// cut into statements of at most maxListLen ids.
var _ aggregation.CompileStore = (*Store)(nil)

const (
	// maxListLen is the most ids one statement lists.
	maxListLen = 2000
	// readerConns is the size of the SQLite read pool.
	readerConns = 4
)

// openReaders opens the SQLite read pool: in WAL mode readers never wait
// for the one writer connection, so answers keep flowing while a compile
// holds it. A database without a file (in memory) is seen only by its own
// connection: it keeps reading through the writer.
func (s *Store) openReaders(ctx context.Context, dsn string) error {
	if s.db.Kind != dbconn.SQLite {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return wrap("open readers", err)
	}
	var file string
	for rows.Next() {
		var seq int64
		var name, path string
		if err := rows.Scan(&seq, &name, &path); err != nil {
			rows.Close()
			return wrap("open readers", err)
		}
		if name == "main" {
			file = path
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return wrap("open readers", err)
	}
	if file == "" {
		return nil
	}
	rdb, err := dbconn.Open(ctx, dsn, dbconn.Options{MaxOpenConns: readerConns})
	if err != nil {
		return err
	}
	s.rdb = rdb
	return nil
}

// zones caches the time zones of compile keys.
var zones sync.Map // string → *time.Location

// loadZone returns the IANA time zone name; an unknown one is EInvalid.
func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		return nil, aggregation.Errorf(aggregation.EInvalid, "store: unknown time zone %q", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// validKey checks the key of a write: a policy name and a known zone.
func validKey(key aggregation.CompileKey) error {
	if key.Policy == "" {
		return aggregation.Errorf(aggregation.EInvalid, "store: a compile key needs a policy name")
	}
	_, err := loadZone(key.Zone)
	return err
}

// dayIn returns t's calendar day in loc, as aggregation counts days.
func dayIn(t int64, loc *time.Location) aggregation.Day {
	y, m, d := time.Unix(t, 0).In(loc).Date()
	return aggregation.Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// keyRow is a row of usestats_compile_keys.
type keyRow struct {
	id     int64
	runSeq int64 // the last run id given
	st     aggregation.CompileState
}

const keyColumns = "id, complete, horizon, watermark, gaps, retain_from, run_seq, run_id, run_horizon, run_watermark, run_gaps"

// readKey reads key's row (ok false when there is none); lock takes the
// row's lock on PostgreSQL until the transaction ends.
func (s *Store) readKey(ctx context.Context, db bun.IDB, key aggregation.CompileKey, lock bool) (keyRow, bool, error) {
	q := "SELECT " + keyColumns + " FROM usestats_compile_keys WHERE policy = ? AND version = ? AND zone = ?"
	if lock && s.db.Kind == dbconn.Postgres {
		q += " FOR UPDATE"
	}
	var r keyRow
	var gaps, runGaps string
	err := db.QueryRowContext(ctx, q, key.Policy, key.Version, key.Zone).Scan(&r.id, &r.st.Complete,
		&r.st.Horizon, &r.st.Watermark, &gaps, &r.st.RetainFrom, &r.runSeq, &r.st.Run.ID, &r.st.Run.Horizon,
		&r.st.Run.Watermark, &runGaps)
	if errors.Is(err, sql.ErrNoRows) {
		return keyRow{}, false, nil
	}
	if err != nil {
		return keyRow{}, false, err
	}
	if r.st.Gaps, err = parseIDs(gaps); err != nil {
		return keyRow{}, false, fmt.Errorf("key %s: gaps: %w", key, err)
	}
	if r.st.Run.Gaps, err = parseIDs(runGaps); err != nil {
		return keyRow{}, false, fmt.Errorf("key %s: run gaps: %w", key, err)
	}
	return r, true, nil
}

// ensureKey reads key's row, creating it (not complete) when missing, and
// locks it on PostgreSQL.
func (s *Store) ensureKey(ctx context.Context, w *wtx, key aggregation.CompileKey) (keyRow, error) {
	if err := validKey(key); err != nil {
		return keyRow{}, err
	}
	r, ok, err := s.readKey(ctx, w.tx, key, true)
	if err != nil || ok {
		return r, err
	}
	if _, err := w.tx.ExecContext(ctx, "INSERT INTO usestats_compile_keys (policy, version, zone) VALUES (?, ?, ?) "+
		"ON CONFLICT (policy, version, zone) DO NOTHING", key.Policy, key.Version, key.Zone); err != nil {
		return keyRow{}, err
	}
	r, ok, err = s.readKey(ctx, w.tx, key, true)
	if err == nil && !ok {
		err = fmt.Errorf("key %s: the inserted row is missing", key)
	}
	return r, err
}

// CompileState returns key's state, the zero state for a key never
// compiled.
func (s *Store) CompileState(ctx context.Context, key aggregation.CompileKey) (aggregation.CompileState, error) {
	r, _, err := s.readKey(ctx, s.rdb, key, false)
	if err != nil {
		return aggregation.CompileState{}, wrap("compile state", err)
	}
	return r.st, nil
}

// Keys lists the compiled keys, oldest first.
func (s *Store) Keys(ctx context.Context) ([]aggregation.CompileKey, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT policy, version, zone FROM usestats_compile_keys ORDER BY id")
	if err != nil {
		return nil, wrap("compile keys", err)
	}
	defer rows.Close()
	var keys []aggregation.CompileKey
	for rows.Next() {
		var k aggregation.CompileKey
		if err := rows.Scan(&k.Policy, &k.Version, &k.Zone); err != nil {
			return nil, wrap("compile keys", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("compile keys", err)
	}
	return keys, nil
}

// DropKey removes key's rollups, state and run; an unknown key is no
// error.
func (s *Store) DropKey(ctx context.Context, key aggregation.CompileKey) error {
	return s.inTx(ctx, "drop compile key", func(w *wtx) error {
		r, ok, err := s.readKey(ctx, w.tx, key, true)
		if err != nil || !ok {
			return err
		}
		return w.exec(ctx, clearKeySQL(r.id)+"DELETE FROM usestats_compile_keys WHERE id = "+itoa(r.id))
	})
}

// clearKeySQL deletes everything a key holds but its row.
func clearKeySQL(keyID int64) string {
	k := itoa(keyID)
	return "DELETE FROM usestats_rollup_days WHERE key_id = " + k + ";\n" +
		"DELETE FROM usestats_session_ends WHERE key_id = " + k + ";\n" +
		"DELETE FROM usestats_compile_users WHERE key_id = " + k + ";\n" +
		"DELETE FROM usestats_compile_shards WHERE key_id = " + k + ";\n"
}

// BeginRun starts a fresh compile of key: the key becomes not complete,
// loses its rollups, user states and retention mark, and gets a new run
// (run's horizon, watermark and gaps; the id is the store's) with the
// shards given. While a run is in progress it returns that run unchanged
// instead, and for a complete key the zero run (nothing changes). On PostgreSQL the key's row lock makes concurrent calls agree
// on one run.
func (s *Store) BeginRun(ctx context.Context, key aggregation.CompileKey, run aggregation.CompileRun, shards []aggregation.Shard) (aggregation.CompileRun, error) {
	for _, sh := range shards {
		if sh.Hi <= sh.Lo {
			return aggregation.CompileRun{}, aggregation.Errorf(aggregation.EInvalid, "store: shard [%d, %d) is empty", sh.Lo, sh.Hi)
		}
	}
	var out aggregation.CompileRun
	err := s.inTx(ctx, "begin compile run", func(w *wtx) error {
		r, err := s.ensureKey(ctx, w, key)
		if err != nil {
			return err
		}
		if r.st.Run.ID != 0 {
			out = r.st.Run
			return nil
		}
		if r.st.Complete { // another worker finished the run meanwhile
			out = aggregation.CompileRun{}
			return nil
		}
		out = aggregation.CompileRun{ID: r.runSeq + 1, Horizon: run.Horizon, Watermark: run.Watermark, Gaps: slices.Clone(run.Gaps)}
		if _, err := w.tx.ExecContext(ctx, "UPDATE usestats_compile_keys SET complete = FALSE, horizon = 0, watermark = 0, "+
			"gaps = '', retain_from = 0, run_seq = ?, run_id = ?, run_horizon = ?, run_watermark = ?, run_gaps = ? WHERE id = ?",
			out.ID, out.ID, out.Horizon, out.Watermark, formatIDs(out.Gaps), r.id); err != nil {
			return err
		}
		q := clearKeySQL(r.id)
		for chunk := range slices.Chunk(shards, maxListLen) {
			b := []byte("INSERT INTO usestats_compile_shards (key_id, run_id, lo, hi, done) VALUES ")
			for i, sh := range chunk {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendTuple(b, r.id, out.ID, sh.Lo, sh.Hi)
				b = append(b[:len(b)-1], ", FALSE)"...)
			}
			q += string(b) + ";\n"
		}
		return w.exec(ctx, q)
	})
	if err != nil {
		return aggregation.CompileRun{}, err
	}
	return out, nil
}

// FinishRun marks key complete with run runID's horizon, watermark and
// gaps once each of its shards is done, and drops the run. It returns
// false while some shard is not done (or for an unknown key); asked again
// after the run finished, it reports whether the key is complete.
func (s *Store) FinishRun(ctx context.Context, key aggregation.CompileKey, runID int64) (bool, error) {
	finished := false
	err := s.inTx(ctx, "finish compile run", func(w *wtx) error {
		r, ok, err := s.readKey(ctx, w.tx, key, true)
		if err != nil || !ok {
			return err
		}
		if r.st.Run.ID != runID || runID == 0 {
			finished = r.st.Complete
			return nil
		}
		var left int64
		if err := w.tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM usestats_compile_shards WHERE key_id = ? AND run_id = ? AND NOT done",
			r.id, runID).Scan(&left); err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
		if _, err := w.tx.ExecContext(ctx, "UPDATE usestats_compile_keys SET complete = TRUE, horizon = run_horizon, "+
			"watermark = run_watermark, gaps = run_gaps, run_id = 0, run_horizon = 0, run_watermark = 0, run_gaps = '' WHERE id = ?",
			r.id); err != nil {
			return err
		}
		if _, err := w.tx.ExecContext(ctx, "DELETE FROM usestats_compile_shards WHERE key_id = ? AND run_id = ?", r.id, runID); err != nil {
			return err
		}
		finished = true
		return nil
	})
	return finished, err
}

// UserStates returns the compile state of the users that have one.
func (s *Store) UserStates(ctx context.Context, key aggregation.CompileKey, userIDs []int64) (map[int64]aggregation.UserState, error) {
	out := map[int64]aggregation.UserState{}
	r, ok, err := s.readKey(ctx, s.rdb, key, false)
	if err != nil {
		return nil, wrap("user states", err)
	}
	if !ok {
		return out, nil
	}
	for chunk := range slices.Chunk(uniqueIDs(userIDs), maxListLen) {
		q := "SELECT user_id, compiled_to, last_time FROM usestats_compile_users WHERE key_id = " + itoa(r.id) +
			" AND user_id IN (" + string(appendIDs(nil, chunk)) + ")"
		if err := s.scanRows(ctx, q, func(rows *sql.Rows) error {
			var id int64
			var st aggregation.UserState
			if err := rows.Scan(&id, &st.CompiledTo, &st.LastTime); err != nil {
				return err
			}
			out[id] = st
			return nil
		}); err != nil {
			return nil, wrap("user states", err)
		}
	}
	return out, nil
}

// PendingUsers returns, in id order, the users whose latest event read is
// at or after since (LastTime ≥ since).
func (s *Store) PendingUsers(ctx context.Context, key aggregation.CompileKey, since int64) ([]int64, error) {
	r, ok, err := s.readKey(ctx, s.rdb, key, false)
	if err != nil || !ok {
		return nil, wrapNil("pending users", err)
	}
	var out []int64
	q := "SELECT user_id FROM usestats_compile_users WHERE key_id = " + itoa(r.id) +
		" AND last_time >= " + string(appendInt(nil, since)) + " ORDER BY user_id"
	if err := s.scanRows(ctx, q, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		out = append(out, id)
		return err
	}); err != nil {
		return nil, wrap("pending users", err)
	}
	return out, nil
}

// SessionKeys returns, for each (user, log id) asked, the key of the
// session whose piece of a day ends with that log id, when there is one.
func (s *Store) SessionKeys(ctx context.Context, key aggregation.CompileKey, refs [][2]int64) (map[[2]int64]int64, error) {
	out := map[[2]int64]int64{}
	r, ok, err := s.readKey(ctx, s.rdb, key, false)
	if err != nil || !ok || len(refs) == 0 {
		return out, wrapNil("session keys", err)
	}
	for chunk := range slices.Chunk(refs, maxListLen) {
		b := []byte("WITH v (u, l) AS (VALUES ")
		for i, ref := range chunk {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTuple(b, ref[0], ref[1])
		}
		b = append(b, ") SELECT p.user_id, p.last_id, p.session_key FROM v JOIN usestats_session_ends p "+
			"ON p.key_id = "...)
		b = strconv.AppendInt(b, r.id, 10)
		b = append(b, " AND p.user_id = v.u AND p.last_id = v.l"...)
		if err := s.scanRows(ctx, string(b), func(rows *sql.Rows) error {
			var ref [2]int64
			var k int64
			if err := rows.Scan(&ref[0], &ref[1], &k); err != nil {
				return err
			}
			out[ref] = k
			return nil
		}); err != nil {
			return nil, wrap("session keys", err)
		}
	}
	return out, nil
}

// WriteUsers replaces, for each user, the key's cells and pieces on days
// ≥ FromDay and saves the user's state, in one transaction; with next
// non-nil the key's state (not its run) becomes *next in it too. A user
// may appear once per call; each of its cells and pieces must be its own.
func (s *Store) WriteUsers(ctx context.Context, key aggregation.CompileKey, users []aggregation.UserCompile, next *aggregation.CompileState) error {
	if err := checkUsers(users, nil); err != nil {
		return err
	}
	return s.inTx(ctx, "write rollups", func(w *wtx) error {
		r, err := s.ensureKey(ctx, w, key)
		if err != nil {
			return err
		}
		if err := w.replace(ctx, r.id, users); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		_, err = w.tx.ExecContext(ctx, "UPDATE usestats_compile_keys SET complete = "+sqlBool(next.Complete)+
			", horizon = ?, watermark = ?, gaps = ?, retain_from = ? WHERE id = ?",
			next.Horizon, next.Watermark, formatIDs(next.Gaps), next.RetainFrom, r.id)
		return err
	})
}

// Advance replaces the users' rollups (as WriteUsers) and moves key's
// state from from to next in one transaction, only if the key's state is
// still from: otherwise nothing is written and the error is
// aggregation.ErrStateMoved. On PostgreSQL the key's row lock orders
// concurrent passes.
func (s *Store) Advance(ctx context.Context, key aggregation.CompileKey, users []aggregation.UserCompile, from, next aggregation.CompileState) error {
	if err := checkUsers(users, nil); err != nil {
		return err
	}
	moved := false
	err := s.inTx(ctx, "advance rollups", func(w *wtx) error {
		r, err := s.ensureKey(ctx, w, key)
		if err != nil {
			return err
		}
		cur := r.st
		if cur.Complete != from.Complete || cur.Horizon != from.Horizon || cur.Watermark != from.Watermark || cur.Run.ID != 0 {
			moved = true
			return nil
		}
		if err := w.replace(ctx, r.id, users); err != nil {
			return err
		}
		_, err = w.tx.ExecContext(ctx, "UPDATE usestats_compile_keys SET complete = "+sqlBool(next.Complete)+
			", horizon = ?, watermark = ?, gaps = ?, retain_from = ? WHERE id = ?",
			next.Horizon, next.Watermark, formatIDs(next.Gaps), next.RetainFrom, r.id)
		return err
	})
	if err == nil && moved {
		return aggregation.ErrStateMoved
	}
	return err
}

// ForgetUsers removes the users' cells and pieces under every key and
// gives them the aggregation.Forgotten state under every key, in one
// transaction.
func (s *Store) ForgetUsers(ctx context.Context, userIDs []int64) error {
	ids := uniqueIDs(userIDs)
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, "forget users", func(w *wtx) error {
		var keyIDs []int64
		rows, err := w.tx.QueryContext(ctx, "SELECT id FROM usestats_compile_keys ORDER BY id")
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			keyIDs = append(keyIDs, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, k := range keyIDs {
			for chunk := range slices.Chunk(ids, maxListLen) {
				where := " WHERE key_id = " + itoa(k) + " AND user_id IN (" + string(appendIDs(nil, chunk)) + ");\n"
				marks := make([]aggregation.UserCompile, len(chunk))
				for i, id := range chunk {
					marks[i] = aggregation.UserCompile{UserID: id, State: aggregation.Forgotten}
				}
				if err := w.exec(ctx, "DELETE FROM usestats_rollup_days"+where+
					"DELETE FROM usestats_session_ends"+where+
					string(appendUpsertUsers(nil, k, marks))); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Retain drops key's cells and pieces of the days before t's day (in the
// key's zone) and records t as the key's RetainFrom (which never goes
// back).
func (s *Store) Retain(ctx context.Context, key aggregation.CompileKey, t int64) error {
	loc, err := loadZone(key.Zone)
	if err != nil {
		return err
	}
	day := dayIn(t, loc)
	return s.inTx(ctx, "retain rollups", func(w *wtx) error {
		r, err := s.ensureKey(ctx, w, key)
		if err != nil {
			return err
		}
		k, d := itoa(r.id), itoa(int64(day))
		if err := w.exec(ctx, "DELETE FROM usestats_rollup_days WHERE key_id = "+k+" AND day < "+d+";\n"+
			"DELETE FROM usestats_session_ends WHERE key_id = "+k+" AND day < "+d); err != nil {
			return err
		}
		_, err = w.tx.ExecContext(ctx, "UPDATE usestats_compile_keys SET retain_from = ? WHERE id = ?", max(r.st.RetainFrom, t), r.id)
		return err
	})
}

// scanRows runs a read on the read pool and calls fn for each row.
func (s *Store) scanRows(ctx context.Context, q string, fn func(*sql.Rows) error) error {
	rows, err := s.rdb.DB.DB.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// wrapNil is wrap that keeps a nil error nil.
func wrapNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return wrap(op, err)
}

// checkUsers checks a batch of user compiles: each user once, within
// [sh.Lo, sh.Hi) when sh is given, with only its own cells, hours and
// pieces.
func checkUsers(users []aggregation.UserCompile, sh *aggregation.Shard) error {
	seen := make(map[int64]struct{}, len(users))
	for i := range users {
		u := &users[i]
		if _, dup := seen[u.UserID]; dup {
			return aggregation.Errorf(aggregation.EInvalid, "store: user %d is written twice in one batch", u.UserID)
		}
		seen[u.UserID] = struct{}{}
		if sh != nil && (u.UserID < sh.Lo || u.UserID >= sh.Hi) {
			return aggregation.Errorf(aggregation.EInvalid, "store: user %d is outside the claimed shard [%d, %d)", u.UserID, sh.Lo, sh.Hi)
		}
		for j := range u.Cells {
			if u.Cells[j].Key.UserID != u.UserID {
				return aggregation.Errorf(aggregation.EInvalid, "store: a cell of user %d is written with user %d", u.Cells[j].Key.UserID, u.UserID)
			}
		}
		for j := range u.Hours {
			if u.Hours[j].Key.UserID != u.UserID {
				return aggregation.Errorf(aggregation.EInvalid, "store: an hour of user %d is written with user %d", u.Hours[j].Key.UserID, u.UserID)
			}
		}
		for j := range u.Pieces {
			if u.Pieces[j].UserID != u.UserID {
				return aggregation.Errorf(aggregation.EInvalid, "store: a session piece of user %d is written with user %d", u.Pieces[j].UserID, u.UserID)
			}
		}
	}
	return nil
}

// uniqueIDs returns the ids sorted, without repeats.
func uniqueIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sqlBool(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// appendInt appends n as an SQL integer literal. The lowest int64 is
// written as an expression: PostgreSQL reads -9223372036854775808 as the
// negation of a number too large for bigint.
func appendInt(b []byte, n int64) []byte {
	if n == -1<<63 {
		return append(b, "(-9223372036854775807-1)"...)
	}
	return strconv.AppendInt(b, n, 10)
}

// appendIDs appends ids as a comma-separated list of literals.
func appendIDs(b []byte, ids []int64) []byte {
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendInt(b, id)
	}
	return b
}

// appendTuple appends (v1, v2, …).
func appendTuple(b []byte, vs ...int64) []byte {
	b = append(b, '(')
	b = appendIDs(b, vs)
	return append(b, ')')
}

// formatIDs stores a list of ids as "1,2,3".
func formatIDs(ids []int64) string {
	return string(appendIDsPlain(nil, ids))
}

// appendIDsPlain appends ids as plain decimal numbers separated by commas.
func appendIDsPlain(b []byte, ids []int64) []byte {
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return b
}

// parseIDs reads what formatIDs wrote (nil for "").
func parseIDs(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]int64, 0, strings.Count(s, ",")+1)
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
