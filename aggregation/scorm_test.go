package aggregation_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
)

// scormTracks is an in-memory ScormReader. It returns the values of the
// users and activities asked for whatever their time, so the layer's own
// window check is what keeps the window; it counts its calls.
type scormTracks struct {
	mu     sync.Mutex
	values []aggregation.ScormValue
	calls  int
	cmids  [][]int64 // the activities of each call
	err    error
}

// count returns the number of reads so far.
func (s *scormTracks) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *scormTracks) ScormTimes(_ context.Context, users, cmids []int64, _, _ int64) ([]aggregation.ScormValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.cmids = append(s.cmids, slices.Clone(cmids))
	if s.err != nil {
		return nil, s.err
	}
	var out []aggregation.ScormValue
	for _, v := range s.values {
		if slices.Contains(users, v.UserID) && slices.Contains(cmids, v.CMID) {
			out = append(out, v)
		}
	}
	return out, nil
}

func TestParseScormDuration(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		// SCORM 2004: ISO 8601 durations, every part.
		{"PT1H2M3S", time.Hour + 2*time.Minute + 3*time.Second},
		{"PT5M3S", 5*time.Minute + 3*time.Second}, // the reference dropped these (B12)
		{"PT45S", 45 * time.Second},
		{"PT1H", time.Hour},
		{"PT1.5S", 1500 * ms},
		{"PT0.05S", 50 * ms},
		{"PT3.14159S", 3141 * ms}, // finer than a millisecond: dropped
		{"P1D", 24 * time.Hour},
		{"P1DT2H", 26 * time.Hour},
		{"P1M", 30 * 24 * time.Hour},
		{"P1Y", 365 * 24 * time.Hour},
		{"P1Y2M3DT4H5M6.7S", (365+60+3)*24*time.Hour + 4*time.Hour + 5*time.Minute + 6700*ms},
		{"PT0S", 0},
		{"PT90M", 90 * time.Minute}, // parts are not capped at their unit
		{" PT10S ", 10 * time.Second},
		// SCORM 1.2: HHHH:MM:SS[.SS].
		{"00:00:00", 0},
		{"01:02:03", time.Hour + 2*time.Minute + 3*time.Second},
		{"0001:02:03.5", time.Hour + 2*time.Minute + 3500*ms},
		{"1234:00:00.25", 1234*time.Hour + 250*ms},
		{"0:05:00", 5 * time.Minute},
	} {
		got, ok := aggregation.ParseScormDuration(c.in)
		if !ok || got != c.want {
			t.Errorf("%q = %v, %t; want %v", c.in, got, ok, c.want)
		}
	}
	for _, bad := range []string{
		"", "P", "PT", "P1DT", "PT1H2M3", "P1H", "PT1D", "PT1S2M", "PT1M1M", "P1.5D", "PT1.5H", "PT.5S", "PT1.S",
		"pt1h", "-PT1S", "PT-1S", "P1W", "PT1H 2M", "P99999999999999Y",
		"1:2:3", "00:00", "00:00:00:00", "00000:00:00", "00:0:00", "00:00:0", "00:00:00.", "00:00:00.123", "aa:bb:cc", "00:00:00.5a",
		"garbage", "3600",
	} {
		if d, ok := aggregation.ParseScormDuration(bad); ok {
			t.Errorf("%q parsed as %v", bad, d)
		}
	}
}

// The vectors' site: user 7 in course 5 with SCORM 1.2 activity 104
// (section 32), SCORM 2004 activity 105 (section 33), SCORM activity 106
// (section 31), a deleted SCORM activity 107 (its rows no longer resolve)
// and page 101 (section 31).
const scormT = 1_700_300_000 // 2023-11-18 09:33:20 UTC

func scormView(s *stream, t, cm, section int64) *stream {
	return s.add(aggregation.Event{Time: t, CourseID: 5, ContextID: 70000 + cm, ContextLevel: aggregation.ContextModule,
		ContextInstanceID: cm, CMID: cm, SectionID: section, ModuleType: "scorm",
		Action: "viewed", Target: "course_module", CRUD: 'r', EduLevel: 2})
}

