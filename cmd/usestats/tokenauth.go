package main

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/internal/ttlcache"
	"github.com/usestats/usestats/store"
)

// tokenAuthEntries bounds the tokens kept as checked; tokenAuthRefreshes
// the checks of kept tokens run again in the background at once.
const (
	tokenAuthEntries   = 10_000
	tokenAuthRefreshes = 4
)

// tokenAuth is the API-token check of GraphQL and the exports (see
// newTokenAuth).
type tokenAuth struct {
	st      *store.Store
	now     func() time.Time
	passed  *ttlcache.Cache[[sha256.Size]byte, aggregation.Scopes]
	refresh *ttlcache.Refresher
}

// newTokenAuth returns the store's token check, with each token that
// passed kept as passed for ttl (keyed by its SHA-256, never by the
// token), so a client's requests do not each read the store; a token used
// after half the TTL is checked again in the background, so a client in
// use never waits for that check. A revoked or expired token is refused
// within ttl; a refused one is checked again every time. A ttl of 0
// checks every request. now is the clock (nil = time.Now).
func newTokenAuth(st *store.Store, ttl time.Duration, now func() time.Time) *tokenAuth {
	if now == nil {
		now = time.Now
	}
	a := &tokenAuth{st: st, now: now, passed: ttlcache.New[[sha256.Size]byte, aggregation.Scopes](ttl, tokenAuthEntries, now)}
	if ttl > 0 {
		a.refresh = ttlcache.NewRefresher(tokenAuthRefreshes, ttl)
	}
	return a
}

// check returns the scopes of a valid token, or an EUnauthenticated error.
func (a *tokenAuth) check(ctx context.Context, token string) (aggregation.Scopes, error) {
	return ttlcache.Fetch(ctx, a.passed, a.refresh, sha256.Sum256([]byte(token)), func(ctx context.Context) (aggregation.Scopes, error) {
		tok, err := a.st.Authenticate(ctx, token, a.now().Unix())
		return tok.Scopes, err
	}, func(err error) bool { return aggregation.ErrorCode(err) == aggregation.EUnauthenticated })
}

// wait waits until the background checks started so far have ended.
func (a *tokenAuth) wait() { a.refresh.Wait() }
