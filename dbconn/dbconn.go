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
	"maps"
	"net"
	"net/url"
	"os"
	"strconv"
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
	// SQLite mode=ro): a write fails on the server, whatever the caller
	// sends.
	ReadOnly bool
	// MaxOpenConns caps the pool (0: the driver's default; SQLite writers use 1).
	MaxOpenConns int
	// MaxIdleConns is how many unused connections the pool keeps open. 0:
	// as many as the pool's cap when it has one, so a bounded pool opens
	// each connection once and reuses it (no connection churn), the
	// driver's default of 2 otherwise; negative: none.
	MaxIdleConns int
	// ConnMaxLifetime replaces a connection once it is that old (0: kept
	// as long as it works).
	ConnMaxLifetime time.Duration
	// StatementTimeout makes the server stop any statement of the session
	// running longer (0: the server's own setting). PostgreSQL:
	// statement_timeout; MariaDB: max_statement_time; MySQL 8:
	// max_execution_time, which covers SELECT statements only. A stopped
	// statement's error matches ErrStatementTimeout (errors.Is) and reads as
	// an *aggregation.Error with code EUnavailable (errors.As). SQLite has
	// no such limit: there the caller's context is the only bound.
	StatementTimeout time.Duration
	// AppName names our sessions on the server (default "usestats"):
	// PostgreSQL's application_name, as pg_stat_activity shows it (an
	// application_name in the URL wins), and MariaDB/MySQL's program_name
	// connection attribute (a connectionAttributes in the URL wins).
	AppName string
	// PingTimeout bounds the reachability check (default 5 s).
	PingTimeout time.Duration
}

// DefaultAppName is the session name Open gives the server when
// Options.AppName is empty.
const DefaultAppName = "usestats"

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
	switch idle := opt.MaxIdleConns; {
	case idle < 0:
		db.SetMaxIdleConns(0)
	case idle > 0:
		db.SetMaxIdleConns(idle)
	case db.Stats().MaxOpenConnections > 0:
		db.SetMaxIdleConns(db.Stats().MaxOpenConnections)
	}
	if opt.ConnMaxLifetime > 0 {
		db.SetConnMaxLifetime(opt.ConnMaxLifetime)
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
	// No fixed read or write timeout: contexts bound every call, and a long
	// statement (an index build over 10⁸ rows) must not be cut at 10 s. A
	// read_timeout / write_timeout in the URL still wins.
	opts := []pgdriver.Option{pgdriver.WithReadTimeout(0), pgdriver.WithWriteTimeout(0),
		pgdriver.WithApplicationName(appName(opt)), pgdriver.WithDSN(u2.String())}
	// Session settings join the URL's own parameters (WithDSN keeps them as
	// connection parameters); ours win, as they protect the server.
	params := map[string]any{}
	if opt.ReadOnly {
		params["default_transaction_read_only"] = "on"
	}
	if opt.StatementTimeout > 0 {
		params["statement_timeout"] = timeoutMillis(opt.StatementTimeout)
	}
	if len(params) > 0 {
		opts = append(opts, func(c *pgdriver.Config) {
			merged := make(map[string]any, len(c.ConnParams)+len(params))
			maps.Copy(merged, c.ConnParams)
			maps.Copy(merged, params)
			c.ConnParams = merged
		})
	}
	var conn driver.Connector = pgdriver.NewConnector(opts...)
	if opt.StatementTimeout > 0 {
		conn = &sessionConnector{Connector: conn, timeout: opt.StatementTimeout}
	}
	return bun.NewDB(sql.OpenDB(conn), pgdialect.New()), nil
}

// openMySQL opens a MariaDB or MySQL database. Read-only sessions run SET
// SESSION TRANSACTION READ ONLY on every new connection; a statement
// timeout sets MariaDB's max_statement_time, or MySQL 8's
// max_execution_time when the server does not know the former.
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
	if q.Get("connectionAttributes") == "" {
		q.Set("connectionAttributes", "program_name:"+appName(opt))
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
	sc := &sessionConnector{Connector: conn, timeout: opt.StatementTimeout}
	if opt.ReadOnly {
		sc.init = append(sc.init, &initStep{alts: []string{"SET SESSION TRANSACTION READ ONLY"}})
	}
	if d := opt.StatementTimeout; d > 0 {
		sc.init = append(sc.init, &initStep{alts: []string{
			"SET SESSION max_statement_time = " + strconv.FormatFloat(d.Seconds(), 'f', 6, 64), // MariaDB, seconds
			"SET SESSION max_execution_time = " + strconv.FormatInt(timeoutMillis(d), 10),      // MySQL 8, ms
		}})
	}
	if len(sc.init) > 0 || sc.timeout > 0 {
		conn = sc
	}
	return bun.NewDB(sql.OpenDB(conn), mysqldialect.New()), nil
}

func appName(opt Options) string {
	if opt.AppName != "" {
		return opt.AppName
	}
	return DefaultAppName
}

// timeoutMillis is d in whole milliseconds, at least 1 (0 would mean none).
func timeoutMillis(d time.Duration) int64 {
	return max(d.Milliseconds(), 1)
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
