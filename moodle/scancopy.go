package moodle

import (
	"bufio"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// The PostgreSQL path of ScanUsers: the query runs as COPY (…) TO STDOUT
// on one pooled connection and its text rows are decoded straight from the
// socket. database/sql costs about 0.8 µs a row on top of the driver
// (every integer boxed into an interface, converted by reflection), which
// alone would hold a compile under 1 M events/s on two cores; the COPY
// decoder takes a small fraction of that.
//
// The bun driver gives no streaming COPY reader of its own (its CopyTo
// needs the bare driver connection, which the pool wraps), so the few
// messages of the protocol involved are spoken here, on the driver
// connection's network connection, between two of the driver's own
// exchanges: the driver reads every exchange up to ReadyForQuery, so the
// connection is idle and nothing of it is buffered when the COPY starts,
// and the COPY is read up to its ReadyForQuery too. Anything unexpected —
// an I/O error, a cancelled context, a stop before the end — discards the
// connection (driver.ErrBadConn), never returns it to the pool half read.
//
// The COPY is in text format, not binary, by measurement. A binary row of
// scanQuery is about twice the bytes of a text one (8-byte integers and a
// 4-byte length per field for integers of a few digits), and the socket
// reads it added cost more than the digits it spared parsing, while the
// server spent more CPU producing it: on the 1.5 M-row benchmark log, in
// five runs of each taken in turn, ScanUsers read 650-710 k events/s in
// binary against 710-820 k in text, the server using 10-20 % more CPU.

// copyReadBuffer is the socket read buffer of a COPY.
const copyReadBuffer = 64 << 10

// errCopyStopped ends a COPY whose reader stopped early; the connection is
// discarded rather than drained.
var errCopyStopped = errors.New("moodle: COPY stopped by its reader")

// scanCopy runs q as a COPY and hands its rows to add. It falls back to
// scanRows when the pool's connection is not the bun PostgreSQL driver's.
func (s *Source) scanCopy(ctx context.Context, q *bun.SelectQuery, add rowFunc) error {
	sel, err := q.AppendQuery(s.db.QueryGen(), nil)
	if err != nil {
		return err
	}
	query := "COPY (" + string(sel) + ") TO STDOUT"
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	native := true
	err = conn.Raw(func(dc any) error {
		nc, ok := pgNetConn(dc)
		if !ok {
			native = false
			return nil
		}
		err := copyOut(ctx, nc, query, add)
		if errors.Is(err, errCopyStopped) {
			return &badConnError{err}
		}
		return err
	})
	if !native {
		conn.Close()
		return s.scanRows(ctx, q, add)
	}
	// The pool has dropped a bad connection: the error is what happened.
	var bad *badConnError
	if errors.As(err, &bad) {
		err = bad.err
	}
	if errors.Is(err, errCopyStopped) {
		return nil
	}
	return err
}

// badConnError is an error that leaves the connection unusable: it
// matches driver.ErrBadConn, so database/sql drops the connection.
type badConnError struct{ err error }

func (e *badConnError) Error() string        { return e.err.Error() }
func (e *badConnError) Unwrap() error        { return e.err }
func (e *badConnError) Is(target error) bool { return target == driver.ErrBadConn }

// pgNetConn returns the network connection of a bun PostgreSQL driver
// connection, looking through wrappers: an Unwrap() driver.Conn method, or
// an embedded driver.Conn (dbconn's statement-timeout connection).
func pgNetConn(dc any) (net.Conn, bool) {
	for range 4 {
		switch c := dc.(type) {
		case *pgdriver.Conn:
			return c.Conn(), c.Conn() != nil
		case interface{ Unwrap() driver.Conn }:
			dc = c.Unwrap()
			continue
		}
		v := reflect.ValueOf(dc)
		if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return nil, false
		}
		f, ok := v.Elem().Type().FieldByName("Conn")
		if !ok || !f.Anonymous || f.Type != reflect.TypeFor[driver.Conn]() {
			return nil, false
		}
		dc = v.Elem().FieldByIndex(f.Index).Interface()
	}
	return nil, false
}

