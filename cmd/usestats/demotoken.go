package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/store"
)

// demoTokenPrefix starts the store names of the demo's tokens.
const demoTokenPrefix = "demo-"

// demoTokenFile is the file, beside the demo database, that keeps the
// demo token from one start to the next (mode 0600).
func demoTokenFile(demoDB string) string { return demoDB + ".token" }

// demoTokenResult is the demo token serve prints, and where it came from.
type demoTokenResult struct {
	plain  string
	reused bool   // read from the file, still valid in the store
	kept   bool   // the file holds it (false: it could not be written)
	note   string // why a new token was made, when one was
}

// demoToken returns the demo token kept in path when the store still
// accepts it as a demo token that reads the site; otherwise it revokes the
// earlier demo tokens, creates a new one and writes it to path (mode 0600,
// replacing the file whole). A file readable or writable by other users is
// not trusted: its token is replaced and the file made 0600. A path that is
// not a regular file is refused. A new token that cannot be written is
// still returned (kept false, with a warning logged): it works until the
// next start.
func demoToken(ctx context.Context, st *store.Store, path string, log *slog.Logger) (demoTokenResult, error) {
	now := time.Now().Unix()
	plain, note, err := readDemoToken(path)
	if err != nil {
		return demoTokenResult{}, err
	}
	if plain != "" {
		tok, err := st.Authenticate(ctx, plain, now)
		switch {
		case err == nil && strings.HasPrefix(tok.Name, demoTokenPrefix) && tok.Scopes.CanReadSite():
			return demoTokenResult{plain: plain, reused: true, kept: true}, nil
		case err == nil:
			note = fmt.Sprintf("%s holds the token %q, not a demo token", path, tok.Name)
		case aggregation.ErrorCode(err) == aggregation.EUnauthenticated:
			note = fmt.Sprintf("the store does not accept the token in %s (revoked, made for another store, or damaged)", path)
		default:
			return demoTokenResult{}, fmt.Errorf("serve: checking the demo token of %s: %w", path, err)
		}
	}
	plain, err = newDemoToken(ctx, st, now)
	if err != nil {
		return demoTokenResult{}, err
	}
	res := demoTokenResult{plain: plain, kept: true, note: note}
	if err := writeDemoToken(path, plain); err != nil {
		log.Warn("the demo token cannot be kept: a new one will be made at the next start", "file", path, "err", err.Error())
		res.kept = false
	}
	return res, nil
}

// readDemoToken reads the token kept in path: "" when there is none, or
// when the file is open to other users (note says so; its token is then
// not used).
func readDemoToken(path string) (plain, note string, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("serve: the demo token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return "", "", aggregation.Errorf(aggregation.EInvalid,
			"serve: the demo token file %s is not a regular file (%s); remove it, or give another --demo-db", path, fi.Mode().Type())
	}
	if loose := fi.Mode().Perm() & 0o077; loose != 0 && runtime.GOOS != "windows" {
		return "", fmt.Sprintf("%s was open to other users (mode %04o): its token is replaced and the file made 0600", path, fi.Mode().Perm()), nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("serve: reading the demo token: %w", err)
	}
	return strings.TrimSpace(string(raw)), "", nil
}

// newDemoToken revokes the earlier demo tokens and creates a fresh one
// that reads the site.
func newDemoToken(ctx context.Context, st *store.Store, now int64) (string, error) {
	toks, err := st.ListTokens(ctx)
	if err != nil {
		return "", fmt.Errorf("serve: demo token: %w", err)
	}
	for _, t := range toks {
		if strings.HasPrefix(t.Name, demoTokenPrefix) && !t.Revoked() {
			if _, err := st.RevokeToken(ctx, t.Name, now); err != nil {
				return "", fmt.Errorf("serve: revoking the earlier demo token %s: %w", t.Name, err)
			}
		}
	}
	scopes, err := aggregation.ParseScopes("site:read")
	if err != nil {
		return "", err
	}
	plain, _, err := st.CreateToken(ctx, fmt.Sprintf("%s%d", demoTokenPrefix, time.Now().UnixNano()), scopes, now)
	if err != nil {
		return "", fmt.Errorf("serve: creating the demo token: %w", err)
	}
	return plain, nil
}

// writeDemoToken replaces path with a file of mode 0600 holding plain:
// written beside it, then renamed into place, so the token is never in a
// file other users may read, nor half written.
func writeDemoToken(path, plain string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("writing the demo token: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	_, err = f.WriteString(plain + "\n")
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("writing the demo token %s: %w", path, err)
	}
	return nil
}

// printDemoToken prints the demo token (demoToken) and how to use it, and,
// when signIn is not empty, the dashboard link that signs in with it
// (signIn followed by the token: the token travels in the URL's fragment,
// which the browser never sends, and the page removes it from the
// address); a new token is logged with the reason it replaced the kept
// one.
func printDemoToken(ctx context.Context, stdout io.Writer, st *store.Store, path, signIn string, log *slog.Logger) error {
	tok, err := demoToken(ctx, st, path, log)
	if err != nil {
		return err
	}
	if tok.note != "" {
		log.Warn("a new demo token replaces the kept one", "file", path, "why", tok.note)
	}
	fmt.Fprintf(stdout, "demo token (site:read): %s\n", tok.plain)
	fmt.Fprintf(stdout, "  send it as the header  Authorization: Bearer %s\n", tok.plain)
	switch {
	case tok.reused:
		fmt.Fprintf(stdout, "  the same as at the last start, kept in %s\n", path)
	case tok.kept:
		fmt.Fprintf(stdout, "  kept in %s (mode 0600): the same token at the next start\n", path)
	}
	if signIn != "" {
		fmt.Fprintf(stdout, "dashboard, signed in: %s%s\n", signIn, tok.plain)
	}
	return nil
}
