package resolvers_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// narrowRefusals are pairs of lookups a course:5:read token is refused:
// a user who exists outside course 5, and one who does not exist.
var narrowRefusals = []struct{ name, existing, unknown string }{
	{"by id", `{ user(by: {id: 20}) { id } }`, `{ user(by: {id: 999}) { id } }`},
	{"by username", `{ user(by: {username: "learner20"}) { id } }`, `{ user(by: {username: "nobody"}) { id } }`},
	{"by email", `{ user(by: {email: "learner20@example.org"}) { id } }`, `{ user(by: {email: "nobody@example.org"}) { id } }`},
}

// A narrow token is refused an existing user of another course with the
// same answer and the same directory lookups as an unknown user, so that
// neither the answer nor its time tells whether the user exists.
func TestNarrowRefusalSameLookups(t *testing.T) {
	e := newEnv(t)
	for _, tc := range narrowRefusals {
		for _, token := range []string{"course5-token", "self7-token"} {
			calls := func(q string) map[string]int {
				e.dir.ResetCalls()
				r := e.fails(token, q, nil, "FORBIDDEN")
				wantEqual(t, tc.name+": message", r.Errors[0].Message, "this token may not read that user")
				return e.dir.Calls()
			}
			existing, unknown := calls(tc.existing), calls(tc.unknown)
			if fmt.Sprint(existing) != fmt.Sprint(unknown) {
				t.Errorf("%s, %s: lookups %v for an existing user, %v for an unknown one", tc.name, token, existing, unknown)
			}
		}
	}
}

// BenchmarkNarrowRefusal times the two refusals of each pair in turns,
// with 100 µs per directory call (a database round trip), and reports
// the median of each and their difference.
func BenchmarkNarrowRefusal(b *testing.B) {
	for _, tc := range narrowRefusals {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b)
			e.dir.SetLatency(100 * time.Microsecond)
			var existing, unknown []time.Duration
			timed := func(q string) time.Duration {
				start := time.Now()
				r := e.post("course5-token", "application/json", q, nil)
				d := time.Since(start)
				if c := r.codes(); len(c) != 1 || c[0] != "FORBIDDEN" {
					b.Fatalf("%v: %s", c, r.Body)
				}
				return d
			}
			for b.Loop() {
				existing = append(existing, timed(tc.existing))
				unknown = append(unknown, timed(tc.unknown))
			}
			me, mu := median(existing), median(unknown)
			b.ReportMetric(float64(me.Nanoseconds()), "existing-median-ns")
			b.ReportMetric(float64(mu.Nanoseconds()), "unknown-median-ns")
			b.ReportMetric(float64((me - mu).Nanoseconds()), "diff-ns")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
