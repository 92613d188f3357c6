package resolvers_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// manyParticipants adds n learners to course 5, ids 100…, each with a
// course view, a page view 60 s later and a quiz view 100 s after that:
// laps 60 + 100 + 900 (the last event's credit) = 1060 s; and a grade.
func manyParticipants(e *env, n int) {
	for i := range n {
		id := int64(100 + i)
		e.dir.AddUsers(aggregation.UserInfo{ID: id, Username: fmt.Sprintf("many%d", id), FirstName: "Many", LastName: fmt.Sprint(id), HostID: 1})
		e.dir.Enrol(5, id)
		e.dir.SetGrade(5, id, aggregation.CourseGrade{
			Course:  &aggregation.Grade{Value: ptr(float64(i)), Max: 100},
			Modules: []aggregation.ModuleGrade{{CMID: 102, Type: "quiz", Grade: aggregation.Grade{Value: ptr(5.0), Max: 10}}},
		})
		t := int64(T2 + 10000*i)
		e.logs.SliceReader = append(e.logs.SliceReader, newStream(id, 1000*id).course(t, 5).view(t+60, 701).view(t+160, 702).events...)
	}
}

// A page of many participants with every nested lookup costs one
// Directory call per kind, not one per row.
func TestParticipantsBatchLookups(t *testing.T) {
	const n = 60
	e := newEnv(t)
	manyParticipants(e, n)
	e.dir.ResetCalls()
	var page participantsPage
	e.ok("course5-token", `{ course(by: {id: 5}) { shortname participants(first: 100) {
	  edges { node { user { id username }
	    stats { total course { shortname } modules { cmid name idnumber elapsed }
	            grade { grade modules { name grade } } } } }
	  pageInfo { hasNextPage } } } }`, nil, &page)

	edges := page.Course.Participants.Edges
	if len(edges) != n+2 {
		t.Fatalf("%d participants, want %d", len(edges), n+2)
	}
	for i, edge := range edges[2:] {
		s := edge.Node.Stats
		if s.Total != 1060 || s.Course.Shortname != "C5" || len(s.Modules) != 2 || *s.Modules[0].Name != "Reading 1" ||
			*s.Modules[1].Idnumber != "Q1" || *s.Grade.Grade != float64(i) || *s.Grade.Modules[0].Name != "Quiz 1" {
			t.Fatalf("participant %s: %+v", edge.Node.User.ID, s)
		}
	}
	wantEqual(t, "learner7 among them", edges[0].Node.Stats.Total, int64(2050))
	wantEqual(t, "Directory calls", e.dir.Calls(), map[string]int{
		"Courses":       1, // course(by: {id: 5}); then primed for every row
		"CourseMembers": 1,
		"Grades":        1,
		"Modules":       1, // the activities of every row and of every grade
	})
}

// Through a list of users (site:read) the statistics' lookups are batched
// by the loaders' wait and cached per request: far fewer Directory calls
// than rows, and each course or activity fetched once.
func TestUsersListLookupsBatched(t *testing.T) {
	const n = 40
	e := newEnv(t)
	manyParticipants(e, n)
	e.dir.ResetCalls()
	var out struct {
		Users struct {
			Edges []struct {
				Node struct {
					Stats struct {
						Courses []struct {
							Course  struct{ Shortname string }
							Modules []struct{ Name *string }
						}
					}
				}
			}
		}
	}
	e.ok("site-token", `{ users(first: 100) { edges { node { stats(scope: MODULE) { courses { course { shortname } modules { name } } } } } } }`, nil, &out)
	if len(out.Users.Edges) != n+5 {
		t.Fatalf("%d users", len(out.Users.Edges))
	}
	calls := e.dir.Calls()
	if calls["ListUsers"] != 1 || calls["Courses"] > n/4 || calls["Modules"] > n/4 || calls["Users"] != 0 {
		t.Errorf("Directory calls %v for %d users", calls, n+5)
	}
	t.Logf("Directory calls for %d users: %v", n+5, calls)
}

// A page of participants is computed in one query-service call: its log
// is read in batched passes, at most one per worker of the service's
// pool, never one read per participant; the stats fields then reuse
// those results.
func TestParticipantsPageOneBatch(t *testing.T) {
	const n = 98
	for _, workers := range []int{1, 2, 3} {
		e := newEnv(t, func(c *envConfig) { c.Workers = workers })
		manyParticipants(e, n)
		var page participantsPage
		e.ok("course5-token", `{ course(by: {id: 5}) { participants(first: 100) {
		  edges { node { user { id } stats { total modules { cmid elapsed } } } } } } }`, nil, &page)
		edges := page.Course.Participants.Edges
		if len(edges) != n+2 {
			t.Fatalf("%d participants, want %d", len(edges), n+2)
		}
		for _, edge := range edges[2:] {
			if edge.Node.Stats.Total != 1060 {
				t.Fatalf("workers %d: participant %s: total %d, want 1060", workers, edge.Node.User.ID, edge.Node.Stats.Total)
			}
		}
		wantEqual(t, "learner7 among them", edges[0].Node.Stats.Total, int64(2050))
		user, users := e.logs.ScansByKind()
		if user != 0 || users == 0 || users > workers {
			t.Errorf("workers %d: %d one-user reads and %d batched reads for a page of %d; want none and 1…%d",
				workers, user, users, n+2, workers)
		}
	}
}

// Outside any list nothing can join a loader's batch: the lookups of a
// single user's answer are made at once, never after the loader's wait
// (here an hour, so a wait would show as a request that never ends).
func TestSingleAnswerLookupsDoNotWait(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.LoaderWait = time.Hour })
	done := make(chan struct{})
	var out struct {
		User struct {
			Stats struct {
				Courses []struct {
					Course  struct{ Shortname string }
					Modules []struct {
						Name *string
						Type string
					}
				}
			}
		}
		Course struct{ Shortname string }
	}
	go func() {
		defer close(done)
		e.ok("site-token", `{ user(by: {id: 7}) { stats(scope: MODULE) { courses { course { shortname } modules { name type } grade { grade } } } }
		  course(by: {id: 5}) { shortname } }`, nil, &out)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("a single user's lookups waited for the loader")
	}
	if out.Course.Shortname != "C5" || len(out.User.Stats.Courses) == 0 {
		t.Fatalf("answer %+v", out)
	}
	named := 0
	for _, c := range out.User.Stats.Courses {
		if c.Course.Shortname == "" {
			t.Errorf("a course without its name: %+v", c)
		}
		for _, m := range c.Modules {
			if m.Name != nil {
				named++
			}
		}
	}
	if named == 0 {
		t.Fatalf("no activity named: %+v", out.User.Stats.Courses)
	}
}
