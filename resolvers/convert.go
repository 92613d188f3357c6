package resolvers

import (
	"slices"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// Core values to models. Every time is Unix seconds, every duration
// seconds; a stat without events has no first or last access.

func userModel(u aggregation.UserInfo, acc model.Access) *model.User {
	return &model.User{
		ID: u.ID, Username: u.Username, IDNumber: u.IDNumber,
		Firstname: u.FirstName, Lastname: u.LastName, Email: u.Email,
		Host: int(u.HostID), Access: acc,
	}
}

func courseModel(c aggregation.CourseInfo) *model.Course {
	m := &model.Course{ID: c.ID, Shortname: c.ShortName, Fullname: c.FullName, IDNumber: c.IDNumber, Category: c.Category, Visible: c.Visible}
	m.StartDate = model.UnixPtr(c.StartDate, c.StartDate != 0)
	return m
}

func courseInfo(c *model.Course) aggregation.CourseInfo {
	info := aggregation.CourseInfo{ID: c.ID, ShortName: c.Shortname, FullName: c.Fullname, IDNumber: c.IDNumber, Category: c.Category, Visible: c.Visible}
	if c.StartDate != nil {
		info.StartDate = c.StartDate.Unix
	}
	return info
}

func policyModel(p aggregation.Policy) *model.Policy {
	attribution := model.AttributionForward
	if p.Attribution == aggregation.Backward {
		attribution = model.AttributionBackward
	}
	timeline := model.TimelineUser
	if p.Timeline == aggregation.PerCourse {
		timeline = model.TimelineCourse
	}
	site := model.SiteRowsLoginLogout
	switch p.Site {
	case aggregation.SiteAll:
		site = model.SiteRowsAll
	case aggregation.SiteNone:
		site = model.SiteRowsNone
	}
	return &model.Policy{
		Name:    p.Name,
		Version: p.Version,
		Parameters: &model.PolicyParameters{
			Threshold: p.Threshold, OverAtThreshold: p.OverAtThreshold, Credit: p.Credit,
			Attribution: attribution, Coalesce: p.Coalesce,
			SplitOnLogin: p.SplitOnLogin, SplitOnCourse: p.SplitOnCourse, MinSession: p.MinSession,
			Timeline: timeline,
			Capture:  nonNil(p.Capture), Ignore: nonNil(p.Ignore), DropOrigins: nonNil(p.DropOrigins),
			KeepFailed: p.KeepFailed, KeepLoginAs: p.KeepLoginAs, KeepAnonymous: p.KeepAnonymous,
			Site: site, SkipGraded: p.SkipGraded, Logout: p.Logout, EnrolmentFilter: p.EnrolmentFilter,
			Scorm: p.Scorm,
		},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

func firstLast(s aggregation.Stat) (first, last *model.Time) {
	return model.UnixPtr(s.FirstAccess, s.Events > 0), model.UnixPtr(s.LastAccess, s.Events > 0)
}

func statModel(s aggregation.Stat) *model.Stat {
	first, last := firstLast(s)
	return &model.Stat{Elapsed: s.Elapsed, Events: int(s.Events), FirstAccess: first, LastAccess: last}
}

func daysModel(days []aggregation.DayStat) []model.DayStat {
	out := make([]model.DayStat, len(days))
	for i, d := range days {
		out[i] = model.DayStat{Date: d.Day.String(), Elapsed: d.Elapsed, Events: int(d.Events)}
	}
	return out
}

// userStatsModel builds a user's answer. A restricted access sums only the
// courses it reads (their totals and days); the site level and sessions
// are then left out (their resolvers refuse them).
func userStatsModel(comp *model.Computation) *model.UserStats {
	res := comp.Result
	total, days := res.Total, res.Days
	if !comp.Access.All {
		total, days = restrictedTotals(res, comp.Access)
	}
	first, last := firstLast(total)
	return &model.UserStats{
		Policy:     policyModel(comp.Policy),
		Source:     sourceModel(res.Source),
		From:       model.Unix(comp.Window.From),
		To:         model.Unix(comp.Window.To),
		Restricted: !comp.Access.All,
		Total:      total.Elapsed, Events: int(total.Events),
		FirstAccess: first, LastAccess: last,
		Days:        daysModel(days),
		Computation: comp,
	}
}

// sourceModel maps where an answer came from; an answer that does not
// say (a zero Source) was computed from the log.
func sourceModel(s aggregation.Source) model.Source {
	switch s {
	case aggregation.SourceRollups:
		return model.SourceRollups
	case aggregation.SourceMixed:
		return model.SourceMixed
	}
	return model.SourceLive
}

// restrictedTotals sums the readable courses of a result: their total and
// their days.
func restrictedTotals(res *aggregation.Result, acc model.Access) (aggregation.Stat, []aggregation.DayStat) {
	var total aggregation.Stat
	byDay := map[aggregation.Day]*aggregation.Stat{}
	for i := range res.Courses {
		c := &res.Courses[i]
		if !acc.Allows(c.CourseID) {
			continue
		}
		addStat(&total, c.Total)
		for _, d := range c.Days {
			s := byDay[d.Day]
			if s == nil {
				s = new(aggregation.Stat)
				byDay[d.Day] = s
			}
			addStat(s, d.Stat)
		}
	}
	days := make([]aggregation.DayStat, 0, len(byDay))
	for d, s := range byDay {
		days = append(days, aggregation.DayStat{Day: d, Stat: *s})
	}
	slices.SortFunc(days, func(a, b aggregation.DayStat) int { return int(a.Day - b.Day) })
	return total, days
}

// addStat adds a sum of laps to another.
func addStat(dst *aggregation.Stat, s aggregation.Stat) {
	if s.Events > 0 {
		if dst.Events == 0 {
			dst.FirstAccess, dst.LastAccess = s.FirstAccess, s.LastAccess
		} else {
			dst.FirstAccess, dst.LastAccess = min(dst.FirstAccess, s.FirstAccess), max(dst.LastAccess, s.LastAccess)
		}
	}
	dst.Elapsed += s.Elapsed
	dst.Events += s.Events
}

// courseStatModel builds one course's answer for a user; modules and
// sections only at MODULE scope.
func courseStatModel(c *aggregation.CourseStat, userID int64, scope model.StatsScope) model.CourseStat {
	first, last := firstLast(c.Total)
	out := model.CourseStat{
		CourseID: c.CourseID, OfUser: userID,
		Total: c.Total.Elapsed, CourseTime: c.CourseLevel.Elapsed,
		ActivityTime: c.Activities.Elapsed, OtherTime: c.Other.Elapsed,
		Events: int(c.Total.Events), FirstAccess: first, LastAccess: last,
		Modules: []model.ModuleStat{}, Sections: []model.SectionStat{},
		Days: daysModel(c.Days),
	}
	if scope != model.StatsScopeModule {
		return out
	}
	for _, m := range c.Modules {
		first, last := firstLast(m.Stat)
		ms := model.ModuleStat{
			Cmid: m.CMID, Type: m.Type, Elapsed: m.Elapsed, Events: int(m.Events),
			FirstAccess: first, LastAccess: last,
		}
		if m.SectionID != 0 {
			sec := m.SectionID
			ms.Section = &sec
		}
		out.Modules = append(out.Modules, ms)
	}
	for _, s := range c.Sections {
		out.Sections = append(out.Sections, model.SectionStat{ID: s.SectionID, Unknown: s.Unknown, Elapsed: s.Elapsed, Events: int(s.Events)})
	}
	return out
}

// emptyCourseStat is the answer for a course without time.
func emptyCourseStat(courseID, userID int64) model.CourseStat {
	return model.CourseStat{
		CourseID: courseID, OfUser: userID,
		Modules: []model.ModuleStat{}, Sections: []model.SectionStat{}, Days: []model.DayStat{},
	}
}

func sessionsModel(ss []aggregation.Session) []model.Session {
	out := make([]model.Session, len(ss))
	for i, s := range ss {
		out[i] = model.Session{
			Start: model.Unix(s.Start), End: model.Unix(s.End),
			Elapsed: s.Elapsed, Events: int(s.Events), Courses: slices.Clone(s.Courses),
		}
		if out[i].Courses == nil {
			out[i].Courses = []int64{}
		}
	}
	return out
}

// sessionSummaryModel summarizes sessions: first start, last end, and the
// shortest, longest and mean (rounded) elapsed time.
func sessionSummaryModel(ss []aggregation.Session) *model.SessionSummary {
	out := &model.SessionSummary{Count: len(ss)}
	if len(ss) == 0 {
		return out
	}
	first, last := ss[0].Start, ss[0].End
	lo, hi, sum := ss[0].Elapsed, ss[0].Elapsed, int64(0)
	for _, s := range ss {
		first, last = min(first, s.Start), max(last, s.End)
		lo, hi = min(lo, s.Elapsed), max(hi, s.Elapsed)
		sum += s.Elapsed
	}
	n := int64(len(ss))
	mean := (sum + n/2) / n
	out.First, out.Last = &model.Time{Unix: first}, &model.Time{Unix: last}
	out.Min, out.Max, out.Mean = &lo, &hi, &mean
	return out
}

var bucketModel = map[aggregation.Bucket]model.Bucket{
	aggregation.BucketSite:     model.BucketSite,
	aggregation.BucketCourse:   model.BucketCourse,
	aggregation.BucketActivity: model.BucketActivity,
	aggregation.BucketOther:    model.BucketOther,
}

func lapModel(l *aggregation.Lap) model.Lap {
	ev := &l.Event
	out := model.Lap{
		EventID: ev.ID, Time: model.Unix(ev.Time),
		Action: ev.Action, Target: ev.Target, Eventname: ev.EventName,
		Course: ev.CourseID, Bucket: bucketModel[l.Place.Bucket],
		Credit: l.Credit, Carried: l.Carried, Reason: l.Reason.String(), Counted: l.Counted,
	}
	if ev.CMID != 0 {
		cm := ev.CMID
		out.Cmid = &cm
	}
	if l.Gap != aggregation.NoGap {
		gap := l.Gap
		out.Gap = &gap
	}
	if l.Detail != "" {
		detail := l.Detail
		out.Detail = &detail
	}
	return out
}

func scoreModel(courseID int64, g aggregation.CourseGrade) *model.Score {
	s := &model.Score{CourseID: courseID, Modules: make([]model.ModuleScore, 0, len(g.Modules))}
	if g.Course != nil {
		s.Grade, s.Grademax, s.Grademin, s.Percentage = g.Course.Value, g.Course.Max, g.Course.Min, g.Course.Percentage()
	}
	for _, m := range g.Modules {
		ms := model.ModuleScore{Type: m.Type, Grade: m.Value, Grademax: m.Max, Grademin: m.Min, Percentage: m.Percentage()}
		if m.CMID != 0 {
			cm := m.CMID
			ms.Cmid = &cm
		}
		s.Modules = append(s.Modules, ms)
	}
	return s
}
