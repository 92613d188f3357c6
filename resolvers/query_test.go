package resolvers_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// Hand-checked numbers: docs/time-engine.md §8.1 (example 1) under the
// default policy (see docs/time-engine.md §7): site 60 s; course 5 2050 s = course
// level 1020 (rows 2, 7) + activities 1030 (page 101: 600 + 120, quiz
// 102: 300 + 10); 2110 s and 7 counted events in all; session A T0 …
// T0+1990 (1990 s, 6 events), session B T0+6490 … T0+6610 (120 s, 1).

type stat struct {
	Elapsed     int64  `json:"elapsed"`
	Events      int    `json:"events"`
	FirstAccess *int64 `json:"firstAccess"`
	LastAccess  *int64 `json:"lastAccess"`
}

type moduleStat struct {
	Cmid        string  `json:"cmid"`
	Type        string  `json:"type"`
	Name        *string `json:"name"`
	Idnumber    *string `json:"idnumber"`
	Section     *string `json:"section"`
	Elapsed     int64   `json:"elapsed"`
	Events      int     `json:"events"`
	FirstAccess *int64  `json:"firstAccess"`
	LastAccess  *int64  `json:"lastAccess"`
}

type sectionStat struct {
	ID      string `json:"id"`
	Unknown bool   `json:"unknown"`
	Elapsed int64  `json:"elapsed"`
	Events  int    `json:"events"`
}

type dayStat struct {
	Date    string `json:"date"`
	Elapsed int64  `json:"elapsed"`
	Events  int    `json:"events"`
}

type score struct {
	Course     *struct{ Shortname string } `json:"course"`
	CourseID   string                      `json:"courseId"`
	Grade      *float64                    `json:"grade"`
	Grademax   float64                     `json:"grademax"`
	Percentage *float64                    `json:"percentage"`
	Modules    []struct {
		Cmid       *string  `json:"cmid"`
		Type       string   `json:"type"`
		Name       *string  `json:"name"`
		Grade      *float64 `json:"grade"`
		Grademax   float64  `json:"grademax"`
		Percentage *float64 `json:"percentage"`
	} `json:"modules"`
}

type courseStat struct {
	Course *struct {
		ID        string `json:"id"`
		Shortname string `json:"shortname"`
		Fullname  string `json:"fullname"`
	} `json:"course"`
	CourseID     string        `json:"courseId"`
	Total        int64         `json:"total"`
	CourseTime   int64         `json:"courseTime"`
	ActivityTime int64         `json:"activityTime"`
	OtherTime    int64         `json:"otherTime"`
	Events       int           `json:"events"`
	FirstAccess  *int64        `json:"firstAccess"`
	LastAccess   *int64        `json:"lastAccess"`
	Modules      []moduleStat  `json:"modules"`
	Sections     []sectionStat `json:"sections"`
	Days         []dayStat     `json:"days"`
	Grade        *score        `json:"grade"`
}

type session struct {
	Start   int64    `json:"start"`
	End     int64    `json:"end"`
	Elapsed int64    `json:"elapsed"`
	Events  int      `json:"events"`
	Courses []string `json:"courses"`
}

type policy struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	Parameters map[string]any `json:"parameters"`
}

type userStats struct {
	Policy         policy       `json:"policy"`
	From           int64        `json:"from"`
	To             int64        `json:"to"`
	Restricted     bool         `json:"restricted"`
	Total          int64        `json:"total"`
	Events         int          `json:"events"`
	FirstAccess    *int64       `json:"firstAccess"`
	LastAccess     *int64       `json:"lastAccess"`
	Site           *stat        `json:"site"`
	Courses        []courseStat `json:"courses"`
	Sessions       []session    `json:"sessions"`
	SessionSummary *struct {
		Count int    `json:"count"`
		First *int64 `json:"first"`
		Last  *int64 `json:"last"`
		Min   *int64 `json:"min"`
		Max   *int64 `json:"max"`
		Mean  *int64 `json:"mean"`
	} `json:"sessionSummary"`
	Days    []dayStat `json:"days"`
	Explain []lap     `json:"explain"`
}

type lap struct {
	EventID   string  `json:"eventId"`
	Time      int64   `json:"time"`
	Action    string  `json:"action"`
	Target    string  `json:"target"`
	Eventname string  `json:"eventname"`
	Course    string  `json:"course"`
	Cmid      *string `json:"cmid"`
	Bucket    string  `json:"bucket"`
	Gap       *int64  `json:"gap"`
	Credit    int64   `json:"credit"`
	Carried   int64   `json:"carried"`
	Reason    string  `json:"reason"`
	Counted   bool    `json:"counted"`
}

