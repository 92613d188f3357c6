package aggregation_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// Property tests (docs/time-engine.md §3): over many generated streams and every
// policy, the totals add up, laps are never negative, Explain agrees with
// Compute, splitting a window or a stream and merging the rollups changes
// nothing, a gap-drop policy is monotone in its threshold, and every run is
// deterministic. A failure names the seed: genEvents-style streams are
// rebuilt by propStream(seed).

const (
	propSeeds     = 300 // streams per property and policy
	propMaxEvents = 400 // events per stream: 0 … propMaxEvents
)

// propStream returns the stream of a seed and a generator for the seed's
// other random choices (windows, split points, now).
func propStream(seed uint64) ([]aggregation.Event, *rand.Rand) {
	r := rand.New(rand.NewPCG(seed, 0x70726f70))
	evs := genStream(r, r.IntN(propMaxEvents+1))
	return evs, r
}

var (
	propOnce    sync.Once
	propStreams [propSeeds][]aggregation.Event
)

// propStreamsAll returns the streams of seeds 0 … propSeeds-1, generated
// once. Callers must not modify them.
func propStreamsAll() *[propSeeds][]aggregation.Event {
	propOnce.Do(func() {
		for seed := range propStreams {
			propStreams[seed], _ = propStream(uint64(seed))
		}
	})
	return &propStreams
}

// propRand is the seed's generator for one property's choices.
func propRand(seed int, property byte) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(property)))
}

type propPolicy struct {
	name string
	p    aggregation.Policy
}

// propPolicies returns every preset and a few custom policies that switch on
// the remaining rules (split on course, capture of pseudo-places, ignore
// lists, site rows, backward logout, minimum session with capture).
func propPolicies(t testing.TB) []propPolicy {
	var out []propPolicy
	for _, name := range aggregation.PresetNames() {
		out = append(out, propPolicy{name, preset(t, name)})
	}
	p := preset(t, "usestats")
	p.Name, p.Version, p.SplitOnCourse = "", "", true
	out = append(out, propPolicy{"custom usestats+splitoncourse", p})

	out = append(out, propPolicy{"custom local_timespent", aggregation.Policy{
		Threshold: 900, Credit: 450,
		Attribution: aggregation.Forward, Timeline: aggregation.PerCourse,
		KeepFailed: true, KeepLoginAs: true, KeepAnonymous: true,
		Site: aggregation.SiteNone,
	}})

	p = preset(t, "usestats")
	p.Name, p.Version = "", ""
	p.Capture = []string{"learningtimecheck", "user", "unknown"}
	p.Ignore = []string{"forum"}
	p.Site, p.OverAtThreshold, p.SkipGraded = aggregation.SiteAll, true, false
	out = append(out, propPolicy{"custom usestats+capture-user+ignore+siteall", p})

	p = preset(t, "edx5")
	p.Name, p.Version = "", ""
	p.SplitOnLogin, p.Logout, p.SkipGraded = true, true, true
	p.Timeline, p.Site, p.Coalesce, p.Credit = aggregation.PerCourse, aggregation.SiteLoginLogout, 30, 60
	p.Ignore = []string{"quiz", "system"}
	out = append(out, propPolicy{"custom backward+logout+ignore", p})

	p = preset(t, "dedication")
	p.Name, p.Version = "", ""
	p.Capture, p.MinSession, p.Credit = []string{"learningtimecheck"}, 120, 300
	p.SplitOnLogin, p.Logout = true, true
	out = append(out, propPolicy{"custom dedication+capture+credit", p})

	p = preset(t, "dedication")
	p.Name, p.Version, p.MinSession = "", "", 1800
	out = append(out, propPolicy{"custom dedication minsession 1800", p})

	// A credit longer than the threshold is valid: a gap over the threshold
	// then earns min(credit, gap), so the credit never exceeds the gap.
	p = preset(t, "usestats")
	p.Name, p.Version, p.Threshold = "", "", 300
	out = append(out, propPolicy{"custom usestats threshold 300 < credit 900", p})
	out = append(out, propPolicy{"custom per-course threshold 120 < credit 1800", aggregation.Policy{
		Threshold: 120, Credit: 1800,
		Attribution: aggregation.Forward, Timeline: aggregation.PerCourse,
		Site: aggregation.SiteNone, SkipGraded: true,
	}})
	return out
}

