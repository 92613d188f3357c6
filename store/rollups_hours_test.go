package store_test

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
	"github.com/usestats/usestats/store"
)

// hoursLog is a random log of three learners over a week around a
// daylight-saving change in Paris (spring or autumn): logins, course
// views, module views and user-context rows in three courses, with gaps
// from seconds to a night, ids in time order.
func hoursLog(r *rand.Rand) ([]aggregation.Event, []int64) {
	paris, _ := time.LoadLocation("Europe/Paris")
	starts := []time.Time{
		time.Date(2025, 3, 27, 18, 0, 0, 0, paris),  // before the spring change (30 March)
		time.Date(2025, 10, 23, 18, 0, 0, 0, paris), // before the autumn change (26 October)
	}
	start := starts[r.IntN(len(starts))].Unix()
	users := []int64{21, 22, 23}
	var all []aggregation.Event
	for _, u := range users {
		t := start + r.Int64N(7200)
		for range 80 + r.IntN(120) {
			ev := aggregation.Event{UserID: u, Time: t, Origin: "web", IP: "192.0.2.7"}
			course := int64(2 + r.IntN(3))
			switch k := r.IntN(10); {
			case k == 0:
				ev.ContextLevel, ev.ContextID, ev.Action, ev.Target = 10, 1, "loggedin", "user"
			case k < 3:
				ev.CourseID, ev.ContextLevel, ev.ContextID, ev.ContextInstanceID = course, 50, 50+course, course
				ev.Action, ev.Target = "viewed", "course"
			case k < 4:
				ev.CourseID, ev.ContextLevel, ev.ContextID, ev.ContextInstanceID = course, 30, 3000+u, u
				ev.Action, ev.Target = "viewed", "user_profile"
			default:
				cm := course*100 + int64(r.IntN(3))
				ev.CourseID, ev.ContextLevel, ev.ContextID, ev.ContextInstanceID = course, 70, 700+cm, cm
				ev.CMID, ev.SectionID, ev.ModuleType = cm, course*10+cm%2, []string{"page", "quiz", "forum"}[cm%3]
				ev.Action, ev.Target = "viewed", "course_module"
			}
			all = append(all, ev)
			switch g := r.IntN(20); {
			case g < 12:
				t += r.Int64N(120)
			case g < 17:
				t += 120 + r.Int64N(1800)
			case g < 19:
				t += 1800 + r.Int64N(3*3600)
			default:
				t += 8*3600 + r.Int64N(16*3600)
			}
		}
	}
	slices.SortStableFunc(all, func(a, b aggregation.Event) int { return cmp.Compare(a.Time, b.Time) })
	for i := range all {
		all[i].ID = int64(i + 1)
	}
	return all, users
}

// Rollups compiled into the store (fresh, then incremental) answer every
// window, hours included, exactly as the log does, in zones whose days
// are cut at whole hours (UTC, Paris across a daylight-saving change) and
// at half hours (Kolkata, +05:30, where an hour straddles two days).
func TestRollupHoursEqualLive(t *testing.T) {
	var locs []*time.Location
	for _, name := range []string{"UTC", "Europe/Paris", "Asia/Kolkata"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, loc)
	}
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		for seed := range 3 {
			r := rand.New(rand.NewPCG(uint64(seed), 17))
			loc := locs[seed%len(locs)]
			p, _ := aggregation.Preset([]string{"usestats", "canvas", "dedication"}[seed%3])
			evs, users := hoursLog(r)
			log := rolluptest.NewMemLog(evs)
			cut := len(evs) * 3 / 5
			stages := [][]aggregation.Event{evs[:cut], evs[cut:]}
			for i, stage := range stages {
				for _, ev := range stage {
					log.Commit(ev.ID)
				}
				now := stage[len(stage)-1].Time + 3600
				c := &aggregation.Compiler{Logs: log, Store: s, Policy: p, Location: loc, Now: func() int64 { return now }}
				if _, err := c.Run(ctx); err != nil {
					t.Fatalf("seed %d stage %d: %v", seed, i, err)
				}
				live, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: log, Location: loc, Now: func() int64 { return now }})
				stored, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: log, Rollups: s, Location: loc,
					RollupCacheBytes: 1 << 20, Now: func() int64 { return now }})
				first, last := evs[0].Time, stage[len(stage)-1].Time
				windows := []aggregation.Window{aggregation.AllTime}
				for range 4 {
					a, b := first-3600+r.Int64N(last-first+7200), first-3600+r.Int64N(last-first+7200)
					windows = append(windows, aggregation.Window{From: min(a, b), To: max(a, b)})
					y, m, d := time.Unix(min(a, b), 0).In(loc).Date()
					da := time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()
					windows = append(windows, aggregation.Window{From: da, To: math.MaxInt64})
				}
				for ask := range 2 { // the second ask answers from the cache
					d, sources, err := rolluptest.Compare(ctx, live, stored, users, p, windows)
					if err != nil {
						t.Fatal(err)
					}
					if d != "" {
						t.Fatalf("seed %d stage %d, %s, zone %s, ask %d: %s", seed, i, p.Name, loc, ask+1, d)
					}
					if sources[aggregation.SourceRollups]+sources[aggregation.SourceMixed] == 0 {
						t.Fatalf("seed %d stage %d: no answer came from the rollups: %v", seed, i, sources)
					}
				}
				res, err := stored.Users(ctx, users, aggregation.Query{Policy: p, Window: aggregation.AllTime})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range users {
					if res[u].Total.Events > 0 && len(res[u].Hours) == 0 {
						t.Fatalf("seed %d: user %d has time and no hours", seed, u)
					}
				}
			}
		}
	})
}

