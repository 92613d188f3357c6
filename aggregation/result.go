package aggregation

import (
	"cmp"
	"slices"
)

// Stat is a sum of laps.
type Stat struct {
	Elapsed     int64 // seconds
	Events      int64 // counted events
	FirstAccess int64 // time of the first counted event (0 when Events = 0)
	LastAccess  int64 // time of the last counted event (0 when Events = 0)
}

func (s *Stat) add(c *RollupCell) {
	if c.Events == 0 && c.Elapsed == 0 {
		return
	}
	if s.Events == 0 {
		s.FirstAccess, s.LastAccess = c.First, c.Last
	} else if c.Events > 0 {
		s.FirstAccess, s.LastAccess = min(s.FirstAccess, c.First), max(s.LastAccess, c.Last)
	}
	s.Elapsed += c.Elapsed
	s.Events += c.Events
}

// PolicyRef names the policy an answer was computed with.
type PolicyRef struct {
	Name    string
	Version string
}

// Result is one user's time for a window.
type Result struct {
	Policy   PolicyRef
	Source   Source // where the answer came from (set by the Service)
	UserID   int64
	From, To int64
	Total    Stat // site + every course
	Site     Stat // course 0: logins, logouts and (by policy) other site rows
	Courses  []CourseStat
	Sessions []Session
	Days     []DayStat // the user's total per day
	// Hours is the user's total per UTC hour (site and every course), by
	// hour: each counted event's lap is in the hour of the event (as in
	// Days, a lap that runs past the hour stays in it), and the SCORM
	// layer's Added in the hour of its LastWrite. Σ Hours = Total (time
	// and events). HourSeries and Heatmap cut them into any time zone.
	Hours []HourStat
	// Scorm lists what the SCORM layer did (Policy.Scorm), one entry per
	// SCORM activity whose package wrote a time value in the window, by
	// course and cmid; its Added time is in every total above but not in
	// Sessions, which keep the log's time.
	Scorm []ScormAdjustment
}

// CourseStat is one course's time: Total = CourseLevel + Activities + Other.
type CourseStat struct {
	CourseID    int64
	Total       Stat
	CourseLevel Stat // course, category and block contexts
	Activities  Stat // module contexts
	Other       Stat // user and system contexts carrying the course id
	FirstIP     string
	LastIP      string
	Modules     []ModuleStat  // by cmid
	Sections    []SectionStat // by section id; the unknown section (id 0) first
	Days        []DayStat
	// Hours is the course's time per UTC hour, by hour, as Result.Hours:
	// Σ Hours = Total (time and events).
	Hours []HourStat
}

// ModuleStat is one course module's time.
type ModuleStat struct {
	CourseID  int64
	CMID      int64
	Type      string // module type; UnknownModuleType for deleted modules
	SectionID int64  // 0 = unknown
	Stat
}

// SectionStat is one section's activity time. SectionID 0 is the explicit
// "unknown section" (deleted module or section, fix B13).
type SectionStat struct {
	SectionID int64
	Unknown   bool
	Stat
}

// DayStat is the time of one calendar day.
type DayStat struct {
	Day Day
	Stat
}

// HourStat is the time of one UTC hour: the laps of the events in it.
type HourStat struct {
	Hour    Hour
	Elapsed int64 // seconds
	Events  int64 // counted events
}

// Course returns the course's stats, or nil.
func (r *Result) Course(id int64) *CourseStat {
	i, ok := slices.BinarySearchFunc(r.Courses, id, func(c CourseStat, id int64) int { return cmp.Compare(c.CourseID, id) })
	if !ok {
		return nil
	}
	return &r.Courses[i]
}

// Module returns the module's stats, or nil.
func (c *CourseStat) Module(cmid int64) *ModuleStat {
	i, ok := slices.BinarySearchFunc(c.Modules, cmid, func(m ModuleStat, id int64) int { return cmp.Compare(m.CMID, id) })
	if !ok {
		return nil
	}
	return &c.Modules[i]
}

// Section returns the section's stats (0 = unknown section), or nil.
func (c *CourseStat) Section(id int64) *SectionStat {
	i, ok := slices.BinarySearchFunc(c.Sections, id, func(s SectionStat, id int64) int { return cmp.Compare(s.SectionID, id) })
	if !ok {
		return nil
	}
	return &c.Sections[i]
}