// propWindow draws a window and a now for a stream: all time, or bounds at,
// around or far from the stream's events, sometimes with a per-course
// start; now mostly after the last event, sometimes inside the stream.
func propWindow(r *rand.Rand, evs []aggregation.Event) (aggregation.Window, int64) {
	first, last := int64(genStart), int64(genStart)
	if len(evs) > 0 {
		first, last = evs[0].Time, evs[len(evs)-1].Time
	}
	at := func() int64 {
		if len(evs) == 0 || r.IntN(3) == 0 {
			return first - 3600 + r.Int64N(last-first+7201)
		}
		return evs[r.IntN(len(evs))].Time
	}
	w := aggregation.AllTime
	if r.IntN(3) != 0 {
		if r.IntN(4) != 0 {
			w.From = at()
		}
		if r.IntN(4) != 0 {
			w.To = max(at(), w.From)
		}
	}
	if r.IntN(6) == 0 {
		w.CourseFrom = map[int64]int64{genCourses[r.IntN(len(genCourses))]: at()}
	}
	now := last + r.Int64N(2*86400)
	switch r.IntN(20) {
	case 0:
		now = first + r.Int64N(last-first+1)
	case 1:
		now = math.MaxInt64
	}
	return w, now
}

// subSat is a − b, saturated to the int64 range.
func subSat(a, b int64) int64 {
	switch {
	case b < 0 && a > math.MaxInt64+b:
		return math.MaxInt64
	case b > 0 && a < math.MinInt64+b:
		return math.MinInt64
	}
	return a - b
}

// addSat is a + b for b ≥ 0, saturated at MaxInt64.
func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// checkResult checks the sums of a result tree: (a) course total = course
// level + activities + other, (b) Σ sections = Σ modules = activities, (c)
// Σ courses + site = user total = Σ days, Σ course days = course total, (d)
// Σ sessions = user total, and (e) sessions are not negative.
func checkResult(res *aggregation.Result) error {
	eq := func(what string, got, want aggregation.Stat) error {
		if got.Elapsed != want.Elapsed || got.Events != want.Events {
			return fmt.Errorf("%s: %d s / %d events, want %d s / %d events", what, got.Elapsed, got.Events, want.Elapsed, want.Events)
		}
		return nil
	}
	sum := func(stats ...aggregation.Stat) aggregation.Stat {
		var s aggregation.Stat
		for _, x := range stats {
			s.Elapsed += x.Elapsed
			s.Events += x.Events
		}
		return s
	}
	var courses, days aggregation.Stat
	for i := range res.Courses {
		c := &res.Courses[i]
		if err := eq(fmt.Sprintf("course %d: course level + activities + other (a)", c.CourseID),
			sum(c.CourseLevel, c.Activities, c.Other), c.Total); err != nil {
			return err
		}
		var sections, modules, cdays aggregation.Stat
		for _, s := range c.Sections {
			sections = sum(sections, s.Stat)
		}
		for _, m := range c.Modules {
			modules = sum(modules, m.Stat)
		}
		for _, d := range c.Days {
			cdays = sum(cdays, d.Stat)
		}
		if err := eq(fmt.Sprintf("course %d: Σ sections vs activities (b)", c.CourseID), sections, c.Activities); err != nil {
			return err
		}
		if err := eq(fmt.Sprintf("course %d: Σ modules vs activities (b)", c.CourseID), modules, c.Activities); err != nil {
			return err
		}
		if err := eq(fmt.Sprintf("course %d: Σ days vs total (c)", c.CourseID), cdays, c.Total); err != nil {
			return err
		}
		courses = sum(courses, c.Total)
	}
	if err := eq("Σ courses + site vs user total (c)", sum(courses, res.Site), res.Total); err != nil {
		return err
	}
	for _, d := range res.Days {
		days = sum(days, d.Stat)
	}
	if err := eq("Σ days vs user total (c)", days, res.Total); err != nil {
		return err
	}
	var sessions aggregation.Stat
	for i, s := range res.Sessions {
		if s.End < s.Start || s.Elapsed < 0 || s.Events <= 0 {
			return fmt.Errorf("session %d = %+v: negative or empty (e)", i, s)
		}
		sessions.Elapsed += s.Elapsed
		sessions.Events += s.Events
	}
	return eq("Σ sessions vs user total (d)", sessions, res.Total)
}

