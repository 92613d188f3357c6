package aggregation

import (
	"cmp"
	"context"
	"slices"
)

// Summaries: what the answers over many users (site stats, site user
// lists, exports) keep of each user's stored day. Such an answer needs a
// user's totals per course, per day and per hour, never the user's
// sections, modules or sessions, so the store keeps, beside each day's
// cells, the day's summary: a tenth of the bytes to read, and nothing to
// build per user but a few sums. A summary is computed from the day's
// cells when they are written (SummarizeDay), so it always agrees with
// them.

// PlaceTotal is one course's (or the site's) time on one day: the cells
// of every bucket of that course summed.
type PlaceTotal struct {
	// Site marks the site bucket (Result.Site); otherwise CourseID is
	// the course (Result.Courses).
	Site     bool
	CourseID int64
	Stat
}

// HourTotal is a user's time in one UTC hour of one day, every course
// summed.
type HourTotal struct {
	Hour    Hour
	Elapsed int64
	Events  int64
}

// DaySummary is one user's stored day, summed.
type DaySummary struct {
	Day Day
	// Places: the site bucket first, then the courses by id; empty when
	// the day holds no cell.
	Places []PlaceTotal
	// Hours by hour.
	Hours []HourTotal
	// Scorm: the day's time in SCORM activities, by course and cm: what
	// the SCORM layer compares with what the packages reported.
	Scorm []ScormTime
}

// ScormTime is a user's time on one day in one SCORM activity (its
// activity cells of every section summed).
type ScormTime struct {
	CourseID, CMID int64
	Elapsed        int64
}

// SummarizeDay sums one day's cells and hourly cells (all of one user and
// day, in any order) into its summary.
func SummarizeDay(day Day, cells []*RollupEntry, hours []*HourEntry) DaySummary {
	d := DaySummary{Day: day}
	for _, e := range cells {
		site := e.Key.Bucket == BucketSite
		course := e.Key.CourseID
		if site {
			course = 0
		}
		i, found := slices.BinarySearchFunc(d.Places, PlaceTotal{Site: site, CourseID: course}, comparePlaces)
		if !found {
			d.Places = slices.Insert(d.Places, i, PlaceTotal{Site: site, CourseID: course})
		}
		d.Places[i].add(&e.Cell)
		if e.Key.Bucket == BucketActivity && e.Cell.ModuleType == ScormModuleType {
			k := ScormTime{CourseID: e.Key.CourseID, CMID: e.Key.CMID}
			i, found := slices.BinarySearchFunc(d.Scorm, k, compareScorm)
			if !found {
				d.Scorm = slices.Insert(d.Scorm, i, k)
			}
			d.Scorm[i].Elapsed += e.Cell.Elapsed
		}
	}
	for _, h := range hours {
		i, found := slices.BinarySearchFunc(d.Hours, h.Key.Hour, func(t HourTotal, hr Hour) int { return cmp.Compare(t.Hour, hr) })
		if !found {
			d.Hours = slices.Insert(d.Hours, i, HourTotal{Hour: h.Key.Hour})
		}
		d.Hours[i].Elapsed += h.Cell.Elapsed
		d.Hours[i].Events += h.Cell.Events
	}
	return d
}

// compareScorm orders SCORM times by course and cm.
func compareScorm(a, b ScormTime) int {
	return cmp.Or(cmp.Compare(a.CourseID, b.CourseID), cmp.Compare(a.CMID, b.CMID))
}

// comparePlaces orders the site first, then courses by id.
func comparePlaces(a, b PlaceTotal) int {
	if a.Site != b.Site {
		if a.Site {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.CourseID, b.CourseID)
}

// UserSummaries is what compiled rollups hold of one user for a run of
// days, summed by day: UserRollups without the cells.
type UserSummaries struct {
	// Horizon, From and Version as UserRollups'.
	Horizon, From, Version int64
	Days                   []DaySummary
	// Partial: some of the days were stored without a summary (by a
	// usestats before summaries were kept); the user is answered in full.
	Partial bool
}

// RollupSummaryReader is a RollupReader that also reads the days'
// summaries: what answers over many users read instead of the days.
type RollupSummaryReader interface {
	RollupReader
	// RollupSummaries is Rollups with the days' summaries instead of
	// their cells, hours and pieces.
	RollupSummaries(ctx context.Context, key CompileKey, userIDs []int64, from, to Day) (users map[int64]*UserSummaries, ok bool, err error)
}

// add adds a cell as Stat.add does for a user's Result.
func (p *PlaceTotal) add(c *RollupCell) { p.Stat.add(c) }

// addStat adds a summed stat as Stat.add adds a cell, so that a total of
// summaries equals the total of their cells.
func (s *Stat) addStat(o *Stat) {
	s.add(&RollupCell{Elapsed: o.Elapsed, Events: o.Events, First: o.FirstAccess, Last: o.LastAccess})
}