// scormEvents: site 60 s; course level 100 s; 104: 1000 s; 105: 500 s;
// 106: 400 s; the deleted 107: 100 s; page 101: the last event's 900 s
// credit. Log total 3060 s, all on the day of scormT.
func scormEvents() []aggregation.Event {
	s := newStream(7).login(scormT-60).course(scormT, 5)
	scormView(s, scormT+100, 104, 32)
	scormView(s, scormT+1100, 105, 33)
	scormView(s, scormT+1600, 106, 31)
	return s.deletedModule(scormT+2000, 5, 107).view(scormT+2100, 701).events
}

// scormValues: 104 (SCORM 1.2) reports 2400.55 s: attempt 1's total
// 1800.5 s (its session time is not added to it), attempt 2's sessions
// 300.25 + 299.8 s (it has no total), one value that is no duration, and
// two values outside the window; 105 (SCORM 2004) reports 4353.75 s on
// the next day: attempt 1's total 3723.75 s over two SCOs, attempt 2's
// sessions 600 + 30 s; 106 reports 120 s, under its log time; the deleted
// 107 reports an hour; user 8 is not asked for.
func scormValues() []aggregation.ScormValue {
	v := func(cm, attempt, sco int64, element, value string, t int64) aggregation.ScormValue {
		return aggregation.ScormValue{UserID: 7, CMID: cm, Attempt: attempt, SCO: sco, Element: element, Value: value, Time: t}
	}
	const day = 86400
	return []aggregation.ScormValue{
		v(104, 1, 1, aggregation.ScormTotalTime12, "0000:30:00.50", scormT+500),
		v(104, 1, 1, aggregation.ScormSessionTime12, "00:10:00", scormT+500),
		v(104, 2, 1, aggregation.ScormSessionTime12, "00:05:00.25", scormT+900),
		v(104, 2, 1, aggregation.ScormSessionTime12, "0:04:59.80", scormT+1000),
		v(104, 2, 1, aggregation.ScormSessionTime12, "soon", scormT+1000),
		v(104, 3, 1, aggregation.ScormTotalTime12, "01:00:00", scormT-500),     // before the window
		v(104, 4, 1, aggregation.ScormTotalTime12, "01:00:00", scormT+3*day+1), // after it
		v(105, 1, 2, aggregation.ScormTotalTime2004, "PT1H0M3.5S", scormT+1200),
		v(105, 1, 3, aggregation.ScormTotalTime2004, "PT2M0.25S", scormT+1300),
		v(105, 1, 3, aggregation.ScormSessionTime2004, "PT2M0.25S", scormT+1300),
		v(105, 2, 2, aggregation.ScormSessionTime2004, "PT10M", scormT+day),
		v(105, 2, 2, aggregation.ScormSessionTime2004, "PT30S", scormT+day+5),
		v(106, 1, 4, aggregation.ScormTotalTime2004, "PT2M", scormT+1700),
		v(107, 1, 5, aggregation.ScormTotalTime2004, "PT1H", scormT+2050),
		{UserID: 8, CMID: 104, Attempt: 1, SCO: 1, Element: aggregation.ScormTotalTime12, Value: "09:00:00", Time: scormT},
	}
}

var scormWindow = aggregation.Window{From: scormT - 100, To: scormT + 3*86400}

