package resolvers_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// bodyCounter counts the bytes a handler reads of a request body.
type bodyCounter struct {
	r io.Reader
	n int
}

func (c *bodyCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// fullIntrospection asks what a GraphQL IDE asks of a schema on load.
const fullIntrospection = `query Introspect {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...Type }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...Input } }
  }
}
fragment Type on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...Input } type { ...Ref } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...Input }
  interfaces { ...Ref }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...Ref }
}
fragment Input on __InputValue { name description type { ...Ref } defaultValue isDeprecated deprecationReason }
fragment Ref on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

// Documents are measured before validation: over a limit they are refused
// with DOCUMENT_LIMIT_EXCEEDED (400 under application/graphql-response+json),
// whoever sends them.
func TestDocumentLimits(t *testing.T) {
	e := newEnv(t)
	repeat := func(n int, sel string) string { return "{ " + strings.Repeat(sel+" ", n) + "}" }
	for _, tc := range []struct{ name, query string }{
		{"repeated fields", repeat(10000, "__typename")},
		{"repeated data fields", "{ policies { " + strings.Repeat("name ", 50) + "} }"},
		{"repeats through inline fragments", repeat(50, "... on Query { __typename }")},
		{"repeats through fragments", "{ " + func() string {
			var b strings.Builder
			for i := range 30 {
				fmt.Fprintf(&b, "...F%d ", i)
			}
			for i := range 30 {
				fmt.Fprintf(&b, "} fragment F%d on Query { __typename ", i)
			}
			return b.String()
		}() + "}"},
		{"fields through nested fragments", `{ __type(name: "User") { ...T6 } }` + func() string {
			// Each fragment selects the next four times: 4⁶ fields.
			b := "fragment T0 on __Type { name }"
			for i := 1; i <= 6; i++ {
				b += fmt.Sprintf(" fragment T%d on __Type { a: ofType { ...T%d } b: ofType { ...T%d } c: ofType { ...T%d } d: ofType { ...T%d } }", i, i-1, i-1, i-1, i-1)
			}
			return b
		}()},
		{"too many fields", "{ " + strings.Repeat("policies { name threshold credit coalesce } ", 1) + func() string {
			var b strings.Builder
			for i := range 90 {
				fmt.Fprintf(&b, "p%d: policies { name threshold credit coalesce minSession splitOnLogin splitOnCourse logout keepFailed keepLoginAs keepAnonymous skipGraded enrolmentFilter scorm version description site attribution timeline capture ignore } ", i)
			}
			return b.String()
		}() + "}"},
		{"too many aliases", "{ " + func() string {
			var b strings.Builder
			for i := range 101 {
				fmt.Fprintf(&b, "a%d: __typename ", i)
			}
			return b.String()
		}() + "}"},
		{"too many root fields", repeat(31, "policies { name }")},
		{"too many tokens", "{ policies { " + strings.Repeat("name ", 30000) + "} }"},
		{"fragment cycle", `{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }`},
	} {
		for _, token := range []string{"site-token", ""} {
			r := e.post(token, "application/graphql-response+json", tc.query, nil)
			status := http.StatusBadRequest
			if token == "" && len(tc.query) > 16<<10 {
				status = http.StatusRequestEntityTooLarge // refused from its length, unread
			}
			if got := r.codes(); len(got) != 1 || got[0] != "DOCUMENT_LIMIT_EXCEEDED" || r.Status != status {
				if tc.name == "repeated data fields" || tc.name == "too many fields" || tc.name == "too many root fields" {
					if token == "" && len(got) == 1 && got[0] == "UNAUTHENTICATED" && r.Status == http.StatusUnauthorized {
						continue // anonymous data: refused first for the credential
					}
				}
				t.Errorf("%s (token %q): status %d, codes %v: %.300s", tc.name, token, r.Status, got, r.Body)
			}
			if _, ok := r.Keys["data"]; ok {
				t.Errorf("%s: data entry", tc.name)
			}
			if len(r.Body) > 400 {
				t.Errorf("%s: %d-byte answer", tc.name, len(r.Body))
			}
		}
	}
	// A full introspection passes without a token, and so does a
	// reasonable page of statistics with one.
	if r := e.post("", "application/graphql-response+json", fullIntrospection, nil); r.Status != http.StatusOK || len(r.Errors) != 0 {
		t.Errorf("introspection: %d %.300s", r.Status, r.Body)
	}
	page := `{ course(by: {id: 5}) { participants(first: 100) { edges { cursor node { user { id username fullname }
	  stats { total courseTime activityTime otherTime events modules { cmid name elapsed } grade { grade percentage } } } }
	  pageInfo { hasNextPage endCursor } } } }`
	if r := e.post("site-token", "", page, nil); len(r.Errors) != 0 {
		t.Errorf("page: %s", r.Body)
	}
}

// Without credentials only a small introspection document is taken; any
// other is UNAUTHENTICATED (401) before validation.
func TestAnonymousLimits(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, query, code string }{
		{"data", `{ policies { name } }`, "UNAUTHENTICATED"},
		{"data behind a fragment", `{ ...F } fragment F on Query { policies { name } }`, "UNAUTHENTICATED"},
		{"data in a second operation", `query A { __typename } query B { policies { name } }`, "UNAUTHENTICATED"},
		{"data behind nested fragments", `{ ...F } fragment F on Query { ...G } fragment G on Query { __typename policies { name } }`, "UNAUTHENTICATED"},
		{"an invalid data field", `{ nonesuch }`, "UNAUTHENTICATED"},
		{"long", "{ __typename }" + strings.Repeat(" ", 17<<10), "DOCUMENT_LIMIT_EXCEEDED"}, // 413
		{"aliased schemas", "{ " + func() string {
			var b strings.Builder
			for i := range 6 {
				fmt.Fprintf(&b, "s%d: __schema { queryType { name } } ", i)
			}
			return b.String()
		}() + "}", "DOCUMENT_LIMIT_EXCEEDED"},
		{"aliases within", `{ __schema { a: types { name } b: types { name } c: types { name } d: types { name } e: types { name } f: types { name } } }`, "DOCUMENT_LIMIT_EXCEEDED"},
	} {
		r := e.post("", "application/graphql-response+json", tc.query, nil)
		want := http.StatusBadRequest
		switch {
		case tc.code == "UNAUTHENTICATED":
			want = http.StatusUnauthorized
		case tc.name == "long":
			want = http.StatusRequestEntityTooLarge
		}
		if got := r.codes(); r.Status != want || len(got) != 1 || got[0] != tc.code {
			t.Errorf("%s: status %d, codes %v, want %d %s: %.300s", tc.name, r.Status, got, want, tc.code, r.Body)
		}
		// A token lifts the anonymous limits (the aliases stay within
		// the general ones).
		if tc.name == "aliases within" {
			if r := e.post("site-token", "", tc.query, nil); len(r.Errors) != 0 {
				t.Errorf("%s with a token: %.300s", tc.name, r.Body)
			}
		}
	}
	// A body over the anonymous bound is refused from its length, unread
	// (an unread body is drained by net/http, not decoded), and one that
	// does not say its length is cut where it passes the bound.
	unread := &bodyCounter{r: strings.NewReader(strings.Repeat(" ", 20<<10))}
	req := httptest.NewRequest(http.MethodPost, "/graphql", unread)
	req.ContentLength = 20 << 10
	if r := e.request(req); r.Status != http.StatusRequestEntityTooLarge || unread.n != 0 {
		t.Errorf("long body: status %d after reading %d bytes: %.300s", r.Status, unread.n, r.Body)
	}
	chunked := &bodyCounter{r: strings.NewReader(`{"query":"{ __typename }` + strings.Repeat(" ", 40<<10) + `"}`)}
	req = httptest.NewRequest(http.MethodPost, "/graphql", chunked)
	req.ContentLength = -1
	if r := e.request(req); r.Status != http.StatusRequestEntityTooLarge || chunked.n > 20<<10 {
		t.Errorf("long chunked body: status %d after reading %d bytes: %.300s", r.Status, chunked.n, r.Body)
	}
	// With a token the general bound applies.
	if r := e.post("site-token", "", "{ __typename }"+strings.Repeat(" ", 20<<10), nil); len(r.Errors) != 0 {
		t.Errorf("long body with a token: %.300s", r.Body)
	}
	// Introspection fields stay open.
	if r := e.post("", "", `{ __type(name: "User") { name } __typename ...F } fragment F on Query { ...G } fragment G on Query { __typename }`, nil); len(r.Errors) != 0 {
		t.Errorf("open introspection: %s", r.Body)
	}
}

// Anonymous documents refused by a limit are answered after the refusal
// delay; the same documents with a token, and accepted anonymous ones,
// are answered at once.
func TestRefusalDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	e := newEnv(t, func(c *envConfig) { c.RefusalDelay = delay })
	timed := func(token, query string) (*response, time.Duration) {
		start := time.Now()
		r := e.post(token, "", query, nil)
		return r, time.Since(start)
	}
	repeated := "{ " + strings.Repeat("__typename ", 100) + "}"
	for _, tc := range []struct {
		name, token, query string
		code               string
		held               bool
	}{
		{"anonymous over a limit", "", repeated, "DOCUMENT_LIMIT_EXCEEDED", true},
		{"anonymous over the body bound", "", "{ __typename }" + strings.Repeat(" ", 20<<10), "DOCUMENT_LIMIT_EXCEEDED", true},
		{"with a token", "site-token", repeated, "DOCUMENT_LIMIT_EXCEEDED", false},
		{"anonymous data", "", "{ policies { name } }", "UNAUTHENTICATED", false},
		{"anonymous introspection", "", "{ __typename }", "", false},
	} {
		r, took := timed(tc.token, tc.query)
		if got := r.codes(); (tc.code == "" && len(got) != 0) || (tc.code != "" && (len(got) != 1 || got[0] != tc.code)) {
			t.Errorf("%s: codes %v, want %q: %.300s", tc.name, got, tc.code, r.Body)
		}
		if held := took >= delay; held != tc.held {
			t.Errorf("%s: answered after %v, held %v, want %v", tc.name, took, held, tc.held)
		}
	}
}
