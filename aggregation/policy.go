package aggregation

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
)

// Attribution says which event an inter-event gap is credited to.
type Attribution uint8

const (
	// Forward credits the gap up to the next event to the earlier event (a
	// "lap"); the last event of a run gets the credit. block_use_stats,
	// block_dedication, attendance register.
	Forward Attribution = iota
	// Backward credits the gap since the previous event to the later event;
	// the first event of a run gets 0. Canvas, edx2bigquery.
	Backward
)

// String returns "forward" or "backward".
func (a Attribution) String() string {
	if a == Backward {
		return "backward"
	}
	return "forward"
}

// Timeline says how events are partitioned before gaps are measured.
type Timeline uint8

const (
	// PerUser measures each gap to the user's next event in any course.
	PerUser Timeline = iota
	// PerCourse measures each gap to the user's next event in the same
	// course (block_dedication, Canvas, attendance register).
	PerCourse
)

// String returns "user" or "course".
func (t Timeline) String() string {
	if t == PerCourse {
		return "course"
	}
	return "user"
}

// SiteRows says which course-0 rows (above course level) are counted.
type SiteRows uint8

const (
	// SiteLoginLogout counts only login and logout rows of course 0 (the
	// reference's filter): dashboards, messaging and other system pages are
	// invisible.
	SiteLoginLogout SiteRows = iota
	// SiteAll counts every course-0 row as site time.
	SiteAll
	// SiteNone ignores course 0 entirely (course-based peers).
	SiteNone
)

// String returns "loginlogout", "all" or "none".
func (s SiteRows) String() string {
	switch s {
	case SiteAll:
		return "all"
	case SiteNone:
		return "none"
	}
	return "loginlogout"
}

// Policy is the complete set of rules that turn events into time. Policies
// are plain values: presets (see Preset) fill every field, and a custom
// policy can be built field by field and checked with Validate.
type Policy struct {
	Name    string // preset name, or "custom"
	Version string // preset version; for a custom policy a digest of its parameters (see Normalize)

	// Threshold is the longest gap (seconds) that still counts in full. A
	// longer gap ends the run: the event before it gets Credit instead.
	Threshold int64
	// OverAtThreshold makes a gap of exactly Threshold seconds already "over"
	// (the "< threshold counts" rule of Canvas and edX).
	OverAtThreshold bool
	// Credit (seconds) is granted to the event that ends a run: before an
	// over-threshold gap (never more than the gap itself) and for the last
	// event when no next event is known (never past now).
	Credit int64
	// Attribution: Forward (lap to the next event) or Backward (delta since
	// the previous event).
	Attribution Attribution
	// Coalesce (Backward only): a gap shorter than this is not credited and
	// does not move the anchor, so rapid clicks merge into chunks (Canvas: 120).
	Coalesce int64

	// SplitOnLogin opens a new session at every login.
	SplitOnLogin bool
	// SplitOnCourse opens a new session when the course changes (site rows
	// never cause a split).
	SplitOnCourse bool
	// MinSession (seconds): sessions whose elapsed time is not longer than
	// this are dropped and their time is not counted (block_dedication).
	MinSession int64
	// Timeline: PerUser or PerCourse.
	Timeline Timeline

	// Capture lists module types (or the pseudo-places "course", "user",
	// "system") whose time is carried once into the next counted event
	// instead of being shown on its own.
	Capture []string
	// Ignore lists module types (or pseudo-places) whose events and time are
	// dropped.
	Ignore []string

	// DropOrigins lists log origins that are not user activity (cli, restore).
	DropOrigins []string
	// KeepFailed counts rows whose action is "failed" (failed logins).
	KeepFailed bool
	// KeepLoginAs counts rows done while "logged in as" (realuserid set).
	KeepLoginAs bool
	// KeepAnonymous counts rows flagged anonymous.
	KeepAnonymous bool
	// Site says which course-0 rows count.
	Site SiteRows
	// SkipGraded steps over user_graded rows (action graded, target user) as
	// if they were not there: they neither count nor end a gap.
	SkipGraded bool
	// Logout ends the session at logout rows: the gap before the logout is
	// credited to the previous event, the time after it is not counted and
	// carried (captured) time is discarded.
	Logout bool
	// EnrolmentFilter counts each course's time only from the user's first
	// enrolment start in that course (the earliest over every enrolment
	// instance of the course; a course without an enrolment of the user,
	// and the front page, are not cut). Events before it stay in the
	// timeline, so other courses and the site are unchanged (the
	// reference's filter cut every course at the latest enrolment
	// anywhere, B5).
	EnrolmentFilter bool
	// Scorm raises each SCORM activity's time to what its package
	// reported, when that is more than the log gives: the time of the
	// user's attempts written in the window (each attempt's cumulative
	// time, else its session times), with the difference added to every
	// total the activity belongs to except sessions (see ScormReader; the
	// reference's SCORM correction with its defects fixed, B12). The log
	// time stays when the log source cannot read SCORM tracks.
	Scorm bool
}