// checkLaps checks the explanation of a run against its result: (e) no lap
// is negative, the last event's credit never reaches past now, and (f) the
// counted laps and the explained sessions add up to the user total.
func checkLaps(x *aggregation.Explainer, res *aggregation.Result, p aggregation.Policy, now int64) error {
	var credit, counted int64
	for i := range x.Laps {
		l := &x.Laps[i]
		if l.Credit < 0 || l.Carried < 0 || l.Carried > l.Credit || (l.Gap < 0 && l.Gap != aggregation.NoGap) {
			return fmt.Errorf("lap %d of event %d (t=%d): gap %d, credit %d, carried %d (%s): negative lap (e)",
				i, l.Event.ID, l.Event.Time, l.Gap, l.Credit, l.Carried, l.Reason)
		}
		if l.Reason == aggregation.ReasonLastEvent && p.Attribution == aggregation.Forward {
			if want := min(p.Credit, max(subSat(now, l.Event.Time), 0)); l.Credit-l.Carried != want {
				return fmt.Errorf("lap %d of event %d (t=%d): last-event credit %d (+%d carried), want min(credit %d, now %d − t) = %d (e)",
					i, l.Event.ID, l.Event.Time, l.Credit-l.Carried, l.Carried, p.Credit, now, want)
			}
		}
		if l.Counted {
			credit += l.Credit
			counted++
			if l.Session < 0 {
				return fmt.Errorf("lap %d of event %d: counted without a session", i, l.Event.ID)
			}
		} else if l.Reason == aggregation.ReasonGap || l.Reason == aggregation.ReasonOverThreshold ||
			l.Reason == aggregation.ReasonLastEvent || l.Reason == aggregation.ReasonFirstEvent {
			return fmt.Errorf("lap %d of event %d: reason %s but not counted", i, l.Event.ID, l.Reason)
		}
	}
	if credit != res.Total.Elapsed || counted != res.Total.Events {
		return fmt.Errorf("Σ counted laps %d s / %d events, Compute total %d s / %d events (f)",
			credit, counted, res.Total.Elapsed, res.Total.Events)
	}
	// Each session is the sum of the counted laps that name it, starts at
	// its first one, ends where its last lap ends (forward: event + credit;
	// backward: the event), and lists their courses in first-seen order.
	type fromLaps struct {
		elapsed, events, start, end int64
		courses                     []int64
	}
	bySeq := map[int]*fromLaps{}
	for i := range x.Laps {
		l := &x.Laps[i]
		if !l.Counted {
			continue
		}
		s := bySeq[l.Session]
		if s == nil {
			s = &fromLaps{start: l.Event.Time, end: l.Event.Time}
			bySeq[l.Session] = s
		}
		s.elapsed += l.Credit
		s.events++
		s.start = min(s.start, l.Event.Time)
		if p.Attribution == aggregation.Forward {
			s.end = max(s.end, addSat(l.Event.Time, l.Credit))
		} else {
			s.end = max(s.end, l.Event.Time)
		}
		if !slices.Contains(s.courses, l.Event.CourseID) {
			s.courses = append(s.courses, l.Event.CourseID)
		}
	}
	var sessions aggregation.Stat
	for i, s := range x.Sessions {
		if s.End < s.Start || s.Elapsed < 0 || s.Events <= 0 {
			return fmt.Errorf("explained session %d = %+v: negative or empty (e)", i, s)
		}
		want := bySeq[s.Seq]
		if want == nil {
			return fmt.Errorf("explained session %d = %+v has no counted lap (d)", i, s)
		}
		if s.Elapsed != want.elapsed || s.Events != want.events || s.Start != want.start || s.End != want.end ||
			!slices.Equal(s.Courses, want.courses) {
			return fmt.Errorf("explained session %d = {start %d end %d elapsed %d events %d courses %v}, its laps give {start %d end %d elapsed %d events %d courses %v} (d)",
				i, s.Start, s.End, s.Elapsed, s.Events, s.Courses, want.start, want.end, want.elapsed, want.events, want.courses)
		}
		delete(bySeq, s.Seq)
		sessions.Elapsed += s.Elapsed
		sessions.Events += s.Events
	}
	for seq := range bySeq {
		return fmt.Errorf("counted laps name session %d, which was never closed (d)", seq)
	}
	if sessions.Elapsed != res.Total.Elapsed || sessions.Events != res.Total.Events {
		return fmt.Errorf("Σ explained sessions %d s / %d events, Compute total %d s / %d events (d, f)",
			sessions.Elapsed, sessions.Events, res.Total.Elapsed, res.Total.Events)
	}
	return nil
}

