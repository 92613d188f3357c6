package aggregation_test

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// realisticStream is one learner's year: on most days one to three sittings
// (a login, then course and module views across four courses with quiz
// attempts followed by user_graded rows and forum posts logged in the same
// second, sometimes a logout), night gaps, quiet weekends and a few rows that
// hygiene drops (cli, failed logins).
func realisticStream(user int64, days int, seed uint64) []aggregation.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	type cm struct {
		course, cm, section int64
		typ                 string
	}
	var cms []cm
	types := []string{"page", "resource", "quiz", "forum", "assign", "url", "scorm", "label"}
	for c := int64(2); c <= 5; c++ {
		for i := int64(0); i < 12; i++ {
			cms = append(cms, cm{c, c*100 + i, c*10 + i/3, types[int(i)%len(types)]})
		}
	}
	var evs []aggregation.Event
	id := int64(1)
	add := func(ev aggregation.Event) {
		ev.ID, ev.UserID = id, user
		if ev.Origin == "" {
			ev.Origin = "web"
		}
		ev.IP = "192.0.2.10"
		id++
		evs = append(evs, ev)
	}
	day0 := int64(1_700_000_000) - int64(1_700_000_000)%86400
	var t int64
	for d := 0; d < days; d++ {
		weekday := (d + 4) % 7 // 1970-01-01 was a Thursday
		if weekday >= 5 && rng.IntN(4) != 0 {
			continue
		}
		sittings := 1 + rng.IntN(3)
		t = max(t+3600, day0+int64(d)*86400+7*3600+rng.Int64N(3*3600))
		for s := 0; s < sittings; s++ {
			if rng.IntN(20) == 0 {
				add(aggregation.Event{Time: t, ContextLevel: 10, Action: "failed", Target: "user_login"})
				t += 5
			}
			if rng.IntN(5) != 0 {
				add(aggregation.Event{Time: t, ContextID: 1, ContextLevel: 10, Action: "loggedin", Target: "user"})
				t += 2 + rng.Int64N(20)
			}
			course := int64(2 + rng.IntN(4))
			clicks := 20 + rng.IntN(130)
			for k := 0; k < clicks; k++ {
				if rng.IntN(15) == 0 {
					course = int64(2 + rng.IntN(4))
				}
				switch r := rng.IntN(100); {
				case r < 20:
					add(aggregation.Event{Time: t, CourseID: course, ContextID: 50 + course, ContextLevel: 50, ContextInstanceID: course, Action: "viewed", Target: "course", CRUD: 'r', EduLevel: 2})
				case r < 25:
					add(aggregation.Event{Time: t, CourseID: course, ContextID: 3000 + user, ContextLevel: 30, ContextInstanceID: user, Action: "viewed", Target: "user_profile", CRUD: 'r'})
				default:
					m := cms[int(course-2)*12+rng.IntN(12)]
					ev := aggregation.Event{Time: t, CourseID: m.course, ContextID: 700 + m.cm, ContextLevel: 70, ContextInstanceID: m.cm,
						CMID: m.cm, ModuleType: m.typ, SectionID: m.section, Action: "viewed", Target: "course_module", CRUD: 'r', EduLevel: 2}
					add(ev)
					switch m.typ {
					case "quiz":
						if rng.IntN(3) == 0 {
							ev.Action, ev.Target = "submitted", "attempt"
							t += 60 + rng.Int64N(600)
							ev.Time = t
							add(ev)
							add(aggregation.Event{Time: t, CourseID: m.course, ContextID: 50 + m.course, ContextLevel: 50, Action: "graded", Target: "user", CRUD: 'u', EduLevel: 1})
						}
					case "forum":
						if rng.IntN(4) == 0 {
							ev.Action, ev.Target, ev.CRUD = "created", "post", 'c'
							t += 30 + rng.Int64N(300)
							ev.Time = t
							add(ev)
							ev.Action, ev.Target = "uploaded", "assessable"
							add(ev)
						}
					}
				}
				switch r := rng.IntN(100); {
				case r < 70:
					t += 5 + rng.Int64N(180)
				case r < 95:
					t += 180 + rng.Int64N(900)
				default:
					t += 1800 + rng.Int64N(5400)
				}
				if rng.IntN(200) == 0 {
					add(aggregation.Event{Time: t, CourseID: course, ContextLevel: 50, Action: "updated", Target: "course_completion", Origin: "cli"})
				}
			}
			if rng.IntN(3) == 0 {
				add(aggregation.Event{Time: t, ContextID: 1, ContextLevel: 10, Action: "loggedout", Target: "user"})
			}
			t += 2*3600 + rng.Int64N(4*3600)
		}
	}
	return evs
}

