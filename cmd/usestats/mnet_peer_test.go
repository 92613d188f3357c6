package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usestats/usestats/mnet"
	"github.com/usestats/usestats/store"
)

// A wrong --layout is bad input (exit 2, one line naming the layouts),
// refused before the store is opened or any host is called.
func TestPeerAddRefusesUnknownLayout(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "store.db")
	for _, bad := range []string{"flat", "nested,published", "3"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"peer", "add", "http://127.0.0.1:1", "--layout", bad, "--store", "sqlite://" + dbPath},
			&stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "use published or nested") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("--layout %q: exit %d, stderr %q", bad, code, stderr.String())
		}
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("the store was opened: %v", err)
	}
}

// The store keeps the layouts the mnet package knows, the same default first.
func TestPeerLayoutNamesAgree(t *testing.T) {
	var names []string
	for _, l := range mnet.Layouts {
		names = append(names, string(l))
	}
	if !slices.Equal(names, store.MnetLayouts) {
		t.Fatalf("mnet.Layouts %v, store.MnetLayouts %v", names, store.MnetLayouts)
	}
}
