package store

import (
	"context"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/uptrace/bun/migrate"

	"github.com/usestats/usestats/dbconn"
)

// migrationFiles holds the schema, one directory per dialect. Both
// directories hold the same migration names (NNNN_what.tx.up.sql, applied
// in name order); a new table or column is a new pair of files with the
// next number. Statements are written to be re-runnable (IF NOT EXISTS),
// because the migrator records a migration after it succeeded, outside its
// transaction.
//
//go:embed migrations
var migrationFiles embed.FS

// The migrator's bookkeeping tables, named so they never clash with another
// application's bun migrations in a shared database.
const (
	migrationsTable     = "usestats_migrations"
	migrationLocksTable = "usestats_migration_locks"
)

// migrateLockKey is the PostgreSQL advisory lock that serialises Migrate
// across instances sharing one database ("ustsmigr").
const migrateLockKey int64 = 0x7573_7473_6d69_6772

// migrations returns the embedded migrations for an engine.
func migrations(kind dbconn.Kind) (*migrate.Migrations, error) {
	dir := "migrations/" + string(kind)
	sub, err := fs.Sub(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("store: migrations for %s: %w", kind, err)
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(sub); err != nil {
		return nil, fmt.Errorf("store: migrations for %s: %w", kind, err)
	}
	if len(ms.Sorted()) == 0 {
		return nil, fmt.Errorf("store: no migrations embedded for %s", kind)
	}
	return ms, nil
}

// Migrate brings the schema up to date and returns the names of the
// migrations it applied (none when the schema was current). It is
// idempotent and safe to run at every start, also by several instances at
// once on PostgreSQL (they wait on an advisory lock, which the server
// releases if an instance dies). Each migration runs in a transaction and
// is recorded in usestats_migrations only once it succeeded.
func (s *Store) Migrate(ctx context.Context) (applied []string, err error) {
	ms, err := migrations(s.db.Kind)
	if err != nil {
		return nil, err
	}
	if s.db.Kind == dbconn.Postgres {
		unlock, err := s.lockPostgres(ctx)
		if err != nil {
			return nil, err
		}
		defer func() { err = errors.Join(err, unlock()) }()
	}
	m := migrate.NewMigrator(s.db.DB, ms,
		migrate.WithTableName(migrationsTable),
		migrate.WithLocksTableName(migrationLocksTable),
		migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, wrap("migrate: init", err)
	}
	group, err := m.Migrate(ctx)
	if group != nil {
		for _, mig := range group.Migrations {
			applied = append(applied, mig.Name+"_"+mig.Comment)
		}
	}
	if err != nil {
		return applied, wrap("migrate", err)
	}
	return applied, nil
}

// lockPostgres takes the migration advisory lock on a dedicated session
// and returns its release. If the release fails, the session is discarded
// rather than returned to the pool still holding the lock.
func (s *Store) lockPostgres(ctx context.Context) (func() error, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, wrap("migrate: lock", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", migrateLockKey); err != nil {
		conn.Close()
		return nil, wrap("migrate: lock", err)
	}
	return func() error {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, "SELECT pg_advisory_unlock(?)", migrateLockKey); err != nil {
			// driver.ErrBadConn makes database/sql close the session,
			// which releases the lock server-side.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			return wrap("migrate: unlock", err)
		}
		return conn.Close()
	}, nil
}
