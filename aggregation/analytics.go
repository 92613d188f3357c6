package aggregation

import (
	"cmp"
	"slices"
)

// The analytics the dashboards and exports call: pure functions over the
// Results the Service answered, with no state of their own. A learner is
// active in a course when their time in it (CourseStat.Total.Elapsed) is
// positive, and has touched a place (course, module, section) when it has
// a counted event or time there.

// CourseAggregate sums up the time of a course's learners.
type CourseAggregate struct {
	CourseID int64
	// Population is how many learners were counted: one per Result given,
	// nil Results (learners without time) included.
	Population int
	// ActiveLearners is how many of them have time in the course
	// (course Total.Elapsed > 0).
	ActiveLearners int
	// Total sums the learners' course totals: Elapsed and Events are sums,
	// FirstAccess and LastAccess the earliest and latest counted events of
	// any learner (0 when there is none).
	Total Stat
	// Mean, Median and P90 describe the course totals (seconds) of the
	// active learners only; all three are 0 when none is active. Median
	// and P90 are nearest-rank percentiles: over the n totals sorted
	// ascending, the p-th percentile is the value of rank ⌈p·n/100⌉ (1 =
	// the smallest), so it is always one learner's total, and the median
	// of an even count is the lower of the two middle values.
	Mean   float64
	Median int64
	P90    int64
	// Modules sums each course module's time over the learners, by cmid.
	Modules []ModuleAggregate
	// Sections sums each section's activity time over the learners, by
	// section id (the unknown section, id 0, first).
	Sections []SectionAggregate
}

// ModuleAggregate is one course module's time summed over learners.
type ModuleAggregate struct {
	CMID int64
	// SectionID is where the module was last seen (the learner with the
	// latest LastAccess there, then the higher section id) and Type its
	// type there, or any learner's known type rather than
	// UnknownModuleType.
	Type      string
	SectionID int64
	Stat
	// Learners is how many learners touched the module (a counted event
	// or time in it).
	Learners int
}

// SectionAggregate is one section's activity time summed over learners.
type SectionAggregate struct {
	SectionID int64
	Unknown   bool
	Stat
	// Learners is how many learners touched the section.
	Learners int
}

// AggregateCourse sums up the course's time over the learners' Results,
// one per learner (nil: a learner without time). A Result without the
// course counts as a learner without time in it.
func AggregateCourse(courseID int64, results []*Result) CourseAggregate {
	a := CourseAggregate{CourseID: courseID, Population: len(results)}
	var totals []int64
	modules := map[int64]*ModuleAggregate{}
	sections := map[int64]*SectionAggregate{}
	for _, r := range results {
		if r == nil {
			continue
		}
		c := r.Course(courseID)
		if c == nil {
			continue
		}
		a.Total.Merge(c.Total)
		if c.Total.Elapsed > 0 {
			totals = append(totals, c.Total.Elapsed)
		}
		for i := range c.Modules {
			m := &c.Modules[i]
			ma := modules[m.CMID]
			if ma == nil {
				ma = &ModuleAggregate{CMID: m.CMID, Type: m.Type, SectionID: m.SectionID}
				modules[m.CMID] = ma
			} else if m.LastAccess > ma.LastAccess || m.LastAccess == ma.LastAccess && m.SectionID > ma.SectionID {
				ma.SectionID = m.SectionID
				if m.Type != UnknownModuleType || ma.Type == "" {
					ma.Type = m.Type
				}
			}
			if ma.Type == UnknownModuleType && m.Type != UnknownModuleType && m.Type != "" {
				ma.Type = m.Type
			}
			ma.Merge(m.Stat)
			if m.touched() {
				ma.Learners++
			}
		}
		for i := range c.Sections {
			s := &c.Sections[i]
			sa := sections[s.SectionID]
			if sa == nil {
				sa = &SectionAggregate{SectionID: s.SectionID, Unknown: s.Unknown}
				sections[s.SectionID] = sa
			}
			sa.Merge(s.Stat)
			if s.touched() {
				sa.Learners++
			}
		}
	}
	a.ActiveLearners = len(totals)
	a.Mean, a.Median, a.P90 = describeTotals(totals)
	a.Modules = valuesByKey(modules, func(m *ModuleAggregate) int64 { return m.CMID })
	a.Sections = valuesByKey(sections, func(s *SectionAggregate) int64 { return s.SectionID })
	return a
}