// Limits for Validate: anything beyond is almost certainly a unit mistake.
const (
	maxThreshold = 7 * 24 * 3600
	maxCredit    = 24 * 3600
)

// Validate checks a policy and returns an *Error with code EInvalid that
// names the first offending field.
func (p *Policy) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(EInvalid, "policy: "+format, args...)
	}
	switch {
	case p.Threshold <= 0:
		return bad("threshold must be positive, got %d s", p.Threshold)
	case p.Threshold > maxThreshold:
		return bad("threshold %d s is longer than 7 days", p.Threshold)
	case p.Credit < 0:
		return bad("credit must not be negative, got %d s", p.Credit)
	case p.Credit > maxCredit:
		return bad("credit %d s is longer than a day", p.Credit)
	case p.Attribution > Backward:
		return bad("unknown attribution %d", p.Attribution)
	case p.Timeline > PerCourse:
		return bad("unknown timeline %d", p.Timeline)
	case p.Site > SiteNone:
		return bad("unknown site rule %d", p.Site)
	case p.Coalesce < 0:
		return bad("coalesce must not be negative, got %d s", p.Coalesce)
	case p.Coalesce > 0 && p.Attribution != Backward:
		return bad("coalesce applies to backward attribution only")
	case p.Coalesce >= p.Threshold:
		return bad("coalesce %d s must be shorter than the threshold %d s", p.Coalesce, p.Threshold)
	case p.MinSession < 0:
		return bad("minimum session must not be negative, got %d s", p.MinSession)
	case p.MinSession > maxCredit:
		return bad("minimum session %d s is longer than a day", p.MinSession)
	case len(p.Capture) > 0 && p.Attribution == Backward:
		return bad("capture lists need forward attribution")
	}
	for _, m := range p.Capture {
		if strings.TrimSpace(m) == "" || m != strings.TrimSpace(m) {
			return bad("capture list entry %q is empty or padded", m)
		}
		if slices.Contains(p.Ignore, m) {
			return bad("module %q is both captured and ignored", m)
		}
	}
	for _, m := range p.Ignore {
		if strings.TrimSpace(m) == "" || m != strings.TrimSpace(m) {
			return bad("ignore list entry %q is empty or padded", m)
		}
	}
	return nil
}

// Normalize validates p and fixes its identity, so every answer names the
// rules it really used: a preset's name is kept only when every rule equals
// that preset (Version then is the preset's); a policy with changed rules,
// or no name, becomes "custom"; any other name is kept as a label. A
// non-preset policy's Version is a digest of its rules.
func (p Policy) Normalize() (Policy, error) {
	if err := p.Validate(); err != nil {
		return p, err
	}
	d := p.digest()
	if ref, err := Preset(p.Name); err == nil {
		if ref.digest() == d {
			p.Version = ref.Version
			return p, nil
		}
		p.Name = "custom"
	}
	if p.Name == "" {
		p.Name = "custom"
	}
	p.Version = d
	return p, nil
}

// digest is a short, stable fingerprint of the policy's rules.
func (p *Policy) digest() string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%t|%d|%d|%d|%t|%t|%d|%d|%q|%q|%q|%t|%t|%t|%d|%t|%t",
		p.Threshold, p.OverAtThreshold, p.Credit, p.Attribution, p.Coalesce,
		p.SplitOnLogin, p.SplitOnCourse, p.MinSession, p.Timeline,
		p.Capture, p.Ignore, p.DropOrigins, p.KeepFailed, p.KeepLoginAs,
		p.KeepAnonymous, p.Site, p.SkipGraded, p.Logout)
	if p.EnrolmentFilter { // appended only when on: the digests of existing policies stay
		fmt.Fprint(h, "|enrolmentfilter")
	}
	if p.Scorm { // the same
		fmt.Fprint(h, "|scorm")
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// over reports whether a gap ends the run under p.
func (p *Policy) over(gap int64) bool {
	if p.OverAtThreshold {
		return gap >= p.Threshold
	}
	return gap > p.Threshold
}