type user struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Idnumber  string    `json:"idnumber"`
	Firstname string    `json:"firstname"`
	Lastname  string    `json:"lastname"`
	Fullname  string    `json:"fullname"`
	Email     string    `json:"email"`
	Host      int       `json:"host"`
	Stats     userStats `json:"stats"`
}

const fullUserQuery = `query($by: UserBy!, $range: TimeRange, $policy: PolicyInput, $scope: StatsScope) {
  user(by: $by) {
    id username idnumber firstname lastname fullname email host
    stats(range: $range, policy: $policy, scope: $scope) {
      policy { name version parameters { threshold credit attribution timeline capture site } }
      from to restricted total events firstAccess lastAccess
      site { elapsed events firstAccess lastAccess }
      courses {
        course { id shortname fullname } courseId
        total courseTime activityTime otherTime events firstAccess lastAccess
        modules { cmid type name idnumber section elapsed events firstAccess lastAccess }
        sections { id unknown elapsed events }
        days { date elapsed events }
        grade { course { shortname } courseId grade grademax percentage modules { cmid type name grade grademax percentage } }
      }
      sessions { start end elapsed events courses }
      sessionSummary { count first last min max mean }
      days { date elapsed events }
    }
  }
}`

func (e *env) user(token string, vars map[string]any) user {
	e.t.Helper()
	var out struct{ User user }
	e.ok(token, fullUserQuery, vars, &out)
	return out.User
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		t.Errorf("%s = %s, want %s", what, gj, wj)
	}
}

func i64(v int64) *int64   { return &v }
func str(s string) *string { return &s }

func TestUserExample1(t *testing.T) {
	e := newEnv(t)
	u := e.user("site-token", map[string]any{"by": map[string]any{"id": "7"}})

	wantEqual(t, "identity", [8]any{u.ID, u.Username, u.Idnumber, u.Firstname, u.Lastname, u.Fullname, u.Email, u.Host},
		[8]any{"7", "learner7", "L7", "Learner", "7", "Learner 7", "learner7@example.org", 1})
	s := u.Stats
	wantEqual(t, "policy", [2]string{s.Policy.Name, s.Policy.Version}, [2]string{"usestats", "2"})
	wantEqual(t, "policy parameters", s.Policy.Parameters, map[string]any{
		"threshold": 3600.0, "credit": 900.0, "attribution": "FORWARD", "timeline": "USER",
		"capture": []any{"learningtimecheck"}, "site": "LOGIN_LOGOUT"})
	wantEqual(t, "window", [2]int64{s.From, s.To}, [2]int64{0, far})
	wantEqual(t, "restricted", s.Restricted, false)
	wantEqual(t, "total", [2]int64{s.Total, int64(s.Events)}, [2]int64{2110, 7})
	wantEqual(t, "first/last access", [2]*int64{s.FirstAccess, s.LastAccess}, [2]*int64{i64(T0), i64(T0 + 6490)})
	wantEqual(t, "site", s.Site, &stat{Elapsed: 60, Events: 1, FirstAccess: i64(T0), LastAccess: i64(T0)})

	if len(s.Courses) != 1 {
		t.Fatalf("courses = %+v, want course 5 only", s.Courses)
	}
	c := s.Courses[0]
	wantEqual(t, "course", [3]string{c.Course.ID, c.Course.Shortname, c.Course.Fullname}, [3]string{"5", "C5", "Course Five"})
	wantEqual(t, "course 5 buckets", [5]int64{c.Total, c.CourseTime, c.ActivityTime, c.OtherTime, int64(c.Events)},
		[5]int64{2050, 1020, 1030, 0, 6})
	wantEqual(t, "course 5 access", [2]*int64{c.FirstAccess, c.LastAccess}, [2]*int64{i64(T0 + 60), i64(T0 + 6490)})
	wantEqual(t, "modules", c.Modules, []moduleStat{
		{Cmid: "101", Type: "page", Name: str("Reading 1"), Idnumber: str("R1"), Section: str("31"), Elapsed: 720, Events: 2, FirstAccess: i64(T0 + 180), LastAccess: i64(T0 + 6490)},
		{Cmid: "102", Type: "quiz", Name: str("Quiz 1"), Idnumber: str("Q1"), Section: str("32"), Elapsed: 310, Events: 2, FirstAccess: i64(T0 + 780), LastAccess: i64(T0 + 1080)},
	})
	wantEqual(t, "sections", c.Sections, []sectionStat{{ID: "31", Elapsed: 720, Events: 2}, {ID: "32", Elapsed: 310, Events: 2}})
	// T0 is 22:13:20 UTC: rows 2–7 fall on the 14th, row 8 on the 15th.
	wantEqual(t, "course days", c.Days, []dayStat{{"2023-11-14", 1930, 5}, {"2023-11-15", 120, 1}})
	wantEqual(t, "grade", [4]any{c.Grade.Course.Shortname, c.Grade.CourseID, *c.Grade.Grade, *c.Grade.Percentage}, [4]any{"C5", "5", 80.0, 80.0})
	if len(c.Grade.Modules) != 2 {
		t.Fatalf("grade modules = %+v", c.Grade.Modules)
	}
	quiz, gone := c.Grade.Modules[0], c.Grade.Modules[1]
	wantEqual(t, "quiz grade", [5]any{*quiz.Cmid, quiz.Type, *quiz.Name, *quiz.Grade, *quiz.Percentage}, [5]any{"102", "quiz", "Quiz 1", 7.0, 70.0})
	wantEqual(t, "deleted activity grade", [5]any{gone.Cmid, gone.Type, gone.Name, gone.Grade, gone.Percentage}, [5]any{(*string)(nil), "assign", (*string)(nil), (*float64)(nil), (*float64)(nil)})

	wantEqual(t, "sessions", s.Sessions, []session{
		{Start: T0, End: T0 + 1990, Elapsed: 1990, Events: 6, Courses: []string{"0", "5"}},
		{Start: T0 + 6490, End: T0 + 6610, Elapsed: 120, Events: 1, Courses: []string{"5"}},
	})
	ss := s.SessionSummary
	wantEqual(t, "session summary", [6]int64{int64(ss.Count), *ss.First, *ss.Last, *ss.Min, *ss.Max, *ss.Mean},
		[6]int64{2, T0, T0 + 6610, 120, 1990, 1055})
	wantEqual(t, "days", s.Days, []dayStat{{"2023-11-14", 1990, 6}, {"2023-11-15", 120, 1}})
}

