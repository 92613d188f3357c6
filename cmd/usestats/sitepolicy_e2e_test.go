package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/mnet"
	"github.com/usestats/usestats/seed"
	"github.com/usestats/usestats/webservice"
)

// The proof of the site policy, on every Moodle database: a site
// whose block_use_stats settings say threshold = 30, lastpingcredit = 5,
// ignoremodules = forum gets those rules as the policy `site`, listed
// first by GraphQL, and the same totals from GraphQL without a policy,
// GraphQL with the explicit rules, the web services, MNET and `report` —
// totals the usestats preset does not give. A change of the settings
// while serve runs reaches every surface without a restart; without the
// settings the default is usestats again.
func TestSitePolicyEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds every database and runs serve")
	}
	every := siteSettingsEvery
	siteSettingsEvery = 100 * time.Millisecond
	t.Cleanup(func() { siteSettingsEvery = every })
	for _, s := range newRollupSites(t, 8, 30) {
		t.Run(s.name, func(t *testing.T) { checkSitePolicy(t, s) })
	}
}

// spTotals is one answer's policy and totals: the user's and each
// course's (by id), as one surface gives them.
type spTotals struct {
	policy, version, source string
	total                   int64
	courses                 map[int64]int64
	shortnames              map[int64]string
}

// sitePolicyHarness drives one site: its database, a serve running on it
// in this process, and the clients of each surface.
type sitePolicyHarness struct {
	s                 *rollupSite
	learner           string
	base              string
	gqlToken, wsToken string
	log               serveLog
	mnetClient        *mnet.Client
	mnetPeer          mnet.Peer
	mnetCaller        mnet.Struct
	db                *dbconn.DB // the Moodle database, writable
	settings          string     // its config_plugins table
}

// The site's rules as explicit parameters: alone, on top of the default
// policy (the proof); with the enrolment filter, which the block
// turns on by default, on top of the usestats preset (the site policy is
// usestats with the settings' changes).
const (
	siteRules     = `threshold: "30m", credit: "5m", ignore: ["forum"]`
	presetRules   = `name: "usestats", enrolmentFilter: true, `
	siteRulesLate = `threshold: "10m", credit: "5m", ignore: ["forum"]`
)