// TestPropertySums checks properties a–f on every policy.
func TestPropertySums(t *testing.T) {
	streams := propStreamsAll()
	for _, pp := range propPolicies(t) {
		t.Run(pp.name, func(t *testing.T) {
			for seed, evs := range streams {
				w, now := propWindow(propRand(seed, 's'), evs)
				res, err := aggregation.Compute(pp.p, w, now, evs)
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				x, err := aggregation.Explain(pp.p, w, now, evs)
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if err := checkResult(res); err != nil {
					t.Fatalf("seed %d (%d events, window %d…%d, now %d): %v", seed, len(evs), w.From, w.To, now, err)
				}
				if err := checkLaps(x, res, pp.p, now); err != nil {
					t.Fatalf("seed %d (%d events, window %d…%d, now %d): %v", seed, len(evs), w.From, w.To, now, err)
				}
				if len(evs) > 0 && res.UserID != genUser {
					t.Fatalf("seed %d: result of user %d", seed, res.UserID)
				}
			}
		})
	}
}

// rollupOf runs events through a fresh accumulator.
func rollupOf(t testing.TB, p aggregation.Policy, w aggregation.Window, now int64, evs []aggregation.Event) *aggregation.Rollup {
	t.Helper()
	acc := aggregation.NewAccumulator(nil)
	if _, err := aggregation.Run(p, w, now, evs, acc); err != nil {
		t.Fatal(err)
	}
	return acc.Rollup()
}

// diffEntries describes the first difference between two rollups' entries.
func diffEntries(want, got []aggregation.RollupEntry) string {
	for i := range max(len(want), len(got)) {
		switch {
		case i >= len(want):
			return fmt.Sprintf("extra entry %+v", got[i])
		case i >= len(got):
			return fmt.Sprintf("missing entry %+v", want[i])
		case !reflect.DeepEqual(want[i], got[i]):
			return fmt.Sprintf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	return "equal"
}

// (g) Splitting a window anywhere and merging the two rollups gives the
// rollup of the whole window, for every policy: both halves see the whole
// stream (the other half's events are context or look-ahead).
func TestPropertyWindowSplit(t *testing.T) {
	streams := propStreamsAll()
	for _, pp := range propPolicies(t) {
		t.Run(pp.name, func(t *testing.T) {
			for seed, evs := range streams {
				if len(evs) == 0 {
					continue
				}
				r := propRand(seed, 'g')
				first, last := evs[0].Time, evs[len(evs)-1].Time
				w, _ := propWindow(r, evs)
				now := last + r.Int64N(2*86400)
				if w.To == w.From {
					w.To = max(w.To, last) + 1
				}
				// b in (From, To]: an event's time (same-second rows go
				// right) or any second around the stream.
				var b int64
				if r.IntN(2) == 0 {
					b = evs[r.IntN(len(evs))].Time
				} else {
					b = first - 600 + r.Int64N(last-first+1201)
				}
				b = min(max(b, w.From+1), w.To)
				left, right := w, w
				left.To, right.From = b-1, b

				want := rollupOf(t, pp.p, w, now, evs).Entries()
				merged := rollupOf(t, pp.p, left, now, evs)
				merged.Merge(rollupOf(t, pp.p, right, now, evs))
				if got := merged.Entries(); !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d (%d events): window %d…%d split at %d (course from %v, now %d): %s",
						seed, len(evs), w.From, w.To, b, w.CourseFrom, now, diffEntries(want, got))
				}
			}
		})
	}
}

