package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// wtx is a write transaction. On PostgreSQL it runs on a connection of its
// own, which COPY needs.
type wtx struct {
	tx   bun.Tx
	conn *bun.Conn // PostgreSQL only
}

// begin starts a write transaction; it is rolled back if ctx ends first.
func (s *Store) begin(ctx context.Context) (*wtx, error) {
	if s.db.Kind != dbconn.Postgres {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return &wtx{tx: tx}, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &wtx{tx: tx, conn: &conn}, nil
}

// commit commits and releases the connection.
func (w *wtx) commit() error {
	err := w.tx.Commit()
	w.release()
	return err
}

// rollback rolls back (a transaction already ended is no error) and
// releases the connection.
func (w *wtx) rollback() error {
	err := w.tx.Rollback()
	w.release()
	if errors.Is(err, sql.ErrTxDone) {
		err = nil
	}
	return err
}

// release returns the connection to the pool once the transaction ended
// (a Close waits for that).
func (w *wtx) release() {
	if w.conn != nil {
		w.conn.Close()
	}
}

// exec runs SQL text (one or more statements, no placeholders).
func (w *wtx) exec(ctx context.Context, q string) error {
	_, err := w.tx.Tx.ExecContext(ctx, q)
	return err
}

// inTx runs fn in a write transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, op string, fn func(*wtx) error) (err error) {
	w, err := s.begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	done := false
	defer func() {
		if !done { // fn failed or panicked
			rbErr := w.rollback()
			if err != nil {
				err = errors.Join(wrap(op, err), rbErr)
			}
		}
	}()
	if err = fn(w); err != nil {
		return err
	}
	done = true
	if err := w.commit(); err != nil {
		return wrap(op, err)
	}
	return nil
}

// replace writes users' compiles (see WriteUsers) into key keyID.
func (w *wtx) replace(ctx context.Context, keyID int64, users []aggregation.UserCompile) error {
	users, err := w.skipForgotten(ctx, keyID, users)
	if err != nil {
		return err
	}
	if len(users) == 0 {
		return nil
	}
	days, err := packDays(users)
	if err != nil {
		return err
	}
	if w.conn != nil {
		return w.replacePostgres(ctx, keyID, users, days)
	}
	return w.replaceSQLite(ctx, keyID, users, days)
}

// packedDays is what a batch of users' compiles writes: their days,
// packed, and their session ends.
type packedDays struct {
	buf  []byte
	days []packedDay
	ends []sessionEnd
}

// packedDay is one row of usestats_rollup_days: its data is
// buf[off:mid] and its summary buf[mid:end].
type packedDay struct {
	user          int64
	day           aggregation.Day
	off, mid, end int
}

func (d *packedDay) data(buf []byte) []byte    { return buf[d.off:d.mid] }
func (d *packedDay) summary(buf []byte) []byte { return buf[d.mid:d.end] }

// sessionEnd is one row of usestats_session_ends.
type sessionEnd struct {
	user   int64
	day    aggregation.Day
	lastID int64
	key    int64
}

