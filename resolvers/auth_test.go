package resolvers_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	const q = `{ policies { name } }`
	for _, tc := range []struct{ name, header string }{
		{"no token", ""},
		{"wrong token", "Bearer not-a-token"},
		{"revoked token", "Bearer revoked-token"},
		{"empty bearer", "Bearer "},
		{"other scheme", "Basic c2l0ZS10b2tlbjo="},
		{"token without scheme", "site-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, accept := range []string{"application/json", "application/graphql-response+json"} {
				req := postRequest(q, nil)
				req.Header.Set("Accept", accept)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				r := e.request(req)
				wantEqual(t, accept+": codes", r.codes(), []string{"UNAUTHENTICATED"})
				if _, ok := r.Keys["data"]; ok {
					t.Errorf("%s: a refused operation has a data entry: %s", accept, r.Body)
				}
				want := http.StatusOK // application/json: 200 for every well-formed request
				if accept == "application/graphql-response+json" {
					want = http.StatusUnauthorized
				}
				wantEqual(t, accept+": status", r.Status, want)
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: WWW-Authenticate = %q", accept, r.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		req := postRequest(q, nil)
		req.Header.Set("Authorization", "bearer site-token")
		if r := e.request(req); r.Status != http.StatusOK || len(r.Errors) != 0 {
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("token store down", func(t *testing.T) {
		r := e.post("store-down", "application/graphql-response+json", q, nil)
		wantEqual(t, "codes", r.codes(), []string{"INTERNAL"})
		wantEqual(t, "status", r.Status, http.StatusInternalServerError)
		if strings.Contains(string(r.Body), "10.1.2.3") || !strings.Contains(e.log.String(), "10.1.2.3") {
			t.Errorf("the store's error must be logged, never sent: body %s", r.Body)
		}
	})
	// A store that cannot be reached is UNAVAILABLE, 503 under both media
	// types.
	t.Run("token store refuses connections", func(t *testing.T) {
		for _, accept := range []string{"application/json", "application/graphql-response+json"} {
			r := e.post("store-refused", accept, q, nil)
			wantEqual(t, "codes", r.codes(), []string{"UNAVAILABLE"})
			wantEqual(t, "status", r.Status, http.StatusServiceUnavailable)
		}
	})
	// Introspection alone needs no token: GraphiQL loads the schema first.
	t.Run("introspection without token", func(t *testing.T) {
		for _, q := range []string{
			`{ __typename }`,
			`query Q { __schema { queryType { name } } }`,
			`{ __type(name: "User") { name } ...F } fragment F on Query { __typename }`,
		} {
			r := e.post("", "application/json", q, nil)
			if r.Status != http.StatusOK || len(r.Errors) != 0 {
				t.Errorf("%s: status %d: %s", q, r.Status, r.Body)
			}
		}
		// Data next to introspection still needs the token.
		r := e.post("", "application/json", `{ __typename policies { name } }`, nil)
		wantEqual(t, "mixed", r.codes(), []string{"UNAUTHENTICATED"})
		r = e.post("", "application/json", `{ ...F } fragment F on Query { policies { name } }`, nil)
		wantEqual(t, "through a fragment", r.codes(), []string{"UNAUTHENTICATED"})
	})
}

// site:read reads everything.
func TestScopeSite(t *testing.T) {
	e := newEnv(t)
	type edges struct {
		Edges []struct {
			Node struct {
				ID   string
				User struct{ ID string }
			}
		}
	}
	var out struct {
		A *struct {
			Stats *struct {
				Restricted bool
				Total      int64
				Site       *struct{ Elapsed int64 }
				Sessions   []struct{ Start int64 }
				Explain    []struct{ Reason string }
			}
		}
		B *edges
		C *struct{ Participants *edges }
	}
	e.ok("site-token", `{ a: user(by: {id: 7}) { stats { restricted total site { elapsed } sessions { start } explain(limit: 1) { reason } } }
	  b: users(first: 1) { edges { node { id } } } c: course(by: {id: 8}) { participants { edges { node { user { id } } } } } }`, nil, &out)
	if out.A == nil || out.A.Stats == nil || out.A.Stats.Site == nil || out.B == nil || out.C == nil || out.C.Participants == nil {
		t.Fatalf("null data for the site token: %+v", out)
	}
	// learner7 by hand (query_test.go, TestExplain): laps 60 (site) + 120 +
	// 600 + 300 + 10 + 900 + 120 = 2110 over two sessions; the first lap is
	// a gap.
	s := out.A.Stats
	wantEqual(t, "learner7", [5]any{s.Restricted, s.Total, s.Site.Elapsed, len(s.Sessions), len(s.Explain)},
		[5]any{false, int64(2110), int64(60), 2, 1})
	wantEqual(t, "first lap", s.Explain[0].Reason, "gap")
	wantEqual(t, "first user", len(out.B.Edges), 1)
	wantEqual(t, "first user id", out.B.Edges[0].Node.ID, "7")
	var ids []string
	for _, edge := range out.C.Participants.Edges {
		ids = append(ids, edge.Node.User.ID)
	}
	wantEqual(t, "course 8 participants", ids, []string{"9", "20"})
}

// user:<id>:self reads that user's own statistics, all of them, and
// nothing of anyone else; it never reads a whole course.
func TestScopeSelf(t *testing.T) {
	e := newEnv(t)
	u := e.user("self7-token", map[string]any{"by": map[string]any{"username": "learner7"}})
	wantEqual(t, "own stats", [3]any{u.Stats.Total, u.Stats.Restricted, len(u.Stats.Sessions)}, [3]any{int64(2110), false, 2})
	wantEqual(t, "own course name", u.Stats.Courses[0].Course.Shortname, "C5")

	for _, q := range []string{
		`{ user(by: {id: 9}) { id } }`,                   // someone else
		`{ user(by: {username: "nobody"}) { id } }`,      // nobody: FORBIDDEN too, never NOT_FOUND
		`{ user(by: {id: 999}) { id } }`,                 // idem by id
		`{ users { edges { node { id } } } }`,            // listing users
		`{ course(by: {id: 5}) { id } }`,                 // a whole course
		`{ course(by: {shortname: "nonesuch"}) { id } }`, // a course that does not exist
	} {
		e.fails("self7-token", q, nil, "FORBIDDEN")
	}
	// The participants of a course reached through one's own statistics
	// stay closed.
	r := e.fails("self7-token", `{ user(by: {id: 7}) { stats { courses { course { shortname participants { edges { node { user { id } } } } } } } } }`, nil, "FORBIDDEN")
	wantEqual(t, "path", r.Errors[0].Path, []any{"user", "stats", "courses", 0.0, "course", "participants"})
	if !strings.Contains(string(r.Data), `"shortname":"C5"`) {
		t.Errorf("the course itself stays readable: %s", r.Data)
	}
}

// ws is the web services' scope: it reads no statistics through GraphQL.
func TestScopeWS(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{
		`{ user(by: {id: 7}) { id } }`,
		`{ user(by: {username: "learner7"}) { stats { total } } }`,
		`{ users { edges { node { id } } } }`,
		`{ course(by: {id: 5}) { id } }`,
		`{ course(by: {id: 5}) { participants { edges { node { user { id } } } } } }`,
		`{ policies { name } }`,
	} {
		e.fails("ws-token", q, nil, "FORBIDDEN")
	}
}

// course:<id>:read reads the course, its participants and their time in
// that course only.
func TestScopeCourse(t *testing.T) {
	e := newEnv(t)
	// learner9 takes part in courses 5 and 8: a course 5 token sees only
	// course 5, totals included.
	r := e.post("course5-token", "application/json", fullUserQuery, map[string]any{"by": map[string]any{"id": 9}})
	var out struct{ User user }
	decode(t, r.Data, &out)
	s := out.User.Stats
	wantEqual(t, "restricted", s.Restricted, true)
	wantEqual(t, "courses", len(s.Courses), 1)
	wantEqual(t, "course 5 only", [3]any{s.Courses[0].CourseID, s.Total, s.Events}, [3]any{"5", int64(1560), 4})
	wantEqual(t, "course 5 days", s.Days, []dayStat{{"2023-11-16", 1560, 4}})
	// The whole-user fields are refused, each with its path; the rest of
	// the answer stays.
	var paths []string
	for _, err := range r.Errors {
		if err.Extensions["code"] != "FORBIDDEN" {
			t.Errorf("error %+v, want FORBIDDEN", err)
		}
		paths = append(paths, pathString(err.Path))
	}
	wantEqual(t, "refused fields", sortStrings(paths), []string{"user.stats.sessionSummary", "user.stats.sessions", "user.stats.site"})
	wantEqual(t, "refused fields are null", [3]bool{s.Site == nil, s.Sessions == nil, s.SessionSummary == nil}, [3]bool{true, true, true})
	e.fails("course5-token", `{ user(by: {id: 9}) { stats { explain { reason } } } }`, nil, "FORBIDDEN")

	// learner20 is not in course 5; nobody is FORBIDDEN too.
	e.fails("course5-token", `{ user(by: {id: 20}) { id } }`, nil, "FORBIDDEN")
	e.fails("course5-token", `{ user(by: {username: "nobody"}) { id } }`, nil, "FORBIDDEN")
	// Course 8 and the user list are closed; course 5 is open.
	e.fails("course5-token", `{ course(by: {id: 8}) { id } }`, nil, "FORBIDDEN")
	e.fails("course5-token", `{ course(by: {shortname: "C8"}) { id } }`, nil, "FORBIDDEN")
	e.fails("course5-token", `{ course(by: {id: 999}) { id } }`, nil, "FORBIDDEN")
	e.fails("course5-token", `{ users { edges { node { id } } } }`, nil, "FORBIDDEN")
	var c struct{ Course struct{ Shortname string } }
	e.ok("course5-token", `{ course(by: {idnumber: "c5"}) { shortname } }`, nil, &c)
	wantEqual(t, "course 5", c.Course.Shortname, "C5")

	// A participant's own statistics through the page are limited to the
	// course as well.
	var page struct {
		Course struct {
			Participants struct {
				Edges []struct {
					Node struct {
						User struct {
							Stats struct {
								Restricted bool
								Total      int64
								Courses    []struct{ CourseID string }
							}
						}
					}
				}
			}
		}
	}
	e.ok("course8-token", `{ course(by: {id: 8}) { participants { edges { node { user { stats { restricted total courses { courseId } } } } } } } }`, nil, &page)
	n := page.Course.Participants.Edges[0].Node.User.Stats
	wantEqual(t, "learner9 seen from course 8", [3]any{n.Restricted, n.Total, len(n.Courses)}, [3]any{true, int64(400), 1})

	// A token with both scopes of a user reads everything of them.
	u := e.user("self9-and-course5", map[string]any{"by": map[string]any{"id": 9}})
	wantEqual(t, "self beats course", [2]any{u.Stats.Restricted, u.Stats.Total}, [2]any{false, int64(1960)})
}