func checkSitePolicy(t *testing.T, s *rollupSite) {
	h := &sitePolicyHarness{s: s, settings: s.prefix + "config_plugins"}
	ctx := context.Background()
	var err error
	if h.db, err = dbconn.Open(ctx, s.moodle, dbconn.Options{}); err != nil {
		t.Fatal(err)
	}
	defer h.db.Close()
	// The learner with the most forum rows: ignoring forum changes their
	// time.
	if err := h.db.QueryRowContext(ctx, `SELECT u.username FROM `+s.prefix+`logstore_standard_log l
		JOIN `+s.prefix+`user u ON u.id = l.userid WHERE l.component = 'mod_forum' AND u.username LIKE 'learner%'
		GROUP BY u.username ORDER BY COUNT(*) DESC, u.username LIMIT 1`).Scan(&h.learner); err != nil {
		t.Fatalf("no learner with forum activity: %v", err)
	}

	// Without the block's settings, report's default is usestats.
	if rep := h.report(t); rep.policy != "usestats" {
		t.Errorf("report on a site without block_use_stats settings: policy %q, want usestats", rep.policy)
	}
	h.writeRows(t,
		seed.ConfigPlugin{ID: 900001, Plugin: "block_use_stats", Name: "threshold", Value: "30"},
		seed.ConfigPlugin{ID: 900002, Plugin: "block_use_stats", Name: "lastpingcredit", Value: "5"},
		seed.ConfigPlugin{ID: 900003, Plugin: "block_use_stats", Name: "ignoremodules", Value: "forum"},
		seed.ConfigPlugin{ID: 900004, Plugin: "block_dedication", Name: "threshold", Value: "45"},
	)
	h.start(t)

	// policies: site first, with the site's rules.
	site := h.policies(t)[0]
	if site.Name != "site" || site.Threshold != 1800 || site.Credit != 300 || !reflect.DeepEqual(site.Ignore, []string{"forum"}) ||
		!site.EnrolmentFilter {
		t.Fatalf("policies lists first %+v; want site with threshold 1800, credit 300, ignore [forum], the enrolment filter", site)
	}

	byDefault := h.graphql(t, "")
	same := h.graphql(t, "(policy: {"+siteRules+"})")
	fromPreset := h.graphql(t, "(policy: {"+presetRules+siteRules+"})")
	preset := h.graphql(t, `(policy: {name: "usestats"})`)
	if byDefault.policy != "site" || byDefault.version != site.Version || byDefault.source == "LIVE" {
		t.Errorf("stats without a policy: policy %s %s from %s; want site %s, from the background compile's rollups",
			byDefault.policy, byDefault.version, byDefault.source, site.Version)
	}
	if fromPreset.policy != "custom" || fromPreset.version != site.Version {
		t.Errorf("usestats with the site's rules is %s %s; want custom with the site's version %s", fromPreset.policy, fromPreset.version, site.Version)
	}
	if byDefault.total <= 0 || len(byDefault.courses) == 0 {
		t.Fatalf("%s has no time: nothing to compare", h.learner)
	}
	if preset.total == byDefault.total || reflect.DeepEqual(preset.courses, byDefault.courses) {
		t.Fatalf("the usestats preset gives %s the site policy's totals (%d s, %v): the settings change nothing here",
			h.learner, preset.total, preset.courses)
	}
	t.Logf("%s: site %d s %v, usestats %d s %v", h.learner, byDefault.total, byDefault.courses, preset.total, preset.courses)
	sameTimes(t, "GraphQL with the explicit rules", same, byDefault)
	sameTimes(t, "GraphQL usestats with the site's rules", fromPreset, byDefault)
	rep := h.report(t)
	if rep.policy != "site" || rep.version != site.Version {
		t.Errorf("report without --policy: policy %s %s, want site %s", rep.policy, rep.version, site.Version)
	}
	sameTimes(t, "report", rep, byDefault)
	h.checkWS(t, byDefault)
	h.checkMNET(t, byDefault)

	// A new threshold while serve runs: policies, every surface's answer
	// and its version follow, without a restart.
	h.exec(t, `UPDATE `+h.settings+` SET value = '10' WHERE plugin = 'block_use_stats' AND name = 'threshold'`)
	late := h.waitDefault(t, func(p spPolicy) bool { return p.Name == "site" && p.Threshold == 600 })
	if late.Version == site.Version {
		t.Errorf("the site policy kept its version %s with a new threshold", late.Version)
	}
	now := h.graphql(t, "")
	if now.policy != "site" || now.version != late.Version {
		t.Errorf("stats without a policy after the change: policy %s %s, want site %s", now.policy, now.version, late.Version)
	}
	if now.total == byDefault.total {
		t.Errorf("a 10-minute threshold gives %s the 30-minute total %d s: the change is not shown", h.learner, now.total)
	}
	sameTimes(t, "GraphQL usestats with the new rules", h.graphql(t, "(policy: {"+presetRules+siteRulesLate+"})"), now)
	sameTimes(t, "report after the change", h.report(t), now)
	h.checkWS(t, now)
	h.checkMNET(t, now)

	// The settings removed: usestats is the default again.
	h.exec(t, `DELETE FROM `+h.settings+` WHERE plugin = 'block_use_stats'`)
	h.waitDefault(t, func(p spPolicy) bool { return p.Name == "usestats" })
	if p := h.policies(t); slices.ContainsFunc(p, func(p spPolicy) bool { return p.Name == "site" }) {
		t.Errorf("policies still list site without the settings: %+v", p)
	}
	gone := h.graphql(t, "")
	if gone.policy != "usestats" {
		t.Errorf("stats without a policy on a site without settings: policy %q, want usestats", gone.policy)
	}
	sameTimes(t, "GraphQL without settings", gone, preset)
}

// sameTimes fails unless got has want's total and per-course totals.
func sameTimes(t *testing.T, what string, got, want spTotals) {
	t.Helper()
	if got.total != want.total {
		t.Errorf("%s: total %d s, want %d s", what, got.total, want.total)
	}
	if !reflect.DeepEqual(got.courses, want.courses) {
		t.Errorf("%s: courses %v, want %v", what, got.courses, want.courses)
	}
}

