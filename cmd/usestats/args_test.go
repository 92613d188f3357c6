package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/usestats/usestats/store"
)

// Flags may come before, between or after positional arguments.
func TestParseArgsInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want      []string
		store     string
		quiet     bool
		wantError bool
	}{
		{args: []string{"NAME", "--store", "s"}, want: []string{"NAME"}, store: "s"},
		{args: []string{"--store", "s", "NAME"}, want: []string{"NAME"}, store: "s"},
		{args: []string{"-store=s", "A", "--quiet", "B"}, want: []string{"A", "B"}, store: "s", quiet: true},
		{args: []string{"A", "--quiet", "--store", "-x"}, want: []string{"A"}, store: "-x", quiet: true},
		{args: []string{"--", "--store", "s"}, want: []string{"--store", "s"}, store: "d"},
		{args: []string{"-", "--store", "s"}, want: []string{"-"}, store: "s"},
		{args: []string{"A", "--nope"}, wantError: true},
		{args: []string{"A", "--store"}, wantError: true},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		st := fs.String("store", "d", "")
		quiet := fs.Bool("quiet", false, "")
		got, err := parseArgs(fs, tc.args)
		if tc.wantError {
			if !errors.Is(err, errUsage) {
				t.Errorf("%q: error %v, want errUsage", tc.args, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) || *st != tc.store || *quiet != tc.quiet {
			t.Errorf("%q: %q, store %q, quiet %v, %v; want %q, %q, %v", tc.args, got, *st, *quiet, err, tc.want, tc.store, tc.quiet)
		}
	}
}

// token revoke and peer add/remove take --store after their argument too.
func TestSubcommandFlagsAfterArgument(t *testing.T) {
	dir := t.TempDir()
	st := "sqlite://" + filepath.Join(dir, "store.db")
	for _, name := range []string{"a", "b"} {
		if out, stderr, code := usestats(t, "token", "create", "--name", name, "--scope", "site:read", "--store", st); code != 0 {
			t.Fatalf("create %s: exit %d, %q %q", name, code, out, stderr)
		}
	}
	if out, stderr, code := usestats(t, "token", "revoke", "a", "--store", st); code != 0 || !strings.Contains(out, `"a"`) {
		t.Errorf("revoke NAME --store: exit %d, %q %q", code, out, stderr)
	}
	if out, stderr, code := usestats(t, "token", "revoke", "--store", st, "b"); code != 0 || !strings.Contains(out, `"b"`) {
		t.Errorf("revoke --store NAME: exit %d, %q %q", code, out, stderr)
	}
	if _, stderr, code := usestats(t, "token", "revoke", "a", "b", "--store", st); code != 2 {
		t.Errorf("revoke with two names: exit %d, %q", code, stderr)
	}

	s, err := store.Open(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{"http://127.0.0.1:1", "http://127.0.0.1:2"} {
		if _, err := s.SaveMnetPeer(context.Background(), store.MnetPeer{WWWRoot: root, CertPEM: "x", Layout: "published"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if out, stderr, code := usestats(t, "peer", "remove", "http://127.0.0.1:1", "--store", st); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("peer remove URL --store: exit %d, %q %q", code, out, stderr)
	}
	if out, stderr, code := usestats(t, "peer", "remove", "--store", st, "http://127.0.0.1:2"); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("peer remove --store URL: exit %d, %q %q", code, out, stderr)
	}
	// add: --store after the URL names the store (created, then the key
	// exchange with a closed port fails).
	other := filepath.Join(dir, "other.db")
	_, stderr, code := usestats(t, "peer", "add", "--timeout", "2s", "http://127.0.0.1:1", "--store", "sqlite://"+other, "--wwwroot", "http://127.0.0.1:3")
	if code != 1 || !strings.Contains(stderr, "key exchange") {
		t.Errorf("peer add --timeout URL --store: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("peer add did not use --store after the URL: %v", err)
	}
}
