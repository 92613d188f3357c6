package export_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/export"
)

// defaultQuery is what an export without range or policy asks.
func (f *fixture) defaultQuery() aggregation.Query {
	return aggregation.Query{Policy: f.svc.Policies().Default(), Window: aggregation.Window{From: 0, To: far}, Now: far}
}

// wantParticipants is the service's own list: CourseParticipants, every
// row at once.
func (f *fixture) wantParticipants(t testing.TB, course int64, q aggregation.Query, filter aggregation.ParticipantFilter, o aggregation.ParticipantOrder, desc bool) []aggregation.Participant {
	t.Helper()
	pp, err := f.svc.CourseParticipants(context.Background(), course, q, filter, aggregation.Page[aggregation.ParticipantOrder]{Order: o, Desc: desc}, false)
	if err != nil {
		t.Fatal(err)
	}
	return pp.Rows
}

// checkParticipants compares an export's rows with the service's, cell
// by cell.
func (f *fixture) checkParticipants(t testing.TB, got table, want []aggregation.Participant) {
	t.Helper()
	if !slices.Equal(got.header, []string{"userid", "username", "firstname", "lastname", "total_seconds", "total_hm", "events",
		"first_access", "last_access", "roles", "groups", "enrolment_start", "enrolment_end", "enrolment_active", "grade"}) {
		t.Fatalf("header %q", got.header)
	}
	if len(got.rows) != len(want) {
		t.Fatalf("%d rows, want %d (first ids %v)", len(got.rows), len(want), got.ids()[:min(5, len(got.rows))])
	}
	names := map[int64]string{51: "Group A", 52: "=Group B"}
	grades, _ := f.dir.Grades(context.Background(), 5, f.users)
	for i, p := range want {
		var roles, groups []string
		for _, r := range p.Roles {
			roles = append(roles, r.ShortName)
		}
		for _, g := range p.Groups {
			groups = append(groups, names[g])
		}
		grade := ""
		if g, ok := grades[p.ID]; ok && g.Course != nil && g.Course.Value != nil {
			grade = strconv.FormatFloat(*g.Course.Value, 'f', -1, 64)
		}
		w := map[string]string{
			"userid": strconv.FormatInt(p.ID, 10), "username": p.Username, "firstname": guarded(p.FirstName), "lastname": guarded(p.LastName),
			"total_seconds": strconv.FormatInt(p.Total.Elapsed, 10), "total_hm": hmOf(p.Total.Elapsed), "events": strconv.FormatInt(p.Total.Events, 10),
			"first_access": isoOf(p.Total.FirstAccess, p.Total.Events > 0), "last_access": isoOf(p.Total.LastAccess, p.Total.Events > 0),
			"roles": strings.Join(roles, "; "), "groups": guarded(strings.Join(groups, "; ")),
			"enrolment_start": isoOf(p.Enrolment.Start, p.Enrolment.Start != 0), "enrolment_end": isoOf(p.Enrolment.End, p.Enrolment.End != 0),
			"enrolment_active": strconv.FormatBool(p.Enrolment.Active), "grade": grade,
		}
		for k, v := range w {
			if got.rows[i][k] != v {
				t.Fatalf("row %d (user %d) %s = %q, want %q", i, p.ID, k, got.rows[i][k], v)
			}
		}
	}
}

