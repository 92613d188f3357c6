package aggregation_test

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Properties of the analytics over many random course populations whose
// members' Results come from the engine on generated streams (plus a few
// hand-made edge cases): the aggregate adds up to its members, series of
// any granularity keep the days' sums, and a participant list's pages are
// its filtered, sorted list once, with ties in id order.

const anPopulations = 400 // random populations per property

// anPool returns engine Results of generated streams under two presets,
// and Results with the edges the engine rarely gives: a click without
// time, and time without events (the SCORM layer).
func anPool(t *testing.T) []*aggregation.Result {
	t.Helper()
	r := rand.New(rand.NewPCG(2024, 0x616e))
	var pool []*aggregation.Result
	for i := range 60 {
		evs := genStream(r, r.IntN(200))
		p := preset(t, []string{"usestats", "dedication"}[i%2])
		pool = append(pool, compute(t, p, aggregation.AllTime, far, evs))
	}
	for _, c := range genCourses {
		click := anLearner(genUser, c, anStat(0, 1, genStart, genStart))
		click.Courses[0].Days = []aggregation.DayStat{{Day: aggregation.Day(genStart / 86400), Stat: click.Courses[0].Total}}
		scorm := anLearner(genUser, c, aggregation.Stat{}, aggregation.ModuleStat{CourseID: c, CMID: c*100 + 5, Type: "scorm", SectionID: c * 10, Stat: anStat(600, 0, 0, 0)})
		scorm.Courses[0].Days = []aggregation.DayStat{{Day: aggregation.Day(genStart/86400 + 3), Stat: anStat(600, 0, 0, 0)}}
		pool = append(pool, click, scorm)
	}
	return pool
}

// anPopulation draws a course's members (distinct ids, in any order) and
// their Results from the pool (shared Results make ties), nil for some.
func anPopulation(r *rand.Rand, pool []*aggregation.Result) aggregation.ParticipantSet {
	set := aggregation.ParticipantSet{
		CourseID: genCourses[r.IntN(len(genCourses))],
		Results:  map[int64]*aggregation.Result{},
		Grades:   map[int64]float64{},
	}
	names := []string{"Ng", "ng", "Smith", "Émile", "", "Ådams", "adams"}
	roles := []string{"student", "teacher", "editingteacher"}
	n := r.IntN(41)
	for _, id := range r.Perm(300)[:n] {
		m := aggregation.Member{UserInfo: aggregation.UserInfo{ID: int64(id + 1),
			LastName: names[r.IntN(len(names))], FirstName: names[r.IntN(len(names))]}}
		for _, role := range roles {
			if r.IntN(3) == 0 {
				m.Roles = append(m.Roles, aggregation.RoleInfo{ShortName: role})
			}
		}
		for g := range int64(4) {
			if r.IntN(3) == 0 {
				m.Groups = append(m.Groups, g+1)
			}
		}
		m.Enrolment.Active = r.IntN(4) > 0
		set.Members = append(set.Members, m)
		if r.IntN(5) > 0 {
			set.Results[m.ID] = pool[r.IntN(len(pool))]
		}
		switch x := r.IntN(6); x {
		case 0: // no grade
		case 1:
			set.Grades[m.ID] = math.NaN()
		default:
			set.Grades[m.ID] = float64(r.IntN(4) * 25)
		}
	}
	return set
}

// anCourse is the member's course total (zero without time).
func anCourse(r *aggregation.Result, course int64) aggregation.Stat {
	if r == nil {
		return aggregation.Stat{}
	}
	if c := r.Course(course); c != nil {
		return c.Total
	}
	return aggregation.Stat{}
}