// Every way to name a user finds the same one; host narrows a username.
func TestUserBy(t *testing.T) {
	e := newEnv(t)
	for _, by := range []map[string]any{
		{"id": "7"}, {"id": 7}, {"username": "learner7"}, {"username": "learner7", "host": 1},
		{"idnumber": "L7"}, {"email": "learner7@example.org"},
	} {
		var out struct{ User struct{ ID string } }
		e.ok("site-token", `query($by: UserBy!) { user(by: $by) { id } }`, map[string]any{"by": by}, &out)
		if out.User.ID != "7" {
			t.Errorf("user(by: %v) = %q, want 7", by, out.User.ID)
		}
	}
	var twin struct{ User struct{ ID, Fullname string } }
	e.ok("site-token", `{ user(by: {username: "twin", host: 2}) { id fullname } }`, nil, &twin)
	wantEqual(t, "remote twin", [2]string{twin.User.ID, twin.User.Fullname}, [2]string{"23", "Remote Twin"})

	// An ambiguous username, zero or two selectors, host without username,
	// a bad id: BAD_USER_INPUT.
	for _, q := range []string{
		`{ user(by: {username: "twin"}) { id } }`,
		`{ user(by: {}) { id } }`,
		`{ user(by: {id: 7, username: "learner7"}) { id } }`,
		`{ user(by: {idnumber: "L7", host: 1}) { id } }`,
		`{ user(by: {id: "seven"}) { id } }`,
		`{ user(by: {id: 0}) { id } }`,
		`{ user(by: {username: ""}) { id } }`,
	} {
		r := e.fails("site-token", q, nil, "BAD_USER_INPUT")
		if string(r.Data) != `{"user":null}` {
			t.Errorf("%s: data = %s, want user null", q, r.Data)
		}
	}
	// A missing user is NOT_FOUND for a site reader.
	e.fails("site-token", `{ user(by: {id: 999}) { id } }`, nil, "NOT_FOUND")
	e.fails("site-token", `{ user(by: {email: "nobody@example.org"}) { id } }`, nil, "NOT_FOUND")
}

