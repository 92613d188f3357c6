package resolvers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/resolvers"
)

const (
	jsonType  = "application/json; charset=utf-8"
	gqlType   = "application/graphql-response+json; charset=utf-8"
	okQuery   = `{ policies { name } }`
	someQuery = `query Q { policies { name } }`
)

func rawPost(body, contentType, accept string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	req.Header.Set("Authorization", "Bearer site-token")
	return req
}

// Content negotiation: the response's media type follows Accept.
func TestContentNegotiation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ accept, want string }{
		{"", jsonType},
		{"application/json", jsonType},
		{"application/graphql-response+json", gqlType},
		{"application/graphql-response+json, application/json;q=0.9", gqlType},
		{"application/json, application/graphql-response+json", jsonType},
		{"*/*", jsonType},
		{"text/html, application/*", jsonType},
	} {
		r := e.post("site-token", tc.accept, okQuery, nil)
		if r.Status != http.StatusOK || r.Header.Get("Content-Type") != tc.want || len(r.Errors) != 0 {
			t.Errorf("Accept %q: status %d, Content-Type %q, want 200 %q: %s", tc.accept, r.Status, r.Header.Get("Content-Type"), tc.want, r.Body)
		}
	}
	// Nothing acceptable: 406.
	r := e.post("site-token", "text/html", okQuery, nil)
	wantEqual(t, "text/html status", r.Status, http.StatusNotAcceptable)
	// GET answers the same.
	r = e.get("site-token", "application/graphql-response+json", okQuery)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != gqlType || !strings.Contains(string(r.Data), "usestats") {
		t.Errorf("GET: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	req := httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(`query($id: ID!) { user(by: {id: $id}) { id } }`)+
		"&variables="+url.QueryEscape(`{"id": "7"}`), nil)
	req.Header.Set("Authorization", "Bearer site-token")
	r = e.request(req)
	if r.Status != http.StatusOK || string(r.Data) != `{"user":{"id":"7"}}` {
		t.Errorf("GET with variables: %d %s", r.Status, r.Body)
	}
}

