package main

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/internal/ttlcache"
	"github.com/usestats/usestats/store"
)

// tokenAuthEntries bounds the tokens kept as checked.
const tokenAuthEntries = 10_000

// newTokenAuth returns the API-token check of GraphQL and the exports:
// the store's, with each token that passed kept as passed for ttl (keyed
// by its SHA-256, never by the token), so a client's requests do not
// each read the store. A revoked or expired token is refused within ttl;
// a refused one is checked again every time. A ttl of 0 checks every
// request. now is the clock (nil = time.Now).
func newTokenAuth(st *store.Store, ttl time.Duration, now func() time.Time) func(context.Context, string) (aggregation.Scopes, error) {
	if now == nil {
		now = time.Now
	}
	passed := ttlcache.New[[sha256.Size]byte, aggregation.Scopes](ttl, tokenAuthEntries, now)
	return func(ctx context.Context, token string) (aggregation.Scopes, error) {
		key := sha256.Sum256([]byte(token))
		if s, ok := passed.Get(key); ok {
			return s, nil
		}
		tok, err := st.Authenticate(ctx, token, now().Unix())
		if err != nil {
			return aggregation.Scopes{}, err
		}
		passed.Put(key, tok.Scopes)
		return tok.Scopes, nil
	}
}