// Example 2: course 8's forum counts in course 8 (fix B7), captured
// learningtimecheck time is carried once into page 101 (fix B2).
func TestUserExample2(t *testing.T) {
	e := newEnv(t)
	u := e.user("site-token", map[string]any{"by": map[string]any{"username": "learner9"}})
	s := u.Stats
	wantEqual(t, "total", [3]int64{s.Total, int64(s.Events), s.Site.Elapsed}, [3]int64{1960, 6, 0})
	if len(s.Courses) != 2 {
		t.Fatalf("courses = %+v", s.Courses)
	}
	c5, c8 := s.Courses[0], s.Courses[1]
	wantEqual(t, "course 5", [5]int64{c5.Total, c5.CourseTime, c5.ActivityTime, c5.OtherTime, int64(c5.Events)}, [5]int64{1560, 160, 500, 900, 4})
	wantEqual(t, "course 8", [5]int64{c8.Total, c8.CourseTime, c8.ActivityTime, c8.OtherTime, int64(c8.Events)}, [5]int64{400, 100, 300, 0, 2})
	wantEqual(t, "page 101 (200 + 300 carried)", c5.Modules, []moduleStat{
		{Cmid: "101", Type: "page", Name: str("Reading 1"), Idnumber: str("R1"), Section: str("31"), Elapsed: 500, Events: 1, FirstAccess: i64(T1 + 800), LastAccess: i64(T1 + 800)},
	})
	wantEqual(t, "no grade", c5.Grade, (*score)(nil))
}

func TestRange(t *testing.T) {
	e := newEnv(t)
	stats := func(rng map[string]any) userStats {
		t.Helper()
		return e.user("site-token", map[string]any{"by": map[string]any{"id": 7}, "range": rng}).Stats
	}
	// Rows 3 and 4 lie in [T0+100, T0+1000]; row 4's lap uses its real next
	// event (row 5, after the window): 600 + 300.
	for _, rng := range []map[string]any{
		{"from": T0 + 100, "to": T0 + 1000},
		{"from": "1700000100", "to": "1700001000"},
		{"from": "2023-11-14T22:15:00Z", "to": "2023-11-14T22:30:00Z"},
	} {
		s := stats(rng)
		wantEqual(t, "window total", [2]int64{s.Total, int64(s.Events)}, [2]int64{900, 2})
		wantEqual(t, "window", [2]int64{s.From, s.To}, [2]int64{T0 + 100, T0 + 1000})
	}
	// A date is a whole calendar day (UTC here): row 8 only.
	s := stats(map[string]any{"from": "2023-11-15", "to": "2023-11-15"})
	wantEqual(t, "day total", [2]int64{s.Total, int64(s.Events)}, [2]int64{120, 1})
	wantEqual(t, "day window", [2]int64{s.From, s.To}, [2]int64{1700006400, 1700006400 + 86399})
	// Only from: up to now.
	s = stats(map[string]any{"from": "2023-11-15"})
	wantEqual(t, "open window", [3]int64{s.Total, s.From, s.To}, [3]int64{120, 1700006400, far})

	for _, rng := range []map[string]any{
		{"from": "2023-11-15", "to": "2023-11-14"}, // to < from
		{"from": T0 + 10, "to": T0},
		{"from": "2023-13-45"},
		{"from": "yesterday"},
		{"to": 1.5},
		{"to": true},
	} {
		r := e.fails("site-token", fullUserQuery, map[string]any{"by": map[string]any{"id": 7}, "range": rng}, "BAD_USER_INPUT")
		if !strings.Contains(string(r.Data), `"stats":null`) || pathString(r.Errors[0].Path)[:10] != "user.stats" {
			t.Errorf("range %v: data %s, errors %+v", rng, r.Data, r.Errors)
		}
	}
}

// Dates are calendar days of the configured time zone.
func TestRangeTimeZone(t *testing.T) {
	e := newEnv(t, withLocation(t, "Europe/Paris"))
	// In Paris (UTC+1) T0 is 23:13:20 on the 14th and row 8 (T0+6490)
	// 01:01:30 on the 15th.
	s := e.user("site-token", map[string]any{"by": map[string]any{"id": 7}, "range": map[string]any{"from": "2023-11-15", "to": "2023-11-15"}}).Stats
	wantEqual(t, "Paris day", [3]int64{s.Total, s.From, s.To}, [3]int64{120, 1700002800, 1700002800 + 86399})
	wantEqual(t, "Paris days", s.Days, []dayStat{{"2023-11-15", 120, 1}})
}