// copyOut sends query (a COPY … TO STDOUT in text format) on nc and hands
// every row to add, reading the exchange up to ReadyForQuery. An error that
// leaves the connection unusable wraps driver.ErrBadConn; a server error
// (the exchange completed) does not.
func copyOut(ctx context.Context, nc net.Conn, query string, add rowFunc) (err error) {
	bad := func(err error) error { return &badConnError{err} }
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := nc.SetDeadline(deadline); err != nil {
		return bad(err)
	}
	// A cancelled context ends a blocked read at once; the connection is
	// then dropped, which also stops the statement on the server.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer func() {
		if stop() {
			if err == nil || !errors.Is(err, driver.ErrBadConn) {
				_ = nc.SetDeadline(time.Time{})
			}
			return
		}
		// The context ended and poked the deadline: the connection goes,
		// and the error says why.
		if b, ok := err.(*badConnError); ok {
			err = b.err
		}
		switch {
		case err == nil:
			err = ctx.Err()
		case !errors.Is(err, ctx.Err()):
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		err = bad(err)
	}()

	msg := make([]byte, 0, len(query)+6)
	msg = append(msg, 'Q', 0, 0, 0, 0)
	msg = append(msg, query...)
	msg = append(msg, 0)
	binary.BigEndian.PutUint32(msg[1:5], uint32(len(msg)-1))
	if _, err := nc.Write(msg); err != nil {
		return bad(err)
	}

	rd := bufio.NewReaderSize(nc, copyReadBuffer)
	var (
		hdr     [5]byte
		body    []byte
		row     scanRow
		strBuf  []byte
		srvErr  error
		stopped bool
	)
	for {
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			return bad(err)
		}
		n := int(binary.BigEndian.Uint32(hdr[1:])) - 4
		if n < 0 {
			return bad(fmt.Errorf("moodle: COPY: bad message length %d", n))
		}
		// Most messages are a row: read it in place from the buffer when it
		// fits, else into body.
		var b []byte
		if n <= rd.Size() {
			if b, err = rd.Peek(n); err != nil {
				return bad(err)
			}
		} else {
			body = append(body[:0], make([]byte, n)...)
			if _, err := io.ReadFull(rd, body); err != nil {
				return bad(err)
			}
			b = body
		}
		switch hdr[0] {
		case 'd': // CopyData: one row
			if !stopped && srvErr == nil {
				if strBuf, err = parseCopyRow(b, &row, strBuf); err != nil {
					return bad(err)
				}
				more, err := add(&row)
				if err != nil {
					return bad(err)
				}
				if !more {
					stopped = true
				}
			}
		case 'E': // ErrorResponse; ReadyForQuery follows
			if srvErr == nil {
				srvErr = copyServerError(ctx, b)
			}
		case 'Z': // ReadyForQuery: the exchange is over
			if srvErr != nil {
				return srvErr
			}
			return nil
		case 'H', 'c', 'C', 'N', 'S', 'A':
			// CopyOutResponse, CopyDone, CommandComplete, notices, parameter
			// status, notifications.
		default:
			return bad(fmt.Errorf("moodle: COPY: unexpected message %q", hdr[0]))
		}
		if n <= rd.Size() {
			if _, err := rd.Discard(n); err != nil {
				return bad(err)
			}
		}
		if stopped {
			return errCopyStopped
		}
	}
}

