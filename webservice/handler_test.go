package webservice

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

func TestHeaders(t *testing.T) {
	h := newTestHandler(t)
	for _, tc := range []struct {
		rq    request
		ctype string
	}{
		{request{body: tokSite + fnInfo}, "application/xml; charset=utf-8"}, // xml is the default
		{request{body: tokSite + fnInfo + "&moodlewsrestformat=json"}, "application/json"},
		{request{body: tokSite + fnInfo + "&moodlewsrestformat=csv"}, "application/xml; charset=utf-8"},
		// Only exactly "json" selects JSON, as Moodle compares the raw value.
		{request{body: tokSite + fnInfo + "&moodlewsrestformat=JSON"}, "application/xml; charset=utf-8"},
		{request{body: tokSite + fnInfo + "&moodlewsrestformat=js0on"}, "application/xml; charset=utf-8"},
		{request{query: "moodlewsrestformat=json", body: tokSite + fnInfo + "&moodlewsrestformat=xml"}, "application/xml; charset=utf-8"},
		{request{body: "wstoken=bad&" + fnInfo + "&moodlewsrestformat=json"}, "application/json"},
	} {
		w := serve(h, tc.rq)
		if w.Code != 200 {
			t.Errorf("%v: status %d", tc.rq, w.Code)
		}
		hd := w.Header()
		if got := hd.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%v: Content-Type %q, want %q", tc.rq, got, tc.ctype)
		}
		if hd.Get("Access-Control-Allow-Origin") != "*" || hd.Get("Pragma") != "no-cache" ||
			hd.Get("Expires") != "Thu, 01 Jan 1970 00:00:00 GMT" || !strings.Contains(hd.Get("Cache-Control"), "max-age=0") {
			t.Errorf("%v: headers %v", tc.rq, hd)
		}
		if strings.HasPrefix(tc.ctype, "application/xml") && hd.Get("Content-Disposition") != `inline; filename="response.xml"` {
			t.Errorf("%v: Content-Disposition %q", tc.rq, hd.Get("Content-Disposition"))
		}
	}
}

func jsonCall(t *testing.T, h http.Handler, rq request) any {
	t.Helper()
	w := serve(h, rq)
	var v any
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	return v
}

func errorCode(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["errorcode"].(string)
	return s
}

func TestGetAndPostMerge(t *testing.T) {
	h := newTestHandler(t)
	// Everything in the query string (GET).
	v := jsonCall(t, h, request{method: http.MethodGet, query: tokSite + fnUser + "&uidsource=id&uid=3&moodlewsrestformat=json"})
	if m, ok := v.(map[string]any); !ok || m["user"] == nil {
		t.Fatalf("GET: %v", v)
	}
	// Token and function in the query, parameters in the body; POST wins
	// on a duplicate key (uid=4 in the query, uid=3 in the body).
	v = jsonCall(t, h, request{query: tokSite + fnUser + "&uid=4&moodlewsrestformat=json", body: "uidsource=id&uid=3"})
	if id := v.(map[string]any)["user"].(map[string]any)["id"]; id != 3.0 {
		t.Errorf("POST did not win: user %v", id)
	}
	// The top-level merge replaces a whole array: uids from the body only.
	v = jsonCall(t, h, request{query: tokSite + fnUsers + "&uids[0]=4&uids[1]=5&moodlewsrestformat=json", body: "uidsource=id&uids[0]=3"})
	if list, ok := v.([]any); !ok || len(list) != 1 {
		t.Errorf("merge: %v", v)
	}
	// moodlewssetting* variables are consumed, not function parameters.
	v = jsonCall(t, h, request{body: tokSite + fnUser + "&uidsource=id&uid=3&moodlewssettingfilter=1&moodlewssettinglang=fr&moodlewsrestformat=json"})
	if errorCode(v) != "" {
		t.Errorf("settings: %v", v)
	}
	// A body of another type is ignored, as PHP does.
	v = jsonCall(t, h, request{query: "moodlewsrestformat=json", body: `{"wstoken":"sitetoken"}`, ctype: "application/json"})
	if errorCode(v) != "invalidtoken" {
		t.Errorf("json body: %v", v)
	}
}

