package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// A token that passed is not checked again within the TTL; a revoked one
// is refused once it expires; a refused one is checked every time.
func TestTokenAuthCache(t *testing.T) {
	ctx := context.Background()
	st, err := openStore(ctx, "sqlite://"+filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	scopes, _ := aggregation.ParseScopes("site:read")
	clock := time.Now()
	plain, _, err := st.CreateToken(ctx, "erp", scopes, clock.Unix())
	if err != nil {
		t.Fatal(err)
	}
	auth := newTokenAuth(st, 5*time.Second, func() time.Time { return clock })
	check := func(token string, want bool) {
		t.Helper()
		s, err := auth(ctx, token)
		if got := err == nil; got != want {
			t.Fatalf("token passed %v, want %v (%v)", got, want, err)
		}
		if want && !s.CanReadSite() {
			t.Fatalf("scopes lost: %v", s)
		}
	}
	check(plain, true)
	if _, err := st.RevokeToken(ctx, "erp", clock.Unix()); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(4 * time.Second)
	check(plain, true) // within the TTL: not asked again
	clock = clock.Add(time.Second)
	check(plain, false) // the TTL is over: the revocation holds
	check(plain, false)
	check("not-a-token", false)

	every := newTokenAuth(st, 0, nil) // 0: every request checked
	other, _, err := st.CreateToken(ctx, "other", scopes, time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	check2 := func(want bool) {
		t.Helper()
		if _, err := every(ctx, other); (err == nil) != want {
			t.Fatalf("with no TTL: passed %v, want %v", err == nil, want)
		}
	}
	check2(true)
	if _, err := st.RevokeToken(ctx, "other", time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	check2(false)
}

// A negative --cache-ttl stops serve before anything starts.
func TestServeCacheTTLRefused(t *testing.T) {
	_, stderr, code := usestats(t, "serve", "--cache-ttl", "-1s", "--demo-db", t.TempDir()+"/demo.db")
	if code == 0 || !strings.Contains(stderr, "--cache-ttl") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
