package dbconntest

import (
	"os"
	"path/filepath"
	"testing"
)

// A Server is a database a test runs against: SQLite (a file in the
// test's temporary directory) or a server named by an environment
// variable.
type Server struct {
	Name string // "sqlite", "postgres" or "mariadb"
	URL  string
}

// The variables naming the test servers.
const (
	PostgresEnv = "USESTATS_TEST_POSTGRES"
	MariaDBEnv  = "USESTATS_TEST_MYSQL"
)

// Postgres returns the PostgreSQL server's URL, or "" when it is not set:
// then the test logs that PostgreSQL is not tested, and fails under
// CI=true, where every server must be tested.
func Postgres(t testing.TB) string { return serverURL(t, "postgres", PostgresEnv) }

// MariaDB is Postgres for the MariaDB (or MySQL) server.
func MariaDB(t testing.TB) string { return serverURL(t, "mariadb", MariaDBEnv) }

func serverURL(t testing.TB, name, env string) string {
	t.Helper()
	url := os.Getenv(env)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must test %s", env, name)
		}
		t.Logf("%s not set: %s not tested", env, name)
	}
	return url
}

// Servers returns a SQLite database file (named file, in the test's
// temporary directory) and the PostgreSQL and MariaDB servers that are
// set, in that order.
func Servers(t testing.TB, file string) []Server {
	t.Helper()
	out := []Server{{"sqlite", "sqlite://" + filepath.Join(t.TempDir(), file)}}
	if url := Postgres(t); url != "" {
		out = append(out, Server{"postgres", url})
	}
	if url := MariaDB(t); url != "" {
		out = append(out, Server{"mariadb", url})
	}
	return out
}

// Require returns the URL named by env (PostgresEnv or MariaDBEnv) for a
// test that needs that server: without it the test is skipped, and fails
// under CI=true.
func Require(t testing.TB, env string) string {
	t.Helper()
	url := os.Getenv(env)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must test with it", env)
		}
		t.Skipf("%s not set", env)
	}
	return url
}
