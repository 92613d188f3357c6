package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/usestats/usestats/seed"
)

// wsClients returns node with the moodle-client package, and php, or
// skips (fails under CI: .ci/run installs both).
func wsClients(t *testing.T) (node, php, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the binary, Node and PHP")
	}
	dir, _ = filepath.Abs("../../tools/ws-interop")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "moodle-client"))
	}
	if err == nil {
		php, err = exec.LookPath("php")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("web-service clients missing: %v (.ci/run installs them)", err)
		}
		t.Skipf("web-service clients missing: %v (npm ci --prefix tools/ws-interop; bash .ci/php)", err)
	}
	return node, php, dir
}

// reportCourseTotals is the report command's total per real course
// (course id > 1) for a user.
func reportCourseTotals(t *testing.T, bin, moodleURL, user string) (userID int64, totals map[int64]int64) {
	t.Helper()
	var rep struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
		Courses []struct {
			ID    int64 `json:"id"`
			Total int64 `json:"total"`
		} `json:"courses"`
	}
	if err := json.Unmarshal([]byte(runCLI(t, bin, "report", "--moodle", moodleURL, "--user", user)), &rep); err != nil {
		t.Fatal(err)
	}
	totals = map[int64]int64{}
	for _, c := range rep.Courses {
		if c.ID > 1 {
			totals[c.ID] = c.Total
		}
	}
	return rep.User.ID, totals
}

// wsCourse is the part of a course entry the interop tests compare.
type wsCourse struct {
	ID          int64  `json:"id"`
	CourseTotal int64  `json:"coursetotal"`
	Score       string `json:"score"`
}

// wsUserStats is one user's get_user(s)_stats answer.
type wsUserStats struct {
	User struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	} `json:"user"`
	Courses []wsCourse `json:"courses"`
}

// totals maps the answer's courses to their totals.
func (u wsUserStats) totals() map[int64]int64 {
	m := map[int64]int64{}
	for _, c := range u.Courses {
		m[c.ID] = c.CourseTotal
	}
	return m
}

// sameTotals fails unless every course of want has its total in got.
func sameTotals(t *testing.T, what string, got, want map[int64]int64) {
	t.Helper()
	for id, total := range want {
		if got[id] != total {
			t.Errorf("%s, course %d: web service %d, report %d", what, id, got[id], total)
		}
	}
}

// xmlNode is any element of a Moodle REST XML answer.
type xmlNode struct {
	XMLName xml.Name
	Name    string    `xml:"name,attr"`
	Text    string    `xml:",chardata"`
	Kids    []xmlNode `xml:",any"`
}

var canonicalInt = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

// value turns RESPONSE/SINGLE/MULTIPLE/KEY/VALUE into what
// json.Unmarshal gives for the JSON answer: objects, arrays, and for
// every VALUE a json.Number when it reads as an integer, else a string.
func (n xmlNode) value() any {
	switch n.XMLName.Local {
	case "RESPONSE", "KEY":
		if len(n.Kids) == 0 {
			return nil
		}
		return n.Kids[0].value()
	case "SINGLE":
		m := map[string]any{}
		for _, k := range n.Kids {
			m[k.Name] = k.value()
		}
		return m
	case "MULTIPLE":
		l := []any{}
		for _, k := range n.Kids {
			l = append(l, k.value())
		}
		return l
	}
	if canonicalInt.MatchString(n.Text) {
		return json.Number(n.Text)
	}
	return n.Text
}

