package resolvers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/resolvers"
)

// Distributed recollection: User.stats(hosts:, allHosts:) with a fake
// RemoteStats (fixture_test.go). Learner 7's local time is 2110 s, 2050 s
// of it in course 5 (Course Five, C5, c5).

type hostCourse struct {
	Name      string `json:"name"`
	Shortname string `json:"shortname"`
	Idnumber  string `json:"idnumber"`
	Total     int64  `json:"total"`
}

type hostError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type hostRow struct {
	Wwwroot string       `json:"wwwroot"`
	Name    string       `json:"name"`
	Local   bool         `json:"local"`
	Ok      bool         `json:"ok"`
	Total   *int64       `json:"total"`
	Courses []hostCourse `json:"courses"`
	Error   *hostError   `json:"error"`
}

type hostsAnswer struct {
	User struct {
		Stats struct {
			Total         int64     `json:"total"`
			AllHostsTotal int64     `json:"allHostsTotal"`
			Hosts         []hostRow `json:"hosts"`
		} `json:"stats"`
	} `json:"user"`
}

const hostFields = `wwwroot name local ok total courses { name shortname idnumber total } error { code message }`

// hostsQuery asks learner 7's stats with the given stats arguments.
func hostsQuery(args string) string {
	return `{ user(by: {id: 7}) { stats(` + args + `) { total allHostsTotal hosts { ` + hostFields + ` } } } }`
}

// localRow is learner 7's row of this site at MODULE or COURSE scope.
func localRow() hostRow {
	return hostRow{Name: "this site", Local: true, Ok: true, Total: ptr(int64(2110)),
		Courses: []hostCourse{{Name: "Course Five", Shortname: "C5", Idnumber: "c5", Total: 2050}}}
}

func TestHostsRows(t *testing.T) {
	rm := newRemote()
	e := newEnv(t, withRemote(rm))
	var got hostsAnswer
	e.ok("site-token", hostsQuery(`hosts: ["https://b.example", " https://down.example", "https://a.example/", "https://nowhere.example"]`), nil, &got)
	s := got.User.Stats
	wantEqual(t, "total", s.Total, 2110)
	// Only the peers that answered add up: 2110 + 600 (B) + 3600 (A).
	wantEqual(t, "allHostsTotal", s.AllHostsTotal, 2110+600+3600)
	wantEqual(t, "hosts", s.Hosts, []hostRow{
		localRow(),
		{Wwwroot: peerB, Name: "Site B", Ok: true, Total: ptr(int64(600)), Courses: []hostCourse{}},
		{Wwwroot: peerDown, Name: "Down", Courses: []hostCourse{},
			Error: &hostError{Code: "UNAVAILABLE", Message: "https://down.example: connect failed: connection refused"}},
		{Wwwroot: peerA, Name: "Site A", Ok: true, Total: ptr(int64(3600)), Courses: []hostCourse{
			{Name: "Algebra", Shortname: "ALG", Idnumber: "A1", Total: 2400},
			{Name: "Biology", Shortname: "BIO", Total: 1200},
		}},
		{Wwwroot: "https://nowhere.example", Courses: []hostCourse{},
			Error: &hostError{Code: "NOT_FOUND", Message: "https://nowhere.example is not a registered host"}},
	})
	calls, lists := rm.Calls()
	if len(calls) != 1 {
		t.Fatalf("UserStats calls = %d, want 1", len(calls))
	}
	// Asked in order, spaces and trailing slash dropped, for the username
	// since the range's start (the epoch by default).
	wantEqual(t, "asked hosts", calls[0].hosts, []string{peerB, peerDown, peerA, "https://nowhere.example"})
	wantEqual(t, "username", calls[0].username, "learner7")
	wantEqual(t, "from", calls[0].from, 0)
	wantEqual(t, "Hosts calls", lists, 0)
}

// Every field that shows the peers shares one gathering per statistic,
// and the range's start is what the peers count from.
func TestHostsAskedOnce(t *testing.T) {
	rm := newRemote()
	e := newEnv(t, withRemote(rm))
	q := `{ user(by: {id: 7}) { stats(range: {from: "2023-11-14"}, hosts: ["https://a.example", "https://b.example"]) {
	  allHostsTotal hosts { ok total } again: hosts { wwwroot courses { total } } sum: allHostsTotal } } }`
	var got struct {
		User struct {
			Stats struct {
				AllHostsTotal int64 `json:"allHostsTotal"`
				Sum           int64 `json:"sum"`
				Hosts         []struct {
					Ok bool `json:"ok"`
				} `json:"hosts"`
				Again []struct {
					Wwwroot string `json:"wwwroot"`
				} `json:"again"`
			} `json:"stats"`
		} `json:"user"`
	}
	e.ok("site-token", q, nil, &got)
	s := got.User.Stats
	wantEqual(t, "allHostsTotal", s.AllHostsTotal, 2110+3600+600)
	wantEqual(t, "sum", s.Sum, s.AllHostsTotal)
	if len(s.Hosts) != 3 || len(s.Again) != 3 || s.Again[1].Wwwroot != peerA {
		t.Errorf("rows: %+v", s)
	}
	calls, _ := rm.Calls()
	if len(calls) != 1 {
		t.Fatalf("UserStats calls = %d, want 1 per statistic", len(calls))
	}
	wantEqual(t, "from", calls[0].from, time.Date(2023, 11, 14, 0, 0, 0, 0, time.UTC).Unix())
}

