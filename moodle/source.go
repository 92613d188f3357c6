package moodle

import (
	"context"
	"fmt"
	"golang.org/x/sync/singleflight"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// DefaultPrefix is Moodle's default table prefix.
const DefaultPrefix = "mdl_"

var validPrefix = regexp.MustCompile(`^[a-z0-9_]{0,32}$`)

// requiredTables are checked when a Source opens: without them usestats
// cannot compute anything.
var requiredTables = []string{"logstore_standard_log", "user", "course", "course_modules", "modules", "course_sections"}

// Source reads one Moodle database. It is safe for concurrent use.
type Source struct {
	db     *dbconn.DB
	prefix string
	owned  bool // Close closes db
	// streams bounds the log streams open at once to one less than the
	// pool's connections (nil: an unbounded pool), so a connection is
	// always left for the course-module lookups a stream waits on.
	streams chan struct{}
	// scanNoCopy makes ScanUsers read PostgreSQL through database/sql
	// instead of COPY (tests and benchmarks compare both paths).
	scanNoCopy atomic.Bool

	names  nameCaches         // course and module descriptions, reused for NamesTTL
	flight singleflight.Group // concurrent reads of one course's modules share one

	mu      sync.Mutex
	modules map[int64]string // modules.id → name, loaded once
	cms     map[int64]cmInfo // cmid → resolution (type, section, …); missing cms cached too
	sysCtx  int64            // id of the system context, once read (0: not yet)

	scormLayout scormLayoutMemo // which SCORM tables the database has
}

// Pool defaults of Open.
const (
	// DefaultMaxConns bounds the connections a Source opens: enough for a
	// few requests at once (a log stream holds one connection while its
	// course modules are resolved on another) without weighing on the
	// Moodle site's own database.
	DefaultMaxConns = 4
	// DefaultStatementTimeout is the server-side limit on one statement.
	// Log reads page by page (keyset pages of 50 000 rows, or one query
	// per share of a bulk batch, each a fraction of a second to a few
	// seconds on a large log), and a compile of the whole log is many such
	// pages, so 5 minutes stops only a runaway statement, such as one
	// left running by a client that went away, while no legitimate read
	// comes near it. Contexts bound the calls on our side.
	DefaultStatementTimeout = 5 * time.Minute
	// connMaxLifetime renews each kept connection now and then, ahead of
	// servers and proxies that drop long-idle sessions.
	connMaxLifetime = 30 * time.Minute
)

// Options tune the connections Open makes. The zero value is the
// defaults.
type Options struct {
	// MaxConns bounds the pool: the Moodle database never sees more of our
	// connections, and they are kept open while idle (no churn). 0:
	// DefaultMaxConns; at least 2, as a log stream resolves its course
	// modules on a second connection.
	MaxConns int
	// StatementTimeout makes the Moodle server stop any statement running
	// longer (PostgreSQL statement_timeout, MariaDB max_statement_time,
	// MySQL 8 max_execution_time; SQLite has none, contexts bound it). Such
	// a failure is an EUnavailable *aggregation.Error matching
	// dbconn.ErrStatementTimeout. 0: DefaultStatementTimeout; negative:
	// none (the server's own setting).
	StatementTimeout time.Duration
	// AppName names our sessions on the server (PostgreSQL application_name,
	// MariaDB/MySQL program_name). "": dbconn.DefaultAppName.
	AppName string
}

// dbOptions checks o and returns the read-only pool it describes.
func (o Options) dbOptions() (dbconn.Options, error) {
	conns := o.MaxConns
	if conns == 0 {
		conns = DefaultMaxConns
	}
	if conns < 2 {
		return dbconn.Options{}, aggregation.Errorf(aggregation.EInvalid,
			"moodle: a pool of %d connections: the adapter needs at least two (a log stream resolves its course modules on a second one)", o.MaxConns)
	}
	timeout := o.StatementTimeout
	if timeout == 0 {
		timeout = DefaultStatementTimeout
	}
	return dbconn.Options{ReadOnly: true, MaxOpenConns: conns, ConnMaxLifetime: connMaxLifetime,
		StatementTimeout: max(timeout, 0), AppName: o.AppName}, nil
}

// Open connects read-only to the Moodle database at dsn, with the default
// Options, and checks that its tables exist under the prefix ("" means
// DefaultPrefix).
func Open(ctx context.Context, dsn, prefix string) (*Source, error) {
	return OpenWith(ctx, dsn, prefix, Options{})
}

// OpenWith is Open with a bounded, kept pool of read-only sessions, each
// with a statement timeout, as opt describes. A bad opt is EInvalid.
func OpenWith(ctx context.Context, dsn, prefix string, opt Options) (*Source, error) {
	dbopt, err := opt.dbOptions()
	if err != nil {
		return nil, err
	}
	db, err := dbconn.Open(ctx, dsn, dbopt)
	if err != nil {
		return nil, err
	}
	s, err := New(ctx, db, prefix)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New wraps an open database. The caller keeps ownership of db.
func New(ctx context.Context, db *dbconn.DB, prefix string) (*Source, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !validPrefix.MatchString(prefix) {
		return nil, aggregation.Errorf(aggregation.EInvalid, "table prefix %q: use lower-case letters, digits and underscores", prefix)
	}
	if n := db.DB.DB.Stats().MaxOpenConnections; n == 1 {
		// A log stream keeps its page open while it resolves course modules
		// on a second connection.
		return nil, aggregation.Errorf(aggregation.EInvalid, "moodle: the database pool allows one connection; the adapter needs at least two (open it read-only)")
	}
	s := &Source{db: db, prefix: prefix, cms: make(map[int64]cmInfo)}
	if n := db.DB.DB.Stats().MaxOpenConnections; n > 1 {
		s.streams = make(chan struct{}, n-1)
	}
	for _, t := range requiredTables {
		if err := s.checkTable(ctx, t); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close releases the database if the Source opened it.
func (s *Source) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// DB returns the underlying database (for health checks).
func (s *Source) DB() *dbconn.DB { return s.db }

// Prefix returns the table prefix in use.
func (s *Source) Prefix() string { return s.prefix }

// table returns the quoted physical name of a logical table.
func (s *Source) table(name string) schema.QueryWithArgs {
	return bun.SafeQuery("?", bun.Ident(s.prefix+name))
}

// tableAs returns "physical AS alias" for ModelTableExpr.
func (s *Source) tableAs(name, alias string) (string, any, any) {
	return "? AS ?", bun.Ident(s.prefix + name), bun.Ident(alias)
}

func (s *Source) checkTable(ctx context.Context, name string) error {
	var n int
	err := s.db.NewSelect().ColumnExpr("1").TableExpr("?", bun.Ident(s.prefix+name)).Where("1 = 0").Scan(ctx, &n)
	if err == nil || isNoRows(err) {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("checking table %s: %w", s.prefix+name, ctx.Err())
	}
	if !isMissingTable(err) {
		return &aggregation.Error{Code: aggregation.EUnavailable,
			Message: fmt.Sprintf("cannot read table %s in %s: %s", s.prefix+name, s.db.Redacted, err)}
	}
	return aggregation.Errorf(aggregation.ENotFound,
		"table %s is missing in %s (is this a Moodle database, and is the prefix %q right?)", s.prefix+name, s.db.Redacted, s.prefix)
}
