package aggregation_test

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Example 1 (docs/time-engine.md §8.1) by hour: T0 = 2023-11-14 22:13:20
// UTC. Rows 1 to 7 fall in 22:00, their laps (1990 s, the login's 60 s
// included) too, even the 900 s credit of row 7; row 8 at 00:01:30 is
// in 00:00 of the next day with its 120 s.
func TestExample1Hours(t *testing.T) {
	const T0 = 1700000000
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, far, example1(T0))
	h := aggregation.HourOf(T0)
	if h.String() != "2023-11-14T22Z" || h.Start() != T0-800 {
		t.Fatalf("HourOf(T0) = %s starting at %d", h, h.Start())
	}
	want := []aggregation.HourStat{{Hour: h, Elapsed: 1990, Events: 6}, {Hour: h + 2, Elapsed: 120, Events: 1}}
	if !reflect.DeepEqual(r.Hours, want) {
		t.Errorf("user hours = %+v, want %+v", r.Hours, want)
	}
	want = []aggregation.HourStat{{Hour: h, Elapsed: 1930, Events: 5}, {Hour: h + 2, Elapsed: 120, Events: 1}}
	if got := mustCourse(t, r, 5).Hours; !reflect.DeepEqual(got, want) {
		t.Errorf("course 5 hours = %+v, want %+v", got, want)
	}
}

func TestHourOf(t *testing.T) {
	for _, c := range []struct {
		t    int64
		want aggregation.Hour
	}{{0, 0}, {3599, 0}, {3600, 1}, {-1, -1}, {-3600, -1}, {-3601, -2}} {
		if got := aggregation.HourOf(c.t); got != c.want {
			t.Errorf("HourOf(%d) = %d, want %d", c.t, got, c.want)
		}
		if h := aggregation.HourOf(c.t); h.Start() > c.t || h.Start()+3600 <= c.t {
			t.Errorf("HourOf(%d) starts at %d", c.t, h.Start())
		}
	}
}

// checkHours checks a result's hours: ascending and distinct, Σ Hours =
// Total (time and events), the same per course, and, per hour, Σ of the
// courses' hours = the user's hour less the site's.
func checkHours(r *aggregation.Result) error {
	sorted := func(hs []aggregation.HourStat) bool {
		return slices.IsSortedFunc(hs, func(a, b aggregation.HourStat) int { return cmp.Compare(a.Hour, b.Hour) }) &&
			len(slices.CompactFunc(slices.Clone(hs), func(a, b aggregation.HourStat) bool { return a.Hour == b.Hour })) == len(hs)
	}
	sum := func(hs []aggregation.HourStat) (e, n int64) {
		for _, h := range hs {
			e += h.Elapsed
			n += h.Events
		}
		return e, n
	}
	if !sorted(r.Hours) {
		return fmt.Errorf("user hours not in order: %+v", r.Hours)
	}
	if e, n := sum(r.Hours); e != r.Total.Elapsed || n != r.Total.Events {
		return fmt.Errorf("Σ hours = %d s / %d events, total %d s / %d events", e, n, r.Total.Elapsed, r.Total.Events)
	}
	courses := map[aggregation.Hour]aggregation.HourStat{}
	for i := range r.Courses {
		c := &r.Courses[i]
		if !sorted(c.Hours) {
			return fmt.Errorf("course %d: hours not in order: %+v", c.CourseID, c.Hours)
		}
		if e, n := sum(c.Hours); e != c.Total.Elapsed || n != c.Total.Events {
			return fmt.Errorf("course %d: Σ hours = %d s / %d events, total %d s / %d events", c.CourseID, e, n, c.Total.Elapsed, c.Total.Events)
		}
		for _, h := range c.Hours {
			s := courses[h.Hour]
			s.Elapsed += h.Elapsed
			s.Events += h.Events
			courses[h.Hour] = s
		}
	}
	for _, h := range r.Hours {
		c := courses[h.Hour]
		if c.Elapsed > h.Elapsed || c.Events > h.Events {
			return fmt.Errorf("hour %s: the courses hold %+v, the user %+v", h.Hour, c, h)
		}
		delete(courses, h.Hour)
	}
	if len(courses) > 0 {
		return fmt.Errorf("courses' hours %v are not the user's", slices.Sorted(maps.Keys(courses)))
	}
	return nil
}

// hoursFromLaps is the oracle: the counted laps of an explanation summed
// by the hour of their event, for the user (course < 0) or one course.
func hoursFromLaps(x *aggregation.Explainer, course int64) []aggregation.HourStat {
	m := map[aggregation.Hour]*aggregation.HourStat{}
	for _, l := range x.Laps {
		if !l.Counted || course >= 0 && l.Place.CourseID != course || course >= 0 && l.Place.Bucket == aggregation.BucketSite {
			continue
		}
		h := aggregation.HourOf(l.Event.Time)
		s := m[h]
		if s == nil {
			s = &aggregation.HourStat{Hour: h}
			m[h] = s
		}
		s.Elapsed += l.Credit
		s.Events++
	}
	var out []aggregation.HourStat
	for _, s := range m {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b aggregation.HourStat) int { return cmp.Compare(a.Hour, b.Hour) })
	return out
}

