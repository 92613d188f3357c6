package dbconn_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/dbconn/dbconntest"
)

func TestParse(t *testing.T) {
	good := map[string]dbconn.Kind{
		"postgres://postgres@127.0.0.1:5432/test":    dbconn.Postgres,
		"postgresql://u:p@db/moodle?sslmode=require": dbconn.Postgres,
		"mysql://root@127.0.0.1:3306/test":           dbconn.MySQL,
		"sqlite:///tmp/x.db":                         dbconn.SQLite,
		"sqlite://demo.db":                           dbconn.SQLite,
	}
	for dsn, want := range good {
		if got, err := dbconn.Parse(dsn); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", dsn, got, err, want)
		}
	}
	for _, dsn := range []string{"", "moodle", "oracle://x/y", "sqlite://", "://nope", "postgres://u:secret@h/db%zz"} {
		_, err := dbconn.Parse(dsn)
		if aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("Parse(%q): err = %v, want invalid", dsn, err)
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	_, err := dbconn.Open(context.Background(), "postgres://postgres:secret@127.0.0.1:1/test", dbconn.Options{})
	if aggregation.ErrorCode(err) != aggregation.EUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
	if msg := aggregation.ErrorMessage(err); strings.Contains(msg, "secret") {
		t.Errorf("message leaks the password: %s", msg)
	}
}

func TestOpenSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := dbconn.Open(context.Background(), "sqlite://"+path, dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	ro, err := dbconn.Open(context.Background(), "sqlite://"+path, dbconn.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.Exec("INSERT INTO t VALUES (1)"); err == nil {
		t.Fatal("read-only sqlite accepted a write")
	}
}

// The servers the README's test command covers when their URLs are set.
func TestOpenServers(t *testing.T) {
	for _, s := range dbconntest.Servers(t, "x.db")[1:] {
		db, err := dbconn.Open(context.Background(), s.URL, dbconn.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		var one int
		if err := db.QueryRow("SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Errorf("%s: SELECT 1 = %d, %v", s.Name, one, err)
		}
		db.Close()
	}
}