// packDays sorts and packs the users' cells, hourly cells and pieces by
// day. A cell or hour key, or a session's piece of a day, written twice
// is EInvalid.
func packDays(users []aggregation.UserCompile) (*packedDays, error) {
	p := &packedDays{}
	var cells []*aggregation.RollupEntry
	var hours []*aggregation.HourEntry
	var pieces []*aggregation.SessionPiece
	for i := range users {
		u := &users[i]
		cells, hours, pieces = cells[:0], hours[:0], pieces[:0]
		for j := range u.Cells {
			cells = append(cells, &u.Cells[j])
		}
		for j := range u.Hours {
			hours = append(hours, &u.Hours[j])
		}
		for j := range u.Pieces {
			pieces = append(pieces, &u.Pieces[j])
		}
		sortDayCells(cells)
		sortDayHours(hours)
		sortDayPieces(pieces)
		for j := 1; j < len(cells); j++ {
			if cells[j].Key == cells[j-1].Key {
				return nil, aggregation.Errorf(aggregation.EInvalid, "store: cell %+v is written twice", cells[j].Key)
			}
		}
		for j := 1; j < len(hours); j++ {
			if hours[j].Key == hours[j-1].Key {
				return nil, aggregation.Errorf(aggregation.EInvalid, "store: hour %+v is written twice", hours[j].Key)
			}
		}
		for j := 1; j < len(pieces); j++ {
			if pieces[j].Day == pieces[j-1].Day && pieces[j].Key == pieces[j-1].Key {
				return nil, aggregation.Errorf(aggregation.EInvalid, "store: user %d's session %d has two pieces on %s",
					u.UserID, pieces[j].Key, pieces[j].Day)
			}
		}
		for c, h, q := 0, 0, 0; c < len(cells) || h < len(hours) || q < len(pieces); {
			// The next day: the earliest of the three lists' next days (one
			// of them has one).
			day := aggregation.Day(math.MaxInt64)
			if c < len(cells) {
				day = min(day, cells[c].Key.Day)
			}
			if h < len(hours) {
				day = min(day, hours[h].Key.Day)
			}
			if q < len(pieces) {
				day = min(day, pieces[q].Day)
			}
			c1, h1, q1 := c, h, q
			for c1 < len(cells) && cells[c1].Key.Day == day {
				c1++
			}
			for h1 < len(hours) && hours[h1].Key.Day == day {
				h1++
			}
			for q1 < len(pieces) && pieces[q1].Day == day {
				p.ends = append(p.ends, sessionEnd{user: u.UserID, day: day, lastID: pieces[q1].LastID, key: pieces[q1].Key})
				q1++
			}
			off := len(p.buf)
			p.buf = appendDay(p.buf, day, cells[c:c1], hours[h:h1], pieces[q:q1])
			mid := len(p.buf)
			sum := aggregation.SummarizeDay(day, cells[c:c1], hours[h:h1])
			p.buf = appendSummary(p.buf, &sum)
			p.days = append(p.days, packedDay{user: u.UserID, day: day, off: off, mid: mid, end: len(p.buf)})
			c, h, q = c1, h1, q1
		}
	}
	return p, nil
}

// replacePostgres deletes and upserts with one multi-statement query per
// chunk of users, then loads days and session ends with COPY.
func (w *wtx) replacePostgres(ctx context.Context, keyID int64, users []aggregation.UserCompile, p *packedDays) error {
	k := strconv.AppendInt(nil, keyID, 10)
	var b []byte
	for chunk := range slices.Chunk(users, maxListLen) {
		b = b[:0]
		for _, table := range [...]string{"usestats_rollup_days", "usestats_session_ends"} {
			b = append(b, "DELETE FROM "...)
			b = append(b, table...)
			b = append(b, " AS t USING (VALUES "...)
			for i := range chunk {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendTuple(b, chunk[i].UserID, int64(chunk[i].FromDay))
			}
			b = append(b, ") AS v (u, d) WHERE t.key_id = "...)
			b = append(b, k...)
			b = append(b, " AND t.user_id = v.u AND t.day >= v.d;\n"...)
		}
		b = appendUpsertUsers(b, keyID, chunk)
		if err := w.exec(ctx, string(b)); err != nil {
			return err
		}
	}
	if len(p.days) > 0 {
		src := &copyRows{fill: binaryCopy(dayRowsPG(keyID, p))}
		if _, err := pgdriver.CopyFrom(ctx, *w.conn, src, "COPY usestats_rollup_days (key_id, user_id, day, data, summary) FROM STDIN (FORMAT binary)"); err != nil {
			return err
		}
	}
	if len(p.ends) > 0 {
		src := &copyRows{fill: binaryCopy(endRowsPG(keyID, p.ends))}
		if _, err := pgdriver.CopyFrom(ctx, *w.conn, src, "COPY usestats_session_ends (key_id, user_id, day, last_id, session_key) FROM STDIN (FORMAT binary)"); err != nil {
			return err
		}
	}
	return nil
}

// appendUpsertUsers appends the statement saving the users' states, each
// with a new version (every write of a user's days saves its state).
func appendUpsertUsers(b []byte, keyID int64, users []aggregation.UserCompile) []byte {
	b = append(b, "INSERT INTO usestats_compile_users (key_id, user_id, compiled_to, last_time, version) VALUES "...)
	for i := range users {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTuple(b, keyID, users[i].UserID, users[i].State.CompiledTo, users[i].State.LastTime, newVersion())
	}
	return append(b, " ON CONFLICT (key_id, user_id) DO UPDATE SET compiled_to = excluded.compiled_to, "+
		"last_time = excluded.last_time, version = excluded.version;\n"...)
}

// newVersion returns a random positive version: versions are compared
// for equality only, and a random one is never reused by a later write,
// by another process, or after a key's rollups were dropped and compiled
// again.
func newVersion() int64 { return rand.Int64N(math.MaxInt64) + 1 }