// Every order and filter of a course export gives the service's
// participant list, cell by cell, in its order.
func TestExportParticipantsOrdersAndFilters(t *testing.T) {
	f := newFixture(t)
	q := f.defaultQuery()
	inactive, _ := time.ParseInLocation(time.DateOnly, "2026-01-20", f.loc)
	orders := map[string]struct {
		o    aggregation.ParticipantOrder
		desc bool
	}{
		"": {aggregation.ParticipantByID, false}, "id_asc": {aggregation.ParticipantByID, false},
		"total_desc": {aggregation.ParticipantByTotal, true}, "total_asc": {aggregation.ParticipantByTotal, false},
		"last_access_desc": {aggregation.ParticipantByLastAccess, true}, "last_access_asc": {aggregation.ParticipantByLastAccess, false},
		"name_asc": {aggregation.ParticipantByName, false}, "name_desc": {aggregation.ParticipantByName, true},
		"grade_desc": {aggregation.ParticipantByGrade, true}, "grade_asc": {aggregation.ParticipantByGrade, false},
	}
	filters := map[string]aggregation.ParticipantFilter{
		"":                                 {},
		"minTotal=1200":                    {MinTotal: ptr[int64](1200)},
		"maxTotal=1800":                    {MaxTotal: ptr[int64](1800)},
		"minTotal=600&maxTotal=3000":       {MinTotal: ptr[int64](600), MaxTotal: ptr[int64](3000)},
		"inactiveSince=2026-01-20":         {InactiveSince: ptr(inactive.Unix())},
		"group=51":                         {Groups: []int64{51}},
		"group=51&group=52":                {Groups: []int64{51, 52}},
		"role=editingteacher":              {Roles: []string{"editingteacher"}},
		"role=student&group=52&minTotal=1": {Roles: []string{"student"}, Groups: []int64{52}, MinTotal: ptr[int64](1)},
	}
	for params, filter := range filters {
		for orderBy, o := range orders {
			t.Run(fmt.Sprintf("%s/%s", params, orderBy), func(t *testing.T) {
				v, _ := url.ParseQuery(params)
				if orderBy != "" {
					v.Set("orderBy", orderBy)
				}
				got := f.csvOK(t, "site", "/export/course/5/participants.csv?"+v.Encode())
				want := f.wantParticipants(t, 5, q, filter, o.o, o.desc)
				if params != "" && (len(want) == 0 || len(want) == 300) {
					t.Fatalf("the fixture makes %s keep %d of 300: it tests nothing", params, len(want))
				}
				f.checkParticipants(t, got, want)
			})
		}
	}
}

// from, to (dates in the service's zone, to inclusive to the day's end;
// Unix seconds; RFC 3339) and policy reach the query.
func TestExportRangeAndPolicy(t *testing.T) {
	f := newFixture(t)
	from, _ := time.ParseInLocation(time.DateOnly, "2026-01-10", f.loc)
	to, _ := time.ParseInLocation(time.DateOnly, "2026-01-21", f.loc)
	dedication, err := f.svc.Policies().Lookup("dedication")
	if err != nil {
		t.Fatal(err)
	}
	for params, q := range map[string]aggregation.Query{
		"from=2026-01-10&to=2026-01-20": {Policy: f.svc.Policies().Default(), Window: aggregation.Window{From: from.Unix(), To: to.Unix() - 1}, Now: far},
		"from=" + strconv.FormatInt(T0+5*86400, 10) + "&to=2026-01-15T12:00:00Z": {Policy: f.svc.Policies().Default(),
			Window: aggregation.Window{From: T0 + 5*86400, To: T0 + 14*86400 + 12*3600}, Now: far},
		"policy=dedication&to=2026-01-20": {Policy: dedication, Window: aggregation.Window{From: 0, To: to.Unix() - 1}, Now: far},
	} {
		t.Run(params, func(t *testing.T) {
			got := f.csvOK(t, "site", "/export/course/5/participants.csv?"+params+"&orderBy=total_desc")
			want := f.wantParticipants(t, 5, q, aggregation.ParticipantFilter{}, aggregation.ParticipantByTotal, true)
			all := f.wantParticipants(t, 5, f.defaultQuery(), aggregation.ParticipantFilter{}, aggregation.ParticipantByTotal, true)
			if got.rows[0]["total_seconds"] == strconv.FormatInt(all[0].Total.Elapsed, 10) && got.rows[0]["userid"] == strconv.FormatInt(all[0].ID, 10) {
				t.Errorf("the top row is the default query's: the parameters changed nothing")
			}
			f.checkParticipants(t, got, want)
		})
	}
}