func TestPolicyArgument(t *testing.T) {
	e := newEnv(t)
	stats := func(p map[string]any) userStats {
		t.Helper()
		return e.user("site-token", map[string]any{"by": map[string]any{"id": 7}, "policy": p}).Stats
	}
	s := stats(map[string]any{"name": "usestats"})
	wantEqual(t, "named default", [3]any{s.Policy.Name, s.Policy.Version, s.Total}, [3]any{"usestats", "2", int64(2110)})

	// No credit: row 7's over-threshold lap earns 0 instead of 900.
	s = stats(map[string]any{"credit": 0})
	wantEqual(t, "no credit", [2]any{s.Policy.Name, s.Total}, [2]any{"custom", int64(1210)})
	if s.Policy.Version == "" || s.Policy.Version == "2" {
		t.Errorf("custom policy version %q, want a digest", s.Policy.Version)
	}
	// A 2 h threshold: row 7's 5400 s gap counts in full, one session.
	s = stats(map[string]any{"threshold": "2h"})
	wantEqual(t, "2 h threshold", s.Total, int64(2110-900+5400))
	wantEqual(t, "2 h threshold sessions", s.Sessions, []session{{Start: T0, End: T0 + 6610, Elapsed: 6610, Events: 7, Courses: []string{"0", "5"}}})
	// Setting a preset's own value keeps the preset.
	s = stats(map[string]any{"threshold": 3600})
	wantEqual(t, "unchanged preset", [2]string{s.Policy.Name, s.Policy.Version}, [2]string{"usestats", "2"})
	// edx5: backward deltas under 5 min, all site rows: login → course
	// view 60, course → page 120, quiz submit 300 (= threshold, over), …
	s = stats(map[string]any{"name": "edx5"})
	wantEqual(t, "edx5", [2]string{s.Policy.Name, s.Policy.Parameters["attribution"].(string)}, [2]string{"edx5", "BACKWARD"})

	for _, p := range []map[string]any{
		{"name": "nonesuch"},           // unknown preset
		{"threshold": 0},               // invalid rule
		{"credit": -5},                 // invalid rule
		{"threshold": "soon"},          // not a duration
		{"coalesce": 60},               // coalesce needs backward attribution
		{"capture": []string{" page"}}, // padded entry
	} {
		e.fails("site-token", fullUserQuery, map[string]any{"by": map[string]any{"id": 7}, "policy": p}, "BAD_USER_INPUT")
	}
	// An enum value that does not exist fails validation.
	r := e.post("site-token", "application/json", fullUserQuery, map[string]any{"by": map[string]any{"id": 7}, "policy": map[string]any{"attribution": "SIDEWAYS"}})
	wantEqual(t, "bad enum", r.codes(), []string{"GRAPHQL_VALIDATION_FAILED"})
}

func TestPolicies(t *testing.T) {
	e := newEnv(t)
	var out struct {
		Policies []policy `json:"policies"`
	}
	e.ok("self7-token", `{ policies { name version parameters { threshold credit attribution timeline overAtThreshold coalesce minSession } } }`, nil, &out)
	var names []string
	for _, p := range out.Policies {
		names = append(names, p.Name)
	}
	wantEqual(t, "names", names, []string{"usestats", "dedication", "attendanceregister", "canvas", "edx5", "edx30"})
	wantEqual(t, "canvas", out.Policies[3].Parameters, map[string]any{
		"threshold": 600.0, "credit": 0.0, "attribution": "BACKWARD", "timeline": "COURSE",
		"overAtThreshold": true, "coalesce": 120.0, "minSession": 0.0})
}