// Status codes of the GraphQL-over-HTTP spec, per media type: requests
// that fail before execution are 4xx under application/graphql-response+json
// (with no data entry) and 200 under application/json, except requests
// that are not well-formed (400 under both); field errors are 200.
func TestStatusCodes(t *testing.T) {
	e := newEnv(t)
	type want struct {
		json, gql int
		code      string
		data      bool // whether the answer has a data entry
	}
	for _, tc := range []struct {
		name, body string
		want       want
	}{
		{"ok", `{"query": "{ policies { name } }"}`, want{200, 200, "", true}},
		{"field error", `{"query": "{ user(by: {id: 999}) { id } }"}`, want{200, 200, "NOT_FOUND", true}},
		{"malformed JSON", `{"query": "{ policies`, want{400, 400, "BAD_REQUEST", false}},
		{"not JSON", `NONSENSE`, want{400, 400, "BAD_REQUEST", false}},
		{"empty body", ``, want{400, 400, "BAD_REQUEST", false}},
		{"query not a string", `{"query": 7}`, want{400, 400, "BAD_REQUEST", false}},
		{"variables not an object", `{"query": "{ policies { name } }", "variables": [7]}`, want{400, 400, "BAD_REQUEST", false}},
		{"missing query", `{"qeury": "{ policies { name } }"}`, want{400, 400, "BAD_REQUEST", false}},
		{"null query", `{"query": null}`, want{400, 400, "BAD_REQUEST", false}},
		{"empty query", `{"query": ""}`, want{400, 400, "BAD_REQUEST", false}},
		{"blank query", `{"query": " "}`, want{200, 400, "GRAPHQL_VALIDATION_FAILED", false}},
		{"parse error", `{"query": "{"}`, want{200, 400, "GRAPHQL_PARSE_FAILED", false}},
		{"unknown field", `{"query": "{ nonesuch }"}`, want{200, 400, "GRAPHQL_VALIDATION_FAILED", false}},
		{"unknown argument", `{"query": "{ policies(all: true) { name } }"}`, want{200, 400, "GRAPHQL_VALIDATION_FAILED", false}},
		{"unknown operation", `{"query": "query A { policies { name } }", "operationName": "B"}`, want{200, 400, "GRAPHQL_VALIDATION_FAILED", false}},
		{"missing variable", `{"query": "query($by: UserBy!) { user(by: $by) { id } }"}`, want{200, 400, "GRAPHQL_VALIDATION_FAILED", false}},
		{"unknown input field in variable", `{"query": "query($by: UserBy!) { user(by: $by) { id } }", "variables": {"by": {"idd": 7}}}`, want{200, 400, "GRAPHQL_VALIDATION_FAILED", false}},
		{"variable of the wrong type", `{"query": "query($n: Int) { users(first: $n) { pageInfo { hasNextPage } } }", "variables": {"n": "ten"}}`, want{200, 400, "GRAPHQL_VALIDATION_FAILED", false}},
		{"mutation", `{"query": "mutation { policies { name } }"}`, want{200, 400, "GRAPHQL_VALIDATION_FAILED", false}},
		{"extra body keys are ignored", `{"query": "{ policies { name } }", "foo": 1, "extensions": null}`, want{200, 200, "", true}},
	} {
		for _, accept := range []string{"application/json", "application/graphql-response+json"} {
			r := e.request(rawPost(tc.body, "application/json", accept))
			status := tc.want.json
			if accept != "application/json" {
				status = tc.want.gql
			}
			if r.Status != status {
				t.Errorf("%s, %s: status %d, want %d: %s", tc.name, accept, r.Status, status, r.Body)
			}
			var code string
			if codes := r.codes(); len(codes) > 0 {
				code = codes[0]
			}
			if code != tc.want.code {
				t.Errorf("%s, %s: code %q, want %q: %s", tc.name, accept, code, tc.want.code, r.Body)
			}
			if _, ok := r.Keys["data"]; ok != tc.want.data {
				t.Errorf("%s, %s: data entry present = %t, want %t: %s", tc.name, accept, ok, tc.want.data, r.Body)
			}
		}
	}
	// A malformed body is not echoed back.
	r := e.request(rawPost(`{"query": "secret-looking-body`, "application/json", ""))
	if strings.Contains(string(r.Body), "secret-looking-body") {
		t.Errorf("the body is echoed: %s", r.Body)
	}
}

func TestMethodsAndPaths(t *testing.T) {
	e := newEnv(t)
	// No Content-Type on POST: 4xx.
	if r := e.request(rawPost(`{"query": "{ policies { name } }"}`, "", "")); r.Status/100 != 4 {
		t.Errorf("POST without Content-Type: %d", r.Status)
	}
	if r := e.request(rawPost(`{ policies { name } }`, "text/plain", "")); r.Status/100 != 4 {
		t.Errorf("POST text/plain: %d", r.Status)
	}
	req := httptest.NewRequest(http.MethodPut, "/graphql", strings.NewReader("{}"))
	r := e.request(req)
	wantEqual(t, "PUT", [2]any{r.Status, r.Header.Get("Allow")}, [2]any{http.StatusMethodNotAllowed, "GET, POST, OPTIONS"})
	r = e.request(httptest.NewRequest(http.MethodOptions, "/graphql", nil))
	wantEqual(t, "OPTIONS", [2]any{r.Status, r.Header.Get("Allow")}, [2]any{http.StatusOK, "GET, POST, OPTIONS"})
	// GET without a query is not a GraphQL request.
	r = e.get("site-token", "application/graphql-response+json", "")
	wantEqual(t, "GET without query", [3]any{r.Status, r.Header.Get("Content-Type"), r.codes()}, [3]any{http.StatusBadRequest, gqlType, []string{"BAD_REQUEST"}})
	// A mutation over GET is refused before execution.
	r = e.get("site-token", "application/graphql-response+json", `mutation { policies { name } }`)
	wantEqual(t, "GET mutation", r.Status, http.StatusBadRequest)
	// The handler serves /graphql only (the web pages are cmd/usestats').
	for _, path := range []string{"/", "/elsewhere"} {
		if r := e.request(httptest.NewRequest(http.MethodGet, path, nil)); r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, r.Status)
		}
	}
}

