package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/usestats/usestats/dbconn/dbconntest"
	"github.com/usestats/usestats/store"
)

// eachDB runs f once per engine with the URL of a fresh, empty store:
// SQLite in t.TempDir() always, PostgreSQL when USESTATS_TEST_POSTGRES is
// set (mandatory under CI=true), in a schema of its own dropped at cleanup.
func eachDB(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		f(t, "sqlite://"+filepath.Join(t.TempDir(), "usestats.db"))
	})
	pg := dbconntest.Postgres(t)
	if pg == "" {
		return
	}
	t.Run("postgres", func(t *testing.T) {
		f(t, freshSchema(t, pg))
	})
}

// freshSchema returns a URL of a fresh PostgreSQL schema of the test's
// own (see dbconntest.Schema).
func freshSchema(t testing.TB, admin string) string { return dbconntest.Schema(t, admin) }

// openStore opens and migrates the store at dsn, closed at cleanup.
func openStore(t testing.TB, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}
