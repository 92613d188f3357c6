package mnet

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/internal/directorytest"
)

// usSite is an in-memory UseStatsSite.
type usSite struct {
	hosts map[string]int64
	caps  map[int64]bool
}

func (s *usSite) LocalHostID(context.Context) (int64, error) { return 1, nil }
func (s *usSite) MnetHostID(_ context.Context, w string) (int64, bool, error) {
	id, ok := s.hosts[w]
	return id, ok, nil
}
func (s *usSite) HasSystemCapability(_ context.Context, id int64, caps ...string) (bool, error) {
	if len(caps) != 2 || caps[0] != "block/use_stats:seesitedetails" || caps[1] != "block/use_stats:seecoursedetails" {
		return false, fmt.Errorf("unexpected capabilities %v", caps)
	}
	return s.caps[id], nil
}

const (
	usT0     = int64(1767225600)
	usNow    = usT0 + 86400
	usCaller = "http://moodle-a.test"
)

func usFixture() (*UseStats, []aggregation.Event) {
	var evs []aggregation.Event
	id := int64(0)
	add := func(t, course, cm int64, typ string) {
		id++
		ev := aggregation.Event{ID: id, Time: t, UserID: 5, CourseID: course, Action: "viewed", Target: "course_module",
			EventName: `\mod_page\event\course_module_viewed`, Origin: "web", CRUD: 'r', EduLevel: 2, ContextLevel: 70,
			CMID: cm, ContextInstanceID: cm, ModuleType: typ}
		if cm == 0 {
			ev.ContextLevel, ev.Target, ev.EventName = 50, "course", `\core\event\course_viewed`
		}
		evs = append(evs, ev)
	}
	for i := int64(0); i <= 20; i++ { // course 10: 20 minutes on cm 100, then credit
		add(usT0+i*60, 10, 100, "page")
	}
	add(usT0+5*60+30, 10, 101, "url") // and 30 s on cm 101
	for i := int64(0); i <= 40; i++ { // course 11: 40 minutes, half on a deleted cm 300
		cm := int64(200)
		if i%2 == 1 {
			cm = 300
		}
		add(usT0+7200+i*60, 11, cm, "quiz")
	}
	add(usT0+7200+30, 12, 0, "")     // course 12: 30 s inside course 11's stream
	for i := int64(1); i <= 4; i++ { // and 2 minutes on its cm 400: under the course cut
		add(usT0+7200+i*60+30, 12, 400, "forum")
	}
	slices.SortStableFunc(evs, func(a, b aggregation.Event) int { return cmp.Compare(a.Time, b.Time) })
	for i := range evs {
		evs[i].ID = int64(i + 1)
	}
	dir := directorytest.New()
	dir.AddUsers(
		aggregation.UserInfo{ID: 5, Username: "alice", FirstName: "Alice", LastName: "O'Brien & <Sons>", HostID: 1},
		aggregation.UserInfo{ID: 6, Username: "teacher", HostID: 2},
		aggregation.UserInfo{ID: 7, Username: "twin", HostID: 2}, aggregation.UserInfo{ID: 8, Username: "twin", HostID: 3},
		aggregation.UserInfo{ID: 9, Username: "student", HostID: 2},
		aggregation.UserInfo{ID: 10, Username: "idle", HostID: 1},
	)
	dir.AddCourses(
		aggregation.CourseInfo{ID: 10, ShortName: "C10", FullName: "Course <ten>", IDNumber: "ID10"},
		aggregation.CourseInfo{ID: 11, ShortName: "C11", FullName: "Course eleven"},
		aggregation.CourseInfo{ID: 12, ShortName: "C12", FullName: "Course twelve"},
	)
	dir.AddModules(aggregation.ModuleInfo{CMID: 100, CourseID: 10, Type: "page", Name: `Read "me" & <this>`, IDNumber: "P&1"},
		aggregation.ModuleInfo{CMID: 101, CourseID: 10, Type: "url", Name: "Link"},
		aggregation.ModuleInfo{CMID: 200, CourseID: 11, Type: "quiz", Name: "Quiz"},
		aggregation.ModuleInfo{CMID: 400, CourseID: 12, Type: "forum", Name: "Talk <here>", IDNumber: "F'4"})
	// Every course has a course grade item; alice has 17.5 in course 10.
	for course := int64(10); course <= 12; course++ {
		for user := int64(5); user <= 10; user++ {
			dir.SetGrade(course, user, directorytest.Unscored())
		}
	}
	dir.SetGrade(10, 5, directorytest.Scored(17.5))
	p, _ := aggregation.Preset(aggregation.PolicyUsestats)
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: aggregation.SliceReader(evs), Now: func() int64 { return usNow }})
	if err != nil {
		panic(err)
	}
	u := &UseStats{
		WWWRoot:      "http://usestats.test",
		Site:         &usSite{hosts: map[string]int64{"http://usestats.test": 1, usCaller: 2, "http://moodle-c.test": 3}, caps: map[int64]bool{6: true}},
		Directory:    dir,
		QueryService: svc,
		Policy:       p,
		Now:          func() int64 { return usNow },
	}
	return u, evs
}

