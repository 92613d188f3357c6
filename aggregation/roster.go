package aggregation

import "context"

// Roster reads who belongs where on the site: the course catalogue, a
// course's enrolled members with their roles, groups and enrolment
// dates, a course's groups and the site's cohorts. The analytics (lists
// of courses, participants sorted and filtered by their time, group,
// cohort and site aggregates) combine it with the time of each member.
//
// Every method answers in a bounded number of queries, whatever the
// number of rows: lists come whole (a course's members, a cohort's
// members) or as one page with its total count (courses, cohorts).
type Roster interface {
	// ListCourses returns one page of the courses matching the filter, in
	// the page's order, and how many match in all. The site course (the
	// front page, id = SITEID) is never listed.
	ListCourses(ctx context.Context, filter CourseFilter, page Page[CourseOrder]) ([]CourseInfo, int, error)
	// CourseMembers returns every user enrolled in a course (any
	// enrolment method, active or not), in user id order, with their
	// roles in the course context, groups of the course and enrolment
	// dates. A course that does not exist has no members.
	CourseMembers(ctx context.Context, courseID int64) ([]Member, error)
	// CourseVisitors returns the users (deleted ones left out) with a log
	// row in the course from..to (inclusive Unix seconds), in user id
	// order, enrolled or not: site administrators, managers, learners
	// whose enrolment was removed.
	CourseVisitors(ctx context.Context, courseID, from, to int64) ([]UserInfo, error)
	// CourseGroups returns the groups of a course in name order (then id),
	// each with the groupings it belongs to.
	CourseGroups(ctx context.Context, courseID int64) ([]GroupInfo, error)
	// FindGroups returns the groups of the ids that exist, in id order,
	// without their groupings.
	FindGroups(ctx context.Context, ids []int64) ([]GroupInfo, error)
	// CountUsers returns how many users Directory.ListUsers lists for
	// the filter.
	CountUsers(ctx context.Context, filter UserFilter) (int, error)
	// ListCohorts returns one page of the cohorts matching the filter and
	// how many match in all.
	ListCohorts(ctx context.Context, filter CohortFilter, page Page[CohortOrder]) ([]CohortInfo, int, error)
	// FindCohort finds one cohort by id or idnumber (ENotFound otherwise).
	FindCohort(ctx context.Context, by CohortKey) (CohortInfo, error)
	// CohortMembers returns the members of a cohort in user id order.
	CohortMembers(ctx context.Context, cohortID int64) ([]UserInfo, error)
}

// GradeReader reads users' grades in a course (a Directory is one).
type GradeReader interface {
	Grades(ctx context.Context, courseID int64, userIDs []int64) (map[int64]CourseGrade, error)
}

// FrontPageCourseID is the id of the site's front page course (Moodle's
// SITEID), which course lists leave out.
const FrontPageCourseID = 1

// Page selects a page of an ordered list: Limit rows after the first
// Offset, in Order.
type Page[O any] struct {
	Order  O
	Desc   bool
	Offset int
	Limit  int
}

// CourseFilter narrows ListCourses; zero fields match everything.
type CourseFilter struct {
	// Search is a case-insensitive substring of the full name, short name
	// or idnumber.
	Search string
	// Category keeps the courses of one course category (0: any).
	Category int64
	// Visible keeps visible (true) or hidden (false) courses; nil: both.
	Visible *bool
}

// CourseOrder is the order of ListCourses; ties are broken by id.
type CourseOrder int

// Orders of ListCourses.
const (
	CourseByID CourseOrder = iota
	CourseByFullName
	CourseByShortName
	CourseByStart // course.startdate
)

// CohortFilter narrows ListCohorts; zero fields match everything.
type CohortFilter struct {
	Search string // case-insensitive substring of the name or idnumber
	// Visible keeps visible (true) or hidden (false) cohorts; nil: both.
	Visible *bool
}

// CohortOrder is the order of ListCohorts; ties are broken by id.
type CohortOrder int

// Orders of ListCohorts.
const (
	CohortByID CohortOrder = iota
	CohortByName
)

// CohortKey selects one cohort: exactly one field is set.
type CohortKey struct {
	ID       int64
	IDNumber string
}

// Member is a user enrolled in a course.
type Member struct {
	UserInfo
	// Roles are the user's roles assigned in the course context, by
	// sort order of the roles.
	Roles []RoleInfo
	// Groups are the ids of the course's groups the user is a member of,
	// ascending.
	Groups []int64
	// Enrolment sums up the user's enrolments in the course.
	Enrolment Enrolment
	// Unenrolled marks a user with time in the course but no enrolment
	// in it (see ParticipantFilter.IncludeUnenrolled); Roles, Groups and
	// Enrolment are then empty.
	Unenrolled bool
}

// RoleInfo is a role as Moodle names it.
type RoleInfo struct {
	ID        int64
	ShortName string // student, editingteacher, …
	Name      string // the custom name; empty when the role has none
}

// Enrolment is what a user's enrolments in one course say together:
// the earliest start and latest end of its enrolments (user_enrolments
// timestart, timeend; 0 when unset) and whether one of them is active
// (its status and its enrolment method's status both enabled).
type Enrolment struct {
	Start  int64
	End    int64 // 0: no end
	Active bool
}

// GroupInfo is a group of a course.
type GroupInfo struct {
	ID        int64
	CourseID  int64
	Name      string
	IDNumber  string
	Groupings []GroupingInfo
}

// GroupingInfo is a grouping of a course.
type GroupingInfo struct {
	ID   int64
	Name string
}

// CohortInfo is a cohort of the site or of a category.
type CohortInfo struct {
	ID        int64
	Name      string
	IDNumber  string
	ContextID int64
	Visible   bool
}
