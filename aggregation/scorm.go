package aggregation

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The SCORM layer (Policy.Scorm) raises a SCORM activity's time to what
// its package reported, as the reference's SCORM correction meant to (its
// defect B12 fixed: the right element names, every duration form, whole
// attempts rather than last sessions, and the difference carried to every
// total the activity belongs to). It is applied to finished answers, from
// any source, so rollups never hold it and answers from them equal the
// log's.

// ScormModuleType is the module type of SCORM activities.
const ScormModuleType = "scorm"

// The SCORM data model elements the SCORM layer reads.
const (
	// ScormTotalTime12 is a SCORM 1.2 SCO's cumulative time in the attempt
	// (HHHH:MM:SS[.SS]).
	ScormTotalTime12 = "cmi.core.total_time"
	// ScormSessionTime12 is the time of one SCORM 1.2 session.
	ScormSessionTime12 = "cmi.core.session_time"
	// ScormTotalTime2004 is a SCORM 2004 SCO's cumulative time in the
	// attempt (an ISO 8601 duration).
	ScormTotalTime2004 = "cmi.total_time"
	// ScormSessionTime2004 is the time of one SCORM 2004 session.
	ScormSessionTime2004 = "cmi.session_time"
)

// ScormTimeElements returns the elements a ScormReader reads.
func ScormTimeElements() []string {
	return []string{ScormTotalTime12, ScormTotalTime2004, ScormSessionTime12, ScormSessionTime2004}
}

// ScormValue is one time value a SCORM package wrote for a learner.
type ScormValue struct {
	UserID  int64
	CMID    int64  // the SCORM activity's course module
	Attempt int64  // the attempt: the same number for every value of one attempt of the user at the activity
	SCO     int64  // the SCO the value belongs to (scorm_scoes.id)
	Element string // one of ScormTimeElements
	Value   string // as written: an ISO 8601 duration or HHHH:MM:SS[.SS]
	Time    int64  // when it was written (timemodified)
}

// ScormReader reads the times SCORM packages reported, for the SCORM layer
// (Policy.Scorm). The Moodle adapter implements it.
type ScormReader interface {
	// ScormTimes returns the values of ScormTimeElements that the users'
	// attempts at the SCORM activities cmids wrote between from and to
	// (both inclusive), in any order. An activity whose course module no
	// longer exists has none.
	ScormTimes(ctx context.Context, userIDs, cmids []int64, from, to int64) ([]ScormValue, error)
}

// ScormAdjustment is what the SCORM layer did to one SCORM activity of an
// answer: the activity's time became max(LogTime, Reported), and Added
// went to the activity, its section, the course's activities and total,
// the course's and the user's Day and hour (of LastWrite), and the user's
// total. Sessions keep the log's time.
type ScormAdjustment struct {
	CourseID  int64
	CMID      int64
	SectionID int64
	LogTime   int64 // the activity's time from the log, seconds
	Reported  int64 // the time reported by the attempts written in the window, seconds (fractions summed, then rounded down)
	Added     int64 // Reported − LogTime when positive, else 0
	Attempts  int   // attempts with at least one duration read
	Ignored   int   // values that are not a duration, set aside
	LastWrite int64 // when the last of the values was written
	Day       Day   // the day of LastWrite, which Added is counted in
}

// Lap returns the adjustment as a row of an explanation: reason
// ReasonScorm, no event of the log (ID 0) and no session, the time of the
// last write, Added as its credit (counted when positive), and a Detail
// that gives the numbers.
func (a *ScormAdjustment) Lap(userID int64) Lap {
	place := Place{Bucket: BucketActivity, CourseID: a.CourseID, CMID: a.CMID, SectionID: a.SectionID}
	return Lap{
		Event: Event{Time: a.LastWrite, UserID: userID, CourseID: a.CourseID, ContextLevel: ContextModule,
			ContextInstanceID: a.CMID, CMID: a.CMID, SectionID: a.SectionID, ModuleType: ScormModuleType,
			Action: "reported", Target: "scorm_attempt"},
		Place: place, Gap: NoGap, Credit: a.Added, Reason: ReasonScorm, Counted: a.Added > 0, Session: -1,
		Detail: a.detail(),
	}
}

