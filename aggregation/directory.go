package aggregation

import (
	"context"
	"math"
)

// Directory is what the serving edges need to know about a site besides its
// log: who the users are, what the courses and activities are called, who
// takes part in a course and what they scored. The Moodle adapter
// implements it; the edges depend on this interface only.
//
// Lookups by key return ENotFound when nothing matches and EInvalid for a
// malformed or ambiguous key. Batch lookups return only what exists.
type Directory interface {
	// FindUser finds one user by id, username (with host, 0 = any host),
	// idnumber or email.
	FindUser(ctx context.Context, by UserKey) (UserInfo, error)
	// Users returns the users with the given ids.
	Users(ctx context.Context, ids []int64) (map[int64]UserInfo, error)
	// ListUsers pages through users in id order after the cursor id.
	ListUsers(ctx context.Context, filter UserFilter, after int64, first int) ([]UserInfo, error)
	// FindCourse finds one course by id, shortname or idnumber.
	FindCourse(ctx context.Context, by CourseKey) (CourseInfo, error)
	// Courses returns the courses with the given ids.
	Courses(ctx context.Context, ids []int64) (map[int64]CourseInfo, error)
	// Modules returns the live course modules with the given ids.
	Modules(ctx context.Context, cmids []int64) (map[int64]ModuleInfo, error)
	// Participants pages through the users enrolled in a course, in user id
	// order after the cursor id.
	Participants(ctx context.Context, courseID int64, after int64, first int) ([]UserInfo, error)
	// Grades returns the users' final course grades and activity grades in
	// a course (users without a grade item are absent).
	Grades(ctx context.Context, courseID int64, userIDs []int64) (map[int64]CourseGrade, error)
}

// UserKey selects one user: exactly one field is set (Host only with
// Username).
type UserKey struct {
	ID       int64
	Username string
	Host     int64 // MNET host id of the username; 0 = any host
	IDNumber string
	Email    string
}

// CourseKey selects one course: exactly one field is set.
type CourseKey struct {
	ID        int64
	ShortName string
	IDNumber  string
}

// UserFilter narrows ListUsers; empty fields match everything.
type UserFilter struct {
	Search string // case-insensitive substring of username, names or email
	Host   int64  // MNET host id; 0 = any
}

// UserInfo is a user as the edges show it.
type UserInfo struct {
	ID        int64
	Username  string
	IDNumber  string
	FirstName string
	LastName  string
	Email     string
	HostID    int64 // MNET host id (the local host for local accounts)
}

// CourseInfo is a course as the edges show it.
type CourseInfo struct {
	ID        int64
	ShortName string
	FullName  string
	IDNumber  string
	Category  int64
	Visible   bool  // course.visible
	StartDate int64 // course.startdate (0: none)
}

// ModuleInfo is a course module (activity) as the edges show it.
type ModuleInfo struct {
	CMID      int64
	CourseID  int64
	Type      string // modules.name: page, quiz, …
	Name      string
	IDNumber  string
	SectionID int64
}

// Grade is a final grade on one grade item.
type Grade struct {
	Value *float64 // nil when not graded
	Max   float64
	Min   float64
}

// Percentage returns the grade as a percentage of its range, or nil.
func (g Grade) Percentage() *float64 {
	if g.Value == nil || g.Max <= g.Min {
		return nil
	}
	p := math.Round((*g.Value-g.Min)/(g.Max-g.Min)*10000) / 100
	return &p
}

// ModuleGrade is a user's grade on one activity.
type ModuleGrade struct {
	CMID int64 // 0 when the activity no longer exists
	Type string
	Grade
}

// CourseGrade is a user's final course grade and activity grades.
type CourseGrade struct {
	Course  *Grade // nil when the course has no course grade item
	Modules []ModuleGrade
}
