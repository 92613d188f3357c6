package webservice

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// A multipart body over the limit is refused as too large (not as a
// malformed body cut short), and the format asked for before the cut is
// kept.
func TestMultipartTooLarge(t *testing.T) {
	h := newTestHandler(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"moodlewsrestformat": "json", "wstoken": "sitetoken", "wsfunction": FuncUserStats} {
		_ = mw.WriteField(k, v)
	}
	_ = mw.WriteField("uid", strings.Repeat("x", 5<<20))
	_ = mw.Close()
	w := serve(h, request{body: buf.String(), ctype: mw.FormDataContentType()})
	got := w.Body.String()
	if !strings.Contains(got, "larger than 4194304 bytes") || strings.Contains(got, "EOF") || !strings.HasPrefix(got, "{") {
		t.Errorf("too large multipart: %s", got)
	}
}

// A huge value comes back in an error only as a short prefix, whichever
// check refuses it.
func TestErrorsEchoOnlyAPrefix(t *testing.T) {
	h := newTestHandler(t)
	huge := strings.Repeat("ü", 1<<20) // 2 MiB, multi-byte: the cut keeps valid UTF-8
	for _, body := range []string{
		tokSite + fnUser + "&uidsource=id&uid=" + huge,
		tokSite + fnUser + "&uidsource=" + huge + "&uid=3",
		tokSite + fnUser + "&uidsource=username&uid=" + huge,
		tokSite + fnUsers + "&uidsource=username&uids[0]=" + huge,
		tokSite + fnUser + "&uidsource=id&uid=3&cidsource=shortname&cid=" + huge,
		tokSite + fnUser + "&uidsource=id&uid=3&from=" + huge,
		tokSite + fnUser + "&uidsource=id&uid=3&" + huge + "=1",
		tokSite + "wsfunction=" + huge,
	} {
		for _, format := range []string{formatJSON, formatXML} {
			w := serve(h, request{body: "moodlewsrestformat=" + format + "&" + body})
			if n := w.Body.Len(); n > 2048 || !isException(w.Body.Bytes()) {
				t.Errorf("%s…: %d bytes: %.300s", body[:60], n, w.Body)
			}
			checkWellFormed(t, format, w.Body.Bytes())
		}
	}
}

// Observe hears of every call, with a bounded function label and its
// outcome, though every answer is HTTP 200.
func TestObserveOutcomes(t *testing.T) {
	type seen struct{ fn, outcome string }
	var got []seen
	h := newTestHandler(t, func(c *testConfig) {
		c.Observe = func(_ *http.Request, fn, outcome string) { got = append(got, seen{fn, outcome}) }
	})
	cases := []struct {
		body string
		want seen
	}{
		{tokSite + fnUser + "&uidsource=id&uid=3", seen{FuncUserStats, OutcomeOK}},
		{tokSite + fnUser + "&uidsource=id&uid=x", seen{FuncUserStats, OutcomeUserError}},
		{"wstoken=nope&" + fnUser + "&uidsource=id&uid=3", seen{FuncUserStats, OutcomeUnauthenticated}},
		{"wstoken=downtoken&" + fnInfo, seen{FuncSiteInfo, OutcomeUnavailable}},
		{"wstoken=brokentoken&" + fnInfo, seen{FuncSiteInfo, OutcomeInternal}},
		{"wstoken=coursetoken&" + fnUser + "&uidsource=id&uid=3", seen{FuncUserStats, OutcomeForbidden}},
		{tokSite + "wsfunction=" + strings.Repeat("z", 100), seen{"unknown", OutcomeUserError}},
	}
	for _, c := range cases {
		got = got[:0]
		serve(h, request{body: c.body})
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%.60s: observed %v, want %v", c.body, got, c.want)
		}
	}
}