func scormService(t *testing.T, tracks *scormTracks) *aggregation.Service {
	t.Helper()
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(scormEvents()),
		Scorm: tracks, Now: func() int64 { return far }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// Hand-checked: 104 gains 2400 − 1000 = 1400 s on the day of its last
// write, 105 gains 4353 − 500 = 3853 s on the next day, 106 and the
// deleted 107 keep their log time; every total follows, sessions do not.
func TestScormVectors(t *testing.T) {
	tracks := &scormTracks{values: scormValues()}
	svc := scormService(t, tracks)
	p := preset(t, "usestats")
	r, err := svc.User(context.Background(), 7, aggregation.Query{Policy: p, Window: scormWindow})
	if err != nil {
		t.Fatal(err)
	}
	c := mustCourse(t, r, 5)
	wantStat(t, "104 (SCORM 1.2)", mustModule(t, c, 104).Stat, 2400, 1)
	wantStat(t, "105 (SCORM 2004)", mustModule(t, c, 105).Stat, 4353, 1)
	wantStat(t, "106 (reported less than the log)", mustModule(t, c, 106).Stat, 400, 1)
	wantStat(t, "deleted 107", mustModule(t, c, 107).Stat, 100, 1)
	wantStat(t, "page 101", mustModule(t, c, 101).Stat, 900, 1)
	wantStat(t, "section 31", mustSection(t, c, 31).Stat, 1300, 2)
	wantStat(t, "section 32", mustSection(t, c, 32).Stat, 2400, 1)
	wantStat(t, "section 33", mustSection(t, c, 33).Stat, 4353, 1)
	wantStat(t, "unknown section", mustSection(t, c, 0).Stat, 100, 1)
	wantStat(t, "activities", c.Activities, 2900+1400+3853, 5)
	wantStat(t, "course level", c.CourseLevel, 100, 1)
	wantStat(t, "course 5", c.Total, 3000+1400+3853, 6)
	wantStat(t, "site", r.Site, 60, 1)
	wantStat(t, "total", r.Total, 3060+1400+3853, 7)
	day := aggregation.Day(scormT / 86400)
	wantDays := []aggregation.DayStat{
		{Day: day, Stat: aggregation.Stat{Elapsed: 3060 + 1400, Events: 7, FirstAccess: scormT - 60, LastAccess: scormT + 2100}},
		{Day: day + 1, Stat: aggregation.Stat{Elapsed: 3853}},
	}
	if fmt.Sprint(r.Days) != fmt.Sprint(wantDays) {
		t.Errorf("days %+v, want %+v", r.Days, wantDays)
	}
	wantDays[0].Elapsed -= 60 // the site's login
	wantDays[0].Events--
	wantDays[0].FirstAccess = scormT
	if fmt.Sprint(c.Days) != fmt.Sprint(wantDays) {
		t.Errorf("course days %+v, want %+v", c.Days, wantDays)
	}
	var sessions int64
	for _, s := range r.Sessions {
		sessions += s.Elapsed
	}
	if sessions != 3060 {
		t.Errorf("sessions %d s, want the log's 3060 s", sessions)
	}
	want := []aggregation.ScormAdjustment{
		{CourseID: 5, CMID: 104, SectionID: 32, LogTime: 1000, Reported: 2400, Added: 1400, Attempts: 2, Ignored: 1, LastWrite: scormT + 1000, Day: day},
		{CourseID: 5, CMID: 105, SectionID: 33, LogTime: 500, Reported: 4353, Added: 3853, Attempts: 2, LastWrite: scormT + 86405, Day: day + 1},
		{CourseID: 5, CMID: 106, SectionID: 31, LogTime: 400, Reported: 120, Attempts: 1, LastWrite: scormT + 1700},
	}
	if fmt.Sprint(r.Scorm) != fmt.Sprint(want) {
		t.Errorf("adjustments\n %+v\nwant\n %+v", r.Scorm, want)
	}
	if tracks.calls != 1 || fmt.Sprint(tracks.cmids) != "[[104 105 106]]" {
		t.Errorf("%d reads for %v; want one, for the SCORM activities 104, 105 and 106", tracks.calls, tracks.cmids)
	}

	// Explain: the laps, then one row per activity the packages reported.
	x, err := svc.Explain(context.Background(), 7, aggregation.Query{Policy: p, Window: scormWindow}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	var credit int64
	for _, l := range x.Laps {
		if l.Counted {
			credit += l.Credit
		}
		if l.Reason == aggregation.ReasonScorm {
			rows = append(rows, fmt.Sprintf("%d %d %t %d %s", l.Place.CMID, l.Credit, l.Counted, l.Event.Time, l.Detail))
		}
	}
	wantRows := []string{
		fmt.Sprintf("104 1400 true %d SCORM: 2 attempts reported 2400 s, the log gives 1000 s: 1400 s added; 1 value is not a duration, ignored", scormT+1000),
		fmt.Sprintf("105 3853 true %d SCORM: 2 attempts reported 4353 s, the log gives 500 s: 3853 s added", scormT+86405),
		fmt.Sprintf("106 0 false %d SCORM: 1 attempt reported 120 s, the log gives 400 s: no change", scormT+1700),
	}
	if strings.Join(rows, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("explain rows:\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(wantRows, "\n"))
	}
	if credit != r.Total.Elapsed || aggregation.ReasonScorm.String() != "scorm" {
		t.Errorf("explained credit %d s, answer %d s; reason %q", credit, r.Total.Elapsed, aggregation.ReasonScorm)
	}
}

// The layer is off with the policy field, and reads nothing when the
// answer has no SCORM activity; the window's bounds keep values out.
func TestScormLayerOffAndWindows(t *testing.T) {
	tracks := &scormTracks{values: scormValues()}
	svc := scormService(t, tracks)
	off := preset(t, "usestats")
	off.Scorm = false
	r, err := svc.User(context.Background(), 7, aggregation.Query{Policy: off, Window: scormWindow})
	if err != nil {
		t.Fatal(err)
	}
	wantStat(t, "total without the layer", r.Total, 3060, 7)
	if tracks.calls != 0 || r.Scorm != nil || r.Policy.Name != "custom" {
		t.Errorf("layer off: %d reads, adjustments %v, policy %v", tracks.calls, r.Scorm, r.Policy)
	}
	// A window before the SCORM activities: nothing to read.
	on := preset(t, "usestats")
	r, err = svc.User(context.Background(), 7, aggregation.Query{Policy: on, Window: aggregation.Window{From: scormT - 100, To: scormT + 50}})
	if err != nil {
		t.Fatal(err)
	}
	if tracks.calls != 0 || r.Scorm != nil {
		t.Errorf("no SCORM activity: %d reads, adjustments %v", tracks.calls, r.Scorm)
	}
	// A window ending before 105's second attempt and 104's second
	// session: 104 reports 1800 + 300 s, 105 3723 s.
	r, err = svc.User(context.Background(), 7, aggregation.Query{Policy: on, Window: aggregation.Window{From: scormT - 100, To: scormT + 950}})
	if err != nil {
		t.Fatal(err)
	}
	c := mustCourse(t, r, 5)
	wantStat(t, "104, window to +950", mustModule(t, c, 104).Stat, 2100, 1)
	if m := c.Module(105); m != nil {
		t.Errorf("105 counted before its first view: %+v", m)
	}
	// An enrolment start after 104's first attempt (the enrolment filter)
	// keeps only the values written from it.
	filtered := preset(t, "usestats")
	filtered.EnrolmentFilter = true
	en, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(scormEvents()),
		Scorm: tracks, Enrolments: enrolments{7: {5: scormT + 600}}, Now: func() int64 { return far }})
	r, err = en.User(context.Background(), 7, aggregation.Query{Policy: filtered, Window: scormWindow})
	if err != nil {
		t.Fatal(err)
	}
	// 104's view at +100 is before the start: not counted, so 104 is
	// not in the answer; 105 is, with all its values.
	c = mustCourse(t, r, 5)
	if c.Module(104) != nil {
		t.Errorf("104 counted before the enrolment start: %+v", c.Module(104))
	}
	wantStat(t, "105 with the enrolment filter", mustModule(t, c, 105).Stat, 4353, 1)
}

// A failing read fails the answer; values that are not durations never do.
func TestScormReadError(t *testing.T) {
	tracks := &scormTracks{err: errors.New("connection reset")}
	svc := scormService(t, tracks)
	if _, err := svc.User(context.Background(), 7, aggregation.Query{Policy: preset(t, "usestats"), Window: scormWindow}); err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("err = %v", err)
	}
	tracks = &scormTracks{values: []aggregation.ScormValue{{UserID: 7, CMID: 104, Attempt: 1, Element: aggregation.ScormTotalTime12, Value: "PT", Time: scormT}}}
	r, err := scormService(t, tracks).User(context.Background(), 7, aggregation.Query{Policy: preset(t, "usestats"), Window: scormWindow})
	if err != nil {
		t.Fatal(err)
	}
	wantStat(t, "total", r.Total, 3060, 7)
	if len(r.Scorm) != 1 || r.Scorm[0].Ignored != 1 || r.Scorm[0].Added != 0 {
		t.Errorf("adjustments %+v", r.Scorm)
	}
}