// copyRows is COPY's input, made as it is read: fill appends rows to the
// buffer and reports whether any are left.
type copyRows struct {
	buf  []byte
	off  int
	done bool
	fill func([]byte) ([]byte, bool)
}

// copyChunk is how much COPY input is made at a time.
const copyChunk = 64 << 10

// Read implements io.Reader. It never returns data with io.EOF, which
// pgdriver's CopyFrom would drop.
func (r *copyRows) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		if r.done {
			return 0, io.EOF
		}
		var more bool
		r.buf, more = r.fill(r.buf[:0])
		r.off, r.done = 0, !more
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// COPY's binary format: a signature, flags and a header extension
// length (both 0), then per row the number of fields and each field as
// its length and bytes (big-endian integers of the column's width), and
// -1 at the end. Binary spares the text format's hex encoding of bytea,
// which doubled the bytes sent and made PostgreSQL decode every one.
const copyBinarySignature = "PGCOPY\n\xff\r\n\x00"

// binaryCopy frames the rows rows makes with the binary format's header
// and trailer.
func binaryCopy(rows func([]byte) ([]byte, bool)) func([]byte) ([]byte, bool) {
	started := false
	return func(b []byte) ([]byte, bool) {
		if !started {
			started = true
			b = append(b, copyBinarySignature...)
			b = binary.BigEndian.AppendUint32(b, 0) // flags
			b = binary.BigEndian.AppendUint32(b, 0) // header extension
		}
		b, more := rows(b)
		if !more {
			b = binary.BigEndian.AppendUint16(b, 0xffff) // -1: the end
		}
		return b, more
	}
}

// appendInt4 and appendInt8 append an INTEGER and a BIGINT field;
// appendBytea a BYTEA field.
func appendInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

func appendInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendBytea(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// dayRowsPG makes the binary COPY rows of packed days (key_id is an
// INTEGER column).
func dayRowsPG(keyID int64, p *packedDays) func([]byte) ([]byte, bool) {
	i := 0
	return func(b []byte) ([]byte, bool) {
		for ; i < len(p.days); i++ {
			if len(b) >= copyChunk {
				return b, true
			}
			r := &p.days[i]
			b = binary.BigEndian.AppendUint16(b, 5)
			b = appendInt4(b, int32(keyID))
			b = appendInt8(b, r.user)
			b = appendInt8(b, int64(r.day))
			b = appendBytea(b, r.data(p.buf))
			b = appendBytea(b, r.summary(p.buf))
		}
		return b, false
	}
}

// endRowsPG makes the binary COPY rows of session ends.
func endRowsPG(keyID int64, ends []sessionEnd) func([]byte) ([]byte, bool) {
	i := 0
	return func(b []byte) ([]byte, bool) {
		for ; i < len(ends); i++ {
			if len(b) >= copyChunk {
				return b, true
			}
			e := &ends[i]
			b = binary.BigEndian.AppendUint16(b, 5)
			b = appendInt4(b, int32(keyID))
			for _, v := range [...]int64{e.user, int64(e.day), e.lastID, e.key} {
				b = appendInt8(b, v)
			}
		}
		return b, false
	}
}

// sqliteRowsPerInsert is how many rows one INSERT statement writes.
const sqliteRowsPerInsert = 64

// replaceSQLite deletes each user's days with prepared statements and
// inserts with prepared multi-row INSERTs.
func (w *wtx) replaceSQLite(ctx context.Context, keyID int64, users []aggregation.UserCompile, p *packedDays) (err error) {
	var stmts []*sql.Stmt
	defer func() {
		for _, st := range stmts {
			err = errors.Join(err, st.Close())
		}
	}()
	prepare := func(q string) (*sql.Stmt, error) {
		st, err := w.tx.Tx.PrepareContext(ctx, q)
		if err == nil {
			stmts = append(stmts, st)
		}
		return st, err
	}
	delDays, err := prepare("DELETE FROM usestats_rollup_days WHERE key_id = ? AND user_id = ? AND day >= ?")
	if err != nil {
		return err
	}
	delEnds, err := prepare("DELETE FROM usestats_session_ends WHERE key_id = ? AND user_id = ? AND day >= ?")
	if err != nil {
		return err
	}
	for i := range users {
		if _, err := delDays.ExecContext(ctx, keyID, users[i].UserID, int64(users[i].FromDay)); err != nil {
			return err
		}
		if _, err := delEnds.ExecContext(ctx, keyID, users[i].UserID, int64(users[i].FromDay)); err != nil {
			return err
		}
	}
	for chunk := range slices.Chunk(users, maxListLen) {
		if err := w.exec(ctx, string(appendUpsertUsers(nil, keyID, chunk))); err != nil {
			return err
		}
	}
	days := &multiInsert{w: w, prepare: prepare, table: "usestats_rollup_days", columns: "key_id, user_id, day, data, summary", width: 5}
	for _, r := range p.days {
		if err := days.add(ctx, keyID, r.user, int64(r.day), r.data(p.buf), r.summary(p.buf)); err != nil {
			return err
		}
	}
	if err := days.flush(ctx); err != nil {
		return err
	}
	ends := &multiInsert{w: w, prepare: prepare, table: "usestats_session_ends",
		columns: "key_id, user_id, day, last_id, session_key", width: 5}
	for _, e := range p.ends {
		if err := ends.add(ctx, keyID, e.user, int64(e.day), e.lastID, e.key); err != nil {
			return err
		}
	}
	return ends.flush(ctx)
}

// multiInsert batches rows into prepared INSERTs of sqliteRowsPerInsert
// rows (a shorter one for the rest).
type multiInsert struct {
	w       *wtx
	prepare func(string) (*sql.Stmt, error)
	table   string
	columns string
	width   int
	full    *sql.Stmt
	args    []any
}

func (m *multiInsert) add(ctx context.Context, row ...any) error {
	m.args = append(m.args, row...)
	if len(m.args) < sqliteRowsPerInsert*m.width {
		return nil
	}
	if m.full == nil {
		st, err := m.prepare(m.insertSQL(sqliteRowsPerInsert))
		if err != nil {
			return err
		}
		m.full = st
	}
	_, err := m.full.ExecContext(ctx, m.args...)
	m.args = m.args[:0]
	return err
}

func (m *multiInsert) flush(ctx context.Context) error {
	if len(m.args) == 0 {
		return nil
	}
	_, err := m.w.tx.Tx.ExecContext(ctx, m.insertSQL(len(m.args)/m.width), m.args...)
	m.args = m.args[:0]
	return err
}

func (m *multiInsert) insertSQL(rows int) string {
	b := []byte("INSERT INTO " + m.table + " (" + m.columns + ") VALUES ")
	for r := range rows {
		if r > 0 {
			b = append(b, ',')
		}
		b = append(b, '(')
		for c := range m.width {
			if c > 0 {
				b = append(b, ',')
			}
			b = append(b, '?')
		}
		b = append(b, ')')
	}
	return string(b)
}

// ClaimShard hands the caller the first shard of run runID that is
// neither done nor claimed (ok false when none is left). The claim is a
// transaction that lives until Done or Abort, or until ctx ends (which
// rolls it back): what Write writes commits with Done or not at all.
//
// On PostgreSQL the shard's row is locked (FOR UPDATE SKIP LOCKED) by the
// claim's transaction: workers of any number of processes get different
// shards, and a worker that dies mid-shard loses its connection, whose
// transaction the server rolls back, freeing the shard. On SQLite (one
// process) the claim holds the only writer connection: other writes of
// the process (FinishRun, WriteUsers, another ClaimShard, token use
// records) wait until it ends, so keep shards small and never write
// outside the claim while holding it; reads go on (they have a pool of
// their own).
func (s *Store) ClaimShard(ctx context.Context, key aggregation.CompileKey, runID int64) (aggregation.ShardClaim, bool, error) {
	w, err := s.begin(ctx)
	if err != nil {
		return nil, false, wrap("claim shard", err)
	}
	c := &shardClaim{s: s, w: w}
	c.shard.RunID = runID
	q := "SELECT s.key_id, s.lo, s.hi FROM usestats_compile_shards s JOIN usestats_compile_keys k ON k.id = s.key_id " +
		"WHERE k.policy = ? AND k.version = ? AND k.zone = ? AND s.run_id = ? AND NOT s.done ORDER BY s.lo"
	if s.db.Kind == dbconn.Postgres {
		q += " LIMIT 1 FOR UPDATE OF s SKIP LOCKED"
	}
	found := false
	rows, err := w.tx.QueryContext(ctx, q, key.Policy, key.Version, key.Zone, runID)
	if err == nil {
		for !found && rows.Next() {
			if err = rows.Scan(&c.keyID, &c.shard.Lo, &c.shard.Hi); err != nil {
				break
			}
			found = s.claims.add(c.id())
		}
		err = errors.Join(err, rows.Err(), rows.Close())
	}
	if err != nil || !found {
		if found {
			s.claims.remove(c.id())
		}
		return nil, false, errors.Join(wrapNil("claim shard", err), w.rollback())
	}
	c.stop = context.AfterFunc(ctx, c.expire)
	return c, true, nil
}

// shardClaim is a claimed shard and its open transaction.
type shardClaim struct {
	s     *Store
	w     *wtx
	keyID int64
	shard aggregation.Shard
	stop  func() bool

	mu    sync.Mutex
	ended bool
}

var _ aggregation.ShardClaim = (*shardClaim)(nil)

func (c *shardClaim) id() claimID { return claimID{c.keyID, c.shard.RunID, c.shard.Lo} }

// Shard returns the claimed shard.
func (c *shardClaim) Shard() aggregation.Shard { return c.shard }

// Write replaces the users' rollups and states (as WriteUsers) inside the
// claim's transaction. Every user must be in the shard.
func (c *shardClaim) Write(ctx context.Context, users []aggregation.UserCompile) error {
	if err := checkUsers(users, &c.shard); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return aggregation.Errorf(aggregation.EInvalid, "store: the claim of shard [%d, %d) has ended", c.shard.Lo, c.shard.Hi)
	}
	if err := c.w.replace(ctx, c.keyID, users); err != nil {
		return wrap("write shard", err)
	}
	return nil
}

