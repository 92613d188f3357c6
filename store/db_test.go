package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/dbconn"
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
	pg := os.Getenv("USESTATS_TEST_POSTGRES")
	if pg == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("USESTATS_TEST_POSTGRES is not set under CI")
		}
		t.Log("USESTATS_TEST_POSTGRES not set: PostgreSQL skipped")
		return
	}
	t.Run("postgres", func(t *testing.T) {
		f(t, freshSchema(t, pg))
	})
}

// freshSchema creates a schema with a random name in the PostgreSQL
// database named by admin, drops it (and everything in it) at cleanup, and
// returns a URL whose sessions use it: pgdriver sends unknown URL query
// parameters as startup parameters, so search_path holds for every pooled
// connection.
func freshSchema(t testing.TB, admin string) string {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "ust_" + hex.EncodeToString(b)
	db, err := dbconn.Open(ctx, admin, dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA ?", bun.Ident(schema)); err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA ? CASCADE", bun.Ident(schema)); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

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