// scormSite turns a compile site's quizzes into SCORM activities and draws
// their SCORM values: per user and activity up to three attempts of one or
// two SCOs, each with a total time (SCORM 1.2 or 2004 form) and/or session
// times, written around the log's span, a few not durations.
func scormSite(r *rand.Rand) (*compileSite, *scormTracks) {
	s := newCompileSite(r)
	s.log.CommitAll()
	evs := s.log.Visible()
	for i := range evs {
		if evs[i].ModuleType == "quiz" {
			evs[i].ModuleType = "scorm"
		}
	}
	s.log = rolluptest.NewMemLog(evs)
	s.log.CommitAll()
	form := func(d int64) string {
		switch r.IntN(7) {
		case 0:
			return "garbage"
		case 1, 2, 3:
			return fmt.Sprintf("PT%dH%dM%d.%02dS", d/3600, d/60%60, d%60, r.IntN(100))
		default:
			return fmt.Sprintf("%04d:%02d:%02d.%d", d/3600, d/60%60, d%60, r.IntN(10))
		}
	}
	tracks := &scormTracks{}
	for _, u := range s.users {
		for _, c := range genCourses {
			for attempt := range int64(r.IntN(4)) {
				for sco := range int64(1 + r.IntN(2)) {
					at := func() int64 { return s.first - 86400 + r.Int64N(s.last-s.first+2*86400) }
					v := aggregation.ScormValue{UserID: u, CMID: c*100 + 2, Attempt: attempt, SCO: sco}
					if r.IntN(3) > 0 {
						v.Element, v.Value, v.Time = aggregation.ScormTotalTime2004, form(r.Int64N(4*3600)), at()
						tracks.values = append(tracks.values, v)
					}
					for range r.IntN(3) {
						v.Element, v.Value, v.Time = aggregation.ScormSessionTime12, form(r.Int64N(3600)), at()
						tracks.values = append(tracks.values, v)
					}
				}
			}
		}
	}
	return s, tracks
}

