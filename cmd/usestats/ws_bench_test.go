package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
	"github.com/usestats/usestats/webservice"
)

// perUserReader hides moodle.Source's UsersEvents: the web service then
// reads the log with one query per user.
type perUserReader struct{ src *moodle.Source }

func (p perUserReader) UserEvents(ctx context.Context, user, from, to int64, fn func(*aggregation.Event) bool) error {
	return p.src.UserEvents(ctx, user, from, to, fn)
}

// BenchmarkWSCourseStats1000 measures one
// block_use_stats_get_users_course_stats call for one course and its
// 1 000 learners (with score) on a seeded PostgreSQL database (one course,
// 1 000 learners, 90 days, about 1 M log rows), over HTTP, json format,
// from compiled rollups (read every time, or from serve's cache of them
// once a first call filled it), or reading the log for many
// users per query (batched) or one query per user, with 1, 2 (the
// default) and 4 reads at once. It needs
// USESTATS_TEST_POSTGRES; the seeding (about 10 s) is not timed.
func BenchmarkWSCourseStats1000(b *testing.B) {
	// The site, and its rollups compiled into a PostgreSQL store of its own.
	src, comp, st := compiledBenchSite(b, seed.Options{Seed: 1, Users: 1000, Courses: 1, Prefix: "wsbench_"})
	ctx := context.Background()
	const courseID = 2
	parts, err := src.Directory().Participants(ctx, courseID, 0, 2000)
	if err != nil {
		b.Fatal(err)
	}
	form := url.Values{
		"wstoken": {"bench"}, "wsfunction": {"block_use_stats_get_users_course_stats"}, "moodlewsrestformat": {"json"},
		"uidsource": {"id"}, "cidsource": {"id"}, "cid": {strconv.Itoa(courseID)}, "score": {"1"},
	}
	for i, p := range parts {
		if i == 1000 {
			break
		}
		form.Set("uids["+strconv.Itoa(i)+"]", strconv.FormatInt(p.ID, 10))
	}
	n := min(len(parts), 1000)
	if n < 1000 {
		b.Fatalf("course %d has %d participants, want 1000 (%d learners seeded)", courseID, len(parts), st.Learners)
	}
	scopes, _ := aggregation.ParseScopes("site:read")
	body := form.Encode()
	type run struct {
		reads   string
		logs    aggregation.LogReader
		workers int
		rollups aggregation.RollupReader
		cache   int64 // RollupCacheBytes; the first call, which fills it, is not timed
	}
	runs := []run{{"rollups", src, 2, comp, 0}, {"rollups-cached", src, 2, comp, 256 << 20}}
	for _, w := range []int{1, 2, 4} {
		runs = append(runs, run{"batched", src, w, nil, 0})
	}
	for _, w := range []int{1, 2, 4} {
		runs = append(runs, run{"per-user", perUserReader{src}, w, nil, 0})
	}
	for _, r := range runs {
		logs, workers, rollups, cache := r.logs, r.workers, r.rollups, r.cache
		b.Run(fmt.Sprintf("reads=%s/workers=%d", r.reads, workers), func(b *testing.B) {
			svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: logs, Workers: workers, Rollups: rollups,
				RollupCacheBytes: cache, Now: func() int64 { return seed.DefaultEnd }})
			if err != nil {
				b.Fatal(err)
			}
			h, err := webservice.New(webservice.Config{
				Authenticate: func(context.Context, string, string) (webservice.Principal, error) {
					return webservice.Principal{Scopes: scopes}, nil
				},
				Directory: src.Directory(),
				Service:   svc,
			})
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			call := func() {
				resp, err := http.Post(srv.URL+webservice.Path, "application/x-www-form-urlencoded", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var out []struct {
					CourseData struct {
						CourseTotal int64 `json:"coursetotal"`
					} `json:"coursedata"`
				}
				if err := json.Unmarshal(raw, &out); err != nil || len(out) != n {
					b.Fatalf("%v: %d entries: %.300s", err, len(out), raw)
				}
			}
			if cache > 0 {
				call()
			}
			for b.Loop() {
				call()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
		})
	}
}
