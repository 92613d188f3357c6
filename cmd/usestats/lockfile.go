package main

import (
	"errors"
	"net/url"
	"os"
	"syscall"

	"github.com/usestats/usestats/aggregation"
)

// lockFile takes an exclusive lock on path (created when missing) for as
// long as the process lives or until the returned release; a second
// process gets an EUnavailable error at once. The kernel drops the lock of
// a process that dies, so a killed compiler never blocks the next.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, aggregation.Errorf(aggregation.EUnavailable, "compile: cannot create the lock file %s: %v", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, aggregation.Errorf(aggregation.EUnavailable,
				"compile: another compiler is running on this SQLite store (%s is locked); a SQLite store takes one compiler at a time — share compile work through a PostgreSQL store", path)
		}
		return nil, aggregation.Errorf(aggregation.EUnavailable, "compile: cannot lock %s: %v", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// sqliteFile returns the file of a sqlite:// URL.
func sqliteFile(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	if u.Opaque != "" {
		return u.Opaque
	}
	return u.Host + u.Path
}