// checkScormSums checks an answer with the SCORM layer: every sum of
// checkResult holds but the sessions', which miss exactly the added time;
// each SCORM activity is max(log, reported) of the answer without the
// layer (plain), every other number is plain's.
func checkScormSums(res, plain *aggregation.Result) error {
	var added int64
	for _, a := range res.Scorm {
		added += a.Added
	}
	withSessions := *res
	withSessions.Sessions = slices.Clone(res.Sessions)
	if added > 0 {
		if len(withSessions.Sessions) == 0 {
			return fmt.Errorf("%d s added to an answer without sessions", added)
		}
		withSessions.Sessions[0].Elapsed += added
	}
	if err := checkResult(&withSessions); err != nil {
		return err
	}
	if res.Total.Elapsed-plain.Total.Elapsed != added || res.Total.Events != plain.Total.Events || res.Site != plain.Site {
		return fmt.Errorf("total %+v, plain %+v, %d s added", res.Total, plain.Total, added)
	}
	adj := map[int64]aggregation.ScormAdjustment{}
	for _, a := range res.Scorm {
		adj[a.CMID] = a
	}
	if len(res.Courses) != len(plain.Courses) {
		return fmt.Errorf("%d courses, plain %d", len(res.Courses), len(plain.Courses))
	}
	for _, pc := range plain.Courses {
		c := res.Course(pc.CourseID)
		if c == nil || len(c.Modules) != len(pc.Modules) {
			return fmt.Errorf("course %d: %+v, plain %+v", pc.CourseID, c, pc)
		}
		for _, pm := range pc.Modules {
			m := c.Module(pm.CMID)
			want := pm.Elapsed
			if a, ok := adj[pm.CMID]; ok {
				if a.LogTime != pm.Elapsed || a.Added != max(0, a.Reported-a.LogTime) {
					return fmt.Errorf("module %d: adjustment %+v, log time %d s", pm.CMID, a, pm.Elapsed)
				}
				want = max(pm.Elapsed, a.Reported)
			}
			if m == nil || m.Elapsed != want || m.Events != pm.Events {
				return fmt.Errorf("module %d (%s): %+v, want %d s (log %d s)", pm.CMID, pm.Type, m, want, pm.Elapsed)
			}
		}
	}
	return nil
}