func TestScopeArgument(t *testing.T) {
	e := newEnv(t)
	stats := func(scope string) userStats {
		t.Helper()
		return e.user("site-token", map[string]any{"by": map[string]any{"id": 7}, "scope": scope}).Stats
	}
	if s := stats("SITE"); len(s.Courses) != 0 || s.Total != 2110 || len(s.Sessions) != 2 {
		t.Errorf("SITE scope: %d courses, total %d, %d sessions; want 0, 2110, 2", len(s.Courses), s.Total, len(s.Sessions))
	}
	s := stats("COURSE")
	if len(s.Courses) != 1 || s.Courses[0].Total != 2050 || len(s.Courses[0].Modules) != 0 || len(s.Courses[0].Sections) != 0 {
		t.Errorf("COURSE scope: %+v", s.Courses)
	}
	if s := stats("MODULE"); len(s.Courses[0].Modules) != 2 || len(s.Courses[0].Sections) != 2 {
		t.Errorf("MODULE scope: %+v", s.Courses)
	}
	r := e.post("site-token", "application/json", fullUserQuery, map[string]any{"by": map[string]any{"id": 7}, "scope": "EVERYTHING"})
	wantEqual(t, "bad scope", r.codes(), []string{"GRAPHQL_VALIDATION_FAILED"})
}

func TestCoursesFilter(t *testing.T) {
	e := newEnv(t)
	var out struct {
		User struct {
			Stats struct {
				Courses []struct{ CourseID string }
			}
		}
	}
	e.ok("site-token", `{ user(by: {id: 9}) { stats { courses(ids: [8]) { courseId } } } }`, nil, &out)
	wantEqual(t, "filtered courses", len(out.User.Stats.Courses), 1)
	wantEqual(t, "filtered course", out.User.Stats.Courses[0].CourseID, "8")
}

// explain lists every lap of example 1 in the order the engine settled
// them, with the spec's reasons.
func TestExplain(t *testing.T) {
	e := newEnv(t)
	var out struct {
		User struct {
			Stats struct {
				Total   int64
				Explain []lap
			}
		}
	}
	q := `query($limit: Int, $offset: Int) { user(by: {id: 7}) { stats { total explain(limit: $limit, offset: $offset) {
	  eventId time action target eventname course cmid bucket gap credit carried reason counted } } } }`
	e.ok("site-token", q, nil, &out)
	laps := out.User.Stats.Explain
	type row struct {
		id      string
		gap     *int64
		credit  int64
		reason  string
		counted bool
		bucket  string
	}
	want := []row{
		{"1", i64(60), 60, "gap", true, "SITE"},
		{"2", i64(120), 120, "gap", true, "COURSE"},
		{"3", i64(600), 600, "gap", true, "ACTIVITY"},
		{"4", i64(300), 300, "gap", true, "ACTIVITY"},
		{"6", nil, 0, "graded", false, ""},
		{"5", i64(10), 10, "gap", true, "ACTIVITY"},
		{"7", i64(5400), 900, "over-threshold", true, "COURSE"},
		{"8", i64(120), 120, "gap", true, "ACTIVITY"},
		{"9", nil, 0, "logout", false, ""},
	}
	if len(laps) != len(want) {
		t.Fatalf("%d laps, want %d: %+v", len(laps), len(want), laps)
	}
	var sum int64
	for i, w := range want {
		l := laps[i]
		got := row{l.EventID, l.Gap, l.Credit, l.Reason, l.Counted, l.Bucket}
		if w.bucket == "" {
			got.bucket = "" // not counted: the place is not meaningful
		}
		wantEqual(t, "lap "+w.id, got, w)
		if l.Counted {
			sum += l.Credit
		}
	}
	wantEqual(t, "Σ counted laps = total", sum, out.User.Stats.Total)
	wantEqual(t, "lap 3 detail", [6]any{laps[2].Time, laps[2].Action, laps[2].Target, laps[2].Course, *laps[2].Cmid, laps[2].Carried},
		[6]any{int64(T0 + 180), "viewed", "course_module", "5", "101", int64(0)})
	wantEqual(t, "lap 1 event name", laps[0].Eventname, `\core\event\user_loggedin`)

	e.ok("site-token", q, map[string]any{"limit": 2, "offset": 6}, &out)
	wantEqual(t, "page of laps", []string{out.User.Stats.Explain[0].EventID, out.User.Stats.Explain[1].EventID}, []string{"7", "8"})
	e.ok("site-token", q, map[string]any{"limit": 5, "offset": 100}, &out)
	wantEqual(t, "past the end", len(out.User.Stats.Explain), 0)
	for _, v := range []map[string]any{{"limit": -1}, {"limit": 1001}, {"offset": -1}} {
		r := e.post("site-token", "application/json", q, v)
		wantEqual(t, "bad explain arguments", r.codes(), []string{"BAD_USER_INPUT"})
	}
}