func TestLimits(t *testing.T) {
	e := newEnv(t)
	// Deeper than 12 fields.
	deep := nest("user(by: {id: 7})", "stats", "courses", "course", "participants", "edges", "node", "user",
		"stats", "courses", "course", "participants", "edges", "node", "user", "id")
	for _, accept := range []string{"application/json", "application/graphql-response+json"} {
		r := e.post("site-token", accept, deep, nil)
		wantEqual(t, "deep: codes", r.codes(), []string{"DEPTH_LIMIT_EXCEEDED"})
		if _, ok := r.Keys["data"]; ok {
			t.Errorf("deep: data entry: %s", r.Body)
		}
	}
	wantEqual(t, "deep status (graphql-response+json)", e.post("site-token", "application/graphql-response+json", deep, nil).Status, http.StatusBadRequest)
	// Depth through fragments counts too.
	frag := nest("user(by: {id: 7})", "...A") +
		" fragment A on User " + strings.TrimSpace(nest("stats", "courses", "course", "participants", "edges", "node", "user", "...B")) +
		" fragment B on User " + strings.TrimSpace(nest("stats", "courses", "course", "participants", "edges", "node", "user", "id"))
	wantEqual(t, "deep fragments", e.post("site-token", "", frag, nil).codes(), []string{"DEPTH_LIMIT_EXCEEDED"})
	// Exactly at the limit passes.
	atLimit := nest("user(by: {id: 7})", "stats", "courses", "course", "participants(first: 2)", "edges", "node", "user",
		"stats", "courses", "course", "id")
	if r := e.post("site-token", "", atLimit, nil); len(r.Errors) != 0 {
		t.Errorf("depth 11: %s", r.Body)
	}

	// Too complex: a full page of users, each with its modules.
	wide := `{ users(first: 100) { edges { node { stats { total explain(limit: 500) { eventId time gap credit reason }
	  courses { total days { date elapsed events } modules { cmid name idnumber type elapsed events firstAccess lastAccess } } } } } } }`
	r := e.post("site-token", "application/graphql-response+json", wide, nil)
	wantEqual(t, "wide: status", r.Status, http.StatusBadRequest)
	wantEqual(t, "wide: codes", r.codes(), []string{"COMPLEXITY_LIMIT_EXCEEDED"})
	// Many aliases of a statistic.
	var b strings.Builder
	b.WriteString("{")
	for i := range 500 {
		fmt.Fprintf(&b, " a%d: user(by: {id: 7}) { stats { total } }", i)
	}
	b.WriteString(" }")
	wantEqual(t, "aliases", e.post("site-token", "", b.String(), nil).codes(), []string{"DOCUMENT_LIMIT_EXCEEDED"})
	// A course page of 100 participants at module scope stays within the
	// default limit.
	page := `{ course(by: {id: 5}) { participants(first: 100) { edges { cursor node { user { id username fullname }
	  stats { total courseTime activityTime otherTime events modules { cmid name elapsed } grade { grade percentage } } } }
	  pageInfo { hasNextPage endCursor } } } }`
	if r := e.post("site-token", "", page, nil); len(r.Errors) != 0 {
		t.Errorf("100 participants: %s", r.Body)
	}
	// Participant.stats is a log scan per row: a plain page of 100 scans is
	// accepted, but nested under a user's courses (a list whose length no
	// argument bounds) the same page is priced once per estimated course
	// and refused before it runs.
	plain := `{ course(by: {id: 5}) { participants(first: 100) { edges { node { stats { total } } } } } }`
	if r := e.post("site-token", "", plain, nil); len(r.Errors) != 0 {
		t.Errorf("plain 100 participants: %s", r.Body)
	}
	scans := e.logs.Scans()
	nested := `{ user(by: {id: 7}) { stats { courses { course { participants(first: 100) { edges { node { stats { total } } } } } } } } }`
	r = e.post("site-token", "application/graphql-response+json", nested, nil)
	wantEqual(t, "courses → participants: status", r.Status, http.StatusBadRequest)
	wantEqual(t, "courses → participants: codes", r.codes(), []string{"COMPLEXITY_LIMIT_EXCEEDED"})
	wantEqual(t, "courses → participants: scans", e.logs.Scans()-scans, 0)
	// Many participants' statistics by aliases are priced per scan too.
	b.Reset()
	b.WriteString("{ course(by: {id: 5}) {")
	for i := range 4 {
		fmt.Fprintf(&b, " p%d: participants(first: 100) { edges { node { stats { total } } } }", i)
	}
	b.WriteString(" } }")
	wantEqual(t, "aliased pages", e.post("site-token", "", b.String(), nil).codes(), []string{"COMPLEXITY_LIMIT_EXCEEDED"})

	// Huge documents: too many tokens, or a body over 1 MiB.
	huge := "{ policies { " + strings.Repeat("name ", 30000) + "} }"
	r = e.post("site-token", "application/graphql-response+json", huge, nil)
	wantEqual(t, "huge: status", r.Status, http.StatusBadRequest)
	wantEqual(t, "huge: codes", r.codes(), []string{"DOCUMENT_LIMIT_EXCEEDED"})
	big := `{"query": "{ policies { name } }", "pad": "` + strings.Repeat("x", 2<<20) + `"}`
	wantEqual(t, "big body", e.request(rawPost(big, "application/json", "")).Status, http.StatusRequestEntityTooLarge)
}