// parseCopyRow decodes one text-format COPY row of scanQuery's columns
// into r: its strings alias line, or buf when they hold escapes. It
// returns buf, grown if needed.
func parseCopyRow(line []byte, r *scanRow, buf []byte) ([]byte, error) {
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	ints := [...]*int64{&r.id, &r.time, &r.user, &r.course, &r.level, &r.instance, &r.kind, &r.realUser}
	for i, dst := range ints {
		v, rest, ok := parseCopyInt(line)
		if !ok || len(rest) == 0 || rest[0] != '\t' {
			return buf, fmt.Errorf("moodle: COPY: column %d of row %q is not an integer", i+1, line)
		}
		*dst, line = v, rest[1:]
	}
	tab := indexByte(line, '\t')
	if tab < 0 || indexByte(line[tab+1:], '\t') >= 0 {
		return buf, fmt.Errorf("moodle: COPY: row %q does not have %d columns", line, scanColumnCount)
	}
	buf = buf[:0]
	// A decoded origin stays valid when the address grows buf: it keeps
	// the array it was decoded into.
	r.origin, buf = copyField(line[:tab], buf)
	r.ip, buf = copyField(line[tab+1:], buf)
	return buf, nil
}

// copyField decodes a text-format COPY string field: nil for NULL (\N),
// the field itself without escapes, else its decoding appended to buf.
func copyField(f, buf []byte) (field, _ []byte) {
	switch {
	case len(f) == 2 && f[0] == '\\' && f[1] == 'N':
		return nil, buf
	case indexByte(f, '\\') < 0:
		return f, buf
	}
	start := len(buf)
	buf = unescapeCopy(buf, f)
	return buf[start:len(buf):len(buf)], buf
}

// parseCopyInt parses a decimal integer at the start of b.
func parseCopyInt(b []byte) (v int64, rest []byte, ok bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	start := i
	var u uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		if u > (1<<63)/10 {
			return 0, b, false
		}
		u = u*10 + uint64(c)
	}
	if i == start || u > 1<<63 || (!neg && u == 1<<63) {
		return 0, b, false
	}
	if neg {
		return -int64(u), b[i:], true
	}
	return int64(u), b[i:], true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// unescapeCopy appends the text-format COPY field b, its backslash
// escapes decoded, to dst.
func unescapeCopy(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 == len(b) {
			dst = append(dst, c)
			continue
		}
		i++
		switch c = b[i]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'v':
			dst = append(dst, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := c - '0'
			for j := 0; j < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; j++ {
				i++
				v = v<<3 | (b[i] - '0')
			}
			dst = append(dst, v)
		case 'x':
			v, digits := byte(0), 0
			for ; digits < 2 && i+1 < len(b) && isHex(b[i+1]); digits++ {
				i++
				v = v<<4 | unhex(b[i])
			}
			if digits == 0 {
				dst = append(dst, 'x')
			} else {
				dst = append(dst, v)
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// copyServerError is the error of an ErrorResponse: its SQLSTATE and
// message. A statement stopped at the session's statement timeout (57014
// while the context is live) matches dbconn.ErrStatementTimeout and reads
// as an EUnavailable *aggregation.Error, as the pool's own errors do.
func copyServerError(ctx context.Context, b []byte) error {
	var code, msg string
	for len(b) > 0 && b[0] != 0 {
		field := b[0]
		end := indexByte(b[1:], 0)
		if end < 0 {
			break
		}
		val := string(b[1 : 1+end])
		b = b[2+end:]
		switch field {
		case 'C':
			code = val
		case 'M':
			msg = val
		}
	}
	if code == "57014" && ctx.Err() == nil {
		return &copyTimeoutError{msg: msg}
	}
	return fmt.Errorf("moodle: COPY: %s (SQLSTATE %s)", msg, code)
}

// copyTimeoutError is a COPY the server stopped at the statement timeout.
type copyTimeoutError struct{ msg string }

func (e *copyTimeoutError) Error() string {
	return "the database stopped a statement at its statement timeout: " + e.msg
}

// Is matches dbconn.ErrStatementTimeout.
func (e *copyTimeoutError) Is(target error) bool { return target == dbconn.ErrStatementTimeout }

// As gives an *aggregation.Error (EUnavailable) to errors.As.
func (e *copyTimeoutError) As(target any) bool {
	p, ok := target.(**aggregation.Error)
	if ok {
		*p = aggregation.Errorf(aggregation.EUnavailable, "the database stopped a statement at its statement timeout")
	}
	return ok
}