// wantUsers is the site's users (or a cohort's) with Service.Users'
// totals, filtered and sorted by the test itself.
func (f *fixture) wantUsers(t testing.TB, members []int64, filter aggregation.SiteUserFilter, order string) []aggregation.SiteUser {
	t.Helper()
	res, err := f.svc.Users(context.Background(), members, f.defaultQuery())
	if err != nil {
		t.Fatal(err)
	}
	var out []aggregation.SiteUser
	for _, id := range members {
		u, _ := f.dir.User(id)
		s := res[id].Total
		if filter.MinTotal != nil && s.Elapsed < *filter.MinTotal || filter.MaxTotal != nil && s.Elapsed > *filter.MaxTotal ||
			filter.InactiveSince != nil && s.Events > 0 && s.LastAccess >= *filter.InactiveSince {
			continue
		}
		out = append(out, aggregation.SiteUser{UserInfo: u, Total: s})
	}
	field, dir, _ := strings.Cut(strings.Replace(order, "last_access", "lastaccess", 1), "_")
	slices.SortStableFunc(out, func(a, b aggregation.SiteUser) int {
		var c int
		switch field {
		case "total":
			c = cmp.Compare(a.Total.Elapsed, b.Total.Elapsed)
		case "lastaccess":
			c = cmp.Compare(a.Total.LastAccess, b.Total.LastAccess)
		case "name":
			c = cmp.Or(strings.Compare(strings.ToLower(a.LastName), strings.ToLower(b.LastName)),
				strings.Compare(strings.ToLower(a.FirstName), strings.ToLower(b.FirstName)))
		}
		if dir == "desc" {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.ID, b.ID))
	})
	return out
}

// checkUsers compares a users export with the expected rows.
func checkUsers(t testing.TB, got table, want []aggregation.SiteUser) {
	t.Helper()
	if !slices.Equal(got.header, []string{"userid", "username", "firstname", "lastname", "total_seconds", "total_hm", "events", "first_access", "last_access"}) {
		t.Fatalf("header %q", got.header)
	}
	if len(got.rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(got.rows), len(want))
	}
	for i, u := range want {
		w := map[string]string{
			"userid": strconv.FormatInt(u.ID, 10), "username": u.Username, "firstname": guarded(u.FirstName), "lastname": guarded(u.LastName),
			"total_seconds": strconv.FormatInt(u.Total.Elapsed, 10), "total_hm": hmOf(u.Total.Elapsed), "events": strconv.FormatInt(u.Total.Events, 10),
			"first_access": isoOf(u.Total.FirstAccess, u.Total.Events > 0), "last_access": isoOf(u.Total.LastAccess, u.Total.Events > 0),
		}
		for k, v := range w {
			if got.rows[i][k] != v {
				t.Fatalf("row %d (user %d) %s = %q, want %q", i, u.ID, k, got.rows[i][k], v)
			}
		}
	}
}

// Every order and filter of the users export, for the site and a cohort.
func TestExportUsersOrdersAndFilters(t *testing.T) {
	f := newFixture(t)
	var fives []int64
	for _, id := range f.users {
		if id%5 == 0 {
			fives = append(fives, id)
		}
	}
	inactive, _ := time.ParseInLocation(time.DateOnly, "2026-01-25", f.loc)
	filters := map[string]aggregation.SiteUserFilter{
		"":                                  {},
		"minTotal=1500":                     {MinTotal: ptr[int64](1500)},
		"maxTotal=1000":                     {MaxTotal: ptr[int64](1000)},
		"inactiveSince=2026-01-25":          {InactiveSince: ptr(inactive.Unix())},
		"cohort=4":                          {Cohort: 4},
		"cohort=4&minTotal=1&maxTotal=5000": {Cohort: 4, MinTotal: ptr[int64](1), MaxTotal: ptr[int64](5000)},
	}
	for params, filter := range filters {
		for _, orderBy := range []string{"", "id_asc", "total_desc", "total_asc", "last_access_desc", "last_access_asc", "name_asc", "name_desc"} {
			t.Run(params+"/"+orderBy, func(t *testing.T) {
				v, _ := url.ParseQuery(params)
				if orderBy != "" {
					v.Set("orderBy", orderBy)
				}
				members := f.users
				if filter.Cohort != 0 {
					members = fives
				}
				want := f.wantUsers(t, members, filter, orderBy)
				if params != "" && (len(want) == 0 || len(want) == len(f.users)) {
					t.Fatalf("the fixture makes %s keep %d users: it tests nothing", params, len(want))
				}
				checkUsers(t, f.csvOK(t, "site", "/export/users.csv?"+v.Encode()), want)
			})
		}
	}
}

