package export_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the fixture's zone, whatever the machine has

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/export"
	"github.com/usestats/usestats/internal/directorytest"
)

// The fixture: a site in Europe/Paris with 320 users (ids 2–321) and
// three courses, no database:
//
//	course 5  users 2–301 (300 members: more than one chunk), groups 51
//	          "Group A" (even ids) and 52 "=Group B" (ids divisible by 3);
//	          every tenth an editingteacher, the rest students; every
//	          eleventh's enrolment inactive; grades for ids not divisible
//	          by 4
//	course 8  users 250–321, group 81
//	course 9  no members
//	cohort 4  ids divisible by 5
//
// Names include formula starters, commas, quotes, line breaks and
// non-ASCII letters; every ninth user never acts. Everyone else logs in
// and views courses 5 (and 8) at a rhythm of its own.
const (
	T0  = 1767225600 // 2026-01-01T00:00:00Z
	far = T0 + 100*86400
)

var firstNames = []string{"Ann", "bob", "Zoë", "=HYPERLINK(\"http://x\")", "Chloé, Jr.", "Line\nBreak", "+1", "Ann"}
var lastNames = []string{"Smith", "@risk", "-dash", "O\"Neil", "Ødegaard", "smith", "Adams", "\tTab\rCR"}

type fixture struct {
	dir    *directorytest.Directory
	svc    *aggregation.Service
	ex     *export.Exporter
	h      http.Handler
	loc    *time.Location
	users  []int64
	tokens map[string]aggregation.Scopes
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	dir := directorytest.New()
	dir.AddCourses(aggregation.CourseInfo{ID: 5, ShortName: "C5", FullName: "Course Five"},
		aggregation.CourseInfo{ID: 8, ShortName: "C8", FullName: "Course Eight"},
		aggregation.CourseInfo{ID: 9, ShortName: "C9", FullName: "Course Nine"})
	dir.AddGroups(aggregation.GroupInfo{ID: 51, CourseID: 5, Name: "Group A"}, aggregation.GroupInfo{ID: 52, CourseID: 5, Name: "=Group B"},
		aggregation.GroupInfo{ID: 81, CourseID: 8, Name: "Eight"})
	dir.AddCohorts(aggregation.CohortInfo{ID: 4, Name: "Fives"})
	student := aggregation.RoleInfo{ID: 5, ShortName: "student"}
	teacher := aggregation.RoleInfo{ID: 3, ShortName: "editingteacher"}
	var events aggregation.SliceReader
	f := &fixture{dir: dir, loc: loc}
	for id := int64(2); id <= 321; id++ {
		f.users = append(f.users, id)
		dir.AddUsers(aggregation.UserInfo{ID: id, Username: fmt.Sprintf("user%03d", id), Email: fmt.Sprintf("u%d@example.org", id),
			FirstName: firstNames[id%int64(len(firstNames))], LastName: lastNames[id%int64(len(lastNames))], HostID: 1})
		if id%5 == 0 {
			dir.AddToCohort(4, id)
		}
		if id <= 301 {
			dir.Enrol(5, id)
			role := student
			if id%10 == 0 {
				role = teacher
			}
			dir.SetRoles(5, id, role)
			e := aggregation.Enrolment{Start: T0 - 30*86400, Active: id%11 != 0}
			if id%6 == 0 {
				e.End = T0 + 200*86400
			}
			dir.SetEnrolment(5, id, e)
			if id%2 == 0 {
				dir.AddToGroup(51, id)
			}
			if id%3 == 0 {
				dir.AddToGroup(52, id)
			}
			if id%4 != 0 {
				dir.SetGrade(5, id, directorytest.Scored(float64(id%50)+0.5))
			}
		}
		if id >= 250 {
			dir.Enrol(8, id)
			dir.AddToGroup(81, id)
		}
		if id%9 == 0 {
			continue
		}
		// A login, then views every (id % 7 + 1) minutes; from day id % 40.
		start := T0 + (id%40)*86400 + id*13
		gap := (id%7 + 1) * 60
		add := func(ev aggregation.Event) {
			ev.ID, ev.UserID, ev.Origin = int64(len(events)+1), id, "web"
			events = append(events, ev)
		}
		add(aggregation.Event{Time: start, ContextID: 1, ContextLevel: aggregation.ContextSystem, Action: "loggedin", Target: "user", EventName: `\core\event\user_loggedin`})
		for k := range id%12 + 1 {
			course := int64(5)
			if id >= 250 && k%2 == 1 {
				course = 8
			}
			add(aggregation.Event{Time: start + (k+1)*gap, CourseID: course, ContextID: 50 + course, ContextLevel: aggregation.ContextCourse,
				ContextInstanceID: course, Action: "viewed", Target: "course", EventName: `\core\event\course_viewed`})
		}
	}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{Logs: events, Location: loc, Roster: dir, Grades: dir,
		Now: func() int64 { return far }})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	f.tokens = map[string]aggregation.Scopes{}
	for tok, text := range map[string]string{"site": "site:read", "c5": "course:5:read", "c8": "course:8:read", "c999": "course:999:read",
		"g51": "group:51:read", "g51g52": "group:51:read group:52:read", "g81": "group:81:read", "self": "user:2:self", "ws": "ws"} {
		ss, err := aggregation.ParseScopes(text)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[tok] = ss
	}
	cfg := export.Config{Service: svc, Directory: dir, Now: func() int64 { return far },
		Authenticate: func(_ context.Context, token string) (aggregation.Scopes, error) {
			ss, ok := f.tokens[token]
			if !ok {
				return aggregation.Scopes{}, aggregation.Errorf(aggregation.EUnauthenticated, "unknown token")
			}
			return ss, nil
		}}
	if f.ex, err = export.New(cfg); err != nil {
		t.Fatal(err)
	}
	if f.h, err = export.NewHandler(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

// get asks the handler; token "" sends no Authorization header.
func (f *fixture) get(t testing.TB, token, target string) *httptest.ResponseRecorder {
	t.Helper()
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return f.do(t, http.MethodGet, target, auth)
}

// do sends a request with that Authorization header ("": none).
func (f *fixture) do(t testing.TB, method, target, auth string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// table is a CSV export read back: its header and rows by column name.
type table struct {
	header []string
	rows   []map[string]string
}

func (tb table) ids() []int64 {
	out := make([]int64, len(tb.rows))
	for i, r := range tb.rows {
		out[i], _ = strconv.ParseInt(r["userid"], 10, 64)
	}
	return out
}

// csvOK asks for a CSV export that must succeed and reads it back.
func (f *fixture) csvOK(t testing.TB, token, target string) table {
	t.Helper()
	w := f.get(t, token, target)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, w.Code, w.Body.String())
	}
	return readCSV(t, w.Body)
}

func readCSV(t testing.TB, body io.Reader) table {
	t.Helper()
	recs, err := csv.NewReader(body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return tableOf(recs)
}

// tableOf reads records whose first is the header.
func tableOf(recs [][]string) table {
	tb := table{header: recs[0]}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, v := range rec {
			row[tb.header[i]] = v
		}
		tb.rows = append(tb.rows, row)
	}
	return tb
}

// tool returns the path of an interop tool, or skips (fails under CI,
// whose .ci/run installs them).
func tool(t *testing.T, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing: %v (%s)", name, err, why)
		}
		t.Skipf("%s missing: %v (%s)", name, err, why)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// hmOf is the h:mm of seconds, rounded down to the minute.
func hmOf(sec int64) string { return fmt.Sprintf("%d:%02d", sec/3600, sec%3600/60) }

// isoOf is a time as the exports write it, "" for none.
func isoOf(t int64, ok bool) string {
	if !ok {
		return ""
	}
	return time.Unix(t, 0).UTC().Format(time.RFC3339)
}

// guarded is a text as CSV writes it.
func guarded(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
