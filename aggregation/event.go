package aggregation

import (
	"cmp"
	"slices"
)

// Moodle context levels (context.contextlevel, logstore_standard_log.contextlevel).
const (
	ContextSystem    = 10
	ContextUser      = 30
	ContextCourseCat = 40
	ContextCourse    = 50
	ContextModule    = 70
	ContextBlock     = 80
)

// SiteCourseID is course 0: rows above course level (login, logout,
// dashboard). The front page (course id 1) is an ordinary course.
const SiteCourseID = 0

// UnknownModuleType is the module type reported for a course module whose
// course_modules or modules row no longer exists (deleted activity).
const UnknownModuleType = "unknown"

// Event is one row of a user's activity log (logstore_standard_log) with the
// course module resolved by the adapter. Times are Unix seconds.
type Event struct {
	ID                int64  // logstore_standard_log.id, the tie-breaker for same-second rows
	Time              int64  // timecreated
	UserID            int64  // userid (the actor)
	CourseID          int64  // courseid; 0 above course level
	ContextID         int64  // contextid
	ContextInstanceID int64  // contextinstanceid (the cmid for module contexts)
	CMID              int64  // resolved course module id; 0 when the row is not in a module context
	SectionID         int64  // course_sections.id of the cm; 0 when unknown
	RealUserID        int64  // realuserid: non-zero when "logged in as"
	ModuleType        string // modules.name of the cm ("page", "quiz", …); "" when unresolved
	Action            string // action ("viewed", "loggedin", "graded", …)
	Target            string // target ("course_module", "user", …)
	EventName         string // eventname, e.g. \core\event\course_viewed
	Origin            string // web, ws, cli, restore, …
	IP                string // client IP as logged
	ContextLevel      int32  // contextlevel
	CRUD              byte   // 'c', 'r', 'u' or 'd'
	EduLevel          int8   // 0 other, 1 teaching, 2 participating
	Anonymous         bool   // anonymous = 1
}

// Before reports whether e comes strictly before o in the (time, id) order
// that every timeline uses.
func (e *Event) Before(o *Event) bool {
	if e.Time != o.Time {
		return e.Time < o.Time
	}
	return e.ID < o.ID
}

func (e *Event) isLogin() bool {
	return e.Action == "loggedin" || e.Action == "login"
}

func (e *Event) isLogout() bool {
	return e.Action == "loggedout" || e.Action == "logout"
}

// isGraded reports a \core\event\user_graded row (action graded, target
// user), which the usestats look-ahead steps over.
func (e *Event) isGraded() bool {
	return e.Action == "graded" && e.Target == "user"
}

// SortEvents orders events by (time, id), the order every timeline uses
// (fix B4: same-second rows never come in database order).
func SortEvents(evs []Event) {
	slices.SortFunc(evs, func(a, b Event) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.ID, b.ID))
	})
}

// moduleType is the event's module type, UnknownModuleType when the adapter
// could not resolve it (deleted module).
func (e *Event) moduleType() string {
	if e.ModuleType == "" {
		return UnknownModuleType
	}
	return e.ModuleType
}
