// Package dbconn opens a Bun database from a URL: postgres://…,
// mysql://… (MariaDB and MySQL 8) or sqlite://PATH (pure-Go driver). It is
// shared infrastructure for the adapters (moodle, seed, store); it knows no
// table.
package dbconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/driver/pgdriver"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/usestats/usestats/aggregation"
)

// Kind is a database engine family.
type Kind string

// The supported engines.
const (
	Postgres Kind = "postgres"
	MySQL    Kind = "mysql" // MariaDB and MySQL 8
	SQLite   Kind = "sqlite"
)

// Options tune Open.
type Options struct {
	// ReadOnly asks the server for a read-only session (PostgreSQL
	// default_transaction_read_only, MariaDB/MySQL transaction_read_only,
	// SQLite mode=ro).
	ReadOnly bool
	// MaxOpenConns caps the pool (0: the driver's default; SQLite writers use 1).
	MaxOpenConns int
	// PingTimeout bounds the reachability check (default 5 s).
	PingTimeout time.Duration
}

// DB is an open database and its kind.
type DB struct {
	*bun.DB
	Kind Kind
	// Redacted is the URL without its password, for logs and messages.
	Redacted string
}

// Parse checks a database URL and returns its kind, without connecting.
func Parse(dsn string) (Kind, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "", aggregation.Errorf(aggregation.EInvalid, "database URL %q: want postgres://…, mysql://… or sqlite://PATH", redact(dsn))
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		return Postgres, nil
	case "mysql", "mariadb":
		return MySQL, nil
	case "sqlite", "sqlite3", "file":
		if sqlitePath(u) == "" {
			return "", aggregation.Errorf(aggregation.EInvalid, "database URL %q: sqlite needs a path, e.g. sqlite:///var/lib/moodle.db or sqlite://demo.db", redact(dsn))
		}
		return SQLite, nil
	}
	return "", aggregation.Errorf(aggregation.EInvalid, "database URL %q: unsupported scheme %q (want postgres, mysql or sqlite)", redact(dsn), u.Scheme)
}

// Open connects to the database named by dsn and checks it is reachable.
// Errors are *aggregation.Error: EInvalid for a bad URL, EUnavailable for a
// server that cannot be reached.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	kind, err := Parse(dsn)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(dsn)
	var db *bun.DB
	switch kind {
	case Postgres:
		db, err = openPostgres(u, opt)
	case MySQL:
		db, err = openMySQL(u, opt)
	case SQLite:
		db, err = openSQLite(u, opt)
	}
	if err != nil {
		return nil, err
	}
	if opt.MaxOpenConns > 0 {
		db.SetMaxOpenConns(opt.MaxOpenConns)
	}
	timeout := opt.PingTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, &aggregation.Error{Code: aggregation.EUnavailable,
			Message: fmt.Sprintf("cannot reach %s database %s: %s", kind, redact(dsn), rootCause(err))}
	}
	return &DB{DB: db, Kind: kind, Redacted: redact(dsn)}, nil
}

func openPostgres(u *url.URL, opt Options) (*bun.DB, error) {
	q := u.Query()
	if q.Get("sslmode") == "" {
		// Encrypted by default; plaintext only on the loopback interface.
		// An explicit sslmode in the URL always wins.
		q.Set("sslmode", "require")
		if isLoopback(u.Hostname()) {
			q.Set("sslmode", "disable")
		}
	}
	u2 := *u
	u2.Scheme = "postgres"
	u2.RawQuery = q.Encode()
	// No fixed statement timeout: contexts bound every call, and a long
	// statement (an index build over 10⁸ rows) must not be cut at 10 s. A
	// read_timeout / write_timeout in the URL still wins.
	opts := []pgdriver.Option{pgdriver.WithReadTimeout(0), pgdriver.WithWriteTimeout(0), pgdriver.WithDSN(u2.String())}
	if opt.ReadOnly {
		opts = append(opts, pgdriver.WithConnParams(map[string]any{"default_transaction_read_only": "on"}))
	}
	sqldb := sql.OpenDB(pgdriver.NewConnector(opts...))
	return bun.NewDB(sqldb, pgdialect.New()), nil
}

// openMySQL opens a MariaDB or MySQL database; read-only sessions run SET
// SESSION TRANSACTION READ ONLY on every new connection.
func openMySQL(u *url.URL, opt Options) (*bun.DB, error) {
	host := u.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		host = net.JoinHostPort(host, "3306")
	}
	q := u.Query()
	if q.Get("charset") == "" {
		q.Set("charset", "utf8mb4")
	}
	q.Set("interpolateParams", "true") // one round trip per query
	pass, _ := u.User.Password()
	native := fmt.Sprintf("%s:%s@tcp(%s)/%s?%s", u.User.Username(), pass, host, strings.TrimPrefix(u.Path, "/"), q.Encode())
	cfg, err := mysql.ParseDSN(native)
	if err != nil {
		return nil, aggregation.Errorf(aggregation.EInvalid, "mysql URL %s: %v", redact(u.String()), err)
	}
	var conn driver.Connector
	conn, err = mysql.NewConnector(cfg)
	if err != nil {
		return nil, aggregation.Errorf(aggregation.EInvalid, "mysql URL %s: %v", redact(u.String()), err)
	}
	if opt.ReadOnly {
		conn = initConnector{Connector: conn, init: "SET SESSION TRANSACTION READ ONLY"}
	}
	return bun.NewDB(sql.OpenDB(conn), mysqldialect.New()), nil
}

// initConnector runs a statement on every new connection.
type initConnector struct {
	driver.Connector
	init string
}

func (c initConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("dbconn: the driver cannot run %q", c.init)
	}
	if _, err := ex.ExecContext(ctx, c.init, nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dbconn: %s: %w", c.init, err)
	}
	return conn, nil
}

func sqlitePath(u *url.URL) string {
	p := u.Host + u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	return p
}

func openSQLite(u *url.URL, opt Options) (*bun.DB, error) {
	path := sqlitePath(u)
	if opt.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, aggregation.Errorf(aggregation.ENotFound, "sqlite database file %s does not exist", path)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	if opt.ReadOnly {
		q.Set("mode", "ro")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	name := "file:" + path + "?" + q.Encode()
	sqldb, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, aggregation.Errorf(aggregation.EInvalid, "sqlite: %v", err)
	}
	if !opt.ReadOnly {
		sqldb.SetMaxOpenConns(1) // one writer; avoids "database is locked"
	}
	return bun.NewDB(sqldb, sqlitedialect.New()), nil
}

// isLoopback reports a host on this machine (or a Unix socket path).
func isLoopback(host string) bool {
	if host == "" || host == "localhost" || strings.HasPrefix(host, "/") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Redact returns the URL without its password, for logs and messages.
func Redact(dsn string) string { return redact(dsn) }

// redact removes the password from a URL; an unparseable URL (which could
// hide a password anywhere) is not shown at all.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "<unparseable URL>"
	}
	if u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// rootCause returns the innermost error's text.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
