package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// heavyUser writes one learner (user 3) with n events over a year across 4
// courses and 60 activities, plus 20 other learners with n/10 events each,
// interleaved in time, so the user's rows are spread through the table.
func heavyUser(ctx context.Context, w *seed.Writer, n int) error {
	rng := rand.New(rand.NewPCG(3, 50))
	u := seed.Defaults[seed.User]()
	u.ID, u.Username, u.FirstName, u.LastName, u.MnetHostID = 3, "heavy", "Heavy", "User", 1
	if err := w.Add(ctx, u); err != nil {
		return err
	}
	for _, m := range []struct {
		id   int64
		name string
	}{{1, "page"}, {2, "quiz"}, {3, "forum"}} {
		r := seed.Defaults[seed.Module]()
		r.ID, r.Name = m.id, m.name
		if err := w.Add(ctx, r); err != nil {
			return err
		}
	}
	for c := int64(2); c <= 5; c++ {
		co := seed.Defaults[seed.Course]()
		co.ID, co.Category, co.FullName, co.ShortName = c, 1, fmt.Sprintf("Course %d", c), fmt.Sprintf("C%d", c)
		if err := w.Add(ctx, co); err != nil {
			return err
		}
		for i := int64(0); i < 15; i++ {
			cm := seed.Defaults[seed.CourseModule]()
			cm.ID, cm.Course, cm.Module, cm.Instance, cm.Section = c*100+i, c, 1+i%3, c*100+i, c*10+i/5
			if err := w.Add(ctx, cm); err != nil {
				return err
			}
			p := seed.Defaults[seed.Page]()
			p.ID, p.Course, p.Name = c*100+i, c, fmt.Sprintf("Activity %d", i)
			if i%3 == 0 {
				if err := w.Add(ctx, p); err != nil {
					return err
				}
			}
		}
	}
	start := int64(1_735_689_600) // 2025-01-01
	var id int64
	emit := func(user, t int64) error {
		id++
		r := seed.Defaults[seed.Log]()
		c := int64(2 + rng.IntN(4))
		r.ID, r.UserID, r.TimeCreated, r.CourseID = id, user, t, seed.Some(c)
		r.CRUD, r.EduLevel, r.Origin, r.IP = "r", 2, seed.Some("web"), seed.Some("192.0.2.3")
		if rng.IntN(4) == 0 {
			r.EventName, r.Component, r.Action, r.Target = `\core\event\course_viewed`, "core", "viewed", "course"
			r.ContextID, r.ContextLevel, r.ContextInstanceID = 50+c, 50, c
		} else {
			cm := c*100 + rng.Int64N(15)
			r.EventName, r.Component, r.Action, r.Target = `\mod_page\event\course_module_viewed`, "mod_page", "viewed", "course_module"
			r.ContextID, r.ContextLevel, r.ContextInstanceID = 1000+cm, 70, cm
		}
		return w.Add(ctx, r)
	}
	step := int64(365*86400) / int64(n)
	for i := 0; i < n; i++ {
		t := start + int64(i)*step
		if err := emit(3, t); err != nil {
			return err
		}
		if i%10 == 0 {
			for o := int64(0); o < 20; o++ {
				if err := emit(10+o, t+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// BenchmarkReport50k is the wall time of `usestats report` for one user
// with 50 000 events in a year (target < 50 ms from PostgreSQL): reading,
// resolving, computing and decorating with names and grades.
func BenchmarkReport50k(b *testing.B) {
	engines := []struct{ name, url string }{}
	for name, env := range map[string]string{"postgres": "USESTATS_TEST_POSTGRES", "mariadb": "USESTATS_TEST_MYSQL"} {
		if url := os.Getenv(env); url != "" {
			engines = append(engines, struct{ name, url string }{name, url})
		}
	}
	engines = append(engines, struct{ name, url string }{"sqlite", "sqlite://" + b.TempDir() + "/r.db"})
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := dbconn.Open(ctx, e.url, dbconn.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			prefix := fmt.Sprintf("b%06d_", rand.IntN(1_000_000))
			if err := seed.CreateSchema(ctx, db, prefix); err != nil {
				b.Fatal(err)
			}
			defer seed.DropSchema(context.Background(), db, prefix)
			w := seed.NewWriter(db, prefix)
			if err := heavyUser(ctx, w, 50_000); err != nil {
				b.Fatal(err)
			}
			if err := w.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			if err := seed.Analyze(ctx, db, prefix); err != nil {
				b.Fatal(err)
			}
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			p, _ := aggregation.Preset("usestats")
			win := aggregation.Window{From: 1_735_689_600, To: 1_767_225_599}
			svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: src, Workers: 1})
			if err != nil {
				b.Fatal(err)
			}
			var events int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rep, err := buildReport(ctx, src, svc, "3", aggregation.Query{Policy: p, Window: win, Now: 1_767_225_600})
				if err != nil {
					b.Fatal(err)
				}
				events = rep.Events
			}
			if events != 50_000 {
				b.Fatalf("report counted %d events, want 50000", events)
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
		})
	}
}
