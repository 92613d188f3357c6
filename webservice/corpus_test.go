package webservice

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

// badInputs is the bad-input corpus: every entry must be answered with a
// Moodle exception document, HTTP 200, in the requested format.
var badInputs = []struct{ name, body string }{
	{"wrong type int", fnUser + "&uidsource=id&uid=3&from=yesterday"},
	{"wrong type float", fnUser + "&uidsource=id&uid=3&to=1.5"},
	{"wrong type bool", fnUsers + "&uidsource=id&uids[0]=3&score=yes"},
	{"int overflow", fnUser + "&uidsource=id&uid=3&from=99999999999999999999"},
	{"array for scalar", fnUser + "&uidsource[]=id&uid=3"},
	{"nested array for text", fnUsers + "&uidsource=id&uids[0][0][0]=3"},
	{"scalar for list", fnUsers + "&uidsource=id&uids="},
	{"unknown keys", fnUser + "&uidsource=id&uid=3&limit=10&offset=0"},
	{"unknown nested", fnUsers + "&uidsource=id&uids[0]=3&extra[a][b]=c"},
	{"sql in uid", fnUser + "&uidsource=username&uid=%27%20OR%201%3D1%20--"},
	{"sql in uidsource", fnUser + "&uidsource=id%3B%20DROP%20TABLE%20mdl_user&uid=3"},
	{"sql in cid", fnUsers + "&uidsource=id&uids[0]=3&cidsource=shortname&cid=x%27%3B%20DELETE%20FROM%20mdl_course%3B--"},
	{"sql in id uid", fnUser + "&uidsource=id&uid=3%20OR%201%3D1"},
	{"invalid utf8 uid", fnUser + "&uidsource=username&uid=%ff%fe"},
	{"invalid utf8 in list", fnUsers + "&uidsource=username&uids[0]=alice&uids[1]=%c3%28"},
	{"nul byte", fnUser + "&uidsource=username&uid=alice%00"},
	{"html in uid", fnUser + "&uidsource=username&uid=%3Cscript%3Ealert(1)%3C%2Fscript%3E"},
	{"huge array", fnUsers + "&uidsource=id" + strings.Repeat("&uids[]=3", 6000)},
	{"many vars", fnUsers + "&uidsource=id" + strings.Repeat("&x=1", 11000)},
	{"deep nesting", fnUser + "&uidsource=id&uid=3&a" + strings.Repeat("[a]", 100) + "=1"},
	{"oversized body", fnUser + "&uidsource=id&uid=" + strings.Repeat("9", 5<<20)},
	{"huge value", fnUser + "&uidsource=username&uid=" + strings.Repeat("a", 1<<20)},
	{"negative id", fnUser + "&uidsource=id&uid=-3"},
	{"zero id", fnUser + "&uidsource=id&uid=0"},
	{"empty uidsource", fnUser + "&uidsource=&uid=3"},
	{"wsfunction array", "wsfunction[]=" + FuncUserStats + "&uidsource=id&uid=3"},
	{"unknown function", "wsfunction=%27%3B--"},
	{"bad cidsource", fnUsers + "&uidsource=id&uids[0]=3&cidsource=category&cid=1"},
	{"window reversed", fnUsers + "&uidsource=id&uids[0]=3&from=10&to=5"},
	{"bad percent escapes", fnUser + "&uidsource=id&uid=%zz%"},
}

func TestBadInputCorpus(t *testing.T) {
	h := newTestHandler(t)
	for _, tc := range badInputs {
		for _, format := range []string{formatJSON, formatXML} {
			body := "moodlewsrestformat=" + format + "&" + tokSite + tc.body
			w := serve(h, request{body: body})
			if w.Code != http.StatusOK {
				t.Errorf("%s/%s: status %d", tc.name, format, w.Code)
			}
			checkWellFormed(t, format, w.Body.Bytes())
			if !isException(w.Body.Bytes()) {
				t.Errorf("%s/%s: not an exception: %.300s", tc.name, format, w.Body)
			}
			if bytes.Contains(w.Body.Bytes(), []byte("generalexceptionmessage")) {
				t.Errorf("%s/%s: internal error for bad input: %s", tc.name, format, w.Body)
			}
		}
	}
}

// TestDependencyFailures checks that directory and log failures become
// Moodle exceptions without leaking details.
func TestDependencyFailures(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{errors.New("pq: password authentication failed for user moodle"), "generalexceptionmessage"},
		{aggregation.Errorf(aggregation.EUnavailable, "dial tcp 10.0.0.5:5432: connection refused"), "dbconnectionfailed"},
	} {
		dir := newDirectory()
		dir.SetFailure(tc.err)
		h := newTestHandler(t, func(c *testConfig) { c.Directory = dir })
		for _, body := range []string{
			fnUser + "&uidsource=username&uid=alice",
			fnUsers + "&uidsource=id&uids[0]=3",
			fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=2",
			fnInfo,
		} {
			w := serve(h, request{body: tokSite + body + "&moodlewsrestformat=json"})
			if got := errorCode(jsonCallBody(t, w.Body.Bytes())); got != tc.code {
				t.Errorf("%s: errorcode %q, want %q", body, got, tc.code)
			}
			if strings.Contains(w.Body.String(), "password") || strings.Contains(w.Body.String(), "10.0.0.5") {
				t.Errorf("details leaked: %s", w.Body)
			}
		}
	}
}

func jsonCallBody(t *testing.T, b []byte) any {
	t.Helper()
	v := jsonCall(t, nopHandler(b), request{})
	return v
}

// nopHandler answers every request with a fixed body.
type nopHandler []byte

func (b nopHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(b) }