// A group token reads only its groups' members of their course: the
// filter's groups are intersected with the token's.
func TestExportGroupTokenNarrowing(t *testing.T) {
	f := newFixture(t)
	q := f.defaultQuery()
	for _, c := range []struct {
		token, params string
		want          []int64 // groups the rows must come from; nil: header only
	}{
		{"g51", "", []int64{51}},
		{"g51", "group=51", []int64{51}},
		{"g51", "group=51&group=52", []int64{51}},
		{"g51", "group=52", nil},
		{"g51g52", "", []int64{51, 52}},
		{"g51g52", "group=52&orderBy=total_desc", []int64{52}},
		{"g51", "role=editingteacher&orderBy=name_asc", []int64{51}},
	} {
		t.Run(c.token+"?"+c.params, func(t *testing.T) {
			got := f.csvOK(t, c.token, "/export/course/5/participants.csv?"+c.params)
			if c.want == nil {
				if len(got.rows) != 0 || len(got.header) == 0 {
					t.Fatalf("want the header alone, got %d rows", len(got.rows))
				}
				return
			}
			v, _ := url.ParseQuery(c.params)
			filter := aggregation.ParticipantFilter{Groups: c.want, Roles: v["role"]}
			o, desc := aggregation.ParticipantByID, false
			switch v.Get("orderBy") {
			case "total_desc":
				o, desc = aggregation.ParticipantByTotal, true
			case "name_asc":
				o = aggregation.ParticipantByName
			}
			f.checkParticipants(t, got, f.wantParticipants(t, 5, q, filter, o, desc))
		})
	}
	// A group of another course reads nothing of this one.
	if w := f.get(t, "g81", "/export/course/5/participants.csv"); w.Code != http.StatusForbidden {
		t.Errorf("group of course 8 on course 5: %d, want 403", w.Code)
	}
}