// writeRows adds rows to the site's tables.
func (h *sitePolicyHarness) writeRows(t *testing.T, rows ...seed.Row) {
	t.Helper()
	ctx := context.Background()
	w := seed.NewWriter(h.db, h.s.prefix)
	defer w.Close()
	if err := w.Add(ctx, rows...); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func (h *sitePolicyHarness) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := h.db.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// id reads one id from the site's database.
func (h *sitePolicyHarness) id(t *testing.T, q string) int64 {
	t.Helper()
	var id int64
	if err := h.db.QueryRowContext(context.Background(), q).Scan(&id); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return id
}

// serveLog is the file serve writes its output to, read while it runs.
type serveLog string

func (f serveLog) String() string {
	b, _ := os.ReadFile(string(f))
	return string(b)
}

// start registers an MNET test host with the site and the store, creates
// the tokens and runs serve, until the test ends, and waits for its first
// background compile of the site policy.
func (h *sitePolicyHarness) start(t *testing.T) {
	t.Helper()
	port := freePort(t)
	h.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	testRoot := h.mnetHost(t)
	p := h.s.prefix
	hostID := int64(900001)
	manager := h.id(t, `SELECT id FROM `+p+`role WHERE shortname = 'manager'`)
	system := h.id(t, `SELECT id FROM `+p+`context WHERE contextlevel = 10`)
	h.writeRows(t,
		seed.MnetHost{ID: hostID, WWWRoot: testRoot, IPAddress: "127.0.0.1", Name: "test host", ApplicationID: 1},
		seed.User{ID: 900001, Auth: "mnet", Confirmed: 1, MnetHostID: hostID, Username: "tester", FirstName: "Test",
			LastName: "Host", Lang: "en", CalendarType: "gregorian", Timezone: "99"},
		seed.RoleAssignment{ID: 900001, RoleID: manager, ContextID: system, UserID: 900001},
	)
	cli := func(args ...string) string {
		t.Helper()
		out, stderr, code := usestats(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return strings.TrimSpace(out)
	}
	cli("peer", "add", testRoot, "--store", h.s.store, "--wwwroot", h.base)
	h.gqlToken = cli("token", "create", "--store", h.s.store, "--name", "site-policy-gql", "--scope", "site:read")
	h.wsToken = cli("token", "create", "--store", h.s.store, "--name", "site-policy-ws", "--scope", "ws")

	ctx, cancel := context.WithCancel(context.Background())
	h.log = serveLog(filepath.Join(t.TempDir(), "serve.log"))
	out, err := os.Create(string(h.log))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--moodle", h.s.moodle, "--prefix", p, "--store", h.s.store,
			"--addr", fmt.Sprintf("127.0.0.1:%d", port), "--wwwroot", h.base, "--compile-every", "1h"}, out, out)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, h.log)
		}
		out.Close()
	})
	waitHTTP(t, h.base+"/readyz", h.log)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(h.log.String(), `"msg":"compiled","policy":"site"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no compile of the site policy after 60 s:\n%s", h.log)
		}
		time.Sleep(50 * time.Millisecond)
	}

	cert, certPEM, err := h.mnetClient.Keyswap(context.Background(), h.base)
	if err != nil {
		t.Fatal(err)
	}
	h.mnetPeer = mnet.Peer{WWWRoot: h.base, Cert: cert, CertPEM: certPEM}
	h.mnetCaller = mnet.Struct{{Name: "username", Value: "tester"}, {Name: "remoteuserhostroot", Value: testRoot},
		{Name: "remotehostroot", Value: testRoot}}
}

// mnetHost starts an MNET host of the test's own, whose client calls
// serve as a Moodle peer would, and returns its wwwroot.
func (h *sitePolicyHarness) mnetHost(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	root := "http://" + srv.Listener.Addr().String()
	id, err := mnet.NewIdentity(root, time.Now().Unix(), mnet.IdentityOptions{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := func() mnet.Keyring { return mnet.Keyring{Current: id} }
	srv.Config.Handler = &mnet.Server{WWWRoot: root, Keys: keys, Peers: &mnet.MemoryPeers{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv.Start()
	t.Cleanup(srv.Close)
	h.mnetClient = &mnet.Client{WWWRoot: root, Keys: keys}
	return root
}

// spPolicy is an entry of GraphQL's policies.
type spPolicy struct {
	Name, Version     string
	Threshold, Credit int64
	Ignore            []string
	EnrolmentFilter   bool
}

func (h *sitePolicyHarness) policies(t *testing.T) []spPolicy {
	t.Helper()
	var out struct {
		Data struct {
			Policies []struct {
				Name, Version string
				Parameters    struct {
					Threshold, Credit int64
					Ignore            []string
					EnrolmentFilter   bool
				}
			}
		}
	}
	h.post(t, `{ policies { name version parameters { threshold credit ignore enrolmentFilter } } }`, &out)
	var ps []spPolicy
	for _, p := range out.Data.Policies {
		ps = append(ps, spPolicy{p.Name, p.Version, p.Parameters.Threshold, p.Parameters.Credit, p.Parameters.Ignore,
			p.Parameters.EnrolmentFilter})
	}
	if len(ps) == 0 {
		t.Fatal("policies lists nothing")
	}
	return ps
}

// waitDefault waits for the first policy GraphQL lists to be one ok
// accepts (the settings are read again every siteSettingsEvery).
func (h *sitePolicyHarness) waitDefault(t *testing.T, ok func(spPolicy) bool) spPolicy {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := h.policies(t)[0]
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the default policy is still %+v 20 s after the settings changed", p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// post sends a GraphQL query with the site:read token and decodes the
// answer into v; an error in the answer fails the test.
func (h *sitePolicyHarness) post(t *testing.T, q string, v any) {
	t.Helper()
	b, _ := json.Marshal(graphql(t, h.base, h.gqlToken, q))
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// graphql is the learner's stats over the whole history, with args
// (such as a policy) after stats.
func (h *sitePolicyHarness) graphql(t *testing.T, args string) spTotals {
	t.Helper()
	var out struct {
		Data struct {
			User struct {
				Stats struct {
					Policy  struct{ Name, Version string }
					Source  string
					Total   int64
					Courses []struct {
						CourseID string
						Total    int64
						Course   struct{ Shortname string }
					}
				}
			}
		}
	}
	h.post(t, fmt.Sprintf(`{ user(by: {username: %q}) { stats%s { policy { name version } source total
		courses { courseId total course { shortname } } } } }`, h.learner, args), &out)
	st := out.Data.User.Stats
	r := spTotals{policy: st.Policy.Name, version: st.Policy.Version, source: st.Source, total: st.Total,
		courses: map[int64]int64{}, shortnames: map[int64]string{}}
	for _, c := range st.Courses {
		id, err := strconv.ParseInt(c.CourseID, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		r.courses[id], r.shortnames[id] = c.Total, c.Course.Shortname
	}
	return r
}

// report runs `usestats report` for the learner without --policy.
func (h *sitePolicyHarness) report(t *testing.T) spTotals {
	t.Helper()
	out, stderr, code := usestats(t, "report", "--moodle", h.s.moodle, "--prefix", h.s.prefix, "--user", "username:"+h.learner)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	r := spTotals{policy: rep.Policy.Name, version: rep.Policy.Version, source: rep.Source, total: rep.Total, courses: map[int64]int64{}}
	for _, c := range rep.Courses {
		r.courses[c.ID] = c.Total
	}
	return r
}

// checkWS compares block_use_stats_get_user_stats with want: every
// course but the front page, by id.
func (h *sitePolicyHarness) checkWS(t *testing.T, want spTotals) {
	t.Helper()
	form := url.Values{"wstoken": {h.wsToken}, "wsfunction": {"block_use_stats_get_user_stats"}, "moodlewsrestformat": {"json"},
		"uidsource": {"username"}, "uid": {h.learner}}
	resp, err := http.PostForm(h.base+webservice.Path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got wsUserStats
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || got.User.Username != h.learner {
		t.Fatalf("get_user_stats: %v, %+v", err, got)
	}
	wantCourses := map[int64]int64{}
	for id, total := range want.courses {
		if id > 1 {
			wantCourses[id] = total
		}
	}
	if g := got.totals(); !reflect.DeepEqual(g, wantCourses) {
		t.Errorf("get_user_stats under %s %s: courses %v, want %v", want.policy, want.version, g, wantCourses)
	}
}

// checkMNET compares use_stats_rpc_get_stats at scope 2 with want, in
// whole minutes: the user's time, and each course of 5 minutes or more by
// shortname.
func (h *sitePolicyHarness) checkMNET(t *testing.T, want spTotals) {
	t.Helper()
	res, err := h.mnetClient.Call(context.Background(), h.mnetPeer, mnet.MethodGetStats, h.mnetCaller, h.learner, "", int64(2), int64(0))
	if err != nil {
		t.Fatal(err)
	}
	ans, err := mnet.DecodeAnswer(res.Value)
	if err != nil || ans.Status != 200 {
		t.Fatalf("get_stats: %+v %v", ans, err)
	}
	m, err := mnet.ParseStatsMessage(ans.Message)
	if err != nil {
		t.Fatal(err)
	}
	if m.Elapsed != want.total/60*60 {
		t.Errorf("MNET under %s %s: %d min, want %d", want.policy, want.version, m.Elapsed/60, want.total/60)
	}
	got, wantCourses := map[string]int64{}, map[string]int64{}
	for _, c := range m.Courses {
		got[c.ShortName] = c.Elapsed / 60
	}
	for id, total := range want.courses {
		if total >= 5*60 {
			wantCourses[want.shortnames[id]] = total / 60
		}
	}
	if !reflect.DeepEqual(got, wantCourses) {
		t.Errorf("MNET courses under %s %s (min): %v, want %v", want.policy, want.version, got, wantCourses)
	}
}
