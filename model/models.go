package model

import (
	"slices"
	"sync"

	"github.com/usestats/usestats/aggregation"
)

// Access is what the request's token may read of one user's statistics.
// The zero value reads nothing.
type Access struct {
	// All: every course and the site level (site:read, user:<id>:self).
	All bool
	// Courses: otherwise, the courses whose statistics the token reads
	// (course:<id>:read), ascending.
	Courses []int64
}

// Allows reports whether the access reads the course's statistics.
func (a Access) Allows(courseID int64) bool {
	if a.All {
		return true
	}
	_, ok := slices.BinarySearch(a.Courses, courseID)
	return ok
}

// Any reports whether the access reads anything at all.
func (a Access) Any() bool { return a.All || len(a.Courses) > 0 }

// User is a Moodle account. Access says what the request may read of its
// statistics; it is set by whichever resolver produced the user.
type User struct {
	ID        int64
	Username  string
	IDNumber  string
	Firstname string
	Lastname  string
	Email     string
	Host      int
	Access    Access
}

// Fullname is the first name and the last name, separated by a space.
func (u *User) Fullname() string {
	switch {
	case u.Firstname == "":
		return u.Lastname
	case u.Lastname == "":
		return u.Firstname
	}
	return u.Firstname + " " + u.Lastname
}

// Computation is one computed answer: whose time, for which window, under
// which policy, at which detail, what the token may read of it, and the
// result. The fields of a UserStats and its children share it.
type Computation struct {
	UserID int64
	StatsQuery
	Access Access
	Result *aggregation.Result
}

// UserStats is one user's time for a window. The whole-user fields (site,
// sessions, explain …) are resolved from Computation when the access
// allows.
type UserStats struct {
	Policy *Policy
	// Source says where the answer came from (rollups, the log or both).
	Source      Source
	From        Time
	To          Time
	Restricted  bool
	Total       int64
	Events      int
	FirstAccess *Time
	LastAccess  *Time
	Days        []DayStat
	Computation *Computation
	// Peers is the asking of other hosts (stats(hosts:) or
	// stats(allHosts:)); nil when none was asked.
	Peers *PeerQuery
}

// PeerQuery is what one UserStats asks other hosts (MNET peers): the
// user's time on the given hosts, or on every registered one (All), since
// From. Its fields (hosts, allHostsTotal) share one answer: see Answer.
type PeerQuery struct {
	Hosts    []string // wwwroots, in the order asked (nil with All)
	All      bool
	Username string
	From     int64 // Unix seconds: the start of the range

	once sync.Once
	rows []aggregation.HostStats
	err  error
}

// Answer returns the peers' rows, calling ask at most once however many
// fields (and goroutines) want them.
func (p *PeerQuery) Answer(ask func() ([]aggregation.HostStats, error)) ([]aggregation.HostStats, error) {
	p.once.Do(func() { p.rows, p.err = ask() })
	return p.rows, p.err
}

// Course is a Moodle course.
type Course struct {
	ID        int64
	Shortname string
	Fullname  string
	IDNumber  string
	Category  int64
	Visible   bool
	StartDate *Time
}

// CourseStat is one user's time in one course.
type CourseStat struct {
	CourseID     int64
	Total        int64
	CourseTime   int64
	ActivityTime int64
	OtherTime    int64
	Events       int
	FirstAccess  *Time
	LastAccess   *Time
	Modules      []ModuleStat
	Sections     []SectionStat
	Days         []DayStat
	// OfUser is whose time this is (for the grade).
	OfUser int64
}

// ModuleStat is one activity's time. Name and Idnumber come from the
// Moodle directory, filled for a whole answer at once (nil for a deleted
// activity).
type ModuleStat struct {
	Cmid        int64
	Type        string
	Name        *string
	Idnumber    *string
	Section     *int64
	Elapsed     int64
	Events      int
	FirstAccess *Time
	LastAccess  *Time
}

// Score is a user's grades in a course.
type Score struct {
	CourseID   int64
	Grade      *float64
	Grademax   float64
	Grademin   float64
	Percentage *float64
	Modules    []ModuleScore
}

// ModuleScore is a user's grade on one activity; its name is looked up by
// cmid.
type ModuleScore struct {
	Cmid       *int64
	Type       string
	Grade      *float64
	Grademax   float64
	Grademin   float64
	Percentage *float64
}

// StatsQuery is what a statistic is asked for: the window, the policy
// (normalized), the detail and the clock.
type StatsQuery struct {
	Window aggregation.Window
	Now    int64
	Policy aggregation.Policy
	Scope  StatsScope
}

// Participant is a participant of a course; Stats resolves their time in
// InCourse for Query. Member is what the roster says of them (roles,
// groups, enrolment).
type Participant struct {
	User     *User
	InCourse int64
	Query    StatsQuery
	Member   aggregation.Member
}

// Enrolled reports whether the participant is enrolled in the course.
func (p *Participant) Enrolled() bool { return !p.Member.Unenrolled }

// Cohort is a cohort of the site or of a category.
type Cohort struct {
	ID       int64
	Name     string
	Idnumber string
	Visible  bool
}

// UserAggregate is many users' time summed up; Stats and Query are what
// its top courses and series are built from.
type UserAggregate struct {
	Users       int
	ActiveUsers int
	Total       int64
	Events      int
	SiteTime    int64
	Mean        int64
	Median      int64
	P90         int64
	FirstAccess *Time
	LastAccess  *Time
	Stats       aggregation.SiteStats
	Query       StatsQuery
}

// CourseTotal is one course's time summed over many users.
type CourseTotal struct {
	CourseID       int64
	Total          int64
	Events         int
	ActiveLearners int
}

// Site is the whole site.
type Site struct{}

// Group is a group of a course.
type Group struct {
	ID        int64
	CourseID  int64
	Name      string
	Idnumber  string
	Groupings []Grouping
}

// CourseAggregate is a course summed up over a population of its
// participants; Days and Hours (one list per participant with time) and
// Query are what its series and heat map are built from.
type CourseAggregate struct {
	Population     Population
	Learners       int
	ActiveLearners int
	Total          int64
	Events         int
	Mean           int64
	Median         int64
	P90            int64
	FirstAccess    *Time
	LastAccess     *Time
	Modules        []ModuleAggregate
	Sections       []SectionAggregate
	Days           [][]aggregation.DayStat
	Hours          [][]aggregation.HourStat
	Query          StatsQuery
}

// ModuleAggregate is one activity summed up over a population; its name
// is filled for the whole aggregate at once (nil for a deleted activity).
type ModuleAggregate struct {
	Cmid     int64
	Type     string
	Name     *string
	Section  *int64
	Elapsed  int64
	Events   int
	Learners int
}
