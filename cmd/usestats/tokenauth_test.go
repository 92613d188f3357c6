package main

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// A token that passed is not checked again within half the TTL, and in
// the background when used after that; a revoked one is refused once that
// check ran or the TTL is over; a refused one is checked every time.
func TestTokenAuthCache(t *testing.T) {
	ctx := context.Background()
	st, err := openStore(ctx, "sqlite://"+filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	scopes, _ := aggregation.ParseScopes("site:read")
	var clock atomic.Int64 // nanoseconds; the background checks read it too
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	plain, _, err := st.CreateToken(ctx, "erp", scopes, now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	auth := newTokenAuth(st, 5*time.Second, now)
	check := func(token string, want bool) {
		t.Helper()
		s, err := auth.check(ctx, token)
		auth.wait()
		if got := err == nil; got != want {
			t.Fatalf("token passed %v, want %v (%v)", got, want, err)
		}
		if want && !s.CanReadSite() {
			t.Fatalf("scopes lost: %v", s)
		}
	}
	check(plain, true)
	if _, err := st.RevokeToken(ctx, "erp", now().Unix()); err != nil {
		t.Fatal(err)
	}
	advance(2 * time.Second)
	check(plain, true) // within half the TTL: not asked again
	advance(3 * time.Second)
	check(plain, false) // the TTL is over: the revocation holds
	check(plain, false)
	check("not-a-token", false)

	used, _, err := st.CreateToken(ctx, "dashboard", scopes, now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	check(used, true)
	advance(3 * time.Second)
	check(used, true) // past half the TTL: kept, and checked again in the background
	advance(3 * time.Second)
	check(used, true) // 6 s after its first check: still kept, from that background check
	if _, err := st.RevokeToken(ctx, "dashboard", now().Unix()); err != nil {
		t.Fatal(err)
	}
	advance(3 * time.Second)
	check(used, true)  // kept, checked again: revoked
	check(used, false) // refused before the TTL is over

	every := newTokenAuth(st, 0, nil).check // 0: every request checked
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