// With the SCORM layer (and with the enrolment filter too), every sum of
// an answer still adds up, SCORM activities are max(log, reported), and
// answers through compiled rollups, read every time or cached and asked
// twice, equal the log's: the layer never changes what the cache keeps.
func TestPropertyScormLayer(t *testing.T) {
	raised, summed := 0, 0
	for seed := range 8 {
		r := propRand(seed, 'S')
		s, tracks := scormSite(r)
		for _, filter := range []bool{false, true} {
			p := preset(t, "usestats")
			p.EnrolmentFilter = filter
			p, err := p.Normalize()
			if err != nil {
				t.Fatal(err)
			}
			en := enrolments{}
			if filter {
				for _, ev := range s.log.Visible() {
					if en[ev.UserID] == nil {
						en[ev.UserID] = map[int64]int64{}
					}
					if _, ok := en[ev.UserID][ev.CourseID]; !ok && ev.CourseID != aggregation.SiteCourseID && r.IntN(2) == 0 {
						en[ev.UserID][ev.CourseID] = ev.Time + r.Int64N(2*86400)
					}
				}
			}
			now := s.nows[len(s.nows)-1]
			loc := compileLocations(t)[seed%len(compileLocations(t))]
			st := rolluptest.NewMemStore()
			if _, err := compileWith(s.log, st, p, loc, now).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			cfg := aggregation.ServiceConfig{Logs: s.log, Scorm: tracks, Enrolments: en, Location: loc, Now: func() int64 { return now }}
			live, _ := aggregation.NewService(cfg)
			plainCfg := cfg
			plainCfg.Scorm = nil
			plain, _ := aggregation.NewService(plainCfg)
			windows := s.windows(r, loc)
			for _, cache := range []int64{0, 1 << 20} {
				rcfg := cfg
				rcfg.Rollups, rcfg.RollupCacheBytes = st, cache
				svc, _ := aggregation.NewService(rcfg)
				for ask := range 2 {
					d, sources, err := rolluptest.Compare(context.Background(), live, svc, s.users, p, windows)
					if err != nil {
						t.Fatal(err)
					}
					if d != "" {
						t.Fatalf("seed %d, filter %t, cache %d, ask %d: %s", seed, filter, cache, ask+1, d)
					}
					if !filter && sources[aggregation.SourceLive] == len(windows)*len(s.users) {
						t.Fatalf("seed %d: no answer came from the rollups: %v", seed, sources)
					}
				}
			}
			// Site-wide answers, from the days' summaries and the SCORM
			// layer applied to them, equal the log's.
			counted := &countingStore{MemStore: st}
			rcfg := cfg
			rcfg.Rollups = counted
			svc, _ := aggregation.NewService(rcfg)
			d, err := rolluptest.CompareSite(context.Background(), live, svc, s.users, p, windows)
			if err != nil {
				t.Fatal(err)
			}
			if d != "" {
				t.Fatalf("seed %d, filter %t: %s", seed, filter, d)
			}
			summed += counted.summed - counted.full
			for _, w := range windows {
				q := aggregation.Query{Policy: p, Window: w}
				got, err := live.Users(context.Background(), s.users, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := plain.Users(context.Background(), s.users, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range s.users {
					if err := cmp.Or(checkScormSums(got[u], want[u]), checkScormHours(got[u], want[u])); err != nil {
						t.Fatalf("seed %d, filter %t, user %d, window [%d, %d]: %v", seed, filter, u, w.From, w.To, err)
					}
					for _, a := range got[u].Scorm {
						if a.Added > 0 {
							raised++
						}
					}
				}
			}
		}
	}
	if raised < 20 {
		t.Fatalf("the layer raised only %d activities: the property cannot tell", raised)
	}
	if summed < 20 {
		t.Fatalf("only %d site-wide answers came from summaries: the property cannot tell", summed)
	}
}