// describeTotals returns the mean and the nearest-rank 50th and 90th percentiles
// of the values (zeros when there is none). It sorts the values.
func describeTotals(vs []int64) (mean float64, median, p90 int64) {
	if len(vs) == 0 {
		return 0, 0, 0
	}
	slices.Sort(vs)
	var sum float64
	for _, v := range vs {
		sum += float64(v)
	}
	return sum / float64(len(vs)), nearestRank(vs, 50), nearestRank(vs, 90)
}

// nearestRank returns the p-th percentile (0 < p ≤ 100) of the sorted,
// non-empty values: the value of rank ⌈p·n/100⌉.
func nearestRank(sorted []int64, p int) int64 {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// valuesByKey returns the map's values in ascending key order.
func valuesByKey[V any](m map[int64]*V, key func(*V) int64) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b V) int { return cmp.Compare(key(&a), key(&b)) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// Merge adds o to s: Elapsed and Events are summed, FirstAccess and
// LastAccess span the counted events of both (they stay 0 while Events
// is 0).
func (s *Stat) Merge(o Stat) {
	if o.Events > 0 {
		if s.Events == 0 {
			s.FirstAccess, s.LastAccess = o.FirstAccess, o.LastAccess
		} else {
			s.FirstAccess, s.LastAccess = min(s.FirstAccess, o.FirstAccess), max(s.LastAccess, o.LastAccess)
		}
	}
	s.Elapsed += o.Elapsed
	s.Events += o.Events
}

// touched reports whether the stat has a counted event or time.
func (s *Stat) touched() bool { return s.Events > 0 || s.Elapsed > 0 }

// SiteAggregate sums up the time of many users over the whole site.
type SiteAggregate struct {
	// Population is how many users were counted: one per Result given, nil
	// Results (users without time) included.
	Population int
	// ActiveUsers is how many of them have time (Total.Elapsed > 0).
	ActiveUsers int
	// Total sums the users' totals (site and every course).
	Total Stat
	// Site sums the users' site-level time (course 0: logins, logouts…).
	Site Stat
	// Courses is every course's total over the users, by course id.
	Courses map[int64]CourseTotal
	// TopCourses are the courses with the most time (Elapsed > 0 only),
	// most first, ties by course id ascending, at most the number asked.
	TopCourses []CourseTotal
}

// CourseTotal is one course's time summed over users.
type CourseTotal struct {
	CourseID int64
	Stat
	// ActiveLearners is how many users have time in the course.
	ActiveLearners int
}

// AggregateSite sums up the users' Results, one per user (nil: a user
// without time), keeping the top courses by time (top ≤ 0: none).
func AggregateSite(results []*Result, top int) SiteAggregate {
	a := SiteAggregate{Population: len(results), Courses: map[int64]CourseTotal{}}
	for _, r := range results {
		if r != nil {
			a.addUser(totalsOfResult(r))
		}
	}
	a.TopCourses = topCourses(a.Courses, top)
	return a
}

// addUser adds one user's totals (Population is the caller's).
func (a *SiteAggregate) addUser(t *userTotals) {
	if t.Total.Elapsed > 0 {
		a.ActiveUsers++
	}
	a.Total.Merge(t.Total)
	a.Site.Merge(t.Site)
	for i := range t.Courses {
		c := &t.Courses[i]
		ct := a.Courses[c.CourseID]
		ct.CourseID = c.CourseID
		ct.Merge(c.Stat)
		if c.Elapsed > 0 {
			ct.ActiveLearners++
		}
		a.Courses[c.CourseID] = ct
	}
}
