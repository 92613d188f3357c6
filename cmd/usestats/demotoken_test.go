package main

import (
	"bytes"
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/store"
)

// fileToken is the token a demo token file holds, failing the test unless
// the file is private (0600).
func fileToken(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no demo token file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %04o, want 0600", path, fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	return strings.TrimSpace(string(raw))
}

// The demo token survives a restart: the second start in the same folder
// prints the token of the first, read from the 0600 file beside the demo
// database, and the token still answers.
func TestServeDemoTokenSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	path := demoTokenFile(filepath.Join(dir, "demo.db"))
	first := startServer(t, bin, dir)
	if got := fileToken(t, path); got != first.token {
		t.Errorf("the file holds %q, the first start printed %q", got, first.token)
	}
	first.stop(t)

	second := startServer(t, bin, dir)
	if second.token != first.token {
		t.Errorf("the restart printed a new token %q, want the first start's %q", second.token, first.token)
	}
	if code, resp := second.query(t, first.token, `{ policies { name } }`, nil); code != http.StatusOK || resp["errors"] != nil {
		t.Errorf("the first start's token after the restart: %d %v", code, resp)
	}
	if got := fileToken(t, path); got != first.token {
		t.Errorf("the restart rewrote the file: %q", got)
	}
}

// demoStore is a new store in a temporary folder, and the demo token file
// beside a demo database there.
func demoStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := openStore(context.Background(), "sqlite://"+filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, demoTokenFile(filepath.Join(dir, "demo.db"))
}

// A kept token is used again only while the store accepts it as a demo
// token; a revoked one, another token, or a file open to other users gets
// a new token, written 0600 (the old demo token revoked).
func TestDemoTokenFile(t *testing.T) {
	ctx := context.Background()
	st, path := demoStore(t)
	var logs bytes.Buffer
	log := quietLog(&logs)
	get := func(what string, wantReused bool) string {
		t.Helper()
		tok, err := demoToken(ctx, st, path, log)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if tok.reused != wantReused || !tok.kept {
			t.Errorf("%s: reused %v kept %v, want reused %v", what, tok.reused, tok.kept, wantReused)
		}
		if got := fileToken(t, path); got != tok.plain {
			t.Errorf("%s: the file holds %q, not the token %q", what, got, tok.plain)
		}
		return tok.plain
	}
	accepted := func(plain string) bool {
		_, err := st.Authenticate(ctx, plain, time.Now().Unix())
		return err == nil
	}

	first := get("first start", false)
	if again := get("second start", true); again != first {
		t.Errorf("second start: %q, want %q", again, first)
	}

	if _, err := st.RevokeToken(ctx, mustTokenName(t, st, first), time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	afterRevoke := get("after revoke", false)
	if afterRevoke == first {
		t.Error("a revoked token was used again")
	}

	scopes, _ := aggregation.ParseScopes("course:2:read")
	other, _, err := st.CreateToken(ctx, "erp", scopes, time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := get("another token in the file", false); got == other || !accepted(other) {
		t.Errorf("another token in the file: used %v, or revoked (accepted %v)", got == other, accepted(other))
	}

	leaked := get("before chmod", true)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := get("file open to others", false); got == leaked {
		t.Error("the token of a file open to other users was used again")
	}
	if accepted(leaked) {
		t.Error("the token of a file open to other users is still accepted")
	}

	if err := os.WriteFile(path, []byte("not a token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	get("a damaged file", false)
}

// mustTokenName is the store name of a token.
func mustTokenName(t *testing.T, st *store.Store, plain string) string {
	t.Helper()
	tok, err := st.Authenticate(context.Background(), plain, time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	return tok.Name
}

// A token file that is not a regular file (here a symbolic link to a
// file other users may read) is refused, and left as it is; a file that
// cannot be written leaves a working token, not kept, and a warning.
func TestDemoTokenFileRefusedOrNotKept(t *testing.T) {
	ctx := context.Background()
	st, path := demoStore(t)
	var logs bytes.Buffer
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	_, err := demoToken(ctx, st, path, quietLog(&logs))
	if aggregation.ErrorCode(err) != aggregation.EInvalid || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symbolic link: %v", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("the link was changed: %v", err)
	}

	// A folder that does not exist, as one that cannot be written.
	path = demoTokenFile(filepath.Join(t.TempDir(), "gone", "demo.db"))
	tok, err := demoToken(ctx, st, path, quietLog(&logs))
	if err != nil || tok.kept || tok.plain == "" {
		t.Errorf("unwritable file: %+v, %v; want a token, not kept", tok, err)
	}
	if !strings.Contains(logs.String(), "cannot be kept") {
		t.Errorf("no warning:\n%s", logs.String())
	}
}
