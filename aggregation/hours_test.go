package aggregation_test

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// hrZone loads an IANA zone or fails the test.
func hrZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// hrUTC returns the Unix time of a UTC date and hour.
func hrUTC(y int, m time.Month, d, h int) int64 {
	return time.Date(y, m, d, h, 0, 0, 0, time.UTC).Unix()
}

// hrResult returns a result holding one event of 60 s in each hour from
// the UTC hour of from, n hours, all in course 5.
func hrResult(from int64, n int) *aggregation.Result {
	r := &aggregation.Result{UserID: 7, Courses: []aggregation.CourseStat{{CourseID: 5}}}
	for i := range n {
		h := aggregation.HourStat{Hour: aggregation.HourOf(from) + aggregation.Hour(i), Elapsed: 60, Events: 1}
		r.Hours = append(r.Hours, h)
		r.Courses[0].Hours = append(r.Courses[0].Hours, h)
		r.Total.Elapsed += 60
		r.Total.Events++
	}
	r.Courses[0].Total = r.Total
	return r
}

// hrSeries is HourSeries that fails the test on an error.
func hrSeries(t testing.TB, rs []*aggregation.Result, p aggregation.Period, loc *time.Location) []aggregation.PeriodPoint {
	t.Helper()
	out, err := aggregation.HourSeries(rs, p, loc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hrCells returns the heat map's cells with time, as "weekday/hour=events".
func hrCells(cells []aggregation.HeatCell) []string {
	var out []string
	for _, c := range cells {
		if c.Events > 0 || c.Elapsed > 0 {
			out = append(out, fmt.Sprintf("%d/%d=%d", c.Weekday, c.Hour, c.Events))
		}
	}
	return out
}

// Paris skips 02:00–03:00 on 30 March 2025 (01:00 UTC): the UTC hours
// 22:00 to 03:00 are Saturday 23:00, then Sunday 00:00, 01:00, 03:00,
// 04:00, 05:00; the Sunday is 23 hours long.
func TestHourSeriesParisSpring(t *testing.T) {
	paris := hrZone(t, "Europe/Paris")
	r := hrResult(hrUTC(2025, 3, 29, 22), 6)
	hours := hrSeries(t, []*aggregation.Result{r}, aggregation.PeriodHour, paris)
	if len(hours) != 6 {
		t.Fatalf("%d hourly points, want 6: %+v", len(hours), hours)
	}
	var clock []string
	for i, p := range hours {
		if p.Start != hrUTC(2025, 3, 29, 22)+int64(i)*3600 || p.Elapsed != 60 || p.Events != 1 {
			t.Errorf("point %d = %+v", i, p)
		}
		clock = append(clock, time.Unix(p.Start, 0).In(paris).Format("Mon 15:04"))
	}
	if want := []string{"Sat 23:00", "Sun 00:00", "Sun 01:00", "Sun 03:00", "Sun 04:00", "Sun 05:00"}; !slices.Equal(clock, want) {
		t.Errorf("hours on Paris' clock %v, want %v", clock, want)
	}
	if got, want := hrCells(aggregation.Heatmap([]*aggregation.Result{r}, paris)), []string{"6/23=1", "7/0=1", "7/1=1", "7/3=1", "7/4=1", "7/5=1"}; !slices.Equal(got, want) {
		t.Errorf("heat map %v, want %v", got, want)
	}
	days := hrSeries(t, []*aggregation.Result{r}, aggregation.PeriodDay, paris)
	want := []aggregation.PeriodPoint{
		{Start: time.Date(2025, 3, 29, 0, 0, 0, 0, paris).Unix(), Elapsed: 60, Events: 1},
		{Start: time.Date(2025, 3, 30, 0, 0, 0, 0, paris).Unix(), Elapsed: 300, Events: 5},
	}
	if !reflect.DeepEqual(days, want) {
		t.Errorf("days %+v, want %+v", days, want)
	}
	// A whole Sunday: 23 hours, from 23:00 UTC on Saturday.
	whole := hrResult(hrUTC(2025, 3, 29, 23), 23)
	if days := hrSeries(t, []*aggregation.Result{whole}, aggregation.PeriodDay, paris); len(days) != 1 || days[0].Events != 23 {
		t.Errorf("the short Sunday: %+v, want one day of 23 hours", days)
	}
	// The week: Monday 24 March, 00:00 CET (Monday 31 March starts in CEST).
	weeks := hrSeries(t, []*aggregation.Result{hrResult(hrUTC(2025, 3, 30, 21), 2)}, aggregation.PeriodWeek, paris)
	want = []aggregation.PeriodPoint{
		{Start: time.Date(2025, 3, 24, 0, 0, 0, 0, paris).Unix(), Elapsed: 60, Events: 1},
		{Start: time.Date(2025, 3, 31, 0, 0, 0, 0, paris).Unix(), Elapsed: 60, Events: 1},
	}
	if !reflect.DeepEqual(weeks, want) {
		t.Errorf("weeks %+v, want %+v", weeks, want)
	}
}

// Paris repeats 02:00–03:00 on 26 October 2025 (00:00 and 01:00 UTC): two
// hourly points read 02:00, both count in the heat map's Sunday 2:00, and
// the Sunday is 25 hours long.
func TestHourSeriesParisAutumn(t *testing.T) {
	paris := hrZone(t, "Europe/Paris")
	r := hrResult(hrUTC(2025, 10, 25, 23), 4)
	hours := hrSeries(t, []*aggregation.Result{r}, aggregation.PeriodHour, paris)
	var clock []string
	for i, p := range hours {
		if p.Start != hrUTC(2025, 10, 25, 23)+int64(i)*3600 {
			t.Errorf("point %d starts at %d", i, p.Start)
		}
		clock = append(clock, time.Unix(p.Start, 0).In(paris).Format("Mon 15:04 MST"))
	}
	if want := []string{"Sun 01:00 CEST", "Sun 02:00 CEST", "Sun 02:00 CET", "Sun 03:00 CET"}; !slices.Equal(clock, want) {
		t.Errorf("hours on Paris' clock %v, want %v", clock, want)
	}
	if got, want := hrCells(aggregation.Heatmap([]*aggregation.Result{r}, paris)), []string{"7/1=1", "7/2=2", "7/3=1"}; !slices.Equal(got, want) {
		t.Errorf("heat map %v, want %v", got, want)
	}
	whole := hrResult(hrUTC(2025, 10, 25, 22), 25)
	days := hrSeries(t, []*aggregation.Result{whole}, aggregation.PeriodDay, paris)
	if len(days) != 1 || days[0].Events != 25 || days[0].Start != time.Date(2025, 10, 26, 0, 0, 0, 0, paris).Unix() {
		t.Errorf("the long Sunday: %+v, want one day of 25 hours", days)
	}
	// The month: the first hour of November in Paris is 23:00 UTC on 31 October.
	months := hrSeries(t, []*aggregation.Result{hrResult(hrUTC(2025, 10, 31, 22), 2)}, aggregation.PeriodMonth, paris)
	want := []aggregation.PeriodPoint{
		{Start: time.Date(2025, 10, 1, 0, 0, 0, 0, paris).Unix(), Elapsed: 60, Events: 1},
		{Start: time.Date(2025, 11, 1, 0, 0, 0, 0, paris).Unix(), Elapsed: 60, Events: 1},
	}
	if !reflect.DeepEqual(months, want) {
		t.Errorf("months %+v, want %+v", months, want)
	}
}

// In +05:30 an hour is rounded to the zone's hour its start falls in: the
// UTC hours 18:00 and 19:00 of Wednesday 15 January 2025 start at 23:30
// and 00:30 there, so they go to 23:00 on Wednesday and 00:00 on
// Thursday, each whole.
func TestHourSeriesHalfHourZone(t *testing.T) {
	for _, loc := range []*time.Location{time.FixedZone("+05:30", 19800), hrZone(t, "Asia/Kolkata")} {
		r := hrResult(hrUTC(2025, 1, 15, 18), 2)
		hours := hrSeries(t, []*aggregation.Result{r}, aggregation.PeriodHour, loc)
		want := []aggregation.PeriodPoint{
			{Start: hrUTC(2025, 1, 15, 18) - 1800, Elapsed: 60, Events: 1},
			{Start: hrUTC(2025, 1, 15, 19) - 1800, Elapsed: 60, Events: 1},
		}
		if !reflect.DeepEqual(hours, want) {
			t.Errorf("%s: hours %+v, want %+v", loc, hours, want)
		}
		days := hrSeries(t, []*aggregation.Result{r}, aggregation.PeriodDay, loc)
		want = []aggregation.PeriodPoint{
			{Start: time.Date(2025, 1, 15, 0, 0, 0, 0, loc).Unix(), Elapsed: 60, Events: 1},
			{Start: time.Date(2025, 1, 16, 0, 0, 0, 0, loc).Unix(), Elapsed: 60, Events: 1},
		}
		if !reflect.DeepEqual(days, want) {
			t.Errorf("%s: days %+v, want %+v", loc, days, want)
		}
		if got, want := hrCells(aggregation.Heatmap([]*aggregation.Result{r}, loc)), []string{"3/23=1", "4/0=1"}; !slices.Equal(got, want) {
			t.Errorf("%s: heat map %v, want %v", loc, got, want)
		}
	}
}

// The course variants count one course's hours; nil results and users
// without the course are skipped; an unknown period is EInvalid.
func TestHourSeriesCourseAndErrors(t *testing.T) {
	a := hrResult(hrUTC(2025, 5, 5, 8), 3) // Monday 8:00–11:00 UTC
	b := hrResult(hrUTC(2025, 5, 5, 9), 1)
	b.Courses[0].CourseID = 6
	b.Hours = append(b.Hours, aggregation.HourStat{Hour: aggregation.HourOf(hrUTC(2025, 5, 5, 12)), Elapsed: 30, Events: 1}) // site time
	rs := []*aggregation.Result{a, nil, b}
	all := hrSeries(t, rs, aggregation.PeriodDay, nil)
	if len(all) != 1 || all[0].Elapsed != 4*60+30 || all[0].Events != 5 {
		t.Errorf("every course: %+v", all)
	}
	c5, err := aggregation.CourseHourSeries(rs, 5, aggregation.PeriodHour, time.UTC)
	if err != nil || len(c5) != 3 || c5[1].Start != hrUTC(2025, 5, 5, 9) || c5[1].Events != 1 {
		t.Errorf("course 5: %+v, %v", c5, err)
	}
	if got := hrCells(aggregation.CourseHeatmap(rs, 6, nil)); !slices.Equal(got, []string{"1/9=1"}) {
		t.Errorf("course 6 heat map %v", got)
	}
	if got := hrCells(aggregation.Heatmap(rs, nil)); !slices.Equal(got, []string{"1/8=1", "1/9=2", "1/10=1", "1/12=1"}) {
		t.Errorf("heat map %v", got)
	}
	if h := aggregation.Heatmap(nil, nil); len(h) != 168 || h[0].Weekday != 1 || h[0].Hour != 0 || h[167].Weekday != 7 || h[167].Hour != 23 {
		t.Errorf("empty heat map: %d cells, first %+v, last %+v", len(h), h[0], h[len(h)-1])
	}
	if s, err := aggregation.HourSeries(nil, aggregation.PeriodMonth, nil); err != nil || s == nil || len(s) != 0 {
		t.Errorf("no results: %v, %v", s, err)
	}
	var e *aggregation.Error
	if _, err := aggregation.HourSeries(rs, aggregation.Period(9), nil); !errors.As(err, &e) || e.Code != aggregation.EInvalid {
		t.Errorf("unknown period: %v", err)
	}
	for p, name := range map[aggregation.Period]string{aggregation.PeriodHour: "HOUR", aggregation.PeriodDay: "DAY",
		aggregation.PeriodWeek: "WEEK", aggregation.PeriodMonth: "MONTH", 0: ""} {
		if p.String() != name {
			t.Errorf("Period(%d).String() = %q, want %q", p, p.String(), name)
		}
	}
}

// hrOracle buckets each hour with the time package alone: the zone's
// clock at the hour's start instant gives the bucket (its first instant)
// and the heat map cell.
func hrOracle(lists [][]aggregation.HourStat, p aggregation.Period, loc *time.Location) ([]aggregation.PeriodPoint, []aggregation.HeatCell) {
	sums := map[int64]*aggregation.PeriodPoint{}
	heat := make([]aggregation.HeatCell, 168)
	for i := range heat {
		heat[i].Weekday, heat[i].Hour = i/24+1, i%24
	}
	for _, list := range lists {
		for _, h := range list {
			lt := time.Unix(h.Hour.Start(), 0).In(loc)
			y, m, d := lt.Date()
			var start int64
			switch p {
			case aggregation.PeriodHour:
				start = lt.Add(-time.Duration(lt.Minute())*time.Minute - time.Duration(lt.Second())*time.Second).Unix()
			case aggregation.PeriodDay:
				start = time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()
			case aggregation.PeriodWeek:
				start = time.Date(y, m, d-(int(lt.Weekday())+6)%7, 0, 0, 0, 0, loc).Unix()
			case aggregation.PeriodMonth:
				start = time.Date(y, m, 1, 0, 0, 0, 0, loc).Unix()
			}
			s := sums[start]
			if s == nil {
				s = &aggregation.PeriodPoint{Start: start}
				sums[start] = s
			}
			s.Elapsed += h.Elapsed
			s.Events += h.Events
			c := &heat[(int(lt.Weekday())+6)%7*24+lt.Hour()]
			c.Elapsed += h.Elapsed
			c.Events += h.Events
		}
	}
	var out []aggregation.PeriodPoint
	for _, s := range sums {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b aggregation.PeriodPoint) int { return cmp.Compare(a.Start, b.Start) })
	return out, heat
}

// For users' results of generated streams spread over two years, in
// zones with daylight saving, with offsets of half and three quarters of
// an hour, and one whose saving shift is half an hour (Lord Howe): every
// series and the heat map equal the time package's bucketing, and their
// sums equal the results' totals (all courses, and per course).
func TestPropertyHourSeriesSums(t *testing.T) {
	var zones []*time.Location
	for _, name := range []string{"UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"} {
		zones = append(zones, hrZone(t, name))
	}
	periods := []aggregation.Period{aggregation.PeriodHour, aggregation.PeriodDay, aggregation.PeriodWeek, aggregation.PeriodMonth}
	p := preset(t, "usestats")
	streams := propStreamsAll()
	for seed := range 40 {
		r := rand.New(rand.NewPCG(uint64(seed), 'h'))
		var results []*aggregation.Result
		for u := range 1 + r.IntN(4) {
			evs := slices.Clone(streams[r.IntN(len(streams))])
			shift := r.Int64N(2 * 365 * 86400) // the streams start in November 2023
			for i := range evs {
				evs[i].Time += shift
				evs[i].UserID = int64(u + 1)
			}
			res := compute(t, p, aggregation.AllTime, far, evs)
			res.UserID = int64(u + 1)
			results = append(results, res)
		}
		loc := zones[seed%len(zones)]
		var total aggregation.Stat
		courseTotals := map[int64]aggregation.Stat{}
		for _, res := range results {
			total.Elapsed += res.Total.Elapsed
			total.Events += res.Total.Events
			for _, c := range res.Courses {
				s := courseTotals[c.CourseID]
				s.Elapsed += c.Total.Elapsed
				s.Events += c.Total.Events
				courseTotals[c.CourseID] = s
			}
		}
		check := func(what string, points []aggregation.PeriodPoint, heat []aggregation.HeatCell, want aggregation.Stat) {
			t.Helper()
			var sp, sh aggregation.Stat
			for i, pt := range points {
				if i > 0 && pt.Start <= points[i-1].Start {
					t.Fatalf("seed %d, %s, %s: points out of order at %d", seed, loc, what, i)
				}
				sp.Elapsed += pt.Elapsed
				sp.Events += pt.Events
			}
			for _, c := range heat {
				sh.Elapsed += c.Elapsed
				sh.Events += c.Events
			}
			if sp.Elapsed != want.Elapsed || sp.Events != want.Events || sh.Elapsed != want.Elapsed || sh.Events != want.Events {
				t.Fatalf("seed %d, %s, %s: series %d s / %d, heat map %d s / %d, totals %d s / %d",
					seed, loc, what, sp.Elapsed, sp.Events, sh.Elapsed, sh.Events, want.Elapsed, want.Events)
			}
		}
		var lists [][]aggregation.HourStat
		for _, res := range results {
			lists = append(lists, res.Hours)
		}
		heat := aggregation.Heatmap(results, loc)
		for _, per := range periods {
			got := hrSeries(t, results, per, loc)
			want, wantHeat := hrOracle(lists, per, loc)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d, %s, %s: series differs from the time package's\n got %+v\nwant %+v", seed, loc, per, got, want)
			}
			if !reflect.DeepEqual(heat, wantHeat) {
				t.Fatalf("seed %d, %s: heat map differs from the time package's\n got %+v\nwant %+v", seed, loc, heat, wantHeat)
			}
			check(per.String(), got, heat, total)
			for course, ct := range courseTotals {
				cs, err := aggregation.CourseHourSeries(results, course, per, loc)
				if err != nil {
					t.Fatal(err)
				}
				check(fmt.Sprintf("course %d %s", course, per), cs, aggregation.CourseHeatmap(results, course, loc), ct)
			}
		}
	}
}