// Refusals: 401 without a valid token, 403 for a token that may not read
// the export, 404 for what does not exist (403 for narrow tokens), 400
// naming the bad parameter, never echoing more than a short prefix.
func TestExportRefusals(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("x", 5000)
	for _, c := range []struct {
		name, token, target string
		status              int
		says                string // the message names it
	}{
		{"no token", "", "/export/users.csv", 401, "Bearer"},
		{"unknown token", "nope", "/export/course/5/participants.csv", 401, "token"},
		{"course token, users", "c5", "/export/users.xlsx", 403, "site:read"},
		{"ws token, users", "ws", "/export/users.csv", 403, "site:read"},
		{"self token, course", "self", "/export/course/5/participants.csv", 403, "course 5"},
		{"other course token", "c8", "/export/course/5/participants.csv", 403, "course 5"},
		{"unknown course, site", "site", "/export/course/999/participants.csv", 404, "no course"},
		{"unknown course, its course token", "c999", "/export/course/999/participants.csv", 403, "course 999"},
		{"unknown course, group token", "g51", "/export/course/999/participants.xlsx", 403, "course 999"},
		{"unknown cohort", "site", "/export/users.csv?cohort=77", 404, "cohort"},
		{"bad from", "site", "/export/users.csv?from=yesterday", 400, "from"},
		{"bad to", "site", "/export/course/5/participants.csv?to=2026-13-45", 400, "to"},
		{"to before from", "site", "/export/users.csv?from=2026-02-01&to=2026-01-01", 400, "to"},
		{"bad policy", "site", "/export/users.csv?policy=" + long, 400, "policy"},
		{"bad order", "site", "/export/users.csv?orderBy=" + long, 400, "orderBy"},
		{"grade order on users", "site", "/export/users.csv?orderBy=grade_desc", 400, "orderBy"},
		{"negative minTotal", "site", "/export/course/5/participants.csv?minTotal=-1", 400, "minTotal"},
		{"bad maxTotal", "site", "/export/course/5/participants.csv?maxTotal=1h", 400, "maxTotal"},
		{"max below min", "site", "/export/users.csv?minTotal=100&maxTotal=99", 400, "maxTotal"},
		{"bad inactiveSince", "site", "/export/users.csv?inactiveSince=soon", 400, "inactiveSince"},
		{"bad group", "site", "/export/course/5/participants.csv?group=0", 400, "group"},
		{"bad role", "site", "/export/course/5/participants.csv?role=", 400, "role"},
		{"group on users", "site", "/export/users.csv?group=51", 400, "group"},
		{"cohort on course", "site", "/export/course/5/participants.csv?cohort=4", 400, "cohort"},
		{"bad cohort", "site", "/export/users.csv?cohort=four", 400, "cohort"},
		{"unknown parameter", "site", "/export/users.csv?orderby=total_desc", 400, "orderby"},
		{"repeated parameter", "site", "/export/users.csv?from=1&from=2", 400, "from"},
		{"bad course id", "site", "/export/course/5x/participants.csv", 400, "id"},
		{"bad course id, narrow token", "g51", "/export/course/-5/participants.csv", 400, "id"},
		{"unknown format", "site", "/export/users.json", 404, "no such export"},
		{"unknown path", "site", "/export/course/5/grades.csv", 404, "no such export"},
		{"narrow token, bad parameter", "c5", "/export/course/5/participants.csv?orderBy=" + long, 400, "orderBy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := f.get(t, c.token, c.target)
			body := w.Body.String()
			if w.Code != c.status || !strings.Contains(body, c.says) {
				t.Fatalf("%d %q, want %d naming %q", w.Code, body, c.status, c.says)
			}
			if len(body) > 400 || strings.Contains(body, strings.Repeat("x", 40)) {
				t.Errorf("the message is %d bytes or echoes the input: %.80q", len(body), body)
			}
			if w.Header().Get("Content-Disposition") != "" {
				t.Errorf("a refusal is not an attachment")
			}
			if (c.status == 401) != (w.Header().Get("WWW-Authenticate") != "") {
				t.Errorf("WWW-Authenticate %q with %d", w.Header().Get("WWW-Authenticate"), c.status)
			}
		})
	}
	if w := f.do(t, http.MethodPost, "/export/users.csv", "Bearer site"); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET" {
		t.Errorf("POST: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	for _, h := range []string{"Basic c2l0ZQ==", "Bearer", "site", "Bearer  "} {
		if w := f.do(t, http.MethodGet, "/export/users.csv", h); w.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %d, want 401", h, w.Code)
		}
	}
}

// The answer is an attachment named for its export; every token that
// reads a course gets the same file for the same members.
func TestExportHeaders(t *testing.T) {
	f := newFixture(t)
	for target, want := range map[string][2]string{
		"/export/course/5/participants.csv":  {"text/csv; charset=utf-8; header=present", `attachment; filename="course-5-participants.csv"`},
		"/export/course/5/participants.xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", `attachment; filename="course-5-participants.xlsx"`},
		"/export/users.csv":                  {"text/csv; charset=utf-8; header=present", `attachment; filename="users.csv"`},
		"/export/users.xlsx":                 {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", `attachment; filename="users.xlsx"`},
		"/export/course/9/participants.csv":  {"text/csv; charset=utf-8; header=present", `attachment; filename="course-9-participants.csv"`},
	} {
		w := f.get(t, "site", target)
		if w.Code != 200 || w.Header().Get("Content-Type") != want[0] || w.Header().Get("Content-Disposition") != want[1] ||
			w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %q %q %q", target, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"), w.Header().Get("Cache-Control"))
		}
	}
	site := f.get(t, "site", "/export/course/5/participants.csv").Body.String()
	for _, tok := range []string{"c5"} {
		if got := f.get(t, tok, "/export/course/5/participants.csv").Body.String(); got != site {
			t.Errorf("%s's export differs from site:read's", tok)
		}
	}
	if empty := f.csvOK(t, "site", "/export/course/9/participants.csv"); len(empty.rows) != 0 || len(empty.header) != 15 {
		t.Errorf("a course without members: %d rows, header %q", len(empty.rows), empty.header)
	}
}