// decodeMoodleXML reads an XML answer into v as decodeJSON would read
// the JSON answer.
func decodeMoodleXML(t *testing.T, body string, v any) {
	t.Helper()
	var root xmlNode
	if err := xml.Unmarshal([]byte(body), &root); err != nil || root.XMLName.Local != "RESPONSE" {
		t.Fatalf("not a Moodle XML answer (%v): %s", err, body)
	}
	b, _ := json.Marshal(root.value())
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// An ERP-style client written against Moodle's documentation calls every
// web-service function on the live binary: the npm package moodle-client
// (json) with a usestats token of scope ws, PHP http_build_query + curl
// (xml) with one of the site's own Moodle tokens (--ws-moodle-tokens).
// Both read the report command's numbers; refusals come as Moodle's.
func TestWebServiceClients(t *testing.T) {
	node, php, tools := wsClients(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	site := newMnetSite(t, filepath.Join(dir, "moodle.db"), 7)
	learner, course := site.learner(t)
	var other string
	if err := site.db.QueryRowContext(context.Background(), `SELECT u.username FROM mdl_user u
		JOIN mdl_logstore_standard_log l ON l.userid = u.id WHERE l.courseid = ? AND u.username <> ?
		GROUP BY u.username ORDER BY COUNT(*) DESC, u.username LIMIT 1`, course, learner).Scan(&other); err != nil {
		t.Fatal(err)
	}
	// The site's own tokens: the admin's (every check passes) and a
	// suspended learner's.
	site.exec(t, `INSERT INTO mdl_external_tokens (token, tokentype, userid, externalserviceid, contextid, creatorid, timecreated)
		VALUES ('0123456789abcdef0123456789abcdef', 0, 2, 1, 1, 2, 0), ('fedcba9876543210fedcba9876543210', 0, 3, 1, 1, 2, 0)`)
	// The admin's token restricted to an address range the ERP reaches us
	// from through a reverse proxy on the loopback.
	site.exec(t, `INSERT INTO mdl_external_tokens (token, tokentype, userid, externalserviceid, contextid, creatorid, timecreated, iprestriction)
		VALUES ('00000000000000000000000000000abc', 0, 2, 1, 1, 2, 0, '203.0.113.0/24')`)
	site.exec(t, `UPDATE mdl_user SET suspended = 1 WHERE id = 3`)
	const moodleToken, suspendedToken = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"

	store := "sqlite://" + filepath.Join(dir, "store.db")
	token := strings.TrimSpace(runCLI(t, bin, "token", "create", "--name", "erp", "--scope", "ws", "--store", store))
	us := startUsestats(t, bin, site.url, store, freePort(t), "--ws-moodle-tokens", "--ws-trusted-proxies", "127.0.0.1, ::1")

	learnerID, want := reportCourseTotals(t, bin, site.url, "username:"+learner)
	otherID, wantOther := reportCourseTotals(t, bin, site.url, "username:"+other)
	if len(want) == 0 || want[course] == 0 || wantOther[course] == 0 {
		t.Fatalf("the learners have no time in course %d: %v %v", course, want, wantOther)
	}

	mc := func(fn string, args any) []byte {
		t.Helper()
		aj, _ := json.Marshal(args)
		cmd := exec.Command(node, filepath.Join(tools, "moodle-client.mjs"), us.base, token, fn, string(aj))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("moodle-client %s: %v\n%s", fn, err, out)
		}
		return out
	}
	t.Run("moodle-client json", func(t *testing.T) {
		var info struct {
			SiteURL   string `json:"siteurl"`
			Functions []struct {
				Name string `json:"name"`
			} `json:"functions"`
		}
		if err := json.Unmarshal(mc("core_webservice_get_site_info", map[string]any{}), &info); err != nil || len(info.Functions) != 4 {
			t.Fatalf("site info: %+v %v", info, err)
		}
		var one wsUserStats
		out := mc("block_use_stats_get_user_stats", map[string]any{"uidsource": "username", "uid": learner})
		if err := json.Unmarshal(out, &one); err != nil || one.User.ID != learnerID {
			t.Fatalf("%v: %s", err, out)
		}
		sameTotals(t, "get_user_stats", one.totals(), want)

		var many []wsUserStats
		out = mc("block_use_stats_get_users_stats", map[string]any{"uidsource": "id", "uids": []any{learnerID, otherID}})
		if err := json.Unmarshal(out, &many); err != nil || len(many) != 2 {
			t.Fatalf("users stats: %v %s", err, out)
		}
		sameTotals(t, "get_users_stats "+learner, many[0].totals(), want)
		sameTotals(t, "get_users_stats "+other, many[1].totals(), wantOther)

		var inCourse []struct {
			User struct {
				Username string `json:"username"`
			} `json:"user"`
			CourseData wsCourse `json:"coursedata"`
		}
		out = mc("block_use_stats_get_users_course_stats", map[string]any{"uidsource": "username", "uids": []any{other, learner},
			"cidsource": "id", "cid": course, "score": 1})
		if err := json.Unmarshal(out, &inCourse); err != nil || len(inCourse) != 2 {
			t.Fatalf("users course stats: %v %s", err, out)
		}
		for i, w := range []struct {
			name  string
			total int64
		}{{other, wantOther[course]}, {learner, want[course]}} {
			got := inCourse[i]
			if got.User.Username != w.name || got.CourseData.ID != course || got.CourseData.CourseTotal != w.total || got.CourseData.Score == "" {
				t.Errorf("get_users_course_stats %d: %+v, want %s with %d in course %d", i, got, w.name, w.total, course)
			}
		}
		// A Moodle exception through moodle-client: an SQL-looking id.
		cmd := exec.Command(node, filepath.Join(tools, "moodle-client.mjs"), us.base, token, "block_use_stats_get_user_stats",
			`{"uidsource":"id","uid":"1; DROP TABLE mdl_user"}`)
		b, _ := cmd.Output()
		if !strings.Contains(string(b), `"errorcode":"invalidparameter"`) {
			t.Errorf("bad input through moodle-client: %s", b)
		}
	})

	phpCall := func(tok, fn string, args map[string]any, format string) string {
		t.Helper()
		aj, _ := json.Marshal(args)
		cmd := exec.Command(php, filepath.Join(tools, "php-client.php"), us.base, tok, fn, string(aj), format)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("php client %s: %v\n%s", fn, err, b)
		}
		return string(b)
	}
	t.Run("php xml with a Moodle token", func(t *testing.T) {
		x := phpCall(moodleToken, "core_webservice_get_site_info", map[string]any{}, "xml")
		if !strings.Contains(x, `<KEY name="userid"><VALUE>2</VALUE>`) || strings.Count(x, `<KEY name="version"><VALUE>`+seed.SiteVersion+`</VALUE>`) != 2 ||
			!strings.Contains(x, `<KEY name="sitename"><VALUE>Demo University</VALUE>`) || !strings.Contains(x, `<KEY name="userissiteadmin"><VALUE>1</VALUE>`) {
			t.Errorf("site info: %s", x)
		}
		var one wsUserStats
		decodeMoodleXML(t, phpCall(moodleToken, "block_use_stats_get_user_stats", map[string]any{"uidsource": "username", "uid": learner}, "xml"), &one)
		if one.User.ID != learnerID {
			t.Errorf("get_user_stats: %+v", one)
		}
		sameTotals(t, "xml get_user_stats", one.totals(), want)
		var many []wsUserStats
		decodeMoodleXML(t, phpCall(moodleToken, "block_use_stats_get_users_stats", map[string]any{"uidsource": "username", "uids": []string{learner, other}}, "xml"), &many)
		if len(many) != 2 {
			t.Fatalf("get_users_stats: %+v", many)
		}
		sameTotals(t, "xml get_users_stats "+learner, many[0].totals(), want)
		sameTotals(t, "xml get_users_stats "+other, many[1].totals(), wantOther)
		var inCourse []struct {
			CourseData wsCourse `json:"coursedata"`
		}
		decodeMoodleXML(t, phpCall(moodleToken, "block_use_stats_get_users_course_stats", map[string]any{"uidsource": "username",
			"uids": []string{learner, other}, "cidsource": "id", "cid": course, "score": true}, "xml"), &inCourse)
		if len(inCourse) != 2 || inCourse[0].CourseData.CourseTotal != want[course] || inCourse[1].CourseData.CourseTotal != wantOther[course] ||
			inCourse[0].CourseData.Score == "" {
			t.Errorf("get_users_course_stats: %+v, want %d and %d", inCourse, want[course], wantOther[course])
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			tok, fn string
			args    map[string]any
			want    string
		}{
			{moodleToken, "block_use_stats_get_user_stats", map[string]any{"uidsource": "id", "uid": "1 OR 1=1"},
				`<EXCEPTION class="invalid_parameter_exception">`},
			{suspendedToken, "core_webservice_get_site_info", map[string]any{}, `<DEBUGINFO>Refused web service access for suspended username: `},
			{"nope", "core_webservice_get_site_info", map[string]any{}, `<ERRORCODE>invalidtoken</ERRORCODE>`},
			{moodleToken, "core_user_get_users", map[string]any{}, `<ERRORCODE>invalidrecord</ERRORCODE>`},
		} {
			if x := phpCall(tc.tok, tc.fn, tc.args, "xml"); !strings.Contains(x, tc.want) {
				t.Errorf("%s with %s: %s", tc.fn, tc.tok, x)
			}
		}
		if j := phpCall("nope", "core_webservice_get_site_info", map[string]any{}, "json"); !strings.Contains(j, `"errorcode":"invalidtoken"`) {
			t.Errorf("bad token, json: %s", j)
		}
	})
	// Behind a trusted reverse proxy the IP restriction applies to the
	// address the proxy forwards.
	t.Run("IP restriction through a proxy", func(t *testing.T) {
		call := func(xff string) string {
			form := url.Values{"wstoken": {"00000000000000000000000000000abc"}, "wsfunction": {"core_webservice_get_site_info"},
				"moodlewsrestformat": {"json"}}
			req, _ := http.NewRequest("POST", us.base+"/webservice/rest/server.php", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if xff != "" {
				req.Header.Set("X-Forwarded-For", xff)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		if b := call("203.0.113.7"); !strings.Contains(b, `"sitename"`) {
			t.Errorf("allowed address through the proxy: %s", b)
		}
		if b := call("198.51.100.1, 203.0.113.7"); !strings.Contains(b, `"sitename"`) {
			t.Errorf("rightmost untrusted hop is the client: %s", b)
		}
		if b := call("203.0.113.7, 198.51.100.1"); !strings.Contains(b, `Invalid service - IP:198.51.100.1 is not supported`) {
			t.Errorf("refused address through the proxy: %s", b)
		}
		if b := call(""); !strings.Contains(b, `"errorcode":"accessexception"`) {
			t.Errorf("the proxy's own address: %s", b)
		}
	})
	// The ws scope opens the web services only: GraphQL refuses it.
	t.Run("ws token in GraphQL", func(t *testing.T) {
		body := strings.NewReader(`{"query":"{ user(by: {username: \"` + learner + `\"}) { stats { total } } }"}`)
		req, _ := http.NewRequest("POST", us.base+"/graphql", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), `"FORBIDDEN"`) || strings.Contains(string(b), `"total"`) {
			t.Errorf("GraphQL with a ws token: %s", b)
		}
	})
}
