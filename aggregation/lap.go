package aggregation

// Bucket is the kind of place an event's time is attributed to.
type Bucket uint8

const (
	// BucketSite is course 0 (login, logout and, by policy, other site rows).
	BucketSite Bucket = iota
	// BucketCourse is course-level time: course, category and block contexts.
	BucketCourse
	// BucketActivity is time in a course module (module context).
	BucketActivity
	// BucketOther is course time outside course level and activities: user
	// and system context rows that carry a course id.
	BucketOther
)

// String returns the bucket's name.
func (b Bucket) String() string {
	switch b {
	case BucketCourse:
		return "course"
	case BucketActivity:
		return "activity"
	case BucketOther:
		return "other"
	}
	return "site"
}

// Place is where one event's time goes. The module type of an activity is
// the event's ModuleType (UnknownModuleType when unresolved).
type Place struct {
	Bucket    Bucket
	CourseID  int64
	CMID      int64 // activities only
	SectionID int64 // activities only; 0 = unknown section
}

// Reason says why an event received the credit it did (or none).
type Reason uint8

const (
	ReasonGap           Reason = iota // the full gap to the next (or since the previous) event
	ReasonOverThreshold               // the gap exceeded the threshold: the credit was applied
	ReasonLastEvent                   // no next event: the credit, capped at now
	ReasonFirstEvent                  // backward attribution: nothing before it in the run (the credit, as after a long gap)
	ReasonCoalesced                   // backward attribution: within the coalesce period, not credited
	ReasonLogout                      // a logout: closes the session, the time after it is not counted
	ReasonCaptured                    // a captured module: its time is carried into the next counted event
	ReasonIgnored                     // an ignored module: its time is dropped
	ReasonShortSession                // its session was not longer than the minimum session: dropped
	ReasonOutsideWindow               // before the window or after it (context or look-ahead only)
	ReasonDropped                     // not activity by policy (origin, failed, login-as, anonymous, site row)
	ReasonGraded                      // a user_graded row stepped over by the look-ahead
	ReasonScorm                       // not an event: the SCORM layer's time for an activity (see ScormAdjustment)
)

var reasonNames = [...]string{
	ReasonGap:           "gap",
	ReasonOverThreshold: "over-threshold",
	ReasonLastEvent:     "last-event",
	ReasonFirstEvent:    "first-event",
	ReasonCoalesced:     "coalesced",
	ReasonLogout:        "logout",
	ReasonCaptured:      "captured",
	ReasonIgnored:       "ignored",
	ReasonShortSession:  "short-session",
	ReasonDropped:       "dropped",
	ReasonGraded:        "graded",
	ReasonScorm:         "scorm",
}

// String returns the reason's name as shown in explanations.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// NoGap is the Gap of a lap whose neighbouring event is unknown.
const NoGap = -1

// Lap explains one event: the gap measured, the credit applied, where it
// went and why. Only laps with Counted set contribute to totals.
type Lap struct {
	Event   Event
	Place   Place
	Gap     int64  // seconds to the next event (forward) or since the previous one (backward); NoGap if none
	Credit  int64  // seconds credited to Place, including Carried
	Carried int64  // captured time carried into this lap
	Reason  Reason // why Credit is what it is
	Counted bool   // true when Credit and one event count towards the totals
	Session int    // Seq of the session the event belongs to, -1 if none
	Detail  string // extra words for dropped events (the filter that dropped it)
}

// Session is one sitting: a run of counted events without an over-threshold
// gap, a login (SplitOnLogin) or a course change (SplitOnCourse) inside.
type Session struct {
	UserID  int64
	Start   int64   // time of its first counted event
	End     int64   // last event + its lap (forward) or last event (backward)
	Elapsed int64   // Σ of its laps
	Events  int64   // counted events
	Courses []int64 // distinct course ids in first-seen order (0 = site)
	Seq     int     // order in which the engine opened it (Lap.Session refers to it)
	FirstID int64   // log id of its first counted event: names the session in every window
	LastID  int64   // log id of its last counted event
	// Continues is set when the session had already begun before its first
	// counted event (an event before the window joined it); PrevID is then
	// the log id of the last such event. They join the parts of a session
	// that crosses the boundary of two windows computed apart (see
	// MergeSessions); answers leave them zero.
	Continues bool
	PrevID    int64
}

// Sink receives the engine's output. Lap and Session pointers, and the
// Courses slice, are only valid during the call: a sink that keeps them
// must copy.
type Sink interface {
	Lap(*Lap)
	Session(*Session)
}
