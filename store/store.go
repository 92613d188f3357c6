// Package store is the Bun adapter for usestats' own database (never a
// Moodle one): API tokens today, MNET peers and keys, compiled rollups and
// watermarks later. The database is an embedded SQLite file by default
// (sqlite://usestats.db) or PostgreSQL (postgres://…), which several
// service instances can share; MySQL and MariaDB are not supported here.
//
// Its schema is created and upgraded by Migrate from SQL migrations
// embedded in the binary, one directory per dialect (migrations/postgres,
// migrations/sqlite) holding the same migration names. Migrate is
// idempotent and meant to run at every start.
//
// Every error is an *aggregation.Error (EInvalid, ENotFound,
// EUnauthenticated, EUnavailable) or a wrapped driver error, which
// aggregation.ErrorCode reports as EInternal. Times are Unix seconds and
// "now" is always passed in: the store never reads a clock.
package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// Store is usestats' own database. It is safe for concurrent use.
type Store struct {
	db *dbconn.DB
	// rdb serves the rollup reads: on SQLite a pool of its own, so reads
	// never wait for the single writer connection (which a shard claim
	// holds); on PostgreSQL db itself.
	rdb    *dbconn.DB
	claims claimSet // SQLite: the shards claimed in this process
}

// PostgresMaxConns bounds the connections a Store opens on PostgreSQL, and
// as many are kept open while idle. Without a bound, a burst of requests
// opens a connection per request and database/sql then closes all but two:
// under 100 concurrent clients the server spent most of its CPU starting
// and ending backends (about 30 req/s instead of hundreds). A serving
// process needs one connection per worker reading rollups and a few for
// tokens and the background compile (which holds at most three).
const PostgresMaxConns = 10

// Open connects to the store named by dsn: sqlite://PATH (the file is
// created when missing) or postgres://user:password@host:5432/db. A MySQL or
// MariaDB URL, like any malformed URL, is an EInvalid error; an unreachable
// server is EUnavailable. Open does not touch the schema: call Migrate.
// A SQLite file is created with mode 0600, and an existing one readable by
// other local users is narrowed (logged through slog's default logger) or
// refused when its mode cannot be changed.
func Open(ctx context.Context, dsn string) (*Store, error) {
	kind, err := dbconn.Parse(dsn)
	if err != nil {
		return nil, err
	}
	if kind != dbconn.SQLite && kind != dbconn.Postgres {
		return nil, aggregation.Errorf(aggregation.EInvalid,
			"store: %s is not supported for usestats' own database; use sqlite://PATH or postgres://…", kind)
	}
	opts := dbconn.Options{}
	if kind == dbconn.Postgres {
		opts.MaxOpenConns = PostgresMaxConns
	}
	if kind == dbconn.SQLite {
		if err := secureSQLiteFile(securePath(dsn)); err != nil {
			return nil, err
		}
	}
	db, err := dbconn.Open(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, rdb: db}
	if err := s.openReaders(ctx, dsn); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.rdb != s.db {
		s.rdb.Close()
	}
	return s.db.Close()
}

// Kind returns the store's engine (dbconn.SQLite or dbconn.Postgres).
func (s *Store) Kind() dbconn.Kind { return s.db.Kind }

// SQLDB returns the connection pool (for pool metrics).
func (s *Store) SQLDB() *sql.DB { return s.db.DB.DB }

// Ping checks that the database answers a query, for readiness probes. A
// failure is an EUnavailable error.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.NewRaw("SELECT 1").Scan(ctx, &one); err != nil {
		return &aggregation.Error{Code: aggregation.EUnavailable,
			Message: fmt.Sprintf("store: %s database %s does not answer: %v", s.db.Kind, s.db.Redacted, err)}
	}
	return nil
}

// wrap annotates an unexpected database error; aggregation.ErrorCode
// reports it as EInternal and its text is never shown to callers.
func wrap(op string, err error) error {
	return fmt.Errorf("store: %s: %w", op, err)
}
