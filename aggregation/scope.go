package aggregation

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// ScopeKind is what a scope grants.
type ScopeKind uint8

// The scope kinds, in their canonical order.
const (
	// ScopeSiteRead ("site:read") reads everything.
	ScopeSiteRead ScopeKind = iota + 1
	// ScopeCourseRead ("course:<id>:read") reads one course's statistics
	// and its participants' statistics in that course.
	ScopeCourseRead
	// ScopeUserSelf ("user:<id>:self") reads one user's own statistics,
	// in every course and at site level.
	ScopeUserSelf
	// ScopeWS ("ws") is an ERP's grant: every user's statistics through
	// the Moodle web-service functions only (what block/use_stats:export
	// gives a Moodle token), nothing through GraphQL.
	ScopeWS
	// ScopeGroupRead ("group:<id>:read") reads one course group: its
	// members' statistics in the group's course and the group's
	// aggregates (a teacher who sees only their group). It reads nothing
	// of the rest of the course, nor through the web services.
	ScopeGroupRead
)

// String returns the kind's name: "site", "course", "user" or "ws".
func (k ScopeKind) String() string {
	switch k {
	case ScopeSiteRead:
		return "site"
	case ScopeCourseRead:
		return "course"
	case ScopeUserSelf:
		return "user"
	case ScopeWS:
		return "ws"
	case ScopeGroupRead:
		return "group"
	}
	return "ScopeKind(" + strconv.Itoa(int(k)) + ")"
}

// scopeSyntax is the list of accepted forms, quoted in every parse error.
const scopeSyntax = "want site:read, course:<id>:read, group:<id>:read, user:<id>:self or ws"

// Scope is one grant of an API token: a kind and, for course and user
// scopes, the id of the course or user it names (0 for the site and ws
// scopes).
type Scope struct {
	Kind ScopeKind
	ID   int64
}

// SiteScope returns the site:read scope.
func SiteScope() Scope { return Scope{Kind: ScopeSiteRead} }

// CourseScope returns the course:<id>:read scope.
func CourseScope(courseID int64) Scope { return Scope{Kind: ScopeCourseRead, ID: courseID} }

// SelfScope returns the user:<id>:self scope.
func SelfScope(userID int64) Scope { return Scope{Kind: ScopeUserSelf, ID: userID} }

// GroupScope returns the group:<id>:read scope.
func GroupScope(groupID int64) Scope { return Scope{Kind: ScopeGroupRead, ID: groupID} }

// WSScope returns the ws scope.
func WSScope() Scope { return Scope{Kind: ScopeWS} }

// Validate returns an EInvalid error when the kind is unknown, a course or
// user scope has a non-positive id, or the site or ws scope carries an id.
func (s Scope) Validate() error {
	switch s.Kind {
	case ScopeSiteRead, ScopeWS:
		if s.ID != 0 {
			return Errorf(EInvalid, "scope: %s takes no id (got %d)", s.String(), s.ID)
		}
		return nil
	case ScopeCourseRead, ScopeUserSelf, ScopeGroupRead:
		if s.ID <= 0 {
			return Errorf(EInvalid, "scope: %s id must be a positive integer (got %d)", s.Kind, s.ID)
		}
		return nil
	}
	return Errorf(EInvalid, "scope: unknown kind %d; %s", s.Kind, scopeSyntax)
}

// String returns the scope in the form ParseScope reads: "site:read",
// "course:<id>:read", "user:<id>:self" or "ws".
func (s Scope) String() string {
	switch s.Kind {
	case ScopeSiteRead:
		return "site:read"
	case ScopeWS:
		return "ws"
	case ScopeCourseRead:
		return "course:" + strconv.FormatInt(s.ID, 10) + ":read"
	case ScopeUserSelf:
		return "user:" + strconv.FormatInt(s.ID, 10) + ":self"
	case ScopeGroupRead:
		return "group:" + strconv.FormatInt(s.ID, 10) + ":read"
	}
	return "invalid:" + strconv.Itoa(int(s.Kind)) + ":" + strconv.FormatInt(s.ID, 10)
}

// compare orders scopes by kind, then id: the canonical order of Scopes.
func (s Scope) compare(o Scope) int {
	if s.Kind != o.Kind {
		return int(s.Kind) - int(o.Kind)
	}
	switch {
	case s.ID < o.ID:
		return -1
	case s.ID > o.ID:
		return 1
	}
	return 0
}

// ParseScope reads one scope: "site:read", "course:<id>:read",
// "user:<id>:self" or "ws", where <id> is a positive decimal integer
// without sign or leading zero. Anything else is an EInvalid error naming
// the input.
func ParseScope(text string) (Scope, error) {
	parts := strings.Split(text, ":")
	bad := func(why string) (Scope, error) {
		return Scope{}, Errorf(EInvalid, "scope %q: %s", text, why)
	}
	switch {
	case text == "":
		return bad("empty; " + scopeSyntax)
	case text == "ws":
		return WSScope(), nil
	case len(parts) == 2 && parts[0] == "site":
		if parts[1] != "read" {
			return bad("the site scope grants only read (site:read)")
		}
		return SiteScope(), nil
	case len(parts) == 3 && (parts[0] == "course" || parts[0] == "user" || parts[0] == "group"):
		kind, verb := ScopeCourseRead, "read"
		switch parts[0] {
		case "user":
			kind, verb = ScopeUserSelf, "self"
		case "group":
			kind = ScopeGroupRead
		}
		if parts[2] != verb {
			return bad(parts[0] + " scopes end in :" + verb + " (" + parts[0] + ":<id>:" + verb + ")")
		}
		id, ok := parseScopeID(parts[1])
		if !ok {
			return bad(parts[0] + " id must be a positive integer")
		}
		return Scope{Kind: kind, ID: id}, nil
	}
	return bad("unknown scope; " + scopeSyntax)
}

