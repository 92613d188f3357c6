package webservice

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// request describes one REST call of the tests.
type request struct {
	method string // default POST
	query  string // URL query string
	body   string // urlencoded body (POST)
	ctype  string // default application/x-www-form-urlencoded
	ip     string
}

// serve runs the request through h.
func serve(h http.Handler, rq request) *httptest.ResponseRecorder {
	method := rq.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(rq.body)
	}
	r := httptest.NewRequest(method, Path+"?"+rq.query, body)
	if method == http.MethodPost {
		ct := rq.ctype
		if ct == "" {
			ct = "application/x-www-form-urlencoded"
		}
		r.Header.Set("Content-Type", ct)
	}
	if rq.ip != "" {
		r.RemoteAddr = rq.ip + ":5555"
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// checkWellFormed fails unless body is a valid document of the format.
func checkWellFormed(t *testing.T, format string, body []byte) {
	t.Helper()
	if format == formatJSON {
		if !json.Valid(body) {
			t.Fatalf("invalid JSON: %s", body)
		}
		return
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("invalid XML (%v): %s", err, body)
		}
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

const (
	fnUser   = "wsfunction=" + FuncUserStats
	fnUsers  = "wsfunction=" + FuncUsersStats
	fnCourse = "wsfunction=" + FuncUsersCourseStats
	fnInfo   = "wsfunction=" + FuncSiteInfo
	tokSite  = "wstoken=sitetoken&"
)

// goldenCases are the calls whose json and xml answers are golden files.
var goldenCases = []struct {
	name string
	rq   request
}{
	// Successes.
	{"site_info", request{body: tokSite + fnInfo}},
	{"site_info_restricted", request{body: "wstoken=infotoken&" + fnInfo}},
	{"site_info_no_export", request{body: "wstoken=noexporttoken&" + fnInfo}},
	{"user_stats", request{body: tokSite + fnUser + "&uidsource=username&uid=alice"}},
	{"user_stats_noscore", request{body: tokSite + fnUser + "&uidsource=idnumber&uid=A-001&score=0&from=" + itoa(t0) + "&to=" + itoa(now)}},
	{"user_stats_course_filter", request{body: tokSite + fnUser + "&uidsource=id&uid=3&cidsource=shortname&cid=HIST"}},
	{"user_stats_no_logs", request{body: tokSite + fnUser + "&uidsource=username&uid=carol"}},
	{"users_stats", request{body: tokSite + fnUsers + "&uidsource=id&uids%5B0%5D=3&uids%5B1%5D=4&uids%5B2%5D=5&cidsource=id&cid=2&from=0&to=0&score=1"}},
	{"users_course_stats", request{body: tokSite + fnCourse + "&uidsource=username&uids[]=alice&uids[]=bob&uids[]=carol&cidsource=shortname&cid=MATH101"}},
	{"users_course_stats_noscore", request{body: tokSite + fnCourse + "&uidsource=id&uids[0]=4&cidsource=idnumber&cid=M101&score=0"}},
	// Token and access errors.
	{"err_invalidtoken", request{body: "wstoken=nope&" + fnInfo}},
	{"err_notoken", request{body: fnInfo}},
	{"err_expiredtoken", request{body: "wstoken=expiredtoken&" + fnInfo}},
	{"err_iprestriction", request{body: "wstoken=iptoken&" + fnInfo, ip: "192.0.2.7"}},
	{"err_function_not_allowed", request{body: "wstoken=infotoken&" + fnUser + "&uidsource=id&uid=3"}},
	{"err_nopermissions", request{body: "wstoken=alicetoken&" + fnUser + "&uidsource=id&uid=4"}},
	{"err_no_export", request{body: "wstoken=noexporttoken&" + fnUser + "&uidsource=username&uid=zed"}},
	{"err_user_suspended", request{body: "wstoken=suspendedtoken&" + fnInfo}},
	{"err_not_participant", request{body: "wstoken=coursetoken&" + fnCourse + "&uidsource=id&uids[0]=6&cidsource=id&cid=2"}},
	{"err_internal", request{body: "wstoken=brokentoken&" + fnInfo}},
	{"err_restricted_context", request{body: "wstoken=contexttoken&" + fnUser + "&uidsource=id&uid=3"}},
	{"site_info_restricted_context", request{body: "wstoken=contexttoken&" + fnInfo}},
	{"user_stats_course_token", request{body: "wstoken=coursetoken&" + fnUser + "&uidsource=id&uid=3&cidsource=id&cid=2"}},
	{"err_unavailable", request{body: "wstoken=downtoken&" + fnInfo}},
	// Function lookup.
	{"err_unknown_function", request{body: tokSite + "wsfunction=core_user_get_users"}},
	{"err_missing_function", request{body: tokSite + "wsfunction="}},
	// Parameter validation.
	{"err_missing_key", request{body: tokSite + fnUser + "&uidsource=id"}},
	{"err_missing_uids", request{body: tokSite + fnUsers + "&uidsource=id"}},
	{"err_unexpected_keys", request{body: tokSite + fnUser + "&uidsource=id&uid=3&foo=1&bar[0]=2"}},
	{"err_param_int", request{body: tokSite + fnUser + "&uidsource=id&uid=3&from=012"}},
	{"err_param_alpha", request{body: tokSite + fnUser + "&uidsource=user1&uid=3"}},
	{"err_param_bool", request{body: tokSite + fnUsers + "&uidsource=id&uids[0]=3&score=true"}},
	{"err_param_text", request{body: tokSite + fnUser + "&uidsource=username&uid=%3Cb%3Ealice%3C%2Fb%3E"}},
	{"err_scalar_expected", request{body: tokSite + fnUser + "&uidsource=id&uid[0]=3"}},
	{"err_only_arrays", request{body: tokSite + fnUsers + "&uidsource=id&uids=3"}},
	{"err_nested_text", request{body: tokSite + fnUsers + "&uidsource=id&uids[0]=3&uids[1][x]=4"}},
	{"err_uidsource", request{body: tokSite + fnUser + "&uidsource=phone&uid=3"}},
	{"err_uid_not_id", request{body: tokSite + fnUser + "&uidsource=id&uid=abc"}},
	{"err_user_not_found", request{body: tokSite + fnUser + "&uidsource=username&uid=zed"}},
	{"err_user_ambiguous", request{body: tokSite + fnUser + "&uidsource=email&uid=shared@example.org"}},
	{"err_course_not_found", request{body: tokSite + fnUsers + "&uidsource=id&uids[0]=3&cidsource=shortname&cid=NOPE"}},
	{"err_course_required", request{body: tokSite + fnCourse + "&uidsource=id&uids[0]=3"}},
	{"err_window", request{body: tokSite + fnUser + "&uidsource=id&uid=3&from=100&to=50"}},
	{"err_too_many_users", request{body: tokSite + fnUsers + "&uidsource=id" + strings.Repeat("&uids[]=3", 1001)}},
	// Request limits.
	{"err_too_deep", request{body: tokSite + fnUser + "&uidsource=id&uid=3&a[1][2][3][4][5][6][7][8][9]=x"}},
	{"err_body_too_large", request{body: tokSite + fnUser + "&uid=" + strings.Repeat("x", 4<<20)}},
}

func TestGolden(t *testing.T) {
	h := newTestHandler(t)
	for _, tc := range goldenCases {
		for _, format := range []string{formatJSON, formatXML} {
			t.Run(tc.name+"."+format, func(t *testing.T) {
				rq := tc.rq
				rq.body = "moodlewsrestformat=" + format + "&" + rq.body
				w := serve(h, rq)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
				body := w.Body.Bytes()
				checkWellFormed(t, format, body)
				isErr := strings.HasPrefix(tc.name, "err_")
				if got := isException(body); got != isErr {
					t.Errorf("exception = %v, want %v: %s", got, isErr, body)
				}
				golden(t, tc.name+"."+format, body)
			})
		}
	}
}

// isException reports whether a response body is an exception document.
func isException(body []byte) bool {
	return bytes.HasPrefix(body, []byte(`{"exception":`)) || bytes.Contains(body, []byte("<EXCEPTION class="))
}
