// Package dbconntest is the shared test harness of the packages that test
// against a real PostgreSQL server: a schema of a test's own.
package dbconntest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/dbconn"
)

// Schema creates a schema with a random name in the PostgreSQL database
// named by admin, drops it (and everything in it) at the test's cleanup,
// and returns a URL whose sessions use it: the driver sends the URL's
// search_path as a startup parameter, so it holds for every pooled
// connection.
func Schema(t testing.TB, admin string) string {
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
