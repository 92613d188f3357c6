package dbconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/usestats/usestats/aggregation"
)

// ErrStatementTimeout matches (errors.Is) the error of a statement the
// server stopped at the session's Options.StatementTimeout.
var ErrStatementTimeout = errors.New("statement timeout")

// timeoutError is a statement the server stopped at the statement timeout.
// It unwraps to the driver's error, matches ErrStatementTimeout, and reads
// as an *aggregation.Error with code EUnavailable, so every edge reports an
// unavailable data source however the adapter wrapped it.
type timeoutError struct {
	err     error
	timeout time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("the database stopped a statement at its statement timeout (%s): %v", e.timeout, e.err)
}

func (e *timeoutError) Unwrap() error { return e.err }

// Is matches ErrStatementTimeout.
func (e *timeoutError) Is(target error) bool { return target == ErrStatementTimeout }

// As gives an *aggregation.Error (EUnavailable) to errors.As.
func (e *timeoutError) As(target any) bool {
	p, ok := target.(**aggregation.Error)
	if ok {
		*p = aggregation.Errorf(aggregation.EUnavailable, "the database stopped a statement at its statement timeout (%s)", e.timeout)
	}
	return ok
}

// isServerTimeout reports a driver error saying the server stopped the
// statement at the session's time limit: PostgreSQL's query_canceled
// (57014, which a cancelled context also ends in: the caller checks the
// context first), MariaDB's ER_STATEMENT_TIMEOUT (1969), MySQL's
// ER_QUERY_TIMEOUT (3024).
func isServerTimeout(err error) bool {
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pe.StatementTimeout()
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1969 || me.Number == 3024
	}
	return false
}

// sessionConnector prepares every new connection of the pool: it runs the
// init steps, each a statement with alternatives (the first the server
// accepts is tried first on the next connections), and, with a statement
// timeout, marks the errors of statements the server stopped.
type sessionConnector struct {
	driver.Connector
	init    []*initStep
	timeout time.Duration // 0: errors are not marked
}

// initStep is one session statement and its alternatives.
type initStep struct {
	alts   []string
	chosen atomic.Int32 // index of the alternative that worked last
}

// Connect opens a connection and prepares its session.
func (c *sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if len(c.init) > 0 {
		ex, ok := conn.(driver.ExecerContext)
		if !ok {
			conn.Close()
			return nil, errors.New("dbconn: the driver cannot run session statements")
		}
		for _, step := range c.init {
			if err := step.run(ctx, ex); err != nil {
				conn.Close()
				return nil, err
			}
		}
	}
	if c.timeout <= 0 {
		return conn, nil
	}
	return &timeoutConn{Conn: conn, timeout: c.timeout}, nil
}

// run runs the alternative that worked last time, then the others.
func (st *initStep) run(ctx context.Context, ex driver.ExecerContext) error {
	first := int(st.chosen.Load())
	var errs []error
	for k := range st.alts {
		j := (first + k) % len(st.alts)
		_, err := ex.ExecContext(ctx, st.alts[j], nil)
		if err == nil {
			st.chosen.Store(int32(j))
			return nil
		}
		if ctx.Err() != nil || errors.Is(err, driver.ErrBadConn) {
			return fmt.Errorf("dbconn: %s: %w", st.alts[j], err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", st.alts[j], err))
	}
	return fmt.Errorf("dbconn: preparing the session: %w", errors.Join(errs...))
}

// timeoutConn marks the statement-timeout errors of a connection's queries
// and of their rows; everything else goes to the driver's connection
// unchanged.
type timeoutConn struct {
	driver.Conn
	timeout time.Duration
}

// mark turns a server timeout into a *timeoutError unless the context
// ended (PostgreSQL reports a cancelled statement with the same code).
func (c *timeoutConn) mark(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || !isServerTimeout(err) {
		return err
	}
	return &timeoutError{err: err, timeout: c.timeout}
}

func (c *timeoutConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, query, args)
	if err != nil {
		return nil, c.mark(ctx, err)
	}
	return &timeoutRows{Rows: rows, conn: c, ctx: ctx}, nil
}

func (c *timeoutConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ex, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	res, err := ex.ExecContext(ctx, query, args)
	return res, c.mark(ctx, err)
}

// PrepareContext hands out the driver's statement (its errors unmarked:
// the adapters send plain queries).
func (c *timeoutConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *timeoutConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	if opts.Isolation != driver.IsolationLevel(0) || opts.ReadOnly {
		return nil, errors.New("dbconn: the driver does not support transaction options")
	}
	//lint:ignore SA1019 the fallback for drivers without ConnBeginTx, as database/sql's own
	return c.Conn.Begin()
}

func (c *timeoutConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *timeoutConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *timeoutConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *timeoutConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// timeoutRows marks the statement-timeout error of a streamed result (the
// server may stop a statement after its first rows).
type timeoutRows struct {
	driver.Rows
	conn *timeoutConn
	ctx  context.Context
}

func (r *timeoutRows) Next(dest []driver.Value) error {
	err := r.Rows.Next(dest)
	if err == nil {
		return nil
	}
	return r.conn.mark(r.ctx, err)
}

func (r *timeoutRows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *timeoutRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return r.conn.mark(r.ctx, n.NextResultSet())
	}
	return io.EOF
}

// The column descriptions (sql.Rows.ColumnTypes) are the driver's.

func (r *timeoutRows) ColumnTypeScanType(i int) reflect.Type {
	if p, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return p.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *timeoutRows) ColumnTypeDatabaseTypeName(i int) string {
	if p, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return p.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *timeoutRows) ColumnTypeLength(i int) (int64, bool) {
	if p, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return p.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *timeoutRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if p, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return p.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *timeoutRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if p, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return p.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