// Every answer says where it came from: without compiled rollups, the log.
func TestStatsSource(t *testing.T) {
	e := newEnv(t)
	var out struct {
		User struct {
			Stats struct {
				Source string
				Total  int64
			}
		}
	}
	e.ok("site-token", `{ user(by: {id: 7}) { stats { source total } } }`, nil, &out)
	wantEqual(t, "source", out.User.Stats.Source, "LIVE")
	// A restricted answer says so too.
	e.ok("course5-token", `{ user(by: {id: 9}) { stats { source } } }`, nil, &out)
	wantEqual(t, "restricted source", out.User.Stats.Source, "LIVE")
	// The enum lists every source.
	var schema struct {
		Type struct {
			EnumValues []struct{ Name string }
		} `json:"__type"`
	}
	e.ok("", `{ __type(name: "Source") { enumValues { name } } }`, nil, &schema)
	var names []string
	for _, v := range schema.Type.EnumValues {
		names = append(names, v.Name)
	}
	wantEqual(t, "Source values", names, []string{"ROLLUPS", "LIVE", "MIXED"})
}

// Nested fields that need the same computation share it: one computation
// per (user, range, policy) per request.
func TestStatsMemoized(t *testing.T) {
	e := newEnv(t)
	scans := func(q string) int {
		t.Helper()
		before := e.logs.Scans()
		var out map[string]any
		e.ok("site-token", q, nil, &out)
		return e.logs.Scans() - before
	}
	one := scans(`{ user(by: {id: 7}) { stats { total } } }`)
	if one == 0 {
		t.Fatal("no log scan for a statistic")
	}
	same := scans(`{ user(by: {id: 7}) { a: stats { total courses { total } } b: stats(scope: SITE) { sessions { start } days { date } } } }`)
	wantEqual(t, "same range and policy: scans", same, one)
	twice := scans(`{ user(by: {id: 7}) { a: stats { total } b: stats(range: {from: "2023-11-15"}) { total } } }`)
	wantEqual(t, "two ranges: scans", twice, 2*one)
}

func TestCourse(t *testing.T) {
	e := newEnv(t)
	for _, by := range []string{`{id: 5}`, `{shortname: "C5"}`, `{idnumber: "c5"}`} {
		var out struct {
			Course struct{ ID, Shortname, Fullname, Idnumber, Category string }
		}
		e.ok("site-token", `{ course(by: `+by+`) { id shortname fullname idnumber category } }`, nil, &out)
		wantEqual(t, "course "+by, out.Course, struct{ ID, Shortname, Fullname, Idnumber, Category string }{"5", "C5", "Course Five", "c5", "1"})
	}
	e.fails("site-token", `{ course(by: {id: 999}) { id } }`, nil, "NOT_FOUND")
	e.fails("site-token", `{ course(by: {shortname: "C5", id: 5}) { id } }`, nil, "BAD_USER_INPUT")
	e.fails("site-token", `{ course(by: {}) { id } }`, nil, "BAD_USER_INPUT")
}

const participantsQuery = `query($course: ID!, $first: Int, $after: String, $range: TimeRange, $policy: PolicyInput, $scope: StatsScope) {
  course(by: {id: $course}) {
    shortname
    participants(first: $first, after: $after, range: $range, policy: $policy, scope: $scope) {
      edges { cursor node {
        user { id username }
        stats { courseId total courseTime activityTime otherTime events course { shortname }
                modules { cmid name elapsed } grade { grade } }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`