// UserResult builds the result tree of one user from the rollup. Sessions,
// IPs and the policy are filled in by the caller (see Accumulator.Result).
func (r *Rollup) UserResult(userID int64) *Result {
	res := &Result{UserID: userID}
	courses := map[int64]*CourseStat{}
	ips := map[int64]*[2]IPMark{}
	modules := map[[2]int64]*ModuleStat{}
	sections := map[[2]int64]*SectionStat{}
	days := map[Day]*Stat{}
	courseDays := map[struct {
		c int64
		d Day
	}]*Stat{}
	for i := range r.cells {
		k, c := r.keys[i], &r.cells[i]
		if k.UserID != userID {
			continue
		}
		res.Total.add(c)
		d := days[k.Day]
		if d == nil {
			d = new(Stat)
			days[k.Day] = d
		}
		d.add(c)
		if k.Bucket == BucketSite {
			res.Site.add(c)
			continue
		}
		cs := courses[k.CourseID]
		if cs == nil {
			cs = &CourseStat{CourseID: k.CourseID}
			courses[k.CourseID] = cs
		}
		cs.Total.add(c)
		if c.FirstIP.IP != "" {
			m := ips[k.CourseID]
			if m == nil {
				m = new([2]IPMark)
				ips[k.CourseID] = m
			}
			m[0].earlier(&c.FirstIP)
			m[1].later(&c.LastIP)
		}
		cd := courseDays[struct {
			c int64
			d Day
		}{k.CourseID, k.Day}]
		if cd == nil {
			cd = new(Stat)
			courseDays[struct {
				c int64
				d Day
			}{k.CourseID, k.Day}] = cd
		}
		cd.add(c)
		switch k.Bucket {
		case BucketCourse:
			cs.CourseLevel.add(c)
		case BucketOther:
			cs.Other.add(c)
		case BucketActivity:
			cs.Activities.add(c)
			mk := [2]int64{k.CourseID, k.CMID}
			m := modules[mk]
			if m == nil {
				m = &ModuleStat{CourseID: k.CourseID, CMID: k.CMID, Type: c.ModuleType, SectionID: k.SectionID}
				modules[mk] = m
			} else if placedLater(c, k.SectionID, &m.Stat, m.SectionID) {
				// A module moved (or its section was deleted): report where it
				// was last seen, whatever order the cells were merged in.
				m.SectionID = k.SectionID
				if c.ModuleType != UnknownModuleType || m.Type == "" {
					m.Type = c.ModuleType
				}
			}
			if m.Type == UnknownModuleType && c.ModuleType != UnknownModuleType && c.ModuleType != "" {
				m.Type = c.ModuleType
			}
			m.Stat.add(c)
			sk := [2]int64{k.CourseID, k.SectionID}
			s := sections[sk]
			if s == nil {
				s = &SectionStat{SectionID: k.SectionID, Unknown: k.SectionID == 0}
				sections[sk] = s
			}
			s.Stat.add(c)
		}
	}
	for _, m := range modules {
		cs := courses[m.CourseID]
		cs.Modules = append(cs.Modules, *m)
	}
	for k, s := range sections {
		cs := courses[k[0]]
		cs.Sections = append(cs.Sections, *s)
	}
	for k, d := range courseDays {
		cs := courses[k.c]
		cs.Days = append(cs.Days, DayStat{Day: k.d, Stat: *d})
	}
	for _, cs := range courses {
		if m := ips[cs.CourseID]; m != nil {
			cs.FirstIP, cs.LastIP = m[0].IP, m[1].IP
		}
		slices.SortFunc(cs.Modules, func(a, b ModuleStat) int { return cmp.Compare(a.CMID, b.CMID) })
		slices.SortFunc(cs.Sections, func(a, b SectionStat) int { return cmp.Compare(a.SectionID, b.SectionID) })
		slices.SortFunc(cs.Days, func(a, b DayStat) int { return cmp.Compare(a.Day, b.Day) })
		res.Courses = append(res.Courses, *cs)
	}
	slices.SortFunc(res.Courses, func(a, b CourseStat) int { return cmp.Compare(a.CourseID, b.CourseID) })
	for d, s := range days {
		res.Days = append(res.Days, DayStat{Day: d, Stat: *s})
	}
	slices.SortFunc(res.Days, func(a, b DayStat) int { return cmp.Compare(a.Day, b.Day) })
	r.addHours(res)
	return res
}

// addHours sums the user's hourly cells into res: its Hours and those of
// its courses (the cells of one hour on two site days make one hour).
func (r *Rollup) addHours(res *Result) {
	type courseHour struct {
		course int64
		hour   Hour
	}
	type courseStat struct {
		course int64
		HourStat
	}
	user := map[Hour]int{}         // index in res.Hours
	course := map[courseHour]int{} // index in flat
	var flat []courseStat
	for i := range r.hours.cells {
		k, c := &r.hours.keys[i], &r.hours.cells[i]
		if k.UserID != res.UserID {
			continue
		}
		if j, ok := user[k.Hour]; ok {
			res.Hours[j].Elapsed += c.Elapsed
			res.Hours[j].Events += c.Events
		} else {
			user[k.Hour] = len(res.Hours)
			res.Hours = append(res.Hours, HourStat{Hour: k.Hour, Elapsed: c.Elapsed, Events: c.Events})
		}
		if k.CourseID == SiteCourseID {
			continue
		}
		ck := courseHour{k.CourseID, k.Hour}
		if j, ok := course[ck]; ok {
			flat[j].Elapsed += c.Elapsed
			flat[j].Events += c.Events
		} else {
			course[ck] = len(flat)
			flat = append(flat, courseStat{k.CourseID, HourStat{Hour: k.Hour, Elapsed: c.Elapsed, Events: c.Events}})
		}
	}
	slices.SortFunc(res.Hours, func(a, b HourStat) int { return cmp.Compare(a.Hour, b.Hour) })
	slices.SortFunc(flat, func(a, b courseStat) int { return cmp.Or(cmp.Compare(a.course, b.course), cmp.Compare(a.Hour, b.Hour)) })
	// One backing array; each course's slice is capped, so growing one
	// never writes into the next.
	all := make([]HourStat, len(flat))
	for i := range flat {
		all[i] = flat[i].HourStat
	}
	for i := 0; i < len(flat); {
		j := i + 1
		for j < len(flat) && flat[j].course == flat[i].course {
			j++
		}
		if cs := res.Course(flat[i].course); cs != nil { // an engine never writes hours without days
			cs.Hours = all[i:j:j]
		}
		i = j
	}
}

// placedLater reports whether a cell (in section sec) was seen after the
// module's current placement: later last access, then the higher section id
// as a deterministic tie-break.
func placedLater(c *RollupCell, sec int64, cur *Stat, curSec int64) bool {
	if c.Last != cur.LastAccess {
		return c.Last > cur.LastAccess
	}
	return sec > curSec
}
