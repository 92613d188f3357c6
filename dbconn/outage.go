package dbconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"

	"github.com/usestats/usestats/aggregation"
)

// Outage is how a database failed to serve a statement.
type Outage int

// The outages Classify tells apart.
const (
	// NoOutage: the error is not about reaching the database (a bad
	// query, a constraint, no rows, …), or it already carries its own
	// *aggregation.Error code.
	NoOutage Outage = iota
	// ConnectFailed: no connection could be made or taken (refused,
	// unreachable, closed pool, too many connections, server starting or
	// shutting down).
	ConnectFailed
	// ReadFailed: a connection was made but the statement did not
	// complete: the connection broke mid-way, the server or our deadline
	// stopped it, the database is locked or unreadable.
	ReadFailed
)

// Classify tells whether err says that a database could not be reached or
// did not answer in time. It knows the errors of the three drivers Open
// uses, of database/sql and of the network; context.DeadlineExceeded
// (our own deadline) is a ReadFailed. An error whose chain already has
// an *aggregation.Error is NoOutage: its code was decided where it was
// made (a statement timeout, for one, is already EUnavailable).
func Classify(err error) Outage {
	if err == nil {
		return NoOutage
	}
	var ae *aggregation.Error
	if errors.As(err, &ae) {
		return NoOutage
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ReadFailed
	case errors.Is(err, sql.ErrConnDone), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return ReadFailed
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return ConnectFailed
	}
	// database/sql's closed pool has no exported error value.
	if strings.Contains(err.Error(), "sql: database is closed") {
		return ConnectFailed
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		if oe.Op == "dial" {
			return ConnectFailed
		}
		return ReadFailed
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return ConnectFailed
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ReadFailed
	}
	var pe pgdriver.Error
	if errors.As(err, &pe) {
		return pgOutage(pe.Field('C'))
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return mysqlOutage(me.Number)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return sqliteOutage(se.Code())
	}
	return NoOutage
}

// pgOutage reads a PostgreSQL SQLSTATE: class 08 (connection exception),
// 53300 too_many_connections, 57P01–57P05 (the server shutting down,
// starting or dropping idle sessions), 57014 query_canceled, and class 53
// (insufficient resources) and 58 (system error: I/O).
func pgOutage(state string) Outage {
	switch {
	case strings.HasPrefix(state, "08"), state == "53300", state == "57P03":
		return ConnectFailed
	case strings.HasPrefix(state, "57P"), state == "57014", strings.HasPrefix(state, "53"), strings.HasPrefix(state, "58"):
		return ReadFailed
	}
	return NoOutage
}

// mysqlOutage reads a MariaDB/MySQL error number: 1040 too many
// connections, 1203 too many connections of the user, 1129 host blocked;
// 1053 server shutdown, 1205 lock wait timeout, 1927 connection killed,
// 1969 and 3024 statement timeout, 1317 query interrupted.
func mysqlOutage(n uint16) Outage {
	switch n {
	case 1040, 1203, 1129:
		return ConnectFailed
	case 1053, 1205, 1317, 1927, 1969, 3024:
		return ReadFailed
	}
	return NoOutage
}

// sqliteOutage reads an SQLite result code (its primary code is the low
// byte): BUSY and LOCKED (another writer holds the file), IOERR, CANTOPEN,
// INTERRUPT (our deadline), NOTADB and CORRUPT (the file cannot be read),
// FULL.
func sqliteOutage(code int) Outage {
	switch code & 0xff {
	case 14: // SQLITE_CANTOPEN
		return ConnectFailed
	case 5, 6, 9, 10, 11, 13, 26: // BUSY, LOCKED, INTERRUPT, IOERR, CORRUPT, FULL, NOTADB
		return ReadFailed
	}
	return NoOutage
}

// Unavailable returns err so that aggregation.ErrorCode reads EUnavailable
// when Classify finds an outage, and err unchanged otherwise. The wrapped
// error keeps err in its chain (errors.Is, errors.As, logs); its
// caller-safe message names the kind of failure, never the driver's text.
func Unavailable(err error) error {
	o := Classify(err)
	if o == NoOutage {
		return err
	}
	return &outageError{err: err, outage: o}
}

// outageError is an error Classify found to be an outage.
type outageError struct {
	err    error
	outage Outage
}

func (e *outageError) Error() string { return e.message() + ": " + e.err.Error() }

func (e *outageError) Unwrap() error { return e.err }

func (e *outageError) message() string {
	if e.outage == ConnectFailed {
		return "the database cannot be reached"
	}
	return "the database did not answer"
}

// As gives an *aggregation.Error (EUnavailable) to errors.As.
func (e *outageError) As(target any) bool {
	p, ok := target.(**aggregation.Error)
	if ok {
		*p = &aggregation.Error{Code: aggregation.EUnavailable, Message: e.message()}
	}
	return ok
}

// OutageOf returns the kind of outage err reports: the one Unavailable
// recorded, ReadFailed for a statement the server stopped at its timeout
// (ErrStatementTimeout), else Classify's.
func OutageOf(err error) Outage {
	var oe *outageError
	if errors.As(err, &oe) {
		return oe.outage
	}
	if errors.Is(err, ErrStatementTimeout) {
		return ReadFailed
	}
	return Classify(err)
}