func TestMultipart(t *testing.T) {
	h := newTestHandler(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, kv := range [][2]string{
		{"wstoken", "sitetoken"}, {"wsfunction", FuncUsersCourseStats}, {"moodlewsrestformat", "json"},
		{"uidsource", "username"}, {"uids[0]", "alice"}, {"uids[1]", "bob"}, {"cidsource", "id"}, {"cid", "2"},
	} {
		_ = mw.WriteField(kv[0], kv[1])
	}
	fw, _ := mw.CreateFormFile("file", "x.txt") // files are not parameters
	_, _ = fw.Write([]byte("ignored"))
	_ = mw.Close()
	v := jsonCall(t, h, request{body: body.String(), ctype: mw.FormDataContentType()})
	list, ok := v.([]any)
	if !ok || len(list) != 2 {
		t.Fatalf("multipart: %v", v)
	}
	// Same answer as the urlencoded call.
	w := serve(h, request{body: tokSite + fnCourse + "&moodlewsrestformat=json&uidsource=username&uids[0]=alice&uids[1]=bob&cidsource=id&cid=2"})
	got, _ := json.Marshal(v)
	var want any
	_ = json.Unmarshal(w.Body.Bytes(), &want)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) {
		t.Errorf("multipart %s\n urlencoded %s", got, wantJSON)
	}
	// A multipart body without boundary is a Moodle error, not a 500.
	v = jsonCall(t, h, request{query: "moodlewsrestformat=json", body: "x", ctype: "multipart/form-data"})
	if errorCode(v) != "invalidparameter" {
		t.Errorf("no boundary: %v", v)
	}
}

func TestScopes(t *testing.T) {
	h := newTestHandler(t)
	cases := []struct {
		body, code string
	}{
		{"wstoken=alicetoken&" + fnUser + "&uidsource=username&uid=alice", ""},
		{"wstoken=alicetoken&" + fnUsers + "&uidsource=id&uids[0]=3&uids[1]=4", "nopermissions"},
		{"wstoken=coursetoken&" + fnCourse + "&uidsource=id&uids[0]=3&uids[1]=4&cidsource=id&cid=2", ""},
		{"wstoken=coursetoken&" + fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=3", "nopermissions"},
		{"wstoken=coursetoken&" + fnUser + "&uidsource=id&uid=3", "nopermissions"},
		{"wstoken=coursetoken&" + fnUser + "&uidsource=id&uid=3&cidsource=id&cid=2", ""},
		{"wstoken=infotoken&" + fnUsers + "&uidsource=id&uids[0]=3", "accessexception"},
		{"wstoken=wstoken&" + fnUser + "&uidsource=id&uid=3", ""},
		{"wstoken=wstoken&" + fnUsers + "&uidsource=username&uids[0]=alice&uids[1]=bob", ""},
		{"wstoken=wstoken&" + fnCourse + "&uidsource=id&uids[0]=3&uids[1]=4&cidsource=id&cid=3", ""},
		{"wstoken=wstoken&" + fnInfo, ""},
	}
	for _, tc := range cases {
		v := jsonCall(t, h, request{body: tc.body + "&moodlewsrestformat=json"})
		if got := errorCode(v); got != tc.code {
			t.Errorf("%s: errorcode %q, want %q (%v)", tc.body, got, tc.code, v)
		}
	}
	// IP restriction passes from the allowed address.
	v := jsonCall(t, h, request{body: "wstoken=iptoken&" + fnInfo + "&moodlewsrestformat=json", ip: "10.0.0.1"})
	if errorCode(v) != "" {
		t.Errorf("allowed IP: %v", v)
	}
}

func TestHideDebugInfo(t *testing.T) {
	h := newTestHandler(t, func(c *testConfig) { c.HideDebugInfo = true })
	w := serve(h, request{body: tokSite + fnUser + "&uidsource=id&uid=3&foo=1&moodlewsrestformat=json"})
	want := `{"exception":"invalid_parameter_exception","errorcode":"invalidparameter","message":"Invalid parameter value detected"}`
	if w.Body.String() != want {
		t.Errorf("got %s", w.Body)
	}
}

// TestBatches checks that the batch size and MaxUsers do not change the
// answer, and that MaxUsers is enforced.
func TestBatches(t *testing.T) {
	body := tokSite + fnUsers + "&moodlewsrestformat=json&uidsource=id&uids[]=3&uids[]=4&uids[]=5&uids[]=3"
	want := serve(newTestHandler(t), request{body: body}).Body.String()
	got := serve(newTestHandler(t, func(c *testConfig) { c.BatchSize = 1 }), request{body: body}).Body.String()
	if got != want || !strings.HasPrefix(got, "[") {
		t.Errorf("batch size 1:\n%s\nwant\n%s", got, want)
	}
	v := jsonCall(t, newTestHandler(t, func(c *testConfig) { c.MaxUsers = 3 }), request{body: body})
	if errorCode(v) != "invalidparameter" || !strings.Contains(v.(map[string]any)["debuginfo"].(string), "at most 3") {
		t.Errorf("MaxUsers: %v", v)
	}
}

// TestNumbersMatchCore checks the mapping of the core's result onto the
// Moodle fields for alice's course 2.
func TestNumbersMatchCore(t *testing.T) {
	p, _ := aggregation.Preset(aggregation.DefaultPolicy)
	acc := aggregation.NewAccumulator(nil)
	w := aggregation.Window{From: 0, To: now}
	p, err := aggregation.ComputeUser(context.Background(), newLogs(), 3, p, w, now, acc)
	if err != nil {
		t.Fatal(err)
	}
	res := acc.Result(3, p, w)
	cs := res.Course(2)
	v := jsonCall(t, newTestHandler(t), request{body: tokSite + fnUser + "&moodlewsrestformat=json&uidsource=id&uid=3&cidsource=id&cid=2"})
	c := v.(map[string]any)["courses"].([]any)[0].(map[string]any)
	for k, want := range map[string]int64{
		"activitytime": cs.Activities.Elapsed, "coursetime": cs.CourseLevel.Elapsed,
		"coursetotal": cs.Total.Elapsed, "othertime": cs.Other.Elapsed, "sitecoursetime": res.Course(1).CourseLevel.Elapsed,
	} {
		if c[k] != float64(want) {
			t.Errorf("%s = %v, want %d", k, c[k], want)
		}
	}
	if cs.Other.Elapsed == 0 || cs.Activities.Elapsed == 0 {
		t.Error("fixture should exercise activity and other time (W1)")
	}
	if site := res.Course(1); site.CourseLevel.Elapsed == 0 || site.Total.Elapsed == site.CourseLevel.Elapsed {
		t.Error("fixture should have front-page time at course level and in an activity")
	}
	last := res.Sessions[len(res.Sessions)-1]
	if s := v.(map[string]any)["sessions"].(map[string]any); s["lastsession"] != float64(last.End) {
		t.Errorf("lastsession %v, want end of last session %d", s["lastsession"], last.End)
	}
}

func TestNewRequiresConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted an empty config")
	}
	bad := Config{Authenticate: authenticate, Directory: newDirectory(), Service: newService(t, newLogs(), 0, slog.Default()),
		Policy: aggregation.Policy{Name: "x", Threshold: -1}}
	if _, err := New(bad); err == nil {
		t.Error("New accepted an invalid policy")
	}
}