func TestPropertyAggregateCourse(t *testing.T) {
	pool := anPool(t)
	r := rand.New(rand.NewPCG(1, 0x6167))
	for i := range anPopulations {
		set := anPopulation(r, pool)
		var results []*aggregation.Result
		var sum aggregation.Stat
		var totals []int64
		for _, m := range set.Members {
			res := set.Results[m.ID]
			results = append(results, res)
			c := anCourse(res, set.CourseID)
			sum = anAddStat(sum, c)
			if c.Elapsed > 0 {
				totals = append(totals, c.Elapsed)
			}
		}
		a := aggregation.AggregateCourse(set.CourseID, results)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("population %d (course %d, %d members): %s", i, set.CourseID, len(results), fmt.Sprintf(format, args...))
		}
		if a.Total != sum {
			fail("total %+v, want Σ course totals %+v", a.Total, sum)
		}
		if a.Population != len(results) || a.ActiveLearners != len(totals) {
			fail("population %d active %d, want %d %d", a.Population, a.ActiveLearners, len(results), len(totals))
		}
		slices.Sort(totals)
		rank := func(p float64) int64 {
			if len(totals) == 0 {
				return 0
			}
			return totals[int(math.Ceil(p/100*float64(len(totals))))-1]
		}
		mean := 0.0
		if len(totals) > 0 {
			mean = float64(sum.Elapsed) / float64(len(totals))
		}
		if a.Median != rank(50) || a.P90 != rank(90) || math.Abs(a.Mean-mean) > 1e-9*max(1, mean) {
			fail("mean %v median %d p90 %d, want %v %d %d of %v", a.Mean, a.Median, a.P90, mean, rank(50), rank(90), totals)
		}
		// Σ modules = Σ sections = Σ the members' activities; learners
		// per module never exceed the active population.
		var acts, mods, secs aggregation.Stat
		for _, res := range results {
			if res == nil {
				continue
			}
			if c := res.Course(set.CourseID); c != nil {
				acts = anAddStat(acts, c.Activities)
			}
		}
		for _, m := range a.Modules {
			mods = anAddStat(mods, m.Stat)
			if m.Learners < 1 || m.Learners > len(results) {
				fail("module %d: %d learners", m.CMID, m.Learners)
			}
		}
		for _, s := range a.Sections {
			secs = anAddStat(secs, s.Stat)
		}
		if mods.Elapsed != acts.Elapsed || mods.Events != acts.Events || secs.Elapsed != acts.Elapsed || secs.Events != acts.Events {
			fail("Σ modules %+v, Σ sections %+v, Σ activities %+v", mods, secs, acts)
		}
		if !slices.IsSortedFunc(a.Modules, func(x, y aggregation.ModuleAggregate) int { return cmp.Compare(x.CMID, y.CMID) }) {
			fail("modules not by cmid")
		}
	}
}

