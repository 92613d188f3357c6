package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"

	"github.com/usestats/usestats/aggregation"
)

// privateMode is the mode of a SQLite store's files: they hold token
// hashes and the MNET private key, so no other local user may read them.
const privateMode fs.FileMode = 0o600

// chmod is os.Chmod; tests replace it to see a mode that cannot be fixed.
var chmod = os.Chmod

// sqliteSidecars are the files SQLite keeps next to a database; it
// creates them with the database file's mode.
var sqliteSidecars = []string{"-wal", "-shm", "-journal"}

// securePath returns the file of a sqlite:// URL ("" for none).
func securePath(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	if u.Opaque != "" {
		return u.Opaque
	}
	return u.Host + u.Path
}

// secureSQLiteFile creates a missing store file with mode 0600 (chmod after
// the create, so no umask widens or narrows it) and removes the group and
// other bits of an existing one and of its -wal, -shm and -journal files,
// logging each change. A file whose mode cannot be fixed is refused.
// Errors creating the file are left to the driver, which reports them.
func secureSQLiteFile(path string) error {
	if path == "" || path == ":memory:" {
		return nil
	}
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, privateMode); err == nil {
		err = errors.Join(f.Chmod(privateMode), f.Close())
		if err != nil {
			return aggregation.Errorf(aggregation.EUnavailable, "store: cannot make %s private (mode 0600): %v", path, err)
		}
	}
	for _, p := range append([]string{path}, suffixed(path)...) {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue // missing, or not ours to judge: the driver reports it
		}
		mode := fi.Mode().Perm()
		if mode&0o077 == 0 {
			continue
		}
		fixed := mode &^ 0o077
		if err := chmod(p, fixed); err != nil {
			return aggregation.Errorf(aggregation.EUnavailable,
				"store: %s is readable by other local users (mode %04o) and its mode cannot be changed (%v); it holds token hashes and the MNET private key: run `chmod 600 %s` as its owner",
				p, mode, err, p)
		}
		slog.Warn("store: file was readable by other local users; mode narrowed",
			"file", p, "was", fmt.Sprintf("%04o", mode), "now", fmt.Sprintf("%04o", fixed))
	}
	return nil
}

func suffixed(path string) []string {
	out := make([]string, len(sqliteSidecars))
	for i, s := range sqliteSidecars {
		out[i] = path + s
	}
	return out
}