// detail says what the adjustment did, in words.
func (a *ScormAdjustment) detail() string {
	attempts := "attempts"
	if a.Attempts == 1 {
		attempts = "attempt"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SCORM: %d %s reported %d s, the log gives %d s", a.Attempts, attempts, a.Reported, a.LogTime)
	if a.Added > 0 {
		fmt.Fprintf(&b, ": %d s added", a.Added)
	} else {
		b.WriteString(": no change")
	}
	switch a.Ignored {
	case 0:
	case 1:
		b.WriteString("; 1 value is not a duration, ignored")
	default:
		fmt.Fprintf(&b, "; %d values are not durations, ignored", a.Ignored)
	}
	return b.String()
}

// scormOn reports whether the SCORM layer applies to answers to q.
func (s *Service) scormOn(q Query) bool { return q.Policy.Scorm && s.cfg.Scorm != nil }

// addScorm applies the SCORM layer to the answers of one query: one read
// of the SCORM values of every user whose answer has a SCORM activity (no
// read when none has), then each such answer is replaced by an adjusted
// copy (answers may be shared with the rollup cache: never changed in
// place). starts are the users' course starts (the enrolment filter):
// values written before them are not counted either.
func (s *Service) addScorm(ctx context.Context, q Query, starts map[int64]map[int64]int64, out map[int64]*Result) error {
	if !s.scormOn(q) {
		return nil
	}
	var users, cmids []int64
	for id, r := range out {
		found := false
		for _, cm := range scormModules(r) {
			found = true
			if !slices.Contains(cmids, cm) {
				cmids = append(cmids, cm)
			}
		}
		if found {
			users = append(users, id)
		}
	}
	byUser, err := s.readScorm(ctx, users, cmids, q.Window)
	if err != nil {
		return err
	}
	for _, id := range users {
		out[id] = withScorm(out[id], byUser[id], q.Window.withStarts(starts[id]), s.cfg.Location)
	}
	return nil
}

// readScorm reads the users' SCORM values of the activities cmids (both
// sorted in place), holding a slot of the log-read pool, by user; no
// read for no user. The same read within ServiceConfig.CacheTTL is
// answered from the scorm cache.
func (s *Service) readScorm(ctx context.Context, users, cmids []int64, w Window) (map[int64][]ScormValue, error) {
	if len(users) == 0 {
		return nil, nil
	}
	slices.Sort(users)
	slices.Sort(cmids)
	cmids = slices.Compact(cmids)
	cache := s.scorm
	if len(users) > scormCacheUsers {
		cache = nil
	}
	key := ""
	if cache != nil {
		key = scormKey(users, cmids, w.From, w.To)
	}
	values, ok, due := cachedScorm(cache, key)
	if due {
		users, cmids := slices.Clone(users), slices.Clone(cmids) // the caller's, which it may change
		s.refresh.Go(ctx, func(ctx context.Context) {
			release, err := s.acquire(ctx)
			if err != nil {
				return
			}
			defer release()
			if fresh, err := s.cfg.Scorm.ScormTimes(ctx, users, cmids, w.From, w.To); err == nil && len(fresh) <= scormCacheValues {
				cache.Put(key, fresh)
			} else if err == nil {
				cache.Delete(key)
			}
		})
	}
	if !ok {
		err := s.parallel(ctx, 1, func(ctx context.Context, _ int) error {
			var err error
			values, err = s.cfg.Scorm.ScormTimes(ctx, users, cmids, w.From, w.To)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("reading SCORM tracks: %w", err)
		}
		if len(values) <= scormCacheValues {
			cache.Put(key, values)
		}
	}
	byUser := map[int64][]ScormValue{}
	for _, v := range values {
		byUser[v.UserID] = append(byUser[v.UserID], v)
	}
	return byUser, nil
}

// explainScorm appends the SCORM layer's rows to an explanation: acc holds
// the explained laps, from which the answer is built and adjusted as
// Users would.
func (s *Service) explainScorm(ctx context.Context, userID int64, q Query, starts map[int64]map[int64]int64, acc *Accumulator, x *Explainer) error {
	out := map[int64]*Result{userID: acc.Result(userID, q.Policy, q.Window)}
	if err := s.addScorm(ctx, q, starts, out); err != nil {
		return err
	}
	for i := range out[userID].Scorm {
		l := out[userID].Scorm[i].Lap(userID)
		x.Lap(&l)
	}
	return nil
}

// scormModules returns the cmids of the answer's SCORM activities.
func scormModules(r *Result) []int64 {
	var out []int64
	for i := range r.Courses {
		for _, m := range r.Courses[i].Modules {
			if m.Type == ScormModuleType {
				out = append(out, m.CMID)
			}
		}
	}
	return out
}

// withScorm returns r with the SCORM layer applied for the user's values
// (those counted in w), or r itself when it has no SCORM activity with a
// value. Only what changes is copied.
func withScorm(r *Result, values []ScormValue, w Window, loc *time.Location) *Result {
	type at struct{ course, module int }
	where := map[int64]at{}
	for ci := range r.Courses {
		for mi, m := range r.Courses[ci].Modules {
			if m.Type == ScormModuleType {
				where[m.CMID] = at{ci, mi}
			}
		}
	}
	byCM := map[int64][]ScormValue{}
	for _, v := range values {
		p, ok := where[v.CMID]
		if ok && w.counts(v.Time, r.Courses[p.course].CourseID) {
			byCM[v.CMID] = append(byCM[v.CMID], v)
		}
	}
	if len(byCM) == 0 {
		return r
	}
	c := *r
	c.Courses = slices.Clone(r.Courses)
	c.Days = slices.Clone(r.Days)
	c.Hours = slices.Clone(r.Hours)
	c.Scorm = slices.Clip(r.Scorm)
	copied := map[int]bool{}
	for ci := range c.Courses {
		cs := &c.Courses[ci]
		for mi := range cs.Modules {
			m := &cs.Modules[mi]
			vs := byCM[m.CMID]
			if m.Type != ScormModuleType || len(vs) == 0 || where[m.CMID] != (at{ci, mi}) {
				continue
			}
			a := scormReport(vs)
			a.CourseID, a.CMID, a.SectionID, a.LogTime = m.CourseID, m.CMID, m.SectionID, m.Elapsed
			a.Added = max(0, a.Reported-a.LogTime)
			if a.Added > 0 {
				if !copied[ci] {
					copied[ci] = true
					cs.Modules, cs.Sections, cs.Days = slices.Clone(cs.Modules), slices.Clone(cs.Sections), slices.Clone(cs.Days)
					cs.Hours = slices.Clone(cs.Hours)
					m = &cs.Modules[mi]
				}
				a.Day = dayOf(a.LastWrite, loc)
				m.Elapsed += a.Added
				if s := cs.Section(m.SectionID); s != nil {
					s.Elapsed += a.Added
				}
				cs.Activities.Elapsed += a.Added
				cs.Total.Elapsed += a.Added
				cs.Days = addDay(cs.Days, a.Day, a.Added)
				c.Days = addDay(c.Days, a.Day, a.Added)
				cs.Hours = addHour(cs.Hours, HourOf(a.LastWrite), a.Added)
				c.Hours = addHour(c.Hours, HourOf(a.LastWrite), a.Added)
				c.Total.Elapsed += a.Added
			}
			c.Scorm = append(c.Scorm, a)
		}
	}
	return &c
}

// addDay adds secs to the day's stat, inserting the day (no events) when
// the list has none, in day order.
func addDay(days []DayStat, d Day, secs int64) []DayStat {
	return addSorted(days, DayStat{Day: d}, func(s *DayStat) Day { return s.Day }, func(s *DayStat) { s.Elapsed += secs })
}

// scormReport sums one activity's values: per attempt and SCO its
// cumulative time (the largest total_time value), or, when it wrote none,
// the sum of its session times; then over every SCO and attempt.
// Fractions of seconds are summed and the sum rounded down.
func scormReport(values []ScormValue) ScormAdjustment {
	type key struct{ attempt, sco int64 }
	type sco struct {
		total, sessions time.Duration
		hasTotal        bool
	}
	var a ScormAdjustment
	scos := map[key]*sco{}
	attempts := map[int64]bool{}
	for _, v := range values {
		a.LastWrite = max(a.LastWrite, v.Time)
		d, ok := ParseScormDuration(v.Value)
		if !ok {
			a.Ignored++
			continue
		}
		k := key{v.Attempt, v.SCO}
		s := scos[k]
		if s == nil {
			s = new(sco)
			scos[k] = s
		}
		switch v.Element {
		case ScormTotalTime12, ScormTotalTime2004:
			s.total, s.hasTotal = max(s.total, d), true
		case ScormSessionTime12, ScormSessionTime2004:
			s.sessions = addDuration(s.sessions, d)
		default:
			continue
		}
		attempts[v.Attempt] = true
	}
	var sum time.Duration
	for _, s := range scos {
		if s.hasTotal {
			sum = addDuration(sum, s.total)
		} else {
			sum = addDuration(sum, s.sessions)
		}
	}
	a.Reported, a.Attempts = int64(sum/time.Second), len(attempts)
	return a
}

// addDuration adds without overflowing (the sum sticks at the largest
// duration).
func addDuration(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// ParseScormDuration reads a SCORM time value: an ISO 8601 duration
// P[nY][nM][nD][T[nH][nM][n[.n]S]] (SCORM 2004: at least one part, a
// fraction on the seconds only; a year counts 365 days, a month 30) or
// HHHH:MM:SS[.SS] (SCORM 1.2: 1 to 4 digits of hours, 2 of minutes and
// of seconds, 1 or 2 of hundredths). Surrounding spaces are allowed.
// Fractions finer than a millisecond are dropped. ok is false for any
// other text, and for a duration too long to represent.
func ParseScormDuration(s string) (d time.Duration, ok bool) {
	s = strings.TrimSpace(s)
	var ms int64
	if strings.HasPrefix(s, "P") {
		ms, ok = parseISODuration(s[1:])
	} else {
		ms, ok = parseClockDuration(s)
	}
	if !ok || ms > math.MaxInt64/int64(time.Millisecond) {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// Milliseconds of the parts of a duration.
const (
	msSecond = 1000
	msMinute = 60 * msSecond
	msHour   = 60 * msMinute
	msDay    = 24 * msHour
	msMonth  = 30 * msDay
	msYear   = 365 * msDay
)

// parseISODuration reads what follows the P of an ISO 8601 duration, in
// milliseconds.
func parseISODuration(s string) (int64, bool) {
	date, clock, timed := strings.Cut(s, "T")
	if timed && clock == "" || !timed && date == "" {
		return 0, false // "P", "PT", "P1DT"
	}
	var ms int64
	ok := true
	add := func(n, unit int64) {
		if ok && n > (math.MaxInt64-ms)/unit {
			ok = false
		}
		if ok {
			ms += n * unit
		}
	}
	if !scanParts(date, "YMD", func(n int64, frac int64, unit byte) bool {
		add(n, map[byte]int64{'Y': msYear, 'M': msMonth, 'D': msDay}[unit])
		return frac < 0
	}) {
		return 0, false
	}
	if timed && !scanParts(clock, "HMS", func(n int64, frac int64, unit byte) bool {
		add(n, map[byte]int64{'H': msHour, 'M': msMinute, 'S': msSecond}[unit])
		if frac >= 0 {
			add(frac, 1)
		}
		return frac < 0 || unit == 'S'
	}) {
		return 0, false
	}
	return ms, ok
}

// scanParts reads "n<unit>" parts whose units come in the order of units,
// each at most once, and nothing else; a part's number may have a
// fraction (frac: its milliseconds, -1 when none), which part accepts or
// refuses by its answer.
func scanParts(s, units string, part func(n, frac int64, unit byte) bool) bool {
	next := 0 // index in units of the next allowed unit
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		n, ok := digits(s[:i])
		if !ok {
			return false
		}
		frac := int64(-1)
		if i < len(s) && s[i] == '.' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == i+1 {
				return false
			}
			frac = fractionMillis(s[i+1 : j])
			i = j
		}
		if i >= len(s) {
			return false
		}
		u := strings.IndexByte(units[next:], s[i])
		if u < 0 {
			return false
		}
		if !part(n, frac, s[i]) {
			return false
		}
		next += u + 1
		s = s[i+1:]
	}
	return true
}

// parseClockDuration reads HHHH:MM:SS[.SS] in milliseconds.
func parseClockDuration(s string) (int64, bool) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || len(parts[0]) < 1 || len(parts[0]) > 4 || len(parts[1]) != 2 {
		return 0, false
	}
	sec, frac, hasFrac := strings.Cut(parts[2], ".")
	if len(sec) != 2 || hasFrac && (len(frac) < 1 || len(frac) > 2) {
		return 0, false
	}
	h, okH := digits(parts[0])
	m, okM := digits(parts[1])
	n, okS := digits(sec)
	f, okF := int64(0), true
	if hasFrac {
		_, okF = digits(frac)
		f = fractionMillis(frac)
	}
	if !okH || !okM || !okS || !okF {
		return 0, false
	}
	return h*msHour + m*msMinute + n*msSecond + f, true
}

// digits reads a non-empty run of at most 12 decimal digits.
func digits(s string) (int64, bool) {
	if s == "" || len(s) > 12 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// fractionMillis returns the milliseconds of a fraction's digits (those
// after the point), finer digits dropped.
func fractionMillis(s string) int64 {
	var ms int64
	for i, scale := 0, int64(100); i < len(s) && scale > 0; i, scale = i+1, scale/10 {
		ms += int64(s[i]-'0') * scale
	}
	return ms
}
