package aggregation_test

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// anStat is a stat: elapsed, events, first and last access.
func anStat(elapsed, events, first, last int64) aggregation.Stat {
	return aggregation.Stat{Elapsed: elapsed, Events: events, FirstAccess: first, LastAccess: last}
}

// anModule is a module's stat in course 5.
func anModule(cm, section int64, typ string, s aggregation.Stat) aggregation.ModuleStat {
	return aggregation.ModuleStat{CourseID: 5, CMID: cm, Type: typ, SectionID: section, Stat: s}
}

// anLearner builds a Result with one course: its modules' stats, the
// sections and the activities summed from them, plus course-level time.
func anLearner(user, course int64, courseLevel aggregation.Stat, modules ...aggregation.ModuleStat) *aggregation.Result {
	c := aggregation.CourseStat{CourseID: course, CourseLevel: courseLevel, Modules: modules}
	sections := map[int64]*aggregation.SectionStat{}
	for _, m := range modules {
		c.Activities = anAddStat(c.Activities, m.Stat)
		s := sections[m.SectionID]
		if s == nil {
			s = &aggregation.SectionStat{SectionID: m.SectionID, Unknown: m.SectionID == 0}
			sections[m.SectionID] = s
		}
		s.Stat = anAddStat(s.Stat, m.Stat)
	}
	for _, s := range sections {
		c.Sections = append(c.Sections, *s)
	}
	slices.SortFunc(c.Sections, func(a, b aggregation.SectionStat) int { return int(a.SectionID - b.SectionID) })
	c.Total = anAddStat(c.CourseLevel, c.Activities)
	return &aggregation.Result{UserID: user, Total: c.Total, Courses: []aggregation.CourseStat{c}}
}

// anAddStat sums two stats (Stat.Merge, checked in TestStatMerge).
func anAddStat(a, b aggregation.Stat) aggregation.Stat {
	a.Merge(b)
	return a
}

// Merge sums time and events and spans first and last access over the
// stats with counted events only.
func TestStatMerge(t *testing.T) {
	cases := []struct{ a, b, want aggregation.Stat }{
		{anStat(0, 0, 0, 0), anStat(10, 2, 100, 200), anStat(10, 2, 100, 200)},
		{anStat(10, 2, 100, 200), anStat(5, 1, 50, 60), anStat(15, 3, 50, 200)},
		{anStat(10, 2, 100, 200), anStat(5, 1, 150, 300), anStat(15, 3, 100, 300)},
		{anStat(10, 2, 100, 200), anStat(600, 0, 0, 0), anStat(610, 2, 100, 200)}, // time without events
		{anStat(600, 0, 0, 0), anStat(0, 1, 70, 70), anStat(600, 1, 70, 70)},
		{anStat(0, 0, 0, 0), anStat(0, 0, 0, 0), anStat(0, 0, 0, 0)},
	}
	for _, c := range cases {
		got := c.a
		got.Merge(c.b)
		if got != c.want {
			t.Errorf("%+v + %+v = %+v, want %+v", c.a, c.b, got, c.want)
		}
	}
}

