package resolvers_test

import (
	"testing"
)

// viewer spells out the token's scopes for every kind of token, ws
// included; without a token it is refused as any field.
func TestViewer(t *testing.T) {
	e := newEnv(t)
	type viewer struct {
		Scopes    []string
		Site      bool
		UserIds   []string
		CourseIds []string
		GroupIds  []string
	}
	for token, want := range map[string]viewer{
		"site-token":        {Scopes: []string{"site:read"}, Site: true, UserIds: []string{}, CourseIds: []string{}, GroupIds: []string{}},
		"course5-token":     {Scopes: []string{"course:5:read"}, UserIds: []string{}, CourseIds: []string{"5"}, GroupIds: []string{}},
		"group51-token":     {Scopes: []string{"group:51:read"}, UserIds: []string{}, CourseIds: []string{}, GroupIds: []string{"51"}},
		"self9-and-course5": {Scopes: []string{"course:5:read", "user:9:self"}, UserIds: []string{"9"}, CourseIds: []string{"5"}, GroupIds: []string{}},
		"ws-token":          {Scopes: []string{"ws"}, UserIds: []string{}, CourseIds: []string{}, GroupIds: []string{}},
	} {
		r := e.post(token, "application/json", `{ viewer { scopes site userIds courseIds groupIds } }`, nil)
		if len(r.Errors) != 0 {
			t.Fatalf("%s: %+v", token, r.Errors)
		}
		var out struct{ Viewer viewer }
		decode(t, r.Data, &out)
		wantEqual(t, token, out.Viewer, want)
	}
	e.fails("", `{ viewer { scopes } }`, nil, "UNAUTHENTICATED")
}
