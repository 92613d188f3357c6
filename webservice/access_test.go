package webservice

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// A principal that does not export every user gets one and the same
// answer for a user or course that does not exist, is ambiguous, or is
// not open to it: it cannot learn who is on the site.
func TestLookupsConcealed(t *testing.T) {
	h := newTestHandler(t)
	for tok, bodies := range map[string][]string{
		"alicetoken": {
			fnUser + "&uidsource=id&uid=4",                          // exists, not hers
			fnUser + "&uidsource=id&uid=999",                        // does not exist
			fnUser + "&uidsource=username&uid=zed",                  // does not exist
			fnUser + "&uidsource=email&uid=shared@example.org",      // ambiguous
			fnUser + "&uidsource=id&uid=3&cidsource=id&cid=99",      // no such course
			fnUsers + "&uidsource=id&uids[0]=3&uids[1]=6",           // second one not hers
			fnUsers + "&uidsource=username&uids[0]=alice&uids[1]=x", // second one unknown
			// Her own statistics about a course she does not take part in
			// would answer its names.
			fnUser + "&uidsource=id&uid=3&cidsource=shortname&cid=SECRET",
			fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=4",
			fnUsers + "&uidsource=id&uids[0]=3&cidsource=idnumber&cid=S1",
			fnUser + "&uidsource=id&uid=3&cidsource=shortname&cid=DUP", // two courses match
		},
		"coursetoken": {
			fnCourse + "&uidsource=id&uids[0]=6&cidsource=id&cid=2",  // not a participant
			fnCourse + "&uidsource=id&uids[0]=99&cidsource=id&cid=2", // no such user
			fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=3",  // course not readable
			fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=77", // no such course
		},
		// A group scope reads nothing through the web services.
		"grouptoken": {
			fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=2",
			fnUser + "&uidsource=id&uid=3",
			fnUsers + "&uidsource=id&uids[0]=3",
		},
	} {
		for _, body := range bodies {
			got := serve(h, request{body: "wstoken=" + tok + "&" + body + "&moodlewsrestformat=json"}).Body.String()
			want := `{"exception":"required_capability_exception","errorcode":"nopermissions","message":"Sorry, but you do not currently have permissions to do that (block\/use_stats:export).","debuginfo":"The token may not read the statistics asked for."}`
			if got != want {
				t.Errorf("%s %s:\n got %s\nwant %s", tok, body, got, want)
			}
		}
	}
	// Her own statistics in a course she takes part in are hers in full.
	v := jsonCall(t, h, request{body: "wstoken=alicetoken&" + fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=3&moodlewsrestformat=json"})
	if l, ok := v.([]any); !ok || len(l) != 1 || l[0].(map[string]any)["coursedata"].(map[string]any)["sitecoursetime"] == 0.0 {
		t.Errorf("own course: %v", v)
	}
	// Mistakes that need no lookup are reported the same whether the
	// course or user exists or not: they are checked first.
	h3 := newTestHandler(t, func(c *testConfig) { c.MaxUsers = 2 })
	for tok, courses := range map[string][2]string{
		"alicetoken":  {"cidsource=shortname&cid=SECRET", "cidsource=shortname&cid=NOPE"},
		"coursetoken": {"cidsource=id&cid=2", "cidsource=id&cid=77"},
	} {
		for _, mistake := range []string{
			fnUser + "&uidsource=id&uid=3&from=10&to=5",
			fnUser + "&uidsource=bogus&uid=3",
			fnUser + "&uidsource=id&uid=abc",
			fnUsers + "&uidsource=id&uids[0]=3&from=10&to=5",
			fnUsers + "&uidsource=bogus&uids[0]=3",
			fnUsers + "&uidsource=id&uids[0]=3&uids[1]=abc",
			fnUsers + "&uidsource=id&uids[0]=3&uids[1]=4&uids[2]=5",
			fnCourse + "&uidsource=id&uids[0]=3&from=10&to=5",
			fnCourse + "&uidsource=username&uids[0]=alice&uids[1]=bob&uids[2]=carol",
		} {
			var bodies [2]string
			for i, c := range courses {
				bodies[i] = serve(h3, request{body: "wstoken=" + tok + "&" + mistake + "&" + c + "&moodlewsrestformat=json"}).Body.String()
			}
			if bodies[0] != bodies[1] || !strings.Contains(bodies[0], `"invalidparameter"`) {
				t.Errorf("%s %s: existing course %s, missing course %s", tok, mistake, bodies[0], bodies[1])
			}
		}
	}
	// An exporting token is told what is wrong.
	v = jsonCall(t, h, request{body: tokSite + fnUser + "&uidsource=username&uid=zed&moodlewsrestformat=json"})
	if d, _ := v.(map[string]any)["debuginfo"].(string); !strings.Contains(d, `User not found: username = "zed"`) {
		t.Errorf("site token: %v", v)
	}
	v = jsonCall(t, h, request{body: tokSite + fnUser + "&uidsource=id&uid=3&cidsource=shortname&cid=DUP&moodlewsrestformat=json"})
	if d, _ := v.(map[string]any)["debuginfo"].(string); !strings.Contains(d, "2 courses match") {
		t.Errorf("site token, ambiguous course: %v", v)
	}
	// A malformed uid is the caller's mistake, not a lookup: still explained.
	v = jsonCall(t, h, request{body: "wstoken=alicetoken&" + fnUser + "&uidsource=id&uid=abc&moodlewsrestformat=json"})
	if errorCode(v) != "invalidparameter" {
		t.Errorf("malformed uid: %v", v)
	}
}

// A principal that reads a user only as a participant of a course sees
// the sessions that touched that course and nothing of the front page.
func TestCourseScopeSeesOnlyTheCourse(t *testing.T) {
	h := newTestHandler(t)
	call := func(tok, body string) map[string]any {
		v := jsonCall(t, h, request{body: "wstoken=" + tok + "&" + body + "&moodlewsrestformat=json"})
		if errorCode(v) != "" {
			t.Fatalf("%s %s: %v", tok, body, v)
		}
		return v.(map[string]any)
	}
	one := fnUser + "&uidsource=id&uid=3&cidsource=id&cid=2"
	full, limited := call("sitetoken", one), call("coursetoken", one)
	sessions := func(m map[string]any) float64 { return m["sessions"].(map[string]any)["sessions"].(float64) }
	course := func(m map[string]any) map[string]any { return m["courses"].([]any)[0].(map[string]any) }
	if sessions(full) != 3 || sessions(limited) != 2 {
		t.Errorf("sessions: site token %v, course token %v; want 3 and 2", sessions(full), sessions(limited))
	}
	if course(full)["sitecoursetime"] == 0.0 || course(limited)["sitecoursetime"] != 0.0 {
		t.Errorf("sitecoursetime: site token %v, course token %v", course(full)["sitecoursetime"], course(limited)["sitecoursetime"])
	}
	for _, k := range []string{"activitytime", "coursetime", "coursetotal", "othertime"} {
		if course(full)[k] != course(limited)[k] {
			t.Errorf("%s: %v vs %v", k, course(full)[k], course(limited)[k])
		}
	}
	// Bulk calls too.
	v := jsonCall(t, h, request{body: "wstoken=coursetoken&" + fnUsers + "&uidsource=id&uids[0]=3&cidsource=id&cid=2&moodlewsrestformat=json"})
	if l, ok := v.([]any); !ok || sessions(l[0].(map[string]any)) != 2 || course(l[0].(map[string]any))["sitecoursetime"] != 0.0 {
		t.Errorf("users_stats for a course token: %v", v)
	}
	cd := jsonCall(t, h, request{body: "wstoken=coursetoken&" + fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=2&moodlewsrestformat=json"})
	if got := cd.([]any)[0].(map[string]any)["coursedata"].(map[string]any)["sitecoursetime"]; got != 0.0 {
		t.Errorf("users_course_stats sitecoursetime for a course token: %v", got)
	}
	// Her own token sees everything.
	if own := call("alicetoken", one); sessions(own) != 3 || course(own)["sitecoursetime"] == 0.0 {
		t.Errorf("own token: %v", own)
	}
}

// panickingLogs panics for one user.
type panickingLogs struct{ aggregation.SliceReader }

func (l panickingLogs) UserEvents(ctx context.Context, user, from, to int64, fn func(*aggregation.Event) bool) error {
	if user == 4 {
		panic("corrupt row")
	}
	return l.SliceReader.UserEvents(ctx, user, from, to, fn)
}

func (l panickingLogs) UsersEvents(ctx context.Context, users []int64, from, to int64, fn func(*aggregation.Event) bool) error {
	if slices.Contains(users, 4) {
		panic("corrupt row")
	}
	return l.SliceReader.UsersEvents(ctx, users, from, to, fn)
}

// perUserLogs hides SliceReader's UsersEvents: the Handler then reads one
// user at a time.
type perUserLogs struct{ r aggregation.SliceReader }

func (l perUserLogs) UserEvents(ctx context.Context, user, from, to int64, fn func(*aggregation.Event) bool) error {
	return l.r.UserEvents(ctx, user, from, to, fn)
}

// Reading the log one user at a time or several users per pass (with 1,
// 2 or 3 passes at once) gives the same answers to every golden call.
func TestLogReadsAgree(t *testing.T) {
	base := newTestHandler(t, func(c *testConfig) { c.Logs = perUserLogs{newLogs()} })
	for _, workers := range []int{1, 2, 3} {
		h := newTestHandler(t, func(c *testConfig) { c.Workers = workers })
		for _, tc := range goldenCases {
			for _, f := range []string{"json", "xml"} {
				rq := tc.rq
				rq.query = "moodlewsrestformat=" + f
				if got, want := serve(h, rq).Body.String(), serve(base, rq).Body.String(); got != want {
					t.Errorf("%s.%s with %d workers:\n got %s\nwant %s", tc.name, f, workers, got, want)
				}
			}
		}
	}
}

// A panic while a worker computes one user of a bulk call fails that
// call with Moodle's generic exception and a logged stack; the process
// and the next calls go on.
func TestPanicInWorker(t *testing.T) {
	for _, logs := range []aggregation.LogReader{panickingLogs{newLogs()}, perUserPanickingLogs{panickingLogs{newLogs()}}} {
		panicInWorker(t, logs)
	}
}

// perUserPanickingLogs reads one user at a time and panics for user 4.
type perUserPanickingLogs struct{ l panickingLogs }

func (p perUserPanickingLogs) UserEvents(ctx context.Context, user, from, to int64, fn func(*aggregation.Event) bool) error {
	return p.l.UserEvents(ctx, user, from, to, fn)
}

func panicInWorker(t *testing.T, reader aggregation.LogReader) {
	t.Helper()
	var logs strings.Builder
	h := newTestHandler(t, func(c *testConfig) {
		c.Logs = reader
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for _, body := range []string{
		fnUsers + "&uidsource=id&uids[0]=3&uids[1]=4&uids[2]=5",
		fnCourse + "&uidsource=id&uids[0]=3&uids[1]=4&cidsource=id&cid=2",
	} {
		v := jsonCall(t, h, request{body: tokSite + body + "&moodlewsrestformat=json"})
		if errorCode(v) != "generalexceptionmessage" {
			t.Errorf("%s: %v", body, v)
		}
	}
	if !strings.Contains(logs.String(), "corrupt row") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("panic not logged with its stack: %s", logs.String())
	}
	if v := jsonCall(t, h, request{body: tokSite + fnUsers + "&uidsource=id&uids[0]=3&moodlewsrestformat=json"}); errorCode(v) != "" {
		t.Errorf("next call: %v", v)
	}
}

// get_users_stats reads grades once per course of a batch and courses
// once per batch, not once per user.
func TestBulkReadsOncePerBatch(t *testing.T) {
	d := newDirectory()
	h := newTestHandler(t, func(c *testConfig) { c.Directory = d })
	// alice has time in courses 2 and 3, bob in 2, carol nowhere; asked twice each.
	v := jsonCall(t, h, request{body: tokSite + fnUsers + "&uidsource=id&uids[]=3&uids[]=4&uids[]=5&uids[]=3&uids[]=4&moodlewsrestformat=json"})
	list, ok := v.([]any)
	if !ok || len(list) != 5 {
		t.Fatalf("answer: %v", v)
	}
	if calls := d.Calls(); calls["Grades"] != 2 || calls["Courses"] != 1 {
		t.Errorf("Grades called %d times (want 2: courses 2 and 3), Courses %d (want 1)", calls["Grades"], calls["Courses"])
	}
	// The scores are each user's own.
	score := func(i int) any { return list[i].(map[string]any)["courses"].([]any)[0].(map[string]any)["score"] }
	if score(0) != "85.00000" || score(1) != "42.50000" || score(3) != "85.00000" {
		t.Errorf("scores %v %v %v", score(0), score(1), score(3))
	}
}

// A token whose store fails in a way that is not "unknown token" is an
// internal error, not invalidtoken.
func TestAuthStoreErrorsAreInternal(t *testing.T) {
	v := jsonCall(t, newTestHandler(t), request{body: "wstoken=lostusertoken&" + fnInfo + "&moodlewsrestformat=json"})
	if errorCode(v) != "generalexceptionmessage" {
		t.Errorf("got %v", v)
	}
}