var usTeacher = Struct{{"username", "teacher"}, {"remoteuserhostroot", usCaller}, {"remotehostroot", usCaller}}

func callUS(t *testing.T, u *UseStats, method string, params ...any) Answer {
	t.Helper()
	return callAs(t, u, Peer{WWWRoot: usCaller}, method, params...)
}

// callAs calls method as the peer caller and decodes the JSON answer.
func callAs(t *testing.T, u *UseStats, caller Peer, method string, params ...any) Answer {
	t.Helper()
	v, err := u.Methods()[method](context.Background(), caller, params)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("answer is %T, want a JSON string", v)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		t.Fatalf("not JSON: %s", s)
	}
	if errs, ok := raw["errors"].([]any); !ok || (len(errs) > 0 && raw["message"] != nil) {
		t.Fatalf("errors must be a flat array, message only on success: %s", s)
	}
	a, err := DecodeAnswer(v)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func minutes(t *testing.T, evs []aggregation.Event, u *UseStats) *aggregation.Result {
	t.Helper()
	res, err := aggregation.Compute(u.Policy, aggregation.Window{From: 0, To: usNow}, usNow, evs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestGetStatsEmptyStruct(t *testing.T) {
	u, _ := usFixture()
	// timefrom after every event → EMPTYSET; struct answer when asked.
	v, err := u.Methods()[MethodGetStats](context.Background(), Peer{WWWRoot: usCaller},
		[]any{usTeacher, "idle", "", int64(2), int64(0), false})
	if err != nil {
		t.Fatal(err)
	}
	m, err := AsStruct(v)
	if err != nil || m["status"] != int64(200) || m["message"] != "<USE_STATS><EMPTYSET /></USE_STATS>" {
		t.Fatalf("empty struct answer: %#v %v", v, err)
	}
}

func TestGetStatsRefusals(t *testing.T) {
	u, _ := usFixture()
	caller := func(user, userHost, callHost string) Struct {
		return Struct{{"username", user}, {"remoteuserhostroot", userHost}, {"remotehostroot", callHost}}
	}
	cases := []struct {
		name   string
		params []any
		status int
		text   string
	}{
		{"not a struct", []any{"teacher", "alice"}, 501, "Bad client user format."},
		{"missing key", []any{Struct{{"username", "teacher"}}, "alice"}, 501, "Bad client user format."},
		{"empty username", []any{caller("", usCaller, usCaller), "alice"}, 501, "Empty username."},
		{"unregistered calling host", []any{caller("teacher", usCaller, "http://nowhere.test"), "alice"}, 500, "Calling host is not registered"},
		{"calling host is not the signer", []any{caller("teacher", usCaller, "http://moodle-c.test"), "alice"}, 501, "not the host that signed"},
		{"unregistered user host (R2)", []any{caller("teacher", "http://nowhere.test", usCaller), "alice"}, 501, "user's host is not registered"},
		{"no local account", []any{caller("ghost", usCaller, usCaller), "alice"}, 501, "no local account"},
		{"no capability (R1)", []any{caller("student", usCaller, usCaller), "alice"}, 510, "no capability"},
		{"unknown target", []any{usTeacher, "nobody"}, 520, "Target user does not exist."},
		{"ambiguous target (R11)", []any{usTeacher, "twin"}, 520, "ambiguous"},
		{"bad scope", []any{usTeacher, "alice", "", int64(4)}, 503, "statsscope"},
		{"scope not a number", []any{usTeacher, "alice", "", "x"}, 503, "statsscope"},
		{"negative timefrom", []any{usTeacher, "alice", "", int64(1), int64(-5)}, 503, "timefrom"},
		{"forwarding off", []any{usTeacher, "alice", "http://moodle-c.test", int64(1)}, 500, "REMOTE : "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := callUS(t, u, MethodGetStats, tc.params...)
			if a.Status != tc.status || len(a.Errors) != 1 || !strings.Contains(a.Errors[0], tc.text) || a.Message != "" {
				t.Fatalf("got %+v, want %d %q", a, tc.status, tc.text)
			}
		})
	}
}

func TestGetScores(t *testing.T) {
	u, _ := usFixture()
	user := "<USER>\n\t<USERNAME>alice</USERNAME>\n\t<FIRSTNAME>Alice</FIRSTNAME>\n\t<LASTNAME>O&#39;Brien &amp; &lt;Sons&gt;</LASTNAME>\n\n</USER>\n"
	for _, by := range [][2]string{{"id", "10"}, {"shortname", "C10"}, {"idnumber", "ID10"}} {
		a := callUS(t, u, MethodGetScores, usTeacher, "alice", "", "notes/global", by[0], by[1])
		if a.Status != 200 || a.Message != "<USER_SCORES>\n"+user+"<SCORE>17.5</SCORE>\n</USER_SCORES>" {
			t.Fatalf("%v: %+v", by, a)
		}
	}
	a := callUS(t, u, MethodGetScores, usTeacher, "alice", "", "", "shortname", "C11")
	if a.Status != 200 || !strings.Contains(a.Message, "<SCORE></SCORE>") {
		t.Fatalf("ungraded: %+v", a)
	}
	for _, tc := range []struct {
		params []any
		status int
	}{
		{[]any{usTeacher, "alice", "", "notes/global", "shortname", "NOPE"}, 520},
		{[]any{usTeacher, "alice", "", "notes/global", "id", "abc"}, 520},
		{[]any{usTeacher, "alice", "", "notes/global", "fullname", "x"}, 503},
		{[]any{usTeacher, "alice", "", "notes/items", "id", "10"}, 503},
		{[]any{usTeacher, "nobody", "", "notes/global", "id", "10"}, 520},
		{[]any{Struct{}, "alice"}, 501},
	} {
		if a := callUS(t, u, MethodGetScores, tc.params...); a.Status != tc.status || len(a.Errors) == 0 {
			t.Errorf("%v: %+v, want %d", tc.params[1:], a, tc.status)
		}
	}
}

func TestUseStatsForward(t *testing.T) {
	u, _ := usFixture()
	var got []any
	var gotHost, gotMethod string
	reply := any(`{"status":200,"errors":[[]],"message":"<USE_STATS>remote</USE_STATS>"}`)
	u.Forward = func(_ context.Context, host, method string, params []any) (any, error) {
		gotHost, gotMethod, got = host, method, params
		return reply, nil
	}
	a := callUS(t, u, "block/use_stats/rpclib.php/use_stats_rpc_get_stats", usTeacher, "alice", "http://moodle-c.test/", "3", int64(99))
	if a.Status != 200 || a.Message != "<USE_STATS>remote</USE_STATS>" || gotHost != "http://moodle-c.test" || gotMethod != MethodGetStats {
		t.Fatalf("relay: %+v to %s %s", a, gotHost, gotMethod)
	}
	c, _ := AsStruct(got[0])
	if c["username"] != "teacher" || c["remoteuserhostroot"] != usCaller || c["remotehostroot"] != "http://usestats.test" ||
		got[1] != "alice" || got[2] != "http://moodle-c.test/" || got[3] != int64(3) || got[4] != int64(99) || got[5] != true {
		t.Fatalf("forwarded params %#v", got)
	}
	reply = Struct{{"status", int64(520)}, {"errors", []any{[]any{}, "Target user does not exist."}}}
	a = callUS(t, u, MethodGetScores, usTeacher, "alice", "http://moodle-c.test", "notes/global", "id", "1")
	if a.Status != 500 || len(a.Errors) != 2 || a.Errors[1] != "Target user does not exist." || got[3] != "notes/global" {
		t.Fatalf("remote failure: %+v (params %#v)", a, got)
	}
	u.Forward = func(context.Context, string, string, []any) (any, error) {
		return nil, errors.New("connection refused")
	}
	a = callUS(t, u, MethodGetStats, usTeacher, "alice", "http://moodle-c.test")
	if a.Status != 500 || a.Errors[0] != "REMOTE : connection refused" {
		t.Fatalf("transport failure: %+v", a)
	}
}