// allHosts asks every registered host, in the order Hosts lists them.
func TestAllHosts(t *testing.T) {
	rm := newRemote()
	e := newEnv(t, withRemote(rm))
	var got hostsAnswer
	e.ok("site-token", hostsQuery(`allHosts: true`), nil, &got)
	s := got.User.Stats
	var roots []string
	for _, h := range s.Hosts {
		roots = append(roots, h.Wwwroot)
	}
	wantEqual(t, "rows", roots, []string{"", peerA, peerDown, peerB})
	wantEqual(t, "allHostsTotal", s.AllHostsTotal, 2110+3600+600)
	calls, lists := rm.Calls()
	wantEqual(t, "Hosts calls", lists, 1)
	if len(calls) != 1 {
		t.Fatalf("UserStats calls = %d, want 1", len(calls))
	}
	wantEqual(t, "asked hosts", calls[0].hosts, []string{peerA, peerDown, peerB})

	// A failing host list fails the fields that need it (its details are
	// logged, never sent).
	rm2 := newRemote()
	rm2.listErr = fmt.Errorf("mnet_host: %w", aggregation.Errorf(aggregation.EUnavailable, "database at 10.4.4.4 unreachable"))
	e2 := newEnv(t, withRemote(rm2))
	r := e2.fails("site-token", `{ user(by: {id: 7}) { stats(allHosts: true) { total hosts { ok } } } }`, nil, "UNAVAILABLE")
	if strings.Contains(string(r.Body), "10.4.4.4") || !strings.Contains(e2.log.String(), "10.4.4.4") {
		t.Errorf("body %s, log %s", r.Body, e2.log)
	}
}

// Without hosts or allHosts: no rows, allHostsTotal is total, nobody asked.
func TestNoHosts(t *testing.T) {
	rm := newRemote()
	for name, e := range map[string]*env{"remote": newEnv(t, withRemote(rm)), "no remote": newEnv(t)} {
		for _, args := range []string{`scope: MODULE`, `allHosts: false`} {
			var got hostsAnswer
			e.ok("site-token", hostsQuery(args), nil, &got)
			s := got.User.Stats
			wantEqual(t, name+": hosts", s.Hosts, []hostRow{})
			wantEqual(t, name+": allHostsTotal", s.AllHostsTotal, s.Total)
			wantEqual(t, name+": total", s.Total, 2110)
		}
		// Tokens without site:read may select the fields too.
		var got hostsAnswer
		e.ok("self7-token", hostsQuery(`scope: COURSE`), nil, &got)
		wantEqual(t, name+": self: allHostsTotal", got.User.Stats.AllHostsTotal, 2110)
	}
	if calls, lists := rm.Calls(); len(calls) != 0 || lists != 0 {
		t.Errorf("remote asked %d times, listed %d times", len(calls), lists)
	}
}

// An empty hosts list gives this site's row only; SITE scope leaves every
// row's courses out.
func TestHostsEmptyListAndSiteScope(t *testing.T) {
	rm := newRemote()
	e := newEnv(t, withRemote(rm))
	var got hostsAnswer
	e.ok("site-token", hostsQuery(`hosts: []`), nil, &got)
	wantEqual(t, "empty list", got.User.Stats.Hosts, []hostRow{localRow()})
	wantEqual(t, "empty list: allHostsTotal", got.User.Stats.AllHostsTotal, 2110)

	e.ok("site-token", hostsQuery(`scope: SITE, hosts: ["https://a.example"]`), nil, &got)
	for _, h := range got.User.Stats.Hosts {
		if len(h.Courses) != 0 || !h.Ok {
			t.Errorf("SITE scope: %+v", h)
		}
	}
	wantEqual(t, "SITE: allHostsTotal", got.User.Stats.AllHostsTotal, 2110+3600)
	if calls, _ := rm.Calls(); len(calls) != 1 {
		t.Errorf("UserStats calls = %d, want 1 (none for the empty list)", len(calls))
	}
}