// (h) The bounded streaming form: engine 1 counts the events up to a split
// and pushes look-ahead only until Done; engine 2 starts cold at the split.
// Without captured time (which crosses the split) and without a minimum
// session, every forward policy's merged rollups equal the whole run.
func TestPropertyStreamSplit(t *testing.T) {
	noCapture := preset(t, "usestats")
	noCapture.Name, noCapture.Version, noCapture.Capture = "", "", nil
	noCaptureSplit := noCapture
	noCaptureSplit.SplitOnCourse, noCaptureSplit.Ignore = true, []string{"forum"}
	policies := []propPolicy{
		{"usestats without capture", noCapture},
		{"usestats without capture, split on course, ignore forum", noCaptureSplit},
		{"attendanceregister", preset(t, "attendanceregister")},
		{"custom local_timespent", aggregation.Policy{
			Threshold: 900, Credit: 450,
			Attribution: aggregation.Forward, Timeline: aggregation.PerCourse,
			KeepFailed: true, KeepLoginAs: true, KeepAnonymous: true,
			Site: aggregation.SiteNone,
		}},
	}
	streams := propStreamsAll()
	for _, pp := range policies {
		t.Run(pp.name, func(t *testing.T) {
			for seed, evs := range streams {
				if len(evs) < 2 {
					continue
				}
				r := propRand(seed, 'h')
				k := 1 + r.IntN(len(evs)-1)
				for k < len(evs) && evs[k].Time == evs[k-1].Time {
					k++
				}
				if k == len(evs) {
					continue
				}
				last := evs[len(evs)-1].Time
				now := last + r.Int64N(2*86400)
				w := aggregation.AllTime
				if r.IntN(2) == 0 {
					w.From = evs[0].Time - r.Int64N(1000)
				}
				if r.IntN(2) == 0 {
					w.To = last + r.Int64N(1000)
				}
				want := rollupOf(t, pp.p, w, now, evs).Entries()

				acc1 := aggregation.NewAccumulator(nil)
				e1, err := aggregation.NewEngine(pp.p, aggregation.Window{From: w.From, To: evs[k-1].Time}, acc1)
				if err != nil {
					t.Fatal(err)
				}
				for i := range evs[:k] {
					if err := e1.Push(&evs[i]); err != nil {
						t.Fatal(err)
					}
				}
				for i := k; i < len(evs) && !e1.Done(); i++ {
					if err := e1.Push(&evs[i]); err != nil {
						t.Fatal(err)
					}
				}
				e1.Flush(now)

				acc2 := aggregation.NewAccumulator(nil)
				e2, err := aggregation.NewEngine(pp.p, aggregation.Window{From: evs[k].Time, To: w.To}, acc2)
				if err != nil {
					t.Fatal(err)
				}
				for i := k; i < len(evs); i++ {
					if err := e2.Push(&evs[i]); err != nil {
						t.Fatal(err)
					}
				}
				e2.Flush(now)

				merged := acc1.Rollup()
				merged.Merge(acc2.Rollup())
				if got := merged.Entries(); !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d (%d events): stream split before event %d (index %d, t=%d), window %d…%d, now %d: %s",
						seed, len(evs), evs[k].ID, k, evs[k].Time, w.From, w.To, now, diffEntries(want, got))
				}
			}
		})
	}
}

// (i) A gap-drop policy is monotone in its threshold: a longer threshold
// never lowers the user total (nor any course's total).
func TestPropertyThresholdMonotone(t *testing.T) {
	thresholds := []int64{300, 600, 1800, 3600, 7200}
	streams := propStreamsAll()
	for _, name := range []string{"dedication", "canvas", "edx5", "edx30", "usestats"} {
		t.Run(name, func(t *testing.T) {
			base := preset(t, name)
			base.Name, base.Version = "", ""
			for seed, evs := range streams {
				w, now := propWindow(propRand(seed, 'i'), evs)
				var prev *aggregation.Result
				for _, th := range thresholds {
					p := base
					p.Threshold = th
					res, err := aggregation.Compute(p, w, now, evs)
					if err != nil {
						t.Fatalf("seed %d, threshold %d: %v", seed, th, err)
					}
					if prev != nil {
						if res.Total.Elapsed < prev.Total.Elapsed {
							t.Fatalf("seed %d (%d events, window %d…%d, now %d): threshold %d gives %d s, less than %d s at a shorter threshold",
								seed, len(evs), w.From, w.To, now, th, res.Total.Elapsed, prev.Total.Elapsed)
						}
						for _, c := range prev.Courses {
							if got := res.Course(c.CourseID); got == nil || got.Total.Elapsed < c.Total.Elapsed {
								t.Fatalf("seed %d (%d events, window %d…%d, now %d): course %d at threshold %d gives %+v, less than %d s at a shorter threshold",
									seed, len(evs), w.From, w.To, now, c.CourseID, th, got, c.Total.Elapsed)
							}
						}
					}
					prev = res
				}
			}
		})
	}
}

