package seed

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/usestats/usestats/dbconn"
)

// DefaultBatchSize is the number of rows a Writer buffers per table before
// it writes them (one COPY on PostgreSQL, one transaction elsewhere).
const DefaultBatchSize = 20000

// Engine limits the Writer stays under.
const (
	sqliteMaxVars    = 32766    // SQLITE_MAX_VARIABLE_NUMBER since 3.32
	mysqlMaxParams   = 65535    // placeholders per statement
	maxRowsPerInsert = 1000     // rows per multi-row INSERT
	maxBatchBytes    = 32 << 20 // encoded bytes per batch, whatever the row count
)

// Writer bulk-loads rows into the package's tables: COPY … FROM STDIN on
// PostgreSQL, multi-row INSERTs in transactions on MariaDB/MySQL and
// SQLite, each statement under the engine's limits (max_allowed_packet,
// placeholders per statement). Rows keep their explicit ids: set ID, 0 is
// not "the next id". Add buffers rows per table and hands full batches to
// background goroutines (two connections on PostgreSQL and MariaDB/MySQL,
// one on SQLite), so encoding overlaps with the database's work; Flush
// writes what is left, waits, and (PostgreSQL) moves each loaded table's id
// sequence past its largest id so the tables behave like a real site's.
//
// A Writer is not safe for concurrent use; call Flush before reading the
// tables, and Close (deferred) so that its goroutines end on every path.
type Writer struct {
	db      *dbconn.DB
	prefix  string
	cat     *catalog
	batch   int
	tables  map[string]*tableBuf
	order   []*tableBuf
	touched map[*tableBuf]bool

	workers int // goroutines writing batches (connections in use)
	jobs    chan *job
	wg      sync.WaitGroup
	free    chan *job

	mu      sync.Mutex
	err     error
	onWrite func(table string, rows int)

	maxStmtBytes int // MySQL: bytes per INSERT statement, from max_allowed_packet
}

// tableBuf is the write state of one table.
type tableBuf struct {
	def     *tableDef
	phys    string
	cur     *job
	copySQL string
	head    string // INSERT INTO t (cols) VALUES
	maxStmt int    // rows per INSERT

	mu       sync.Mutex
	stmts    map[int]string // rows → INSERT text
	rowCount int64
}

// job is one batch of encoded rows of one table.
type job struct {
	tb    *tableBuf
	ctx   context.Context
	kind  dbconn.Kind
	rows  int
	data  []byte // PostgreSQL: COPY text
	args  []any  // others: the values, row after row
	stmts []int  // others: rows per INSERT statement
	// current statement (others)
	stmtRows, stmtBytes int
	size                int  // others: estimated bytes of the closed statements
	maxBytes            int  // MySQL: byte budget of one statement
	first               bool // PostgreSQL: next value starts the row
}

// NewWriter returns a Writer for the tables with the given prefix. The
// tables must exist (CreateSchema).
func NewWriter(db *dbconn.DB, prefix string) *Writer {
	cat, err := buildCatalog()
	if err != nil {
		panic(err) // unreachable: the package tests check the catalog
	}
	workers := 2 // the server has cores to spare while this process encodes
	if db.Kind == dbconn.SQLite {
		workers = 1 // one writer at a time
	}
	return &Writer{
		db: db, prefix: prefix, cat: cat, batch: DefaultBatchSize, workers: workers,
		tables:  map[string]*tableBuf{},
		touched: map[*tableBuf]bool{},
		free:    make(chan *job, 2*workers+2),
	}
}

// SetBatchSize sets the rows buffered per table before a write (default
// DefaultBatchSize); n ≤ 0 restores the default.
func (w *Writer) SetBatchSize(n int) {
	if n <= 0 {
		n = DefaultBatchSize
	}
	w.batch = n
}

// OnWrite registers fn, called after each batch is written with the
// logical table name and the number of rows. The calls come from the
// Writer's goroutines, one at a time.
func (w *Writer) OnWrite(fn func(table string, rows int)) { w.onWrite = fn }

// Written returns how many rows of the logical table have been handed to
// the database so far (buffered rows not included).
func (w *Writer) Written(table string) int64 {
	if tb := w.tables[table]; tb != nil {
		return tb.rowCount
	}
	return 0
}