func TestPropertySeries(t *testing.T) {
	pool := anPool(t)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	locs := []*time.Location{time.UTC, ny, sp, time.FixedZone("UTC+14", 14*3600), time.FixedZone("UTC-11", -11*3600)}
	grans := []aggregation.Granularity{aggregation.GranularityDay, aggregation.GranularityWeek, aggregation.GranularityMonth}
	r := rand.New(rand.NewPCG(2, 0x7365))
	for i := range anPopulations {
		set := anPopulation(r, pool)
		// The course's days of every member, or the members' own days.
		var lists [][]aggregation.DayStat
		for _, m := range set.Members {
			res := set.Results[m.ID]
			switch {
			case res == nil:
			case i%2 == 0:
				lists = append(lists, res.Days)
			default:
				if c := res.Course(set.CourseID); c != nil {
					lists = append(lists, c.Days)
				}
			}
		}
		var sum aggregation.Stat
		lo, hi := aggregation.Day(math.MaxInt64), aggregation.Day(math.MinInt64)
		for _, l := range lists {
			for _, d := range l {
				sum.Elapsed += d.Elapsed
				sum.Events += d.Events
				lo, hi = min(lo, d.Day), max(hi, d.Day)
			}
		}
		loc := locs[r.IntN(len(locs))]
		for _, g := range grans {
			what := fmt.Sprintf("population %d, %s in %s", i, g, loc)
			pts, err := aggregation.Series(lists, g, loc)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if got := anSeriesSum(pts); got != [2]int64{sum.Elapsed, sum.Events} {
				t.Fatalf("%s: Σ points %v, Σ days %d s / %d events", what, got, sum.Elapsed, sum.Events)
			}
			anCheckBuckets(t, what, pts, g, loc, false)
			if lo > hi { // no day at all
				continue
			}
			// The whole span: the same sums, every bucket once.
			from, to := anDayStart(lo, loc), anDayStart(hi+1, loc)
			all, err := aggregation.SeriesBetween(lists, g, loc, from, to)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if got := anSeriesSum(all); got != [2]int64{sum.Elapsed, sum.Events} {
				t.Fatalf("%s over the span: Σ points %v, Σ days %d s / %d events", what, got, sum.Elapsed, sum.Events)
			}
			anCheckBuckets(t, what+" over the span", all, g, loc, true)
			// A random range: the sums of the days it overlaps.
			a := from + r.Int64N(to-from)
			b := a + r.Int64N(to-a+1)
			part, err := aggregation.SeriesBetween(lists, g, loc, a, b)
			if err != nil {
				t.Fatalf("%s [%d, %d): %v", what, a, b, err)
			}
			var want [2]int64
			if b > a {
				first, last := anDayOf(a, loc), anDayOf(b-1, loc)
				for _, l := range lists {
					for _, d := range l {
						if d.Day >= first && d.Day <= last {
							want[0] += d.Elapsed
							want[1] += d.Events
						}
					}
				}
			}
			if got := anSeriesSum(part); got != want {
				t.Fatalf("%s [%d, %d): Σ points %v, want %v", what, a, b, got, want)
			}
			anCheckBuckets(t, fmt.Sprintf("%s [%d, %d)", what, a, b), part, g, loc, true)
			if b > a && (part[0].Start > a || anNextStart(part[len(part)-1].Start, g, loc) < b) {
				t.Fatalf("%s [%d, %d): points %d … %d do not cover the range", what, a, b, part[0].Start, part[len(part)-1].Start)
			}
		}
	}
}

func anSeriesSum(pts []aggregation.SeriesPoint) [2]int64 {
	var s [2]int64
	for _, p := range pts {
		s[0] += p.Elapsed
		s[1] += p.Events
	}
	return s
}

