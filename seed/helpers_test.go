package seed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/dbconn/dbconntest"
)

// engine is one database a test runs against.
type engine struct {
	name string
	db   *dbconn.DB
}

// engines opens SQLite always, and PostgreSQL and MariaDB/MySQL when
// USESTATS_TEST_POSTGRES / USESTATS_TEST_MYSQL are set (required under CI).
func engines(t testing.TB) []engine {
	t.Helper()
	var out []engine
	for _, s := range dbconntest.Servers(t, "seed.db") {
		db, err := dbconn.Open(context.Background(), s.URL, dbconn.Options{})
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		t.Cleanup(func() { db.Close() })
		out = append(out, engine{s.Name, db})
	}
	return out
}

// liteDB opens a SQLite database of its own: tests that count goroutines
// run apart from the connections of the other engines.
func liteDB(t testing.TB) *dbconn.DB {
	t.Helper()
	db, err := dbconn.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "lite.db"), dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// settledGoroutines returns the number of goroutines once it is at most
// want, or after a second of waiting for goroutines that are ending.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > want; i++ {
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// stacks returns every goroutine's stack, for a leak report.
func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// testPrefix returns a table prefix unique to this run, and drops the
// tables with that prefix when the test ends.
func testPrefix(t testing.TB, db *dbconn.DB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "t" + hex.EncodeToString(b[:]) + "_"
	t.Cleanup(func() {
		if err := DropSchema(context.Background(), db, prefix); err != nil {
			t.Errorf("drop %s tables: %v", prefix, err)
		}
	})
	return prefix
}

// tableChecksum hashes every row of a table in id order, each column in a
// form independent of the engine (integers, text, numbers with the
// column's decimals), and returns the hash and the row count.
func tableChecksum(t testing.TB, db *dbconn.DB, prefix, table string) (string, int) {
	t.Helper()
	cat, err := buildCatalog()
	if err != nil {
		t.Fatal(err)
	}
	def := cat.byName[table]
	names := make([]string, len(def.cols))
	for i, c := range def.cols {
		names[i] = quote(db.Kind, c.name)
	}
	q := "SELECT " + strings.Join(names, ", ") + " FROM " + quote(db.Kind, prefix+table) + " ORDER BY " + quote(db.Kind, "id")
	rows, err := db.DB.DB.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	h := sha256.New()
	n := 0
	dest := make([]any, len(def.cols))
	for i, c := range def.cols {
		switch c.typ {
		case tNumber, tFloat:
			dest[i] = new(sql.NullFloat64)
		case tSeq, tInt:
			dest[i] = new(sql.NullInt64)
		default:
			dest[i] = new(sql.NullString)
		}
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		for i, c := range def.cols {
			var s string
			switch v := dest[i].(type) {
			case *sql.NullFloat64:
				if v.Valid {
					s = "f" + strconv.FormatFloat(v.Float64, 'f', max(c.dec, 6), 64)
				}
			case *sql.NullInt64:
				if v.Valid {
					s = "i" + strconv.FormatInt(v.Int64, 10)
				}
			case *sql.NullString:
				if v.Valid {
					s = "s" + v.String
				}
			}
			fmt.Fprintf(h, "%d:%s|", len(s), s)
		}
		h.Write([]byte{'\n'})
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}