// (j) Every run is deterministic: the same input gives the same result
// tree and the same explanation.
func TestPropertyDeterminism(t *testing.T) {
	streams := propStreamsAll()
	for _, pp := range propPolicies(t) {
		t.Run(pp.name, func(t *testing.T) {
			for seed, evs := range streams {
				if seed%3 != 0 { // a third of the streams keeps the suite fast
					continue
				}
				w, now := propWindow(propRand(seed, 'j'), evs)
				r1, err1 := aggregation.Compute(pp.p, w, now, evs)
				r2, err2 := aggregation.Compute(pp.p, w, now, evs)
				if err1 != nil || err2 != nil {
					t.Fatalf("seed %d: %v, %v", seed, err1, err2)
				}
				if !reflect.DeepEqual(r1, r2) {
					t.Fatalf("seed %d (%d events): two runs differ:\n%+v\n%+v", seed, len(evs), r1, r2)
				}
				x1, _ := aggregation.Explain(pp.p, w, now, evs)
				x2, _ := aggregation.Explain(pp.p, w, now, evs)
				if !reflect.DeepEqual(x1, x2) {
					t.Fatalf("seed %d (%d events): two explanations differ", seed, len(evs))
				}
			}
		})
	}
}

// (k) Done is a safe early stop: a run that stops pushing once the engine is
// Done after the window (as Run does) gives the same rollup as pushing the
// user's whole stream.
func TestPropertyDoneIsSafe(t *testing.T) {
	streams := propStreamsAll()
	for _, pp := range propPolicies(t) {
		t.Run(pp.name, func(t *testing.T) {
			for seed, evs := range streams {
				r := propRand(seed, 'k')
				w, _ := propWindow(r, evs)
				now := int64(genStart)
				if len(evs) > 0 {
					now = evs[len(evs)-1].Time + r.Int64N(2*86400)
				}
				want := rollupOf(t, pp.p, w, now, evs).Entries() // Run stops at Done
				acc := aggregation.NewAccumulator(nil)
				e, err := aggregation.NewEngine(pp.p, w, acc)
				if err != nil {
					t.Fatal(err)
				}
				stop := -1
				for i := range evs {
					if err := e.Push(&evs[i]); err != nil {
						t.Fatal(err)
					}
					if stop < 0 && evs[i].Time > w.To && e.Done() {
						stop = i
					}
				}
				e.Flush(now)
				if got := acc.Rollup().Entries(); !reflect.DeepEqual(want, got) {
					t.Fatalf("seed %d (%d events, window %d…%d, now %d): stopping at Done after event %d (index %d) gives %s (want = stopped, got = whole stream)",
						seed, len(evs), w.From, w.To, now, evs[max(stop, 0)].ID, stop, diffEntries(want, got))
				}
			}
		})
	}
}

// Focused reproductions of the properties' failures, smallest first.

// (g) with a minimum session: dedication drops sessions of 60 s or less, and
// it judges a session by the laps inside the window only, so a 70 s session
// that a window boundary cuts into 40 s + 30 s is dropped from both halves.
func TestWindowSplitMinSession(t *testing.T) {
	const T = 1702100000
	evs := newStream(7).course(T, 5).course(T+40, 5).course(T+70, 5).events
	p := preset(t, "dedication")
	whole := compute(t, p, aggregation.AllTime, far, evs)
	wantStat(t, "whole window", whole.Total, 70, 3)
	left := compute(t, p, aggregation.Window{From: math.MinInt64, To: T + 39}, far, evs)
	right := compute(t, p, aggregation.Window{From: T + 40, To: math.MaxInt64}, far, evs)
	if left.Total.Elapsed+right.Total.Elapsed != 70 || left.Total.Events+right.Total.Events != 3 {
		t.Errorf("window split at T+40: %d s / %d events + %d s / %d events, want 70 s / 3 events in all",
			left.Total.Elapsed, left.Total.Events, right.Total.Elapsed, right.Total.Events)
	}
}