// Done marks the shard done and commits it with what was written. If it
// fails, nothing of the shard is kept and the shard is free again.
func (c *shardClaim) Done(ctx context.Context) error {
	c.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return aggregation.Errorf(aggregation.EInvalid, "store: the claim of shard [%d, %d) has ended", c.shard.Lo, c.shard.Hi)
	}
	c.ended = true
	defer c.s.claims.remove(c.id())
	_, err := c.w.tx.ExecContext(ctx, "UPDATE usestats_compile_shards SET done = TRUE WHERE key_id = ? AND run_id = ? AND lo = ?",
		c.keyID, c.shard.RunID, c.shard.Lo)
	if err != nil {
		return errors.Join(wrap("shard done", err), c.w.rollback())
	}
	if err := c.w.commit(); err != nil {
		return wrap("shard done", err)
	}
	return nil
}

// Abort drops what was written and frees the shard. Aborting an ended
// claim does nothing.
func (c *shardClaim) Abort() error {
	c.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return nil
	}
	c.ended = true
	defer c.s.claims.remove(c.id())
	if err := c.w.rollback(); err != nil {
		return wrap("abort shard", err)
	}
	return nil
}

// expire ends a claim whose context ended: database/sql rolls the
// transaction back by itself; the connection and the shard are freed.
func (c *shardClaim) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	c.w.rollback()
	c.s.claims.remove(c.id())
}

// claimSet is the shards claimed in this process: with a single writer
// connection (SQLite) a claim query cannot see another claim's locks.
type claimSet struct {
	mu sync.Mutex
	m  map[claimID]bool
}

type claimID struct{ key, run, lo int64 }

// add claims id; false when it is already claimed.
func (cs *claimSet) add(id claimID) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m[id] {
		return false
	}
	if cs.m == nil {
		cs.m = map[claimID]bool{}
	}
	cs.m[id] = true
	return true
}

func (cs *claimSet) remove(id claimID) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.m, id)
}

// skipForgotten leaves out the users whose state is aggregation.Forgotten
// unless their compile replaces all their days: a forget that ran after
// the writer read the users' states wins.
func (w *wtx) skipForgotten(ctx context.Context, keyID int64, users []aggregation.UserCompile) ([]aggregation.UserCompile, error) {
	var partial []int64
	for i := range users {
		if users[i].FromDay != aggregation.MinDay {
			partial = append(partial, users[i].UserID)
		}
	}
	if len(partial) == 0 {
		return users, nil
	}
	gone := map[int64]bool{}
	for chunk := range slices.Chunk(partial, maxListLen) {
		rows, err := w.tx.QueryContext(ctx, "SELECT user_id FROM usestats_compile_users WHERE key_id = ? AND compiled_to = ? AND user_id IN ("+
			string(appendIDs(nil, chunk))+")", keyID, aggregation.Forgotten.CompiledTo)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			gone[id] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	if len(gone) == 0 {
		return users, nil
	}
	return slices.DeleteFunc(slices.Clone(users), func(u aggregation.UserCompile) bool {
		return gone[u.UserID] && u.FromDay != aggregation.MinDay
	}), nil
}