func TestPanicIsMoodleError(t *testing.T) {
	h := newTestHandler(t, func(c *testConfig) {
		c.Authenticate = func(context.Context, string, string) (Principal, error) { panic("boom") }
	})
	r := httptest.NewRequest(http.MethodGet, Path+"?moodlewsrestformat=json", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"errorcode":"generalexceptionmessage"`) {
		t.Errorf("panic: %d %s", w.Code, w.Body)
	}
}

// stallingLogs is a log that answers only when the call's context ends.
type stallingLogs struct{}

func (stallingLogs) UserEvents(ctx context.Context, _, _, _ int64, _ func(*aggregation.Event) bool) error {
	<-ctx.Done()
	return ctx.Err()
}

// A call past Config.Timeout while the log read stalls answers Moodle's
// dml_read_exception saying so, in both formats; a client that went away
// is not blamed on the server.
func TestTimeout(t *testing.T) {
	var logs strings.Builder
	h := newTestHandler(t, func(c *testConfig) {
		c.Logs, c.Timeout = stallingLogs{}, 20*time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	for _, fn := range []string{fnUser + "&uidsource=id&uid=3", fnUsers + "&uidsource=id&uids[0]=3&uids[1]=4", fnCourse + "&uidsource=id&uids[0]=3&cidsource=id&cid=2"} {
		v := jsonCall(t, h, request{body: tokSite + fn + "&moodlewsrestformat=json"})
		m, _ := v.(map[string]any)
		if errorCode(v) != "dmlreadexception" || !strings.Contains(fmt.Sprint(m["debuginfo"]), "took longer than 20ms") {
			t.Errorf("%s: %v", fn, v)
		}
	}
	w := serve(h, request{body: tokSite + fnUser + "&uidsource=id&uid=3"})
	if !strings.Contains(w.Body.String(), `<EXCEPTION class="dml_read_exception">`) ||
		!strings.Contains(w.Body.String(), "<DEBUGINFO>The call took longer than 20ms.") {
		t.Errorf("xml: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "timed out") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("logs: %s", logs.String())
	}

	// The client cancels: the answer (which nobody reads) says so, and
	// nothing is logged as an error.
	logs.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(tokSite+fnUser+"&uidsource=id&uid=3&moodlewsrestformat=json")).WithContext(ctx)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	newTestHandler(t, func(c *testConfig) {
		c.Logs = stallingLogs{}
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}).ServeHTTP(rec, r)
	if !strings.Contains(rec.Body.String(), "cancelled") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("cancelled: %s / %s", rec.Body, logs.String())
	}
}