// flushCounter is a ResponseWriter that counts flushes and the rows
// written before each.
type flushCounter struct {
	*httptest.ResponseRecorder
	flushes []int
}

func (c *flushCounter) Flush() {
	c.flushes = append(c.flushes, strings.Count(c.Body.String(), "\n"))
	c.ResponseRecorder.Flush()
}

// CSV is flushed a chunk at a time, the participants' as the users'.
func TestExportStreamsCSV(t *testing.T) {
	f := newFixture(t)
	for _, target := range []string{"/export/course/5/participants.csv", "/export/course/5/participants.csv?orderBy=total_desc", "/export/users.csv"} {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.Header.Set("Authorization", "Bearer site")
		w := &flushCounter{ResponseRecorder: httptest.NewRecorder()}
		f.h.ServeHTTP(w, r)
		if w.Code != 200 || len(w.flushes) < 2 || w.flushes[0] < 2 || w.flushes[0] >= strings.Count(w.Body.String(), "\n") {
			t.Errorf("%s: %d, flushed after rows %v of %d", target, w.Code, w.flushes, strings.Count(w.Body.String(), "\n"))
		}
	}
}

// A failure before the first rows gets its status; one after them cuts
// the connection, so the client sees a broken transfer, not a short file.
func TestExportFailures(t *testing.T) {
	f := newFixture(t)
	f.dir.SetFailure(aggregation.Errorf(aggregation.EUnavailable, "database down"))
	for _, target := range []string{"/export/course/5/participants.csv", "/export/users.xlsx", "/export/users.csv?cohort=4"} {
		if w := f.get(t, "site", target); w.Code != http.StatusServiceUnavailable {
			t.Errorf("%s with the database down: %d %s", target, w.Code, w.Body.String())
		}
	}
	f.dir.SetFailure(nil)
	f.dir.SetFailure(errors.New("driver exploded"))
	if w := f.get(t, "site", "/export/users.csv"); w.Code != 500 || strings.Contains(w.Body.String(), "exploded") {
		t.Errorf("internal failure: %d %q", w.Code, w.Body.String())
	}
	f.dir.SetFailure(nil)

	srv := httptest.NewServer(f.h)
	defer srv.Close()
	grades := 0
	f.dir.SetBefore(func(_ context.Context, method string) error {
		if method == "Grades" {
			if grades++; grades > 1 {
				return aggregation.Errorf(aggregation.EUnavailable, "database gone")
			}
		}
		return nil
	})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/export/course/5/participants.csv", nil)
	req.Header.Set("Authorization", "Bearer site")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || err == nil {
		t.Errorf("failure after the first chunk: %d, read %d bytes, err %v; want 200 and a broken body", resp.StatusCode, len(body), err)
	}
	f.dir.SetBefore(nil)
}

// Exporter.Write, as the command line calls it, writes what the handler
// sends.
func TestExportWriteMatchesHandler(t *testing.T) {
	f := newFixture(t)
	v := url.Values{"orderBy": {"name_desc"}, "minTotal": {"60"}}
	req, err := f.ex.Parse(export.Participants, 5, export.CSV, v)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := f.ex.Write(context.Background(), req, &b); err != nil {
		t.Fatal(err)
	}
	if got := f.get(t, "site", "/export/course/5/participants.csv?"+v.Encode()).Body.String(); got != b.String() {
		t.Errorf("Write and the handler differ")
	}
	if req.Filename() != "course-5-participants.csv" {
		t.Errorf("filename %q", req.Filename())
	}
	_, err = f.ex.Parse(export.Users, 0, export.CSV, url.Values{"orderBy": {"grade_asc"}})
	var pe *export.ParamError
	if !errors.As(err, &pe) || pe.Param != "orderBy" || aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("grade order on users: %v", err)
	}
	if err := f.ex.Write(context.Background(), export.Request{Kind: export.Participants, CourseID: 999, Format: export.CSV, Query: f.defaultQuery()}, io.Discard); aggregation.ErrorCode(err) != aggregation.ENotFound {
		t.Errorf("unknown course: %v", err)
	}
}
