package resolvers_test

import (
	"testing"
)

// viewer spells out the token's scopes for every kind of token, ws
// included; without a token it is refused as any field.
func TestViewer(t *testing.T) {
	e := newEnv(t)
	withGroups(e)
	none := []struct{ ID, CourseID string }{}
	type viewer struct {
		Scopes    []string
		Site      bool
		UserIds   []string
		CourseIds []string
		GroupIds  []string
		Groups    []struct{ ID, CourseID string }
	}
	for token, want := range map[string]viewer{
		"site-token":    {Scopes: []string{"site:read"}, Site: true, UserIds: []string{}, CourseIds: []string{}, GroupIds: []string{}, Groups: none},
		"course5-token": {Scopes: []string{"course:5:read"}, UserIds: []string{}, CourseIds: []string{"5"}, GroupIds: []string{}, Groups: none},
		"group51-token": {Scopes: []string{"group:51:read"}, UserIds: []string{}, CourseIds: []string{}, GroupIds: []string{"51"},
			Groups: []struct{ ID, CourseID string }{{"51", "5"}}},
		"self9-and-course5": {Scopes: []string{"course:5:read", "user:9:self"}, UserIds: []string{"9"}, CourseIds: []string{"5"}, GroupIds: []string{}, Groups: none},
		"ws-token":          {Scopes: []string{"ws"}, UserIds: []string{}, CourseIds: []string{}, GroupIds: []string{}, Groups: none},
	} {
		r := e.post(token, "application/json", `{ viewer { scopes site userIds courseIds groupIds groups { id courseId } } }`, nil)
		if len(r.Errors) != 0 {
			t.Fatalf("%s: %+v", token, r.Errors)
		}
		var out struct{ Viewer viewer }
		decode(t, r.Data, &out)
		wantEqual(t, token, out.Viewer, want)
	}
	e.fails("", `{ viewer { scopes } }`, nil, "UNAUTHENTICATED")
	// A group's teacher reads the policies (its dashboard's policy picker)
	// as any token that reads statistics; ws does not.
	if r := e.post("group51-token", "application/json", `{ policies { name } }`, nil); len(r.Errors) != 0 {
		t.Errorf("policies with a group token: %+v", r.Errors)
	}
	e.fails("ws-token", `{ policies { name } }`, nil, "FORBIDDEN")
}
