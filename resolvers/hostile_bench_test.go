package resolvers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// hostileRepeated is an anonymous document of n repeated __typename
// fields behind a unique comment (which defeats the parsed-query cache).
func hostileRepeated(i, n int) string {
	return fmt.Sprintf("#%d\n{ %s}", i, strings.Repeat("__typename ", n))
}

// BenchmarkHostileRepeatedFields measures what a repeated-field document
// costs the server before it answers. Validation grows with the square of
// n (without the document limits: 0.61 s at n = 2 000, 9.6 s at 10 000 on
// the reference machine); the limits refuse it after one linear parse.
// "accepted" is the dearest shape of its kind the limits let through: 15
// fields each selected 20 times, with a token.
func BenchmarkHostileRepeatedFields(b *testing.B) {
	b.Run("accepted", func(b *testing.B) {
		e := newEnv(b)
		fields := "threshold overAtThreshold credit attribution coalesce splitOnLogin splitOnCourse minSession timeline " +
			"capture ignore dropOrigins keepFailed keepLoginAs keepAnonymous "
		i := 0
		for b.Loop() {
			i++
			r := e.post("site-token", "application/json", fmt.Sprintf("#%d\n{ policies { parameters { %s} } }", i, strings.Repeat(fields, 20)), nil)
			if len(r.Errors) != 0 {
				b.Fatalf("%.300s", r.Body)
			}
		}
	})
	// With a token the document is parsed under the token limit and
	// measured; without one, past the anonymous body bound, it is refused
	// from its length (the refusal delay is off here).
	for _, token := range []string{"site-token", ""} {
		for _, n := range []int{1400, 2000, 10000} {
			who := "token"
			if token == "" {
				who = "anonymous"
			}
			b.Run(fmt.Sprintf("%s/n=%d", who, n), func(b *testing.B) {
				e := newEnv(b)
				i := 0
				for b.Loop() {
					i++
					r := e.post(token, "application/json", hostileRepeated(i, n), nil)
					if r.Status == http.StatusInternalServerError || len(r.Errors) == 0 {
						b.Fatalf("status %d: %.200s", r.Status, r.Body)
					}
				}
			})
		}
	}
}
