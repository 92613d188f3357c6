package aggregation_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

func mustScopes(t *testing.T, text string) aggregation.Scopes {
	t.Helper()
	ss, err := aggregation.ParseScopes(text)
	if err != nil {
		t.Fatalf("ParseScopes(%q): %v", text, err)
	}
	return ss
}

func TestParseScope(t *testing.T) {
	good := []struct {
		in   string
		want aggregation.Scope
	}{
		{"site:read", aggregation.SiteScope()},
		{"course:1:read", aggregation.CourseScope(1)},
		{"course:42:read", aggregation.Scope{Kind: aggregation.ScopeCourseRead, ID: 42}},
		{"user:7:self", aggregation.SelfScope(7)},
		{"user:9223372036854775807:self", aggregation.SelfScope(9223372036854775807)},
		{"ws", aggregation.WSScope()},
		{"group:3:read", aggregation.GroupScope(3)},
	}
	for _, tc := range good {
		got, err := aggregation.ParseScope(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseScope(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		if s := got.String(); s != tc.in {
			t.Errorf("ParseScope(%q).String() = %q", tc.in, s)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("ParseScope(%q).Validate() = %v", tc.in, err)
		}
	}

	bad := []struct{ in, why string }{
		{"", "empty"},
		{"site", "unknown scope"},
		{"site:write", "only read"},
		{"site:read:1", "unknown scope"},
		{"site:1:read", "unknown scope"},
		{"SITE:READ", "unknown scope"},
		{"course:read", "unknown scope"},
		{"course:5", "unknown scope"},
		{"course:5:write", "end in :read"},
		{"course:5:self", "end in :read"},
		{"course:0:read", "positive integer"},
		{"course:-3:read", "positive integer"},
		{"course:+3:read", "positive integer"},
		{"course:03:read", "positive integer"},
		{"course:3x:read", "positive integer"},
		{"course::read", "positive integer"},
		{"course:9223372036854775808:read", "positive integer"},
		{"user:7:read", "end in :self"},
		{"user:0:self", "positive integer"},
		{"user:abc:self", "positive integer"},
		{"group:3", "unknown scope"},
		{"group:3:self", "end in :read"},
		{"group:0:read", "positive integer"},
		{"groups:3:read", "unknown scope"},
		{"admin", "unknown scope"},
		{" site:read", "unknown scope"},
		{"WS", "unknown scope"},
		{"ws:read", "unknown scope"},
		{"ws:1", "unknown scope"},
	}
	for _, tc := range bad {
		_, err := aggregation.ParseScope(tc.in)
		if aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("ParseScope(%q): err = %v, want invalid", tc.in, err)
			continue
		}
		msg := aggregation.ErrorMessage(err)
		if !strings.Contains(msg, tc.why) || !strings.Contains(msg, "scope") {
			t.Errorf("ParseScope(%q): message %q does not say %q", tc.in, msg, tc.why)
		}
	}
}

func TestScopeValidate(t *testing.T) {
	for _, s := range []aggregation.Scope{
		{},
		{Kind: 9, ID: 1},
		{Kind: aggregation.ScopeSiteRead, ID: 3},
		aggregation.CourseScope(0),
		aggregation.CourseScope(-1),
		aggregation.SelfScope(0),
		{Kind: aggregation.ScopeWS, ID: 2},
	} {
		if err := s.Validate(); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("%#v.Validate() = %v, want invalid", s, err)
		}
	}
	if _, err := aggregation.NewScopes(aggregation.CourseScope(0)); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("NewScopes(course 0): err = %v, want invalid", err)
	}
	if _, err := aggregation.NewScopes(); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("NewScopes(): err = %v, want invalid", err)
	}
}

func TestParseScopes(t *testing.T) {
	good := []struct{ in, canonical string }{
		{"site:read", "site:read"},
		{"course:12:read course:3:read", "course:3:read course:12:read"},
		{"course:12:read,course:3:read", "course:3:read course:12:read"},
		{" user:7:self ,\tcourse:5:read,,site:read\n", "site:read course:5:read user:7:self"},
		{"course:5:read course:5:read, course:5:read", "course:5:read"},
		{"user:2:self user:1:self", "user:1:self user:2:self"},
		{"ws,user:3:self ws site:read", "site:read user:3:self ws"},
	}
	for _, tc := range good {
		ss, err := aggregation.ParseScopes(tc.in)
		if err != nil {
			t.Errorf("ParseScopes(%q): %v", tc.in, err)
			continue
		}
		if got := ss.String(); got != tc.canonical {
			t.Errorf("ParseScopes(%q).String() = %q, want %q", tc.in, got, tc.canonical)
		}
		again, err := aggregation.ParseScopes(ss.String())
		if err != nil || !again.Equal(ss) || again.String() != ss.String() {
			t.Errorf("round trip of %q: %v, %v", ss.String(), again, err)
		}
		if ss.Len() != len(strings.Fields(tc.canonical)) {
			t.Errorf("ParseScopes(%q).Len() = %d", tc.in, ss.Len())
		}
	}

	bad := []struct{ in, why string }{
		{"", "none given"},
		{"   ", "none given"},
		{" , ,, ", "none given"},
		{"site:read course:0:read", `"course:0:read"`},
		{"course:5:read;course:6:read", "unknown scope"},
		{"course:5:read teacher", `"teacher"`},
	}
	for _, tc := range bad {
		_, err := aggregation.ParseScopes(tc.in)
		if aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("ParseScopes(%q): err = %v, want invalid", tc.in, err)
			continue
		}
		if msg := aggregation.ErrorMessage(err); !strings.Contains(msg, tc.why) {
			t.Errorf("ParseScopes(%q): message %q does not say %q", tc.in, msg, tc.why)
		}
	}
}