// AddRows adds rows of one type; it is Add for a typed slice.
func AddRows[R Row](ctx context.Context, w *Writer, rows []R) error {
	for i := range rows {
		if err := w.Add(ctx, rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// Add buffers rows (of any of the package's row types, by value or
// pointer); a table whose buffer is full is written in the background.
// It returns the first write error met so far.
func (w *Writer) Add(ctx context.Context, rows ...Row) error {
	for _, r := range rows {
		if err := w.add(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) add(ctx context.Context, r Row) error {
	tb, err := w.table(ctx, r.TableName())
	if err != nil {
		return err
	}
	j, err := w.current(ctx, tb)
	if err != nil {
		return err
	}
	switch v := r.(type) {
	case Log:
		j.log(&v)
	case *Log:
		j.log(v)
	default:
		rv := reflect.ValueOf(r)
		if rv.Kind() == reflect.Pointer {
			rv = rv.Elem()
		}
		if rv.Type() != tb.def.typ {
			return fmt.Errorf("seed: row type %s is not the row type of table %s", rv.Type(), tb.def.name)
		}
		j.reflect(tb.def, rv)
	}
	return w.rowDone(ctx, tb, j)
}

// addLog is Add for the generator's log rows, without boxing.
func (w *Writer) addLog(ctx context.Context, r *Log) error {
	tb, err := w.table(ctx, "logstore_standard_log")
	if err != nil {
		return err
	}
	j, err := w.current(ctx, tb)
	if err != nil {
		return err
	}
	j.log(r)
	return w.rowDone(ctx, tb, j)
}

func (w *Writer) rowDone(ctx context.Context, tb *tableBuf, j *job) error {
	j.endRow()
	if j.rows >= w.batch || len(j.data) >= maxBatchBytes || j.size >= maxBatchBytes {
		return w.submit(ctx, tb)
	}
	return nil
}

func (w *Writer) firstErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// table returns the write state of a logical table.
func (w *Writer) table(ctx context.Context, name string) (*tableBuf, error) {
	if tb := w.tables[name]; tb != nil {
		return tb, nil
	}
	def := w.cat.byName[name]
	if def == nil {
		return nil, fmt.Errorf("seed: unknown table %q", name)
	}
	if err := checkPrefix(w.prefix); err != nil {
		return nil, err
	}
	if w.db.Kind == dbconn.MySQL && w.maxStmtBytes == 0 {
		var packet int64
		if err := w.db.DB.DB.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
			return nil, fmt.Errorf("seed: read max_allowed_packet: %w", err)
		}
		w.maxStmtBytes = int(min(max(packet/4, 64<<10), 8<<20))
	}
	tb := &tableBuf{def: def, phys: w.prefix + name, stmts: map[int]string{}}
	cols := make([]string, len(def.cols))
	for i, c := range def.cols {
		cols[i] = quote(w.db.Kind, c.name)
	}
	list := "(" + strings.Join(cols, ", ") + ")"
	tb.copySQL = "COPY " + quote(w.db.Kind, tb.phys) + " " + list + " FROM STDIN"
	tb.head = "INSERT INTO " + quote(w.db.Kind, tb.phys) + " " + list + " VALUES "
	limit := sqliteMaxVars
	if w.db.Kind == dbconn.MySQL {
		limit = mysqlMaxParams
	}
	tb.maxStmt = min(maxRowsPerInsert, limit/len(def.cols))
	w.tables[name] = tb
	w.order = append(w.order, tb)
	return tb, nil
}

// current returns the table's open batch.
func (w *Writer) current(ctx context.Context, tb *tableBuf) (*job, error) {
	if tb.cur != nil {
		return tb.cur, nil
	}
	if err := w.firstErr(); err != nil {
		return nil, err
	}
	var j *job
	select {
	case j = <-w.free:
	default:
		j = &job{}
	}
	j.tb, j.ctx, j.kind = tb, ctx, w.db.Kind
	j.rows, j.stmtRows, j.stmtBytes, j.size, j.first = 0, 0, 0, 0, true
	j.maxBytes = w.maxStmtBytes
	j.data, j.args, j.stmts = j.data[:0], j.args[:0], j.stmts[:0]
	tb.cur = j
	return j, nil
}

// submit hands the table's open batch to the background goroutine.
func (w *Writer) submit(ctx context.Context, tb *tableBuf) error {
	j := tb.cur
	if j == nil || j.rows == 0 {
		return w.firstErr()
	}
	tb.cur = nil
	j.closeStmt()
	tb.rowCount += int64(j.rows)
	w.touched[tb] = true
	if w.jobs == nil {
		w.jobs = make(chan *job, w.workers)
		w.wg.Add(w.workers)
		for range w.workers {
			go w.run(w.jobs)
		}
	}
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		return fmt.Errorf("seed: write %s: %w", tb.phys, ctx.Err())
	}
	return w.firstErr()
}

// run executes batches until jobs is closed; after an error it drains the
// queue without writing.
func (w *Writer) run(jobs <-chan *job) {
	defer w.wg.Done()
	for j := range jobs {
		if w.firstErr() == nil {
			if err := w.exec(j); err != nil {
				w.setErr(fmt.Errorf("seed: write %s: %w", j.tb.phys, err))
			} else if w.onWrite != nil {
				w.mu.Lock()
				w.onWrite(j.tb.def.name, j.rows)
				w.mu.Unlock()
			}
		}
		j.ctx = nil
		select {
		case w.free <- j:
		default:
		}
	}
}

func (w *Writer) exec(j *job) error {
	ctx := j.ctx
	if j.kind == dbconn.Postgres {
		conn, err := w.db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = pgdriver.CopyFrom(ctx, conn, bytes.NewReader(j.data), j.tb.copySQL)
		return err
	}
	tx, err := w.db.DB.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	ncols := len(j.tb.def.cols)
	prepared := map[int]*sql.Stmt{}
	off := 0
	for _, n := range j.stmts {
		text := j.tb.insertSQL(n)
		args := j.args[off : off+n*ncols]
		off += n * ncols
		if j.kind == dbconn.SQLite && n == j.tb.maxStmt {
			st := prepared[n]
			if st == nil {
				if st, err = tx.PrepareContext(ctx, text); err != nil {
					return err
				}
				defer st.Close()
				prepared[n] = st
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, text, args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// insertSQL returns the multi-row INSERT for n rows.
func (tb *tableBuf) insertSQL(n int) string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if s, ok := tb.stmts[n]; ok {
		return s
	}
	ncols := len(tb.def.cols)
	row := "(" + strings.Repeat("?, ", ncols-1) + "?)"
	var b strings.Builder
	b.Grow(len(tb.head) + n*(len(row)+2))
	b.WriteString(tb.head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	s := b.String()
	tb.stmts[n] = s
	return s
}

// Flush writes every buffered row, waits for the background writes and
// returns the first error. On PostgreSQL it then sets the id sequence of
// each table written since the last Flush past the table's largest id.
func (w *Writer) Flush(ctx context.Context) error {
	var err error
	for _, tb := range w.order {
		if e := w.submit(ctx, tb); e != nil {
			err = e
			break
		}
	}
	if w.jobs != nil {
		close(w.jobs)
		w.wg.Wait()
		w.jobs = nil
	}
	if e := w.firstErr(); e != nil {
		return e
	}
	if err != nil {
		return err
	}
	if w.db.Kind == dbconn.Postgres {
		for _, tb := range w.order {
			if !w.touched[tb] {
				continue
			}
			q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE((SELECT MAX("id") FROM %s), 0) + 1, false)`,
				quote(w.db.Kind, tb.phys), quote(w.db.Kind, tb.phys))
			if _, err := w.db.DB.DB.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("seed: advance the id sequence of %s: %w", tb.phys, err)
			}
		}
	}
	clear(w.touched)
	return nil
}

// errClosed is the error of a Writer used after Close.
var errClosed = errors.New("seed: writer closed")

// Close stops the Writer's goroutines without writing what is still
// buffered or queued, and waits for them (a batch being written finishes
// or fails with its context). It is the way out after an error, where
// Flush is not called: defer it after NewWriter. It is safe after Flush and
// more than once; Add and Flush after it return an error.
func (w *Writer) Close() {
	w.setErr(errClosed) // the workers drain the queue without writing
	if w.jobs != nil {
		close(w.jobs)
		w.wg.Wait()
		w.jobs = nil
	}
	for _, tb := range w.order {
		tb.cur = nil
	}
}

// ---- encoding ---------------------------------------------------------

// endRow closes a row; on MySQL/SQLite it also cuts INSERT statements so
// each stays under the engine's limits.
func (j *job) endRow() {
	j.rows++
	if j.kind == dbconn.Postgres {
		j.data = append(j.data, '\n')
		j.first = true
		return
	}
	j.stmtRows++
	if j.stmtRows >= j.tb.maxStmt || (j.kind == dbconn.MySQL && j.stmtBytes >= j.maxBytes) {
		j.closeStmt()
	}
}

func (j *job) closeStmt() {
	if j.stmtRows > 0 {
		j.stmts = append(j.stmts, j.stmtRows)
		j.size += j.stmtBytes
		j.stmtRows, j.stmtBytes = 0, 0
	}
}

func (j *job) sep() {
	if j.first {
		j.first = false
		return
	}
	j.data = append(j.data, '\t')
}

func (j *job) putInt(v int64) {
	if j.kind == dbconn.Postgres {
		j.sep()
		j.data = strconv.AppendInt(j.data, v, 10)
		return
	}
	j.args = append(j.args, v)
	j.stmtBytes += 21
}

func (j *job) putNull() {
	if j.kind == dbconn.Postgres {
		j.sep()
		j.data = append(j.data, '\\', 'N')
		return
	}
	j.args = append(j.args, nil)
	j.stmtBytes += 5
}

func (j *job) putStr(s string) {
	if j.kind == dbconn.Postgres {
		j.sep()
		j.data = appendCopyText(j.data, s)
		return
	}
	j.args = append(j.args, s)
	j.stmtBytes += 2*len(s) + 3
}

// putNum writes a number(L,D) value (dec ≥ 0) or a float (dec < 0).
func (j *job) putNum(v float64, dec int) {
	switch {
	case j.kind == dbconn.Postgres:
		j.sep()
		if dec < 0 {
			j.data = strconv.AppendFloat(j.data, v, 'g', -1, 64)
		} else {
			j.data = strconv.AppendFloat(j.data, v, 'f', dec, 64)
		}
		return
	case dec < 0:
		j.args = append(j.args, v)
	case j.kind == dbconn.MySQL:
		j.args = append(j.args, strconv.FormatFloat(v, 'f', dec, 64)) // exact DECIMAL
	default:
		// SQLite stores a REAL: the double nearest the decimal the other
		// engines store.
		x, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', dec, 64), 64)
		j.args = append(j.args, x)
	}
	j.stmtBytes += 26
}

func (j *job) putNullInt(v sql.Null[int64]) {
	if v.Valid {
		j.putInt(v.V)
	} else {
		j.putNull()
	}
}

func (j *job) putNullStr(v sql.Null[string]) {
	if v.Valid {
		j.putStr(v.V)
	} else {
		j.putNull()
	}
}

// appendCopyText escapes s for PostgreSQL's COPY text format.
func appendCopyText(dst []byte, s string) []byte {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '\t' || c == '\n' || c == '\r' {
			clean = false
			break
		}
	}
	if clean {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// log encodes a log row without reflection (the hot path).
func (j *job) log(r *Log) {
	j.putInt(r.ID)
	j.putStr(r.EventName)
	j.putStr(r.Component)
	j.putStr(r.Action)
	j.putStr(r.Target)
	j.putNullStr(r.ObjectTable)
	j.putNullInt(r.ObjectID)
	j.putStr(r.CRUD)
	j.putInt(r.EduLevel)
	j.putInt(r.ContextID)
	j.putInt(r.ContextLevel)
	j.putInt(r.ContextInstanceID)
	j.putInt(r.UserID)
	j.putNullInt(r.CourseID)
	j.putNullInt(r.RelatedUserID)
	j.putInt(r.Anonymous)
	j.putNullStr(r.Other)
	j.putInt(r.TimeCreated)
	j.putNullStr(r.Origin)
	j.putNullStr(r.IP)
	j.putNullInt(r.RealUserID)
}

// reflect encodes any row type from its column list.
func (j *job) reflect(def *tableDef, v reflect.Value) {
	for _, c := range def.cols {
		f := v.Field(c.field)
		if c.null {
			if !f.Field(1).Bool() {
				j.putNull()
				continue
			}
			f = f.Field(0)
		}
		switch c.typ {
		case tSeq, tInt:
			j.putInt(f.Int())
		case tChar, tText:
			j.putStr(f.String())
		case tNumber:
			j.putNum(f.Float(), c.dec)
		case tFloat:
			j.putNum(f.Float(), -1)
		}
	}
}