// parseScopeID reads a positive decimal id in canonical form, so that
// String round-trips exactly.
func parseScopeID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// Scopes is an immutable set of scopes, the grants of one credential. The
// zero value is the empty set, which allows nothing.
type Scopes struct {
	list []Scope // sorted by Scope.compare, no duplicates
}

// NewScopes returns the set of the given scopes, duplicates removed. It
// returns an EInvalid error when a scope is invalid or none is given.
func NewScopes(scopes ...Scope) (Scopes, error) {
	if len(scopes) == 0 {
		return Scopes{}, Errorf(EInvalid, "scopes: none given; %s", scopeSyntax)
	}
	for _, s := range scopes {
		if err := s.Validate(); err != nil {
			return Scopes{}, err
		}
	}
	list := slices.Clone(scopes)
	slices.SortFunc(list, Scope.compare)
	return Scopes{list: slices.Compact(list)}, nil
}

// ParseScopes reads a list of scopes separated by spaces and/or commas, as
// written by Scopes.String or typed by an administrator
// ("site:read", "course:12:read,course:13:read", "user:7:self", "ws").
// Duplicates are removed. An empty list, an unknown scope or a bad id is an
// EInvalid error.
func ParseScopes(text string) (Scopes, error) {
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(fields) == 0 {
		return Scopes{}, Errorf(EInvalid, "scopes: none given; %s", scopeSyntax)
	}
	list := make([]Scope, 0, len(fields))
	for _, f := range fields {
		s, err := ParseScope(f)
		if err != nil {
			return Scopes{}, err
		}
		list = append(list, s)
	}
	return NewScopes(list...)
}

// String returns the scopes separated by single spaces in canonical order
// (site, then courses, then users, each by id, then ws, then groups by
// id). ParseScopes reads it back to an equal set.
func (ss Scopes) String() string {
	var b strings.Builder
	for i, s := range ss.list {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// List returns the scopes in canonical order (a copy).
func (ss Scopes) List() []Scope { return slices.Clone(ss.list) }

// Len returns the number of scopes in the set.
func (ss Scopes) Len() int { return len(ss.list) }

// Has reports whether the set holds exactly scope s.
func (ss Scopes) Has(s Scope) bool {
	_, found := slices.BinarySearchFunc(ss.list, s, Scope.compare)
	return found
}

// Equal reports whether both sets hold the same scopes.
func (ss Scopes) Equal(o Scopes) bool { return slices.Equal(ss.list, o.list) }

// CanReadSite reports whether the scopes read everything: site-wide
// statistics, every course and every user.
func (ss Scopes) CanReadSite() bool { return ss.Has(SiteScope()) }

// CanReadCourse reports whether the scopes read course-level statistics of
// courseID (totals over its participants): site:read or course:<courseID>:read.
// A self scope never reads a whole course.
func (ss Scopes) CanReadCourse(courseID int64) bool {
	return ss.CanReadSite() || ss.Has(CourseScope(courseID))
}

// CanReadUser reports whether the scopes read all of userID's statistics
// (every course and the site level): site:read or user:<userID>:self. A
// course scope does not: it reads a participant only inside its course
// (see CanReadUserInCourse).
func (ss Scopes) CanReadUser(userID int64) bool {
	return ss.CanReadSite() || ss.Has(SelfScope(userID))
}

// CanExport reports whether the scopes read every user's statistics
// through the Moodle web-service functions, as block/use_stats:export
// lets a Moodle token: ws or site:read. GraphQL never asks it; a ws token
// reads nothing there.
func (ss Scopes) CanExport() bool { return ss.CanReadSite() || ss.Has(WSScope()) }

// CanReadUserInCourse reports whether the scopes read userID's statistics
// in courseID: site:read, course:<courseID>:read or user:<userID>:self.
// Whether userID actually takes part in courseID is the caller's concern;
// the site level (course 0) is readable only through site or self.
func (ss Scopes) CanReadUserInCourse(userID, courseID int64) bool {
	return ss.CanReadUser(userID) || ss.Has(CourseScope(courseID))
}

// CourseFilter tells which courses' statistics the scopes read: all is true
// for site:read (courseIDs is then nil); otherwise courseIDs lists, in
// ascending order, the courses of the course scopes (empty for a token
// holding only self scopes). A resolver listing courses or aggregating
// over them restricts itself to this filter.
func (ss Scopes) CourseFilter() (courseIDs []int64, all bool) {
	if ss.CanReadSite() {
		return nil, true
	}
	return ss.ids(ScopeCourseRead), false
}

// GroupIDs returns, in ascending order, the groups named by the group
// scopes. Whether a user belongs to one of them, and in which course, is
// the caller's to look up (aggregation.Roster); a group scope reads a
// member only inside the group's course.
func (ss Scopes) GroupIDs() []int64 { return ss.ids(ScopeGroupRead) }

// SelfUserIDs returns, in ascending order, the users named by the self
// scopes: the users whose own statistics the scopes read whatever the
// course ("me" for a learner's token).
func (ss Scopes) SelfUserIDs() []int64 { return ss.ids(ScopeUserSelf) }

// ids returns the ids of the scopes of one kind, ascending.
func (ss Scopes) ids(kind ScopeKind) []int64 {
	var ids []int64
	for _, s := range ss.list {
		if s.Kind == kind {
			ids = append(ids, s.ID)
		}
	}
	return ids
}