func TestScopesSet(t *testing.T) {
	ss, err := aggregation.NewScopes(aggregation.SelfScope(7), aggregation.CourseScope(5), aggregation.SelfScope(7), aggregation.SiteScope())
	if err != nil {
		t.Fatal(err)
	}
	want := []aggregation.Scope{aggregation.SiteScope(), aggregation.CourseScope(5), aggregation.SelfScope(7)}
	if got := ss.List(); !slices.Equal(got, want) {
		t.Fatalf("List() = %v, want %v", got, want)
	}
	list := ss.List()
	list[0] = aggregation.CourseScope(99) // a copy: the set is immutable
	if !ss.Has(aggregation.SiteScope()) || ss.Has(aggregation.CourseScope(99)) {
		t.Error("List() exposes the set's storage")
	}
	if ss.Has(aggregation.CourseScope(7)) || ss.Has(aggregation.SelfScope(5)) {
		t.Error("Has confuses kinds")
	}
	if ss.Equal(mustScopes(t, "site:read course:5:read")) || !ss.Equal(mustScopes(t, "user:7:self,course:5:read site:read")) {
		t.Error("Equal is wrong")
	}
	var zero aggregation.Scopes
	if zero.Len() != 0 || zero.String() != "" || zero.CanReadSite() || zero.CanReadCourse(1) || zero.CanReadUser(1) || zero.CanReadUserInCourse(1, 1) {
		t.Error("the zero Scopes allows something")
	}
	if ids, all := zero.CourseFilter(); all || len(ids) != 0 {
		t.Errorf("zero CourseFilter() = %v, %v", ids, all)
	}
}

// TestScopesDecisions checks every decision method for every kind of token
// against courses 5 (granted to some tokens), 6 (never granted), 0 (site
// level) and users 7 (self of some tokens) and 8 (never self).
func TestScopesDecisions(t *testing.T) {
	const (
		course, otherCourse, siteLevel = 5, 6, 0
		user, otherUser                = 7, 8
	)
	type want struct {
		site                bool
		course, otherCourse bool // CanReadCourse
		user, otherUser     bool // CanReadUser
		// CanReadUserInCourse(user|otherUser, course|otherCourse|siteLevel)
		uc, uo, us    bool
		ouc, ouo, ous bool
		courses       []int64 // CourseFilter ids
		all           bool    // CourseFilter all
		self          []int64 // SelfUserIDs
	}
	tests := []struct {
		scopes string
		want   want
	}{
		{"site:read", want{
			site: true, course: true, otherCourse: true, user: true, otherUser: true,
			uc: true, uo: true, us: true, ouc: true, ouo: true, ous: true,
			all: true}},
		{"course:5:read", want{
			course: true,
			uc:     true, ouc: true,
			courses: []int64{5}}},
		{"user:7:self", want{
			user: true,
			uc:   true, uo: true, us: true,
			self: []int64{7}}},
		{"course:5:read user:7:self", want{
			course: true, user: true,
			uc: true, uo: true, us: true, ouc: true,
			courses: []int64{5}, self: []int64{7}}},
		{"course:6:read course:5:read", want{
			course: true, otherCourse: true,
			uc: true, uo: true, ouc: true, ouo: true,
			courses: []int64{5, 6}}},
		{"user:8:self user:7:self", want{
			user: true, otherUser: true,
			uc: true, uo: true, us: true, ouc: true, ouo: true, ous: true,
			self: []int64{7, 8}}},
		{"course:99:read user:99:self", want{
			courses: []int64{99}, self: []int64{99}}},
		{"site:read course:5:read user:7:self", want{
			site: true, course: true, otherCourse: true, user: true, otherUser: true,
			uc: true, uo: true, us: true, ouc: true, ouo: true, ous: true,
			all: true, self: []int64{7}}},
	}
	for _, tc := range tests {
		t.Run(tc.scopes, func(t *testing.T) {
			ss := mustScopes(t, tc.scopes)
			w := tc.want
			check := func(name string, got, want bool) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			check("CanReadSite()", ss.CanReadSite(), w.site)
			check("CanReadCourse(5)", ss.CanReadCourse(course), w.course)
			check("CanReadCourse(6)", ss.CanReadCourse(otherCourse), w.otherCourse)
			check("CanReadCourse(0)", ss.CanReadCourse(siteLevel), w.site)
			check("CanReadUser(7)", ss.CanReadUser(user), w.user)
			check("CanReadUser(8)", ss.CanReadUser(otherUser), w.otherUser)
			check("CanReadUserInCourse(7, 5)", ss.CanReadUserInCourse(user, course), w.uc)
			check("CanReadUserInCourse(7, 6)", ss.CanReadUserInCourse(user, otherCourse), w.uo)
			check("CanReadUserInCourse(7, 0)", ss.CanReadUserInCourse(user, siteLevel), w.us)
			check("CanReadUserInCourse(8, 5)", ss.CanReadUserInCourse(otherUser, course), w.ouc)
			check("CanReadUserInCourse(8, 6)", ss.CanReadUserInCourse(otherUser, otherCourse), w.ouo)
			check("CanReadUserInCourse(8, 0)", ss.CanReadUserInCourse(otherUser, siteLevel), w.ous)
			// Ids that no scope can name are never granted by course or
			// self scopes.
			check("CanReadUser(0)", ss.CanReadUser(0), w.site)
			check("CanReadCourse(-5)", ss.CanReadCourse(-5), w.site)
			ids, all := ss.CourseFilter()
			if all != w.all || !slices.Equal(ids, w.courses) {
				t.Errorf("CourseFilter() = %v, %v; want %v, %v", ids, all, w.courses, w.all)
			}
			if got := ss.SelfUserIDs(); !slices.Equal(got, w.self) {
				t.Errorf("SelfUserIDs() = %v, want %v", got, w.self)
			}
			// The course filter agrees with CanReadCourse.
			for _, c := range []int64{siteLevel, course, otherCourse, 99} {
				if ss.CanReadCourse(c) != (all || slices.Contains(ids, c)) {
					t.Errorf("CourseFilter disagrees with CanReadCourse(%d)", c)
				}
			}
		})
	}
}