// anDayOf is the Day of a time in loc.
func anDayOf(t int64, loc *time.Location) aggregation.Day {
	y, m, d := time.Unix(t, 0).In(loc).Date()
	return aggregation.Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// anDayStart is the first instant of a Day in loc, found by search: the
// least t whose day in loc is d.
func anDayStart(d aggregation.Day, loc *time.Location) int64 {
	lo, hi := int64(d)*86400-15*3600, int64(d)*86400+15*3600 // every zone's midnight is in between
	for lo < hi {
		mid := lo + (hi-lo)/2
		if anDayOf(mid, loc) >= d {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// anNextStart is the start of the bucket after the one starting at s.
func anNextStart(s int64, g aggregation.Granularity, loc *time.Location) int64 {
	d := anDayOf(s, loc)
	switch g {
	case aggregation.GranularityWeek:
		return anDayStart(d+7, loc)
	case aggregation.GranularityMonth:
		y, m, _ := time.Unix(int64(d)*86400, 0).UTC().Date()
		return anDayStart(aggregation.Day(time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).Unix()/86400), loc)
	}
	return anDayStart(d+1, loc)
}

// anCheckBuckets checks that every point starts a bucket of g in loc (the
// first instant of a day; a Monday; the 1st), in ascending order, and,
// when consecutive, that no bucket is missing between two points.
func anCheckBuckets(t *testing.T, what string, pts []aggregation.SeriesPoint, g aggregation.Granularity, loc *time.Location, consecutive bool) {
	t.Helper()
	for i, p := range pts {
		d := anDayOf(p.Start, loc)
		at := time.Unix(int64(d)*86400, 0).UTC()
		switch {
		case anDayStart(d, loc) != p.Start:
			t.Fatalf("%s: point %d starts at %d, not at the start of %s", what, i, p.Start, d)
		case g == aggregation.GranularityWeek && at.Weekday() != time.Monday,
			g == aggregation.GranularityMonth && at.Day() != 1:
			t.Fatalf("%s: point %d starts on %s (%s)", what, i, d, at.Weekday())
		case i > 0 && p.Start <= pts[i-1].Start:
			t.Fatalf("%s: point %d (%d) not after point %d (%d)", what, i, p.Start, i-1, pts[i-1].Start)
		case i > 0 && consecutive && anNextStart(pts[i-1].Start, g, loc) != p.Start:
			t.Fatalf("%s: a bucket is missing between %d and %d", what, pts[i-1].Start, p.Start)
		}
	}
}

// anFilter draws a filter: each field set one time in three.
func anFilter(r *rand.Rand) aggregation.ParticipantFilter {
	var f aggregation.ParticipantFilter
	some := func() bool { return r.IntN(3) == 0 }
	secs := func() *int64 { v := []int64{0, 1, 60, 600, 3600, 20000}[r.IntN(6)]; return &v }
	if some() {
		f.MinTotal = secs()
	}
	if some() {
		f.MaxTotal = secs()
	}
	if some() {
		v := int64(genStart) + r.Int64N(40*86400)
		f.InactiveSince = &v
	}
	f.NeverActive = r.IntN(8) == 0
	if some() {
		f.Roles = []string{[]string{"student", "teacher", "editingteacher", "manager"}[r.IntN(4)]}
	}
	if some() {
		f.Groups = []int64{1 + r.Int64N(5), 1 + r.Int64N(5)}
	}
	f.ActiveEnrolmentOnly = some()
	f.WithTimeOnly = some()
	return f
}

// anKeeps is the filter's meaning, written out field by field.
func anKeeps(f aggregation.ParticipantFilter, m aggregation.Member, c aggregation.Stat) bool {
	if f.MinTotal != nil && c.Elapsed < *f.MinTotal || f.MaxTotal != nil && c.Elapsed > *f.MaxTotal {
		return false
	}
	if f.InactiveSince != nil && c.Events > 0 && c.LastAccess >= *f.InactiveSince {
		return false
	}
	if f.NeverActive && (c.Events > 0 || c.Elapsed > 0) || f.WithTimeOnly && c.Elapsed == 0 {
		return false
	}
	if f.ActiveEnrolmentOnly && !m.Enrolment.Active {
		return false
	}
	if len(f.Roles) > 0 {
		found := false
		for _, r := range m.Roles {
			found = found || slices.Contains(f.Roles, r.ShortName)
		}
		if !found {
			return false
		}
	}
	if len(f.Groups) > 0 {
		found := false
		for _, g := range m.Groups {
			found = found || slices.Contains(f.Groups, g)
		}
		if !found {
			return false
		}
	}
	return true
}

// anOrdered reports whether a may come right before b in the order: its
// key before b's (missing grades after every grade), or the same key and a
// smaller id.
func anOrdered(set aggregation.ParticipantSet, o aggregation.ParticipantOrder, desc bool, a, b aggregation.Participant) bool {
	var c int
	switch o {
	case aggregation.ParticipantByTotal:
		c = cmp.Compare(a.Total.Elapsed, b.Total.Elapsed)
	case aggregation.ParticipantByLastAccess:
		c = cmp.Compare(a.Total.LastAccess, b.Total.LastAccess)
	case aggregation.ParticipantByName:
		c = cmp.Or(strings.Compare(strings.ToLower(a.LastName), strings.ToLower(b.LastName)),
			strings.Compare(strings.ToLower(a.FirstName), strings.ToLower(b.FirstName)))
	case aggregation.ParticipantByGrade:
		ga, okA := set.Grades[a.ID]
		gb, okB := set.Grades[b.ID]
		okA, okB = okA && !math.IsNaN(ga), okB && !math.IsNaN(gb)
		if okA != okB {
			return okA
		}
		if okA {
			c = cmp.Compare(ga, gb)
		}
	}
	if desc {
		c = -c
	}
	return c < 0 || c == 0 && a.ID < b.ID
}

func TestPropertyListParticipants(t *testing.T) {
	pool := anPool(t)
	r := rand.New(rand.NewPCG(3, 0x7061))
	orders := []aggregation.ParticipantOrder{aggregation.ParticipantByTotal, aggregation.ParticipantByLastAccess,
		aggregation.ParticipantByName, aggregation.ParticipantByGrade}
	for i := range anPopulations {
		set := anPopulation(r, pool)
		f := anFilter(r)
		page := aggregation.Page[aggregation.ParticipantOrder]{Order: orders[r.IntN(len(orders))], Desc: r.IntN(2) == 0}
		what := fmt.Sprintf("population %d (%d members), filter %+v, %s desc=%v", i, len(set.Members), f, page.Order, page.Desc)
		full, err := aggregation.ListParticipants(set, f, page)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		// The filter keeps exactly the members it means, each once.
		var kept []*aggregation.Result
		var sum aggregation.Stat
		active := 0
		want := map[int64]bool{}
		for _, m := range set.Members {
			c := anCourse(set.Results[m.ID], set.CourseID)
			if anKeeps(f, m, c) {
				want[m.ID] = true
				kept = append(kept, set.Results[m.ID])
				sum = anAddStat(sum, c)
				if c.Elapsed > 0 {
					active++
				}
			}
		}
		seen := map[int64]bool{}
		for _, p := range full.Rows {
			if !want[p.ID] || seen[p.ID] {
				t.Fatalf("%s: member %d listed but not kept, or twice", what, p.ID)
			}
			seen[p.ID] = true
			if p.Total != anCourse(set.Results[p.ID], set.CourseID) || p.Result != set.Results[p.ID] {
				t.Fatalf("%s: member %d: total %+v", what, p.ID, p.Total)
			}
		}
		if len(full.Rows) != len(want) || full.TotalCount != len(want) {
			t.Fatalf("%s: %d rows, count %d, want %d", what, len(full.Rows), full.TotalCount, len(want))
		}
		// Sorted, ties by id.
		for j := 1; j < len(full.Rows); j++ {
			if !anOrdered(set, page.Order, page.Desc, full.Rows[j-1], full.Rows[j]) {
				t.Fatalf("%s: %d before %d", what, full.Rows[j-1].ID, full.Rows[j].ID)
			}
		}
		// The aggregate is the filtered population's.
		a := full.Aggregate
		if a.Total != sum || a.Population != len(want) || a.ActiveLearners != active {
			t.Fatalf("%s: aggregate total %+v population %d active %d, want %+v %d %d", what, a.Total, a.Population, a.ActiveLearners, sum, len(want), active)
		}
		if agg := aggregation.AggregateCourse(set.CourseID, kept); fmt.Sprint(agg) != fmt.Sprint(a) {
			t.Fatalf("%s: aggregate %+v, want %+v", what, a, agg)
		}
		// Pages of any size, concatenated, are the whole list.
		page.Limit = 1 + r.IntN(7)
		var concat []int64
		for page.Offset = 0; page.Offset <= len(full.Rows); page.Offset += page.Limit {
			p, err := aggregation.ListParticipants(set, f, page)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if p.TotalCount != full.TotalCount || len(p.Rows) > page.Limit || fmt.Sprint(p.Aggregate) != fmt.Sprint(a) {
				t.Fatalf("%s, offset %d limit %d: %d rows, count %d", what, page.Offset, page.Limit, len(p.Rows), p.TotalCount)
			}
			concat = append(concat, anIDs(p.Rows)...)
		}
		if !slices.Equal(concat, anIDs(full.Rows)) {
			t.Fatalf("%s: pages of %d give %v, want %v", what, page.Limit, concat, anIDs(full.Rows))
		}
		// The members' order does not matter.
		shuffled := set
		shuffled.Members = slices.Clone(set.Members)
		r.Shuffle(len(shuffled.Members), func(a, b int) { shuffled.Members[a], shuffled.Members[b] = shuffled.Members[b], shuffled.Members[a] })
		page.Offset, page.Limit = 0, 0
		again, err := aggregation.ListParticipants(shuffled, f, page)
		if err != nil || !slices.Equal(anIDs(again.Rows), anIDs(full.Rows)) {
			t.Fatalf("%s: shuffled members give %v, want %v (%v)", what, anIDs(again.Rows), anIDs(full.Rows), err)
		}
	}
}