// (k) with a credit longer than the threshold: once an event lies past
// To + Threshold the engine says Done, but the window's last event of
// another course (or before a dropped row) has not met its next event yet,
// and Flush gives it the full credit instead of min(credit, real gap).
func TestDoneWithCreditLongerThanThreshold(t *testing.T) {
	const T = 1702200000
	perCourse := aggregation.Policy{Threshold: 120, Credit: 1800, Timeline: aggregation.PerCourse, Site: aggregation.SiteNone}
	perUser := preset(t, "usestats")
	perUser.Name, perUser.Threshold = "", 300
	cases := []struct {
		name string
		p    aggregation.Policy
		evs  []aggregation.Event
	}{
		// course 5 at T, course 8 at T+121 (past To + 120), course 5 at T+200:
		// course 5's gap is 200 > 120, so its lap is min(1800, 200) = 200.
		{"per course", perCourse, newStream(7).course(T, 5).course(T+121, 8).course(T+200, 5).events},
		// a user_graded row at T+301 (past To + 300) is stepped over; the next
		// event is at T+400, so the lap is min(900, 400) = 400.
		{"per user, graded row", perUser, newStream(7).course(T, 5).graded(T+301, 5).course(T+400, 5).events},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := aggregation.Window{From: T, To: T}
			whole := aggregation.NewAccumulator(nil)
			e, err := aggregation.NewEngine(c.p, w, whole)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.evs {
				if err := e.Push(&c.evs[i]); err != nil {
					t.Fatal(err)
				}
			}
			e.Flush(far)
			want := whole.Result(7, e.Policy(), w).Total
			got := compute(t, c.p, w, far, c.evs).Total // Run stops at Done
			if got.Elapsed != want.Elapsed {
				t.Errorf("Compute (stops at Done) = %d s, pushing the whole stream = %d s", got.Elapsed, want.Elapsed)
			}
		})
	}
}

// (k) with a minimum session and one timeline per course: the sessions'
// MinSession decision now uses every lap, also those after the window, but
// Done still answers true as soon as any event lies past To + Threshold,
// although another course's session is still open, not yet kept, and its
// next event may keep it.
func TestDoneWithMinSessionPerCourse(t *testing.T) {
	const T = 1702300000
	// Course 5 at T (the window) and T+30; course 8 at T+3601, past
	// To + 3600; course 5 again at T+3610, 3580 s after T+30, so course 5's
	// session spans 30 + 3580 s > 60 s and is kept: T's 30 s count.
	evs := newStream(7).course(T, 5).course(T+30, 5).course(T+3601, 8).course(T+3610, 5).events
	p := preset(t, "dedication")
	w := aggregation.Window{From: T, To: T}
	whole := aggregation.NewAccumulator(nil)
	e, err := aggregation.NewEngine(p, w, whole)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		if err := e.Push(&evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	e.Flush(far)
	wantStat(t, "whole stream", whole.Result(7, e.Policy(), w).Total, 30, 1)
	wantStat(t, "Compute (stops at Done)", compute(t, p, w, far, evs).Total, 30, 1)
}

// (e) at the ends of int64: gaps and the now cap are computed with
// wrapping subtraction, giving negative laps or a wrong last-event credit.
func TestExtremeTimes(t *testing.T) {
	check := func(name string, p aggregation.Policy, now int64, evs []aggregation.Event) {
		t.Helper()
		x, err := aggregation.Explain(p, aggregation.AllTime, now, evs)
		if err != nil {
			t.Fatal(err)
		}
		res := compute(t, p, aggregation.AllTime, now, evs)
		if err := checkLaps(x, res, p, now); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	usestats, edx5 := preset(t, "usestats"), preset(t, "edx5")
	// Forward: the gap from MinInt64 to 1 overflows to a negative credit.
	check("forward gap overflow", usestats, far, newStream(7).course(math.MinInt64, 5).course(1, 5).events)
	// Backward: the same gap since the anchor.
	check("backward gap overflow", edx5, far, newStream(7).course(math.MinInt64, 5).course(1, 5).events)
	// Last event at −1 with now = MaxInt64: now − t wraps negative, so the
	// credit is 0 instead of 900.
	check("now − t overflow (credit lost)", usestats, math.MaxInt64, newStream(7).course(-1, 5).events)
	// A captured lap carried into an event 5 s before MaxInt64: the
	// session end, event + lap, wraps and stays at the session start.
	check("event + lap overflow (session end)", usestats, math.MaxInt64,
		newStream(7).view(math.MaxInt64-1000, 703).course(math.MaxInt64-5, 5).events)
	// Last event at 1 with now = MinInt64: now − t wraps positive, so the
	// credit reaches past now.
	check("now − t overflow (credit past now)", usestats, math.MinInt64, newStream(7).course(1, 5).events)
}