// For every policy and generated stream and window: the hours add up to
// the totals (user and courses), equal the counted laps summed by the
// hour of their event, and do not depend on the zone the days are cut in
// (only the days their cells are filed under do); and a window split
// anywhere gives, merged, the hourly cells of the whole.
func TestPropertyHoursSum(t *testing.T) {
	streams := propStreamsAll()
	zones := []*time.Location{time.FixedZone("UTC+05:30", 19800), time.FixedZone("UTC-09:30", -34200)}
	if paris, err := time.LoadLocation("Europe/Paris"); err == nil {
		zones = append(zones, paris)
	}
	for _, pp := range propPolicies(t) {
		t.Run(pp.name, func(t *testing.T) {
			for seed, evs := range streams {
				w, now := propWindow(propRand(seed, 'u'), evs)
				res := compute(t, pp.p, w, now, evs)
				if err := checkHours(res); err != nil {
					t.Fatalf("seed %d (%d events, window %d…%d, now %d): %v", seed, len(evs), w.From, w.To, now, err)
				}
				x, err := aggregation.Explain(pp.p, w, now, evs)
				if err != nil {
					t.Fatal(err)
				}
				if want := hoursFromLaps(x, -1); !reflect.DeepEqual(res.Hours, want) {
					t.Fatalf("seed %d: hours %+v, the laps give %+v", seed, res.Hours, want)
				}
				for _, c := range res.Courses {
					if want := hoursFromLaps(x, c.CourseID); !reflect.DeepEqual(c.Hours, want) {
						t.Fatalf("seed %d: course %d hours %+v, the laps give %+v", seed, c.CourseID, c.Hours, want)
					}
				}
				loc := zones[seed%len(zones)]
				acc := aggregation.NewAccumulator(loc)
				if _, err := aggregation.Run(pp.p, w, now, evs, acc); err != nil {
					t.Fatal(err)
				}
				zoned := acc.Result(res.UserID, pp.p, w)
				if err := checkHours(zoned); err != nil {
					t.Fatalf("seed %d, zone %s: %v", seed, loc, err)
				}
				if !reflect.DeepEqual(zoned.Hours, res.Hours) {
					t.Fatalf("seed %d: hours in zone %s\n %+v\nin UTC\n %+v", seed, loc, zoned.Hours, res.Hours)
				}
				for _, e := range acc.Rollup().HourEntries() {
					if d := dayIn(e.Key.Hour.Start(), loc); d != e.Key.Day && dayIn(e.Key.Hour.Start()+3599, loc) != e.Key.Day {
						t.Fatalf("seed %d: hour %s filed under day %s in %s", seed, e.Key.Hour, e.Key.Day, loc)
					}
				}
				// Split anywhere, the two halves' hourly cells merge into the
				// whole window's (property (g) for hours), with a now after
				// the stream, as there.
				if len(evs) == 0 || w.To == w.From {
					continue
				}
				vr := propRand(seed, 'v')
				b := min(max(evs[vr.IntN(len(evs))].Time, w.From+1), w.To)
				left, right := w, w
				left.To, right.From = b-1, b
				after := evs[len(evs)-1].Time + vr.Int64N(2*86400)
				var parts [3]*aggregation.Rollup
				for i, part := range []aggregation.Window{w, left, right} {
					a := aggregation.NewAccumulator(loc)
					if _, err := aggregation.Run(pp.p, part, after, evs, a); err != nil {
						t.Fatal(err)
					}
					parts[i] = a.Rollup()
				}
				parts[1].Merge(parts[2])
				if got, want := parts[1].HourEntries(), parts[0].HourEntries(); !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d: window %d…%d split at %d: hours\n %+v\nwant\n %+v", seed, w.From, w.To, b, got, want)
				}
			}
		})
	}
}

// dayIn returns t's calendar day in loc.
func dayIn(t int64, loc *time.Location) aggregation.Day {
	y, m, d := time.Unix(t, 0).In(loc).Date()
	return aggregation.Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// checkScormHours checks the hours of an answer with the SCORM layer
// against the answer without it (plain): they add up to the totals, and
// each activity's added time is in the hour of its package's last write,
// for the user and the course; nothing else of the hours changes.
func checkScormHours(res, plain *aggregation.Result) error {
	if err := checkHours(res); err != nil {
		return err
	}
	hours := slices.Clone(plain.Hours)
	courses := map[int64][]aggregation.HourStat{}
	for _, c := range plain.Courses {
		courses[c.CourseID] = slices.Clone(c.Hours)
	}
	for _, a := range res.Scorm {
		if a.Added > 0 {
			hours = addHourStat(hours, aggregation.HourOf(a.LastWrite), a.Added)
			courses[a.CourseID] = addHourStat(courses[a.CourseID], aggregation.HourOf(a.LastWrite), a.Added)
		}
	}
	if !reflect.DeepEqual(res.Hours, hours) {
		return fmt.Errorf("hours\n %+v\nwant\n %+v", res.Hours, hours)
	}
	for _, c := range res.Courses {
		if !reflect.DeepEqual(c.Hours, courses[c.CourseID]) {
			return fmt.Errorf("course %d: hours\n %+v\nwant\n %+v", c.CourseID, c.Hours, courses[c.CourseID])
		}
	}
	return nil
}

// addHourStat adds secs to hour h of a list in hour order.
func addHourStat(hs []aggregation.HourStat, h aggregation.Hour, secs int64) []aggregation.HourStat {
	i, ok := slices.BinarySearchFunc(hs, h, func(s aggregation.HourStat, h aggregation.Hour) int { return cmp.Compare(s.Hour, h) })
	if !ok {
		hs = slices.Insert(hs, i, aggregation.HourStat{Hour: h})
	}
	hs[i].Elapsed += secs
	return hs
}