type participantsPage struct {
	Course struct {
		Shortname    string
		Participants struct {
			Edges []struct {
				Cursor string
				Node   struct {
					User  struct{ ID, Username string }
					Stats courseStat
				}
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
}

func TestParticipants(t *testing.T) {
	e := newEnv(t)
	var page participantsPage
	e.ok("course5-token", participantsQuery, map[string]any{"course": 5}, &page)
	edges := page.Course.Participants.Edges
	if len(edges) != 2 {
		t.Fatalf("participants = %+v", edges)
	}
	// Each participant's time in course 5 only.
	u7, u9 := edges[0].Node, edges[1].Node
	wantEqual(t, "learner7", [4]any{u7.User.ID, u7.Stats.CourseID, u7.Stats.Total, u7.Stats.Course.Shortname}, [4]any{"7", "5", int64(2050), "C5"})
	wantEqual(t, "learner7 grade", *u7.Stats.Grade.Grade, 80.0)
	wantEqual(t, "learner7 modules", len(u7.Stats.Modules), 2)
	wantEqual(t, "learner9", [5]int64{u9.Stats.Total, u9.Stats.CourseTime, u9.Stats.ActivityTime, u9.Stats.OtherTime, int64(u9.Stats.Events)}, [5]int64{1560, 160, 500, 900, 4})
	wantEqual(t, "learner9 grade", u9.Stats.Grade, (*score)(nil))
	wantEqual(t, "last page", page.Course.Participants.PageInfo.HasNextPage, false)

	// Course 8: learner20 has 1200 s (300 + the last event's 900 credit).
	e.ok("course8-token", participantsQuery, map[string]any{"course": 8, "scope": "COURSE"}, &page)
	edges = page.Course.Participants.Edges
	wantEqual(t, "course 8 participants", [4]any{edges[0].Node.User.ID, edges[0].Node.Stats.Total, edges[1].Node.User.ID, edges[1].Node.Stats.Total},
		[4]any{"9", int64(400), "20", int64(1200)})
	wantEqual(t, "COURSE scope: no modules", len(edges[1].Node.Stats.Modules), 0)

	// A participant without time in the range gets zeros.
	e.ok("course8-token", participantsQuery, map[string]any{"course": 8, "range": map[string]any{"from": T2}}, &page)
	edges = page.Course.Participants.Edges
	wantEqual(t, "no time in range", [2]int64{edges[0].Node.Stats.Total, int64(edges[0].Node.Stats.Events)}, [2]int64{0, 0})
	wantEqual(t, "time in range", edges[1].Node.Stats.Total, int64(1200))
}

func TestUsersFilter(t *testing.T) {
	e := newEnv(t)
	var out struct {
		Users struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	e.ok("site-token", `{ users(filter: {search: "TWIN"}) { edges { node { id } } } }`, nil, &out)
	wantEqual(t, "search", len(out.Users.Edges), 2)
	e.ok("site-token", `{ users(filter: {search: "twin", host: 2}) { edges { node { id } } } }`, nil, &out)
	wantEqual(t, "search on host 2", out.Users.Edges[0].Node.ID, "23")
	e.fails("site-token", `{ users(filter: {host: -1}) { edges { node { id } } } }`, nil, "BAD_USER_INPUT")
}

// With the site's block_use_stats settings, "site" is listed first and is
// the default policy: a question naming none gets the site's rules, the
// same totals as those rules given explicitly.
func TestSitePolicyIsDefault(t *testing.T) {
	site, _, err := aggregation.SitePolicy(map[string]string{"threshold": "30", "lastpingcredit": "5", "ignoremodules": "forum", "enrolmentfilter": "0"})
	if err != nil {
		t.Fatal(err)
	}
	known := &aggregation.Policies{}
	known.SetSite(&site)
	e := newEnv(t, func(c *envConfig) { c.Policies = known })
	var out struct {
		Policies []struct {
			Name       string
			Parameters map[string]any
		}
		Default struct {
			Stats struct {
				Policy struct{ Name, Version string }
				Total  int64
			}
		}
		Explicit struct{ Stats struct{ Total int64 } }
	}
	e.ok("site-token", `{ policies { name parameters { threshold credit } }
	  default: user(by: {id: 7}) { stats { policy { name version } total } }
	  explicit: user(by: {id: 7}) { stats(policy: {name: "usestats", threshold: 1800, credit: 300, ignore: ["forum"]}) { total } } }`, nil, &out)
	if len(out.Policies) == 0 || out.Policies[0].Name != "site" || out.Policies[0].Parameters["threshold"] != 1800.0 || out.Policies[0].Parameters["credit"] != 300.0 {
		t.Errorf("policies = %+v", out.Policies)
	}
	wantEqual(t, "default policy", [2]string{out.Default.Stats.Policy.Name, out.Default.Stats.Policy.Version}, [2]string{"site", site.Version})
	wantEqual(t, "site total = explicit total", out.Default.Stats.Total, out.Explicit.Stats.Total)
	usestats := e.user("site-token", map[string]any{"by": map[string]any{"id": "7"}, "policy": map[string]any{"name": "usestats"}})
	if usestats.Stats.Total == out.Default.Stats.Total {
		t.Errorf("the site's rules give the usestats total %d: the fixture cannot tell them apart", usestats.Stats.Total)
	}
}