func TestHostsRefused(t *testing.T) {
	rm := newRemote()
	e := newEnv(t, withRemote(rm))
	// Asking hosts needs site:read, even for one's own time.
	for _, token := range []string{"self7-token", "course5-token"} {
		for _, args := range []string{`hosts: ["https://a.example"]`, `allHosts: true`, `hosts: []`} {
			r := e.fails(token, hostsQuery(args), nil, "FORBIDDEN")
			if !strings.Contains(r.Errors[0].Message, "site:read") {
				t.Errorf("%s %s: %s", token, args, r.Errors[0].Message)
			}
		}
	}
	// Invalid arguments.
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf("https://h%d.example", i)
	}
	for _, tc := range []struct {
		args string
		vars map[string]any
	}{
		{`hosts: ["https://a.example"], allHosts: true`, nil},
		{`hosts: [], allHosts: true`, nil},
		{`hosts: $hosts`, map[string]any{"hosts": many}},
		{`hosts: ["https://a.example", "https://a.example/"]`, nil},
		{`hosts: [" "]`, nil},
	} {
		q := `{ user(by: {id: 7}) { stats(` + tc.args + `) { total hosts { ok } } } }`
		if tc.vars != nil {
			q = "query($hosts: [String!]) " + q
		}
		e.fails("site-token", q, tc.vars, "BAD_USER_INPUT")
	}
	// 50 hosts are fine.
	var got hostsAnswer
	e.ok("site-token", `query($hosts: [String!]) { user(by: {id: 7}) { stats(hosts: $hosts) { total allHostsTotal hosts { `+hostFields+` } } } }`,
		map[string]any{"hosts": many[:50]}, &got)
	wantEqual(t, "50 hosts: rows", len(got.User.Stats.Hosts), 51)
	if calls, lists := rm.Calls(); len(calls) != 1 || lists != 0 {
		t.Errorf("remote asked %d times, listed %d times; want once (the 50 hosts)", len(calls), lists)
	}

	// Without MNET: UNAVAILABLE, saying why.
	off := newEnv(t)
	for _, args := range []string{`hosts: ["https://a.example"]`, `allHosts: true`} {
		r := off.fails("site-token", hostsQuery(args), nil, "UNAVAILABLE")
		if !strings.Contains(r.Errors[0].Message, "MNET is not configured") {
			t.Errorf("%s: message %q", args, r.Errors[0].Message)
		}
	}
}

// The peers are asked within RemoteTimeout, and within the request's
// deadline when that is sooner; a peer that does not answer in time is a
// row, not an error.
func TestRemoteDeadline(t *testing.T) {
	rm := newRemote()
	e := newEnv(t, withRemote(rm), func(c *envConfig) { c.RemoteTimeout = 200 * time.Millisecond })
	start := time.Now()
	var got hostsAnswer
	e.ok("site-token", hostsQuery(`hosts: ["https://slow.example", "https://b.example"]`), nil, &got)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	calls, _ := rm.Calls()
	if len(calls) != 1 || calls[0].left <= 0 || calls[0].left > 200*time.Millisecond {
		t.Fatalf("calls %+v: want one with a deadline at most 200ms away", calls)
	}
	s := got.User.Stats
	wantEqual(t, "slow row", s.Hosts[1], hostRow{Wwwroot: peerSlow, Courses: []hostCourse{},
		Error: &hostError{Code: "UNAVAILABLE", Message: "https://slow.example did not answer before the deadline"}})
	wantEqual(t, "allHostsTotal", s.AllHostsTotal, 2110+600)

	// The request's deadline bounds the peers too.
	rm = newRemote()
	e = newEnv(t, withRemote(rm), func(c *envConfig) { c.Timeout = 2 * time.Second; c.RemoteTimeout = time.Hour })
	e.ok("site-token", hostsQuery(`hosts: ["https://a.example"]`), nil, &got)
	calls, _ = rm.Calls()
	if len(calls) != 1 || calls[0].left <= 0 || calls[0].left > 2*time.Second {
		t.Fatalf("calls %+v: want one with a deadline at most 2s away", calls)
	}

	// Default: 10 s.
	rm = newRemote()
	e = newEnv(t, withRemote(rm))
	e.ok("site-token", hostsQuery(`hosts: ["https://a.example"]`), nil, &got)
	calls, _ = rm.Calls()
	if len(calls) != 1 || calls[0].left <= 0 || calls[0].left > resolvers.DefaultRemoteTimeout {
		t.Fatalf("calls %+v: want one with a deadline at most 10s away", calls)
	}
	if _, err := resolvers.NewHandler(resolvers.Config{Service: e.service(nil, 0, nil), Directory: e.dir, Authenticate: authenticate, RemoteTimeout: -time.Second}); err == nil {
		t.Error("a negative RemoteTimeout must be refused")
	}
}

// Asking peers is priced like a log scan, their rows like a list of 51.
func TestHostsComplexity(t *testing.T) {
	e := newEnv(t, withRemote(newRemote()))
	wide := `{ users(first: 100) { edges { node { stats(allHosts: true) { hosts { ok total courses { name total } } } } } } }`
	wantEqual(t, "page of users asking every host", e.post("site-token", "", wide, nil).codes(), []string{"COMPLEXITY_LIMIT_EXCEEDED"})
	var got hostsAnswer
	e.ok("site-token", hostsQuery(`allHosts: true`), nil, &got)
}
