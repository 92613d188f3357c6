package store

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/usestats/usestats/dbconn"
)

// Both dialects hold the same migrations, so a schema version means the
// same thing on SQLite and PostgreSQL.
func TestMigrationsParity(t *testing.T) {
	names := map[dbconn.Kind][]string{}
	for _, kind := range []dbconn.Kind{dbconn.SQLite, dbconn.Postgres} {
		entries, err := fs.ReadDir(migrationFiles, "migrations/"+string(kind))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			names[kind] = append(names[kind], e.Name())
		}
		if len(names[kind]) == 0 {
			t.Fatalf("no %s migrations", kind)
		}
		if _, err := migrations(kind); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(names[dbconn.SQLite], names[dbconn.Postgres]) {
		t.Errorf("sqlite migrations %v differ from postgres %v", names[dbconn.SQLite], names[dbconn.Postgres])
	}
	if _, err := migrations(dbconn.MySQL); err == nil {
		t.Error("MySQL has migrations")
	}
}
