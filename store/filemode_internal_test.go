package store

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// openAndWrite opens the store at path, migrates it and writes a token, so
// that SQLite has its -wal and -shm files; it returns the open store.
func openAndWrite(t *testing.T, path, token string) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	scopes, _ := aggregation.ParseScopes("site:read")
	if _, _, err := s.CreateToken(ctx, token, scopes, 1); err != nil {
		t.Fatal(err)
	}
	return s
}

func modeOf(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// A new store file and SQLite's -wal and -shm files are 0600 whatever the
// umask: the usual 022 (which would give 0644) and 277 (which would give
// 0400, unwritable).
func TestStoreFilesCreatedPrivate(t *testing.T) {
	for _, umask := range []int{0o022, 0o277, 0} {
		path := filepath.Join(t.TempDir(), "store.db")
		old := syscall.Umask(umask)
		openAndWrite(t, path, "t")
		syscall.Umask(old)
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if m := modeOf(t, p); m != privateMode {
				t.Errorf("umask %03o: %s has mode %04o, want 0600", umask, filepath.Base(p), m)
			}
		}
	}
}

// An existing store readable by others is narrowed at open, with a log line.
func TestStoreFileModeFixedAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openAndWrite(t, path, "first")
	s.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-wal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	openAndWrite(t, path, "second")
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if m := modeOf(t, p); m != privateMode {
			t.Errorf("%s has mode %04o after open, want 0600", filepath.Base(p), m)
		}
	}
	if n := strings.Count(logs.String(), "mode narrowed"); n != 2 || !strings.Contains(logs.String(), "was=0644") {
		t.Errorf("want two log lines about the narrowed modes, got:\n%s", logs.String())
	}
}

// A store whose mode cannot be fixed is refused, saying what to do.
func TestStoreFileModeUnfixableRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	defer func(f func(string, fs.FileMode) error) { chmod = f }(chmod)
	chmod = func(string, fs.FileMode) error { return fs.ErrPermission }
	_, err := Open(context.Background(), "sqlite://"+path)
	if aggregation.ErrorCode(err) != aggregation.EUnavailable || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("Open: %v, want EUnavailable naming chmod 600", err)
	}
}