func TestScopeKindString(t *testing.T) {
	for k, want := range map[aggregation.ScopeKind]string{
		aggregation.ScopeSiteRead: "site", aggregation.ScopeCourseRead: "course",
		aggregation.ScopeUserSelf: "user", aggregation.ScopeWS: "ws", 0: "ScopeKind(0)",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", k, got, want)
		}
	}
}

// A ws token reads every user through the web services (CanExport) and
// nothing else; site:read exports too; no other scope does.
func TestScopesExport(t *testing.T) {
	for text, want := range map[string]bool{
		"ws": true, "site:read": true, "ws course:5:read": true,
		"course:5:read": false, "user:7:self": false, "course:5:read user:7:self": false,
	} {
		if got := mustScopes(t, text).CanExport(); got != want {
			t.Errorf("%q.CanExport() = %v, want %v", text, got, want)
		}
	}
	var zero aggregation.Scopes
	if zero.CanExport() {
		t.Error("the zero Scopes exports")
	}
	ws := mustScopes(t, "ws")
	if ws.CanReadSite() || ws.CanReadCourse(5) || ws.CanReadUser(7) || ws.CanReadUserInCourse(7, 5) || ws.CanReadCourse(0) {
		t.Error("a ws token reads through the GraphQL decisions")
	}
	if ids, all := ws.CourseFilter(); all || len(ids) != 0 || len(ws.SelfUserIDs()) != 0 {
		t.Errorf("ws CourseFilter() = %v, %v; SelfUserIDs() = %v", ids, all, ws.SelfUserIDs())
	}
}

// A group scope reads no course, no user and nothing through the web
// services by itself: the group's members are the caller's to check.
func TestGroupScopeReadsOnlyItsGroup(t *testing.T) {
	ss := mustScopes(t, "group:12:read group:4:read")
	if ss.CanReadSite() || ss.CanReadCourse(12) || ss.CanReadCourse(4) || ss.CanReadUser(12) ||
		ss.CanReadUserInCourse(12, 4) || ss.CanExport() {
		t.Errorf("%s reads more than its groups", ss)
	}
	if ids, all := ss.CourseFilter(); all || len(ids) != 0 {
		t.Errorf("course filter %v %v", ids, all)
	}
	if got := ss.GroupIDs(); !slices.Equal(got, []int64{4, 12}) {
		t.Errorf("GroupIDs = %v", got)
	}
	if got := mustScopes(t, "ws group:4:read course:2:read").String(); got != "course:2:read ws group:4:read" {
		t.Errorf("canonical order: %q", got)
	}
}