// Migration 0006 drops every rollup and compile state compiled before
// hours were kept, and nothing else: the next compile starts afresh, and
// answers come from the log until it completes.
func TestRollupHoursMigrationDropsRollups(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		if _, _, err := s.CreateToken(ctx, "kept", scopes(t, "site:read"), t0); err != nil {
			t.Fatal(err)
		}
		for _, key := range []aggregation.CompileKey{keyA, keyB} {
			if err := s.WriteUsers(ctx, key, []aggregation.UserCompile{{UserID: 1, FromDay: minDay,
				Cells: []aggregation.RollupEntry{cell(1, 1, 1)}, Hours: []aggregation.HourEntry{hour(1, 1, 1)},
				Pieces: []aggregation.SessionPiece{piece(1, 1, 1)}, State: aggregation.UserState{CompiledTo: 5}}}, complete(10)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.BeginRun(ctx, aggregation.CompileKey{Policy: "p", Version: "2", Zone: "UTC"}, aggregation.CompileRun{Horizon: 9},
			shards(0, 5, 10)); err != nil {
			t.Fatal(err)
		}
		// As if the store was at migration 0005: the next Migrate applies 0006.
		db := store.RawDB(s)
		if _, err := db.NewRaw("DELETE FROM usestats_migrations WHERE name = '0006'").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		applied, err := s.Migrate(ctx)
		if err != nil || !slices.Equal(applied, []string{"0006_rollup_hours"}) {
			t.Fatalf("Migrate applied %v, %v; want 0006_rollup_hours", applied, err)
		}
		for _, table := range []string{"usestats_rollup_days", "usestats_session_ends", "usestats_compile_users",
			"usestats_compile_shards", "usestats_compile_keys"} {
			var n int
			if err := db.NewRaw("SELECT COUNT(*) FROM "+table).Scan(ctx, &n); err != nil || n != 0 {
				t.Errorf("%s: %d rows after the migration, %v", table, n, err)
			}
		}
		keys, err := s.Keys(ctx)
		if err != nil || len(keys) != 0 {
			t.Errorf("Keys() = %v, %v; want none", keys, err)
		}
		if st, err := s.CompileState(ctx, keyA); err != nil || st.Complete || st.Run.ID != 0 {
			t.Errorf("CompileState = %+v, %v; want a key never compiled", st, err)
		}
		if _, ok, err := s.Rollups(ctx, keyA, []int64{1}, minDay, maxDay); ok || err != nil {
			t.Errorf("Rollups after the migration: ok %v, %v; want not complete", ok, err)
		}
		var n int
		if err := db.NewRaw("SELECT COUNT(*) FROM usestats_tokens").Scan(ctx, &n); err != nil || n != 1 {
			t.Errorf("usestats_tokens: %d rows, %v; want the token kept", n, err)
		}
		// A new key gets a new id: none is reused.
		if err := s.WriteUsers(ctx, keyA, []aggregation.UserCompile{{UserID: 1, FromDay: minDay,
			Cells: []aggregation.RollupEntry{cell(1, 1, 1)}, State: aggregation.UserState{CompiledTo: 5}}}, complete(10)); err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := db.NewRaw("SELECT MIN(id) FROM usestats_compile_keys").Scan(ctx, &id); err != nil || id <= 3 {
			t.Errorf("the first key after the migration has id %d, %v; want a new one", id, err)
		}
	})
}
