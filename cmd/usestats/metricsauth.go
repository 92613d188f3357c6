package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// requireBearer lets a request through to next only when it carries
// "Authorization: Bearer <token>"; any other request is answered 401. An
// empty token lets every request through (/metrics without
// --metrics-token). Both sides are hashed before the constant-time
// comparison, so neither the token's bytes nor its length show in the
// time a refusal takes.
func requireBearer(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(bearerToken(r.Header.Get("Authorization"))))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="usestats metrics"`)
			http.Error(w, "401 unauthorized: send Authorization: Bearer <the --metrics-token>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerToken is the credential of an Authorization header value of the
// Bearer scheme (named in any case), or "".
func bearerToken(header string) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}