func TestAggregateCourse(t *testing.T) {
	alice := anLearner(1, 5, anStat(40, 2, 1000, 1100),
		anModule(101, 31, "page", anStat(60, 3, 1010, 1500)),
		anModule(102, 32, "quiz", anStat(0, 1, 2000, 2000)))
	bob := anLearner(2, 5, anStat(0, 0, 0, 0),
		anModule(101, 33, "page", anStat(300, 4, 3000, 4000)), // moved to section 33 later
		anModule(108, 0, aggregation.UnknownModuleType, anStat(20, 1, 500, 500)))
	// carol viewed once, earning no time; dave has SCORM time only.
	carol := anLearner(3, 5, anStat(0, 1, 900, 900))
	dave := anLearner(4, 5, aggregation.Stat{}, anModule(103, 31, "scorm", anStat(50, 0, 0, 0)))
	other := anLearner(5, 8, anStat(999, 9, 1, 2)) // no time in course 5

	cases := []struct {
		name    string
		results []*aggregation.Result
		want    aggregation.CourseAggregate
	}{
		{"nobody", nil, aggregation.CourseAggregate{CourseID: 5}},
		{"nobody active", []*aggregation.Result{nil, other, carol},
			aggregation.CourseAggregate{CourseID: 5, Population: 3, Total: anStat(0, 1, 900, 900)}},
		{"mixed", []*aggregation.Result{alice, nil, bob, carol, dave, other}, aggregation.CourseAggregate{
			CourseID: 5, Population: 6, ActiveLearners: 3,
			Total: anStat(100+320+50, 6+5+1, 500, 4000),
			// totals 50, 100, 320: mean 156.67, rank ⌈1.5⌉ = 2, rank ⌈2.7⌉ = 3
			Mean: 470.0 / 3, Median: 100, P90: 320,
			Modules: []aggregation.ModuleAggregate{
				{CMID: 101, Type: "page", SectionID: 33, Stat: anStat(360, 7, 1010, 4000), Learners: 2},
				{CMID: 102, Type: "quiz", SectionID: 32, Stat: anStat(0, 1, 2000, 2000), Learners: 1},
				{CMID: 103, Type: "scorm", SectionID: 31, Stat: anStat(50, 0, 0, 0), Learners: 1},
				{CMID: 108, Type: aggregation.UnknownModuleType, Stat: anStat(20, 1, 500, 500), Learners: 1},
			},
			Sections: []aggregation.SectionAggregate{
				{SectionID: 0, Unknown: true, Stat: anStat(20, 1, 500, 500), Learners: 1},
				{SectionID: 31, Stat: anStat(110, 3, 1010, 1500), Learners: 2},
				{SectionID: 32, Stat: anStat(0, 1, 2000, 2000), Learners: 1},
				{SectionID: 33, Stat: anStat(300, 4, 3000, 4000), Learners: 1},
			},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := aggregation.AggregateCourse(5, c.results)
			if math.Abs(got.Mean-c.want.Mean) < 1e-9 {
				got.Mean = c.want.Mean
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// Median and P90 are nearest-rank: always one learner's total.
func TestAggregateCoursePercentiles(t *testing.T) {
	cases := []struct {
		totals      []int64
		median, p90 int64
		mean        float64
	}{
		{[]int64{7}, 7, 7, 7},
		{[]int64{10, 20}, 10, 20, 15},
		{[]int64{30, 10, 20}, 20, 30, 20},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5, 9, 5.5},
		{[]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 6, 10, 6},
		{[]int64{5, 5, 5, 1000}, 5, 1000, 253.75},
	}
	for _, c := range cases {
		var rs []*aggregation.Result
		for i, tot := range c.totals {
			rs = append(rs, anLearner(int64(i+1), 5, anStat(tot, 1, 1, 1)))
		}
		rs = append(rs, nil, anLearner(99, 5, anStat(0, 3, 1, 1))) // not active: not counted
		got := aggregation.AggregateCourse(5, rs)
		if got.Median != c.median || got.P90 != c.p90 || got.Mean != c.mean || got.ActiveLearners != len(c.totals) {
			t.Errorf("%v: median %d p90 %d mean %v active %d, want %d %d %v %d",
				c.totals, got.Median, got.P90, got.Mean, got.ActiveLearners, c.median, c.p90, c.mean, len(c.totals))
		}
	}
}

func TestAggregateSite(t *testing.T) {
	a := &aggregation.Result{UserID: 1, Total: anStat(700, 10, 100, 900), Site: anStat(100, 2, 100, 900),
		Courses: []aggregation.CourseStat{{CourseID: 2, Total: anStat(200, 3, 200, 300)}, {CourseID: 5, Total: anStat(400, 5, 400, 800)}}}
	b := &aggregation.Result{UserID: 2, Total: anStat(400, 4, 50, 60),
		Courses: []aggregation.CourseStat{{CourseID: 5, Total: anStat(0, 1, 50, 50)}, {CourseID: 8, Total: anStat(400, 3, 55, 60)}}}
	c := &aggregation.Result{UserID: 3, Courses: []aggregation.CourseStat{{CourseID: 9, Total: anStat(0, 1, 70, 70)}}}
	c.Total = anStat(0, 1, 70, 70)
	courses := map[int64]aggregation.CourseTotal{
		2: {CourseID: 2, Stat: anStat(200, 3, 200, 300), ActiveLearners: 1},
		5: {CourseID: 5, Stat: anStat(400, 6, 50, 800), ActiveLearners: 1},
		8: {CourseID: 8, Stat: anStat(400, 3, 55, 60), ActiveLearners: 1},
		9: {CourseID: 9, Stat: anStat(0, 1, 70, 70)},
	}
	cases := []struct {
		name string
		top  int
		want []int64 // top course ids
	}{
		{"no top", 0, nil},
		{"negative", -1, nil},
		{"tie by id", 2, []int64{5, 8}},
		{"all with time", 10, []int64{5, 8, 2}},
	}
	for _, tc := range cases {
		got := aggregation.AggregateSite([]*aggregation.Result{a, nil, b, c}, tc.top)
		var ids []int64
		for _, ct := range got.TopCourses {
			ids = append(ids, ct.CourseID)
			if ct != courses[ct.CourseID] {
				t.Errorf("%s: top course %+v, want %+v", tc.name, ct, courses[ct.CourseID])
			}
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: top courses %v, want %v", tc.name, ids, tc.want)
		}
		if got.Population != 4 || got.ActiveUsers != 2 || got.Total != anStat(1100, 15, 50, 900) || got.Site != anStat(100, 2, 100, 900) {
			t.Errorf("%s: population %d active %d total %+v site %+v", tc.name, got.Population, got.ActiveUsers, got.Total, got.Site)
		}
		if !reflect.DeepEqual(got.Courses, courses) {
			t.Errorf("%s: courses %+v, want %+v", tc.name, got.Courses, courses)
		}
	}
	if got := aggregation.AggregateSite(nil, 3); got.Population != 0 || len(got.Courses) != 0 || got.TopCourses != nil {
		t.Errorf("no users: %+v", got)
	}
}

// anDayStat is a day cell of a YYYY-MM-DD day.
func anDayStat(t testing.TB, s string, elapsed, events int64) aggregation.DayStat {
	t.Helper()
	d, err := aggregation.ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return aggregation.DayStat{Day: d, Stat: aggregation.Stat{Elapsed: elapsed, Events: events}}
}

// anMidnight is the start of a date in loc.
func anMidnight(loc *time.Location, y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()
}

func TestSeries(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 2024-01-01 is a Monday; 2021-01-01 a Friday of ISO week 2020-W53.
	users := [][]aggregation.DayStat{
		{anDayStat(t, "2023-12-31", 5, 1), anDayStat(t, "2024-01-01", 10, 1), anDayStat(t, "2024-01-03", 20, 2), anDayStat(t, "2024-02-10", 40, 4)},
		{anDayStat(t, "2024-01-01", 100, 1), anDayStat(t, "2024-01-08", 200, 2)},
		nil,
		{anDayStat(t, "2021-01-01", 1, 1), anDayStat(t, "2021-01-03", 2, 1), anDayStat(t, "2021-01-04", 4, 1)},
	}
	p := func(loc *time.Location, y int, m time.Month, d int, elapsed, events int64) aggregation.SeriesPoint {
		return aggregation.SeriesPoint{Start: anMidnight(loc, y, m, d), Elapsed: elapsed, Events: events}
	}
	cases := []struct {
		g   aggregation.Granularity
		loc *time.Location
	}{
		{aggregation.GranularityDay, time.UTC},
		{aggregation.GranularityDay, ny},
		{aggregation.GranularityWeek, time.UTC},
		{aggregation.GranularityWeek, ny},
		{aggregation.GranularityMonth, nil},
		{aggregation.GranularityMonth, ny},
	}
	wants := map[aggregation.Granularity]func(loc *time.Location) []aggregation.SeriesPoint{
		aggregation.GranularityDay: func(loc *time.Location) []aggregation.SeriesPoint {
			return []aggregation.SeriesPoint{
				p(loc, 2021, 1, 1, 1, 1), p(loc, 2021, 1, 3, 2, 1), p(loc, 2021, 1, 4, 4, 1),
				p(loc, 2023, 12, 31, 5, 1), p(loc, 2024, 1, 1, 110, 2), p(loc, 2024, 1, 3, 20, 2),
				p(loc, 2024, 1, 8, 200, 2), p(loc, 2024, 2, 10, 40, 4),
			}
		},
		aggregation.GranularityWeek: func(loc *time.Location) []aggregation.SeriesPoint {
			return []aggregation.SeriesPoint{
				p(loc, 2020, 12, 28, 3, 2), p(loc, 2021, 1, 4, 4, 1),
				p(loc, 2023, 12, 25, 5, 1), p(loc, 2024, 1, 1, 130, 4), p(loc, 2024, 1, 8, 200, 2),
				p(loc, 2024, 2, 5, 40, 4),
			}
		},
		aggregation.GranularityMonth: func(loc *time.Location) []aggregation.SeriesPoint {
			return []aggregation.SeriesPoint{
				p(loc, 2021, 1, 1, 7, 3), p(loc, 2023, 12, 1, 5, 1), p(loc, 2024, 1, 1, 330, 6), p(loc, 2024, 2, 1, 40, 4),
			}
		},
	}
	for _, c := range cases {
		got, err := aggregation.Series(users, c.g, c.loc)
		loc := c.loc
		if loc == nil {
			loc = time.UTC
		}
		if want := wants[c.g](loc); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s in %s: %+v, %v\nwant %+v", c.g, loc, got, err, want)
		}
	}
	if got, err := aggregation.Series(nil, aggregation.GranularityWeek, nil); err != nil || len(got) != 0 {
		t.Errorf("no days: %v, %v", got, err)
	}
	for _, g := range []aggregation.Granularity{0, 4, 255} {
		if _, err := aggregation.Series(users, g, nil); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("granularity %d: err = %v", g, err)
		}
	}
}

func TestSeriesBetween(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	users := [][]aggregation.DayStat{
		{anDayStat(t, "2024-01-01", 10, 1), anDayStat(t, "2024-01-03", 20, 2), anDayStat(t, "2024-02-10", 40, 4)},
		{anDayStat(t, "2024-01-02", 100, 1), anDayStat(t, "2024-01-05", 200, 2)},
	}
	p := func(y int, m time.Month, d int, elapsed, events int64) aggregation.SeriesPoint {
		return aggregation.SeriesPoint{Start: anMidnight(ny, y, m, d), Elapsed: elapsed, Events: events}
	}
	// [2024-01-02 10:00, 2024-01-05 00:00) New York: the days 2, 3 and 4.
	from := time.Date(2024, 1, 2, 10, 0, 0, 0, ny).Unix()
	to := anMidnight(ny, 2024, 1, 5)
	cases := []struct {
		g        aggregation.Granularity
		from, to int64
		want     []aggregation.SeriesPoint
	}{
		{aggregation.GranularityDay, from, to, []aggregation.SeriesPoint{p(2024, 1, 2, 100, 1), p(2024, 1, 3, 20, 2), p(2024, 1, 4, 0, 0)}},
		{aggregation.GranularityWeek, from, to, []aggregation.SeriesPoint{p(2024, 1, 1, 120, 3)}},
		{aggregation.GranularityMonth, from, to, []aggregation.SeriesPoint{p(2024, 1, 1, 120, 3)}},
		{aggregation.GranularityDay, from, from, []aggregation.SeriesPoint{}},
		{aggregation.GranularityDay, to - 1, to, []aggregation.SeriesPoint{p(2024, 1, 4, 0, 0)}},
		// Whole months, zeros in between: December 2023 to March 2024.
		{aggregation.GranularityMonth, anMidnight(ny, 2023, 12, 31), anMidnight(ny, 2024, 3, 2), []aggregation.SeriesPoint{
			p(2023, 12, 1, 0, 0), p(2024, 1, 1, 330, 6), p(2024, 2, 1, 40, 4), p(2024, 3, 1, 0, 0)}},
		{aggregation.GranularityWeek, anMidnight(ny, 2024, 1, 7), anMidnight(ny, 2024, 1, 22), []aggregation.SeriesPoint{
			p(2024, 1, 1, 0, 0), p(2024, 1, 8, 0, 0), p(2024, 1, 15, 0, 0)}},
	}
	for _, c := range cases {
		got, err := aggregation.SeriesBetween(users, c.g, ny, c.from, c.to)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s [%d, %d): %+v, %v\nwant %+v", c.g, c.from, c.to, got, err, c.want)
		}
	}
	for _, c := range []struct {
		g        aggregation.Granularity
		from, to int64
	}{
		{aggregation.GranularityDay, to, from},
		{0, from, to},
		{aggregation.GranularityDay, 0, 400 * 365 * 86400},
		{aggregation.GranularityMonth, math.MinInt64, math.MaxInt64},
	} {
		if _, err := aggregation.SeriesBetween(users, c.g, ny, c.from, c.to); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("%s [%d, %d): err = %v, want invalid", c.g, c.from, c.to, err)
		}
	}
}

// A bucket starts at the first instant of its first day in the location,
// even where midnight does not exist (São Paulo skipped 2018-11-04 00:00).
func TestSeriesStartsAtDayStart(t *testing.T) {
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := aggregation.Series([][]aggregation.DayStat{{anDayStat(t, "2018-11-04", 1, 1)}}, aggregation.GranularityDay, sp)
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v, %v", got, err)
	}
	start := time.Unix(got[0].Start, 0).In(sp)
	before := time.Unix(got[0].Start-1, 0).In(sp)
	if start.Format(time.DateTime) != "2018-11-04 01:00:00" || before.Format(time.DateOnly) != "2018-11-03" {
		t.Errorf("start %s, a second before %s", start, before)
	}
}