func TestPagination(t *testing.T) {
	e := newEnv(t)
	const q = `query($first: Int, $after: String) { users(first: $first, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		Users struct {
			Edges []struct {
				Cursor string
				Node   struct{ ID string }
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
	var ids []string
	var after any
	for range 10 {
		var p page
		e.ok("site-token", q, map[string]any{"first": 2, "after": after}, &p)
		for _, edge := range p.Users.Edges {
			ids = append(ids, edge.Node.ID)
		}
		if !p.Users.PageInfo.HasNextPage {
			wantEqual(t, "last page end cursor", *p.Users.PageInfo.EndCursor, p.Users.Edges[len(p.Users.Edges)-1].Cursor)
			break
		}
		after = *p.Users.PageInfo.EndCursor
	}
	wantEqual(t, "all users in id order", ids, []string{"7", "9", "20", "22", "23"})
	// Default page size, an empty page.
	var p page
	e.ok("site-token", q, nil, &p)
	wantEqual(t, "default page", [2]any{len(p.Users.Edges), p.Users.PageInfo.HasNextPage}, [2]any{5, false})
	e.ok("site-token", q, map[string]any{"first": 0}, &p)
	wantEqual(t, "first: 0", [3]any{len(p.Users.Edges), p.Users.PageInfo.HasNextPage, p.Users.PageInfo.EndCursor}, [3]any{0, false, (*string)(nil)})
	// After the last user: an empty page.
	e.ok("site-token", q, map[string]any{"first": 5}, &p)
	e.ok("site-token", q, map[string]any{"after": *p.Users.PageInfo.EndCursor}, &p)
	wantEqual(t, "past the end", len(p.Users.Edges), 0)

	// Participants page the same way; their cursors belong to their course.
	var pp participantsPage
	e.ok("site-token", participantsQuery, map[string]any{"course": 8, "first": 1}, &pp)
	wantEqual(t, "course 8 first page", [2]any{pp.Course.Participants.Edges[0].Node.User.ID, pp.Course.Participants.PageInfo.HasNextPage}, [2]any{"9", true})
	cursor := *pp.Course.Participants.PageInfo.EndCursor
	e.ok("site-token", participantsQuery, map[string]any{"course": 8, "first": 1, "after": cursor}, &pp)
	wantEqual(t, "course 8 last page", [3]any{pp.Course.Participants.Edges[0].Node.User.ID, pp.Course.Participants.Edges[0].Node.Stats.Total, pp.Course.Participants.PageInfo.HasNextPage}, [3]any{"20", int64(1200), false})

	for _, tc := range []struct {
		query string
		vars  map[string]any
	}{
		{q, map[string]any{"after": "not-a-cursor"}},
		{q, map[string]any{"after": ""}},
		{q, map[string]any{"after": cursor}}, // a participants cursor
		{q, map[string]any{"first": 101}},
		{q, map[string]any{"first": -1}},
		{participantsQuery, map[string]any{"course": 5, "after": cursor}}, // course 8's cursor
		{`query($first: Int) { course(by: {id: 5}) { participants(first: $first) { edges { cursor } } } }`, map[string]any{"first": 1000}},
	} {
		r := e.post("site-token", "application/json", tc.query, tc.vars)
		wantEqual(t, fmt.Sprintf("%v: codes", tc.vars), r.codes(), []string{"BAD_USER_INPUT"})
	}
}

// Failures of the data sources are INTERNAL (UNAVAILABLE when the source
// cannot be reached) with a generic message; the real error is logged,
// never sent.
func TestInternalErrors(t *testing.T) {
	e := newEnv(t)
	e.dir.SetFailure(errors.New("pq: password authentication failed for user moodle at 10.9.8.7"))
	r := e.fails("site-token", `{ user(by: {username: "learner7"}) { id } }`, nil, "INTERNAL")
	wantEqual(t, "message", r.Errors[0].Message, "internal error")
	if strings.Contains(string(r.Body), "10.9.8.7") || !strings.Contains(e.log.String(), "10.9.8.7") {
		t.Errorf("body %s, log %s", r.Body, e.log)
	}
	// An unreachable source is UNAVAILABLE, and 503 when nothing was
	// answered, whether the error says so or is the driver's own.
	for _, fail := range []error{
		aggregation.Errorf(aggregation.EUnavailable, "moodle database at 10.9.8.7 unreachable"),
		fmt.Errorf("moodle: find course: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED, Addr: &net.TCPAddr{IP: net.IPv4(10, 9, 8, 7)}}),
		fmt.Errorf("moodle: find course: reading 10.9.8.7: %w", io.ErrUnexpectedEOF),
	} {
		e.dir.SetFailure(fail)
		for _, accept := range []string{"application/json", "application/graphql-response+json"} {
			r = e.post("site-token", accept, `{ course(by: {shortname: "C5"}) { id } }`, nil)
			wantEqual(t, "unavailable: status", r.Status, http.StatusServiceUnavailable)
			wantEqual(t, "unavailable: codes", r.codes(), []string{"UNAVAILABLE"})
			wantEqual(t, "unavailable: message", r.Errors[0].Message, "a data source is unavailable; try again later")
			if strings.Contains(string(r.Body), "10.9.8.7") {
				t.Errorf("body %s", r.Body)
			}
		}
		// With data beside it, the answer is 200.
		r = e.post("site-token", "application/json", `{ policies { name } course(by: {shortname: "C5"}) { id } }`, nil)
		wantEqual(t, "unavailable beside data: status", r.Status, http.StatusOK)
	}
	// A field error leaves the rest of the answer.
	e.dir.SetFailure(nil)
	e.dir.SetPanics("Users")
	r = e.post("site-token", "application/json", `{ policies { name } user(by: {id: 7}) { id } }`, nil)
	wantEqual(t, "panic: codes", r.codes(), []string{"INTERNAL"})
	wantEqual(t, "panic: message", r.Errors[0].Message, "internal error")
	if !strings.Contains(string(r.Data), `"usestats"`) || !strings.Contains(e.log.String(), "directory exploded") {
		t.Errorf("data %s, log %s", r.Data, e.log)
	}
	// A panic in the lookups prefetched for a participants page (grades,
	// activity names) fails those fields, not the request or the server.
	for _, method := range []string{"Grades", "Modules", "CourseMembers"} {
		e.dir.SetPanics("Users", method)
		r = e.post("site-token", "application/json", `{ policies { name } course(by: {id: 5}) { participants(first: 10) {
		  edges { node { stats { total modules { name } grade { grade } } } } } } }`, nil)
		if len(r.Errors) == 0 || r.Errors[0].Extensions["code"] != "INTERNAL" || !strings.Contains(string(r.Data), `"usestats"`) {
			t.Errorf("panic in %s: %d %s", method, r.Status, r.Body)
		}
		if !strings.Contains(e.log.String(), "directory exploded in "+method) {
			t.Errorf("panic in %s not logged", method)
		}
	}
	e.dir.SetPanics("Users")
	// A panic reading the log fails that statistic (the query service
	// recovers it and logs its stack), not the request or the server.
	e.dir.SetPanics()
	e.logs.panicFor = 9
	r = e.post("site-token", "application/json", `{ a: user(by: {id: 7}) { stats { total } } b: user(by: {id: 9}) { stats { total } } }`, nil)
	wantEqual(t, "log panic: codes", r.codes(), []string{"INTERNAL"})
	wantEqual(t, "log panic: message", r.Errors[0].Message, "internal error")
	if !strings.Contains(string(r.Data), `"total":`) || !strings.Contains(e.log.String(), "corrupt log row") || !strings.Contains(e.log.String(), "goroutine") {
		t.Errorf("data %s, log %s", r.Data, e.log)
	}
	e.logs.panicFor = 0
	var ok map[string]any
	e.ok("site-token", `{ user(by: {id: 9}) { stats { total } } }`, nil, &ok)
}

// The request deadline reaches the log scan: a stuck database stops, with
// a TIMEOUT error.
func TestDeadline(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.Timeout = 50 * time.Millisecond })
	e.logs.block = true
	start := time.Now()
	r := e.fails("site-token", `{ user(by: {id: 7}) { stats { total } } }`, nil, "TIMEOUT")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	wantEqual(t, "message", r.Errors[0].Message, "the request deadline was exceeded")
	// Nothing answered: 504.
	r = e.post("site-token", "application/json", `{ a: user(by: {id: 7}) { stats { total } } }`, nil)
	wantEqual(t, "nothing answered: status", r.Status, http.StatusOK) // user 7 was answered
	e.dir.SetBlocking("FindUser")
	r = e.post("site-token", "application/json", `{ user(by: {username: "learner7"}) { id } }`, nil)
	wantEqual(t, "blocked lookup: status", r.Status, http.StatusGatewayTimeout)
	wantEqual(t, "blocked lookup: codes", r.codes(), []string{"TIMEOUT"})
}

// A deadline that passes before execution (a slow credential check or
// validation) is a TIMEOUT error and 504, never 200 with the body null.
func TestDeadlineBeforeExecution(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.Timeout = 20 * time.Millisecond
		c.Authenticate = func(ctx context.Context, token string) (aggregation.Scopes, error) {
			<-ctx.Done()
			return authenticate(context.Background(), token)
		}
	})
	for _, accept := range []string{"application/json", "application/graphql-response+json"} {
		r := e.post("site-token", accept, okQuery, nil)
		if r.Status != http.StatusGatewayTimeout || string(r.Body) == "null" {
			t.Errorf("%s: status %d: %s", accept, r.Status, r.Body)
		}
		wantEqual(t, "codes", r.codes(), []string{"TIMEOUT"})
	}
}

func TestConfig(t *testing.T) {
	if _, err := resolvers.NewHandler(resolvers.Config{}); err == nil {
		t.Error("a config without sources must be refused")
	}
	e := newEnv(t)
	_, err := resolvers.NewHandler(resolvers.Config{Service: e.service(nil, 0, nil), Directory: e.dir, Authenticate: authenticate, MaxDepth: -1})
	if err == nil {
		t.Error("a negative limit must be refused")
	}
	// A lower complexity limit applies.
	small := newEnv(t, func(c *envConfig) { c.MaxComplexity = 5 })
	wantEqual(t, "small limit", small.post("site-token", "", `{ user(by: {id: 7}) { stats { total events } } }`, nil).codes(), []string{"COMPLEXITY_LIMIT_EXCEEDED"})
	shallow := newEnv(t, func(c *envConfig) { c.MaxDepth = 2 })
	wantEqual(t, "shallow limit", shallow.post("site-token", "", `{ user(by: {id: 7}) { stats { total } } }`, nil).codes(), []string{"DEPTH_LIMIT_EXCEEDED"})
}

// nest builds { a { b { … last } } }.
func nest(fields ...string) string {
	var b strings.Builder
	b.WriteString("{ ")
	for i, f := range fields {
		b.WriteString(f)
		if i < len(fields)-1 {
			b.WriteString(" { ")
		}
	}
	b.WriteString(strings.Repeat(" }", len(fields)))
	return b.String()
}