// benchEngine pushes b.N events of a realistic stream the way a database
// reader does: each row is decoded into one reused Event and pushed. Each
// pass over the stream is one learner-year with a fresh engine and the sink
// reset (its memory reused), as a compiler walking user after user does;
// passes are shifted in time so days keep creating new cells.
func benchEngine(b *testing.B, policy string, sink aggregation.Sink) {
	p, err := aggregation.Preset(policy)
	if err != nil {
		b.Fatal(err)
	}
	evs := realisticStream(42, 365, 1)
	span := evs[len(evs)-1].Time - evs[0].Time + 86400*7
	newEngine := func() *aggregation.Engine {
		if r, ok := sink.(interface{ Reset() }); ok {
			r.Reset()
		}
		e, err := aggregation.NewEngine(p, aggregation.AllTime, sink)
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	var row aggregation.Event // the reader's decode buffer
	e := newEngine()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	var shift, idShift int64
	for i, j := 0, 0; i < b.N; i, j = i+1, j+1 {
		if j == len(evs) {
			e.Flush(row.Time + 86400)
			e = newEngine()
			j = 0
			shift += span
			idShift += int64(len(evs))
		}
		row = evs[j]
		row.Time += shift
		row.ID += idShift
		if err := e.Push(&row); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	e.Flush(row.Time + 86400)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N), "allocs/event")
}

type discard struct{}

func (discard) Lap(*aggregation.Lap)         {}
func (discard) Session(*aggregation.Session) {}

func accumulator() aggregation.Sink { return aggregation.NewAccumulator(time.UTC) }

// Engine and accumulator (result tree, daily rollups, sessions): the
// numbers docs/time-engine.md §10 holds the engine to.
func BenchmarkEngineUsestats(b *testing.B)   { benchEngine(b, "usestats", accumulator()) }
func BenchmarkEngineDedication(b *testing.B) { benchEngine(b, "dedication", accumulator()) }
func BenchmarkEngineCanvas(b *testing.B)     { benchEngine(b, "canvas", accumulator()) }
func BenchmarkEngineEdx30(b *testing.B)      { benchEngine(b, "edx30", accumulator()) }

// The engine alone, laps discarded.
func BenchmarkLapsOnlyUsestats(b *testing.B)   { benchEngine(b, "usestats", discard{}) }
func BenchmarkLapsOnlyDedication(b *testing.B) { benchEngine(b, "dedication", discard{}) }

// A whole report: a fresh engine and accumulator for one user's year, and
// the result tree built from it.
func BenchmarkComputeYear(b *testing.B) {
	p, _ := aggregation.Preset("usestats")
	evs := realisticStream(42, 365, 1)
	now := evs[len(evs)-1].Time + 86400
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := aggregation.Compute(p, aggregation.AllTime, now, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(evs)), "events/op")
}

func TestRealisticStreamShape(t *testing.T) {
	evs := realisticStream(42, 365, 1)
	if len(evs) < 10000 {
		t.Fatalf("a year of a realistic learner should be ≥ 10 000 events, got %d", len(evs))
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Before(&evs[i-1]) {
			t.Fatalf("event %d out of order", i)
		}
	}
	r := compute(t, preset(t, "usestats"), aggregation.AllTime, evs[len(evs)-1].Time+86400, evs)
	if r.Total.Elapsed <= 0 || len(r.Sessions) < 100 || len(r.Courses) != 4 {
		t.Fatalf("unrealistic result: total %d s, %d sessions, %d courses", r.Total.Elapsed, len(r.Sessions), len(r.Courses))
	}
}
