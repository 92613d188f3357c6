package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/dbconn/dbconntest"
	"github.com/usestats/usestats/seed"
)

// The load suite drives the real binary the way a busy site and a hostile
// client would at once: 100 legitimate clients (GraphQL with a token, and
// the web services) against 4 anonymous clients sending documents that
// are expensive to validate. It runs for USESTATS_LOAD_DURATION on each
// database (default 60 s, what CI runs; the README's long run is 10 m)
// and reports every 10 s. The first interval is quiet (legitimate
// clients only), the others carry the hostile mix too.
const (
	loadClients   = 100
	loadHostile   = 4
	loadInterval  = 10 * time.Second
	loadRSSLimit  = 200 << 20 // bytes
	loadFlatSlack = 0.10      // the last minute's RSS at most 10 % over the second minute's
	// loadShortSlack is the growth allowed, from the second interval to
	// the last, in a run too short to have a second and a last minute
	// (CI's 60 s): the service's caches are still filling, so it only
	// catches fast leaks.
	loadShortSlack = 0.25
	loadTimeout    = 10 * time.Second
	loadUsers      = 120
)

func loadDuration(t *testing.T) time.Duration {
	t.Helper()
	if v := os.Getenv("USESTATS_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 3*loadInterval {
			t.Fatalf("USESTATS_LOAD_DURATION=%q: want a duration of at least %v", v, 3*loadInterval)
		}
		return d
	}
	return 60 * time.Second
}

// loadSite is a running `usestats serve` on a seeded and compiled Moodle
// database, with a GraphQL token (site:read) and a web-service token.
type loadSite struct {
	proc            *usestatsProc
	gqlToken, ws    string
	moodleConns     func() (int, error) // the server's sessions on the Moodle database
	course          int64
	users           int64
	courseUsernames []string
}

// siteOptions says how startLoadSite serves a site.
type siteOptions struct {
	users int    // learners seeded (default loadUsers)
	via   string // the Moodle URL the server uses (a proxy); default the seeded one
	// app, when set, is the application name the server's Moodle
	// sessions carry (PostgreSQL), to count them in pg_stat_activity.
	app   string
	extra []string // more serve flags
}

// startLoadSite seeds learners into moodleURL (a table prefix of its own
// on a server), compiles them into storeURL and serves them.
func startLoadSite(t *testing.T, bin, moodleURL, storeURL string, o siteOptions) *loadSite {
	t.Helper()
	ctx := context.Background()
	if o.users == 0 {
		o.users = loadUsers
	}
	prefix := fmt.Sprintf("ld%05d_", mrand.IntN(100_000))
	db, err := dbconn.Open(ctx, moodleURL, dbconn.Options{AppName: "usestats-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seed.DropSchema(context.Background(), db, prefix); db.Close() })
	if _, err := seed.Seed(ctx, db, seed.Options{Seed: 14, Users: o.users, Prefix: prefix}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	site := &loadSite{users: int64(o.users)}
	if err := db.QueryRowContext(ctx, "SELECT courseid FROM "+prefix+"logstore_standard_log WHERE courseid > 1 GROUP BY courseid ORDER BY COUNT(*) DESC LIMIT 1").Scan(&site.course); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, "SELECT DISTINCT u.username FROM "+prefix+"user u JOIN "+prefix+"logstore_standard_log l ON l.userid = u.id WHERE l.courseid = ? ORDER BY u.username LIMIT 20", site.course)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		rows.Scan(&u)
		site.courseUsernames = append(site.courseUsernames, u)
	}
	rows.Close()

	served, app := moodleURL, o.app
	if o.via != "" {
		served = o.via
	}
	if app != "" {
		u, _ := url.Parse(served)
		q := u.Query()
		q.Set("application_name", app)
		u.RawQuery = q.Encode()
		served = u.String()
		site.moodleConns = func() (n int, err error) {
			err = db.NewRaw("SELECT count(*) FROM pg_stat_activity WHERE application_name = ?", app).Scan(context.Background(), &n)
			return n, err
		}
	}
	runCLI(t, bin, "compile", "--moodle", moodleURL, "--prefix", prefix, "--store", storeURL)
	site.gqlToken = strings.TrimSpace(runCLI(t, bin, "token", "create", "--name", "load-gql", "--scope", "site:read", "--store", storeURL))
	site.ws = strings.TrimSpace(runCLI(t, bin, "token", "create", "--name", "load-ws", "--scope", "ws", "--store", storeURL))
	site.proc = startUsestats(t, bin, served, storeURL, freePort(t),
		append([]string{"--prefix", prefix, "--request-timeout", loadTimeout.String(), "--log-level", "warn"}, o.extra...)...)
	if site.moodleConns == nil {
		site.moodleConns = func() (int, error) { return metricValue(site.proc.base, `go_sql_open_connections{db_name="moodle"}`) }
	}
	return site
}

// metricValue reads one sample of the server's /metrics.
func metricValue(base, name string) (int, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0, fmt.Errorf("/metrics has no %s", name)
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	return int(f), err
}

// procStatus reads a field of /proc/PID/status in kB (VmRSS) or as a
// count (Threads).
func procStatus(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`(?m)^` + field + `:\s+(\d+)`).FindSubmatch(raw)
	if m == nil {
		return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

// rssBytes is the resident set of the process.
func rssBytes(pid int) int64 {
	kb, err := procStatus(pid, "VmRSS")
	if err != nil {
		return 0
	}
	return kb << 10
}

// legitTargeter cycles through the three realistic requests: one user's
// year at module scope (a different learner each time), a course's first
// page of 50 participants with their course time, and the web services'
// get_users_course_stats for 20 learners of the course.
func (s *loadSite) legitTargeter() vegeta.Targeter {
	const userYear = `query($u: String!) { user(by: {username: $u}) { stats(range: {from: "2025-01-01", to: "2025-12-31"}, scope: MODULE) {
	  total events courses { total courseTime activityTime otherTime modules { cmid name type elapsed events } sections { elapsed } } sessionSummary { count mean } } } }`
	participants := fmt.Sprintf(`{ course(by: {id: %d}) { participants(first: 50, range: {from: "2025-01-01", to: "2025-12-31"}, scope: COURSE) {
	  edges { node { user { username } stats { total activityTime events } } } } } }`, s.course)
	form := url.Values{"wstoken": {s.ws}, "wsfunction": {"block_use_stats_get_users_course_stats"}, "moodlewsrestformat": {"json"},
		"uidsource": {"username"}, "uids[]": s.courseUsernames, "cidsource": {"id"}, "cid": {strconv.FormatInt(s.course, 10)},
		"from": {"1735689600"}, "to": {"1767225599"}}
	wsBody := []byte(form.Encode())
	gqlHeader := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + s.gqlToken}}
	wsHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	var n atomic.Int64
	return func(t *vegeta.Target) error {
		i := n.Add(1)
		switch i % 4 {
		case 0, 1:
			body, _ := json.Marshal(map[string]any{"query": userYear, "variables": map[string]any{"u": fmt.Sprintf("learner%04d", 1+i%s.users)}})
			*t = vegeta.Target{Method: "POST", URL: s.proc.base + "/graphql", Body: body, Header: gqlHeader}
		case 2:
			body, _ := json.Marshal(map[string]any{"query": participants})
			*t = vegeta.Target{Method: "POST", URL: s.proc.base + "/graphql", Body: body, Header: gqlHeader}
		default:
			*t = vegeta.Target{Method: "POST", URL: s.proc.base + "/webservice/rest/server.php", Body: wsBody, Header: wsHeader}
		}
		return nil
	}
}

// legitFailure says what is wrong with a legitimate answer, or "".
func legitFailure(r *vegeta.Result) string {
	switch {
	case r.Error != "":
		return r.Error
	case r.Code != 200:
		return fmt.Sprintf("HTTP %d: %.300s", r.Code, r.Body)
	case strings.Contains(r.URL, "/webservice/"):
		if !bytes.HasPrefix(r.Body, []byte("[")) || bytes.Contains(r.Body, []byte(`"exception"`)) {
			return fmt.Sprintf("web service: %.300s", r.Body)
		}
	case bytes.Contains(r.Body, []byte(`"errors"`)) || !bytes.Contains(r.Body, []byte(`"data"`)):
		return fmt.Sprintf("GraphQL: %.300s", r.Body)
	}
	return ""
}

// hostileBodies are the anonymous shapes of issue 14 as JSON request
// bodies, each to follow a unique comment that defeats the parsed-query
// cache: 10 000 repeated __typename fields (110 KB), 1 450 aliased
// __schema selections (80 KB), and 1 400 repeated fields (15 KB, within
// the anonymous body bound, so parsed and measured before refused).
var hostileBodies = func() [3]string {
	var aliases strings.Builder
	for a := range 1450 {
		fmt.Fprintf(&aliases, "a%d: __schema { types { name fields { name } } } ", a)
	}
	return [3]string{
		`\n{ ` + strings.Repeat("__typename ", 10_000) + `}"}`,
		`\n{ ` + aliases.String() + `}"}`,
		`\n{ ` + strings.Repeat("__typename ", 1_400) + `}"}`,
	}
}()

// hostileBody is the i-th document of a hostile client.
func hostileBody(client, i int) string {
	return fmt.Sprintf(`{"query":"# hostile %d-%d %d`, client, i, mrand.Int64()) + hostileBodies[i%len(hostileBodies)]
}

// loadWindow is what one interval saw.
type loadWindow struct {
	ok, errors int
	lat        []time.Duration
	rssPeak    int64
	connsPeak  int
	hostile    map[int]int // anonymous answers by HTTP status (0: transport error)
}

func (w *loadWindow) pct(p float64) time.Duration {
	if len(w.lat) == 0 {
		return 0
	}
	slices.Sort(w.lat)
	return w.lat[int(float64(len(w.lat)-1)*p)]
}

// loadFigures is a whole run's outcome.
type loadFigures struct {
	quietRate, mixRate float64
	quietP50, quietP99 time.Duration
	mixP50, mixP99     time.Duration
	maxLatency         time.Duration
	errors, requests   int
	firstErrors        []string
	rss                []int64 // at the end of each interval
	rssPeak            int64
	connsPeak          int
	hostile            map[int]int
}

// runLoad attacks the site for d: loadClients legitimate clients as fast
// as they are answered (closed loop, vegeta), and from the second
// interval on loadHostile anonymous clients. It logs every interval.
func runLoad(t *testing.T, s *loadSite, d time.Duration) loadFigures {
	pid := s.proc.cmd.Process.Pid
	var (
		mu      sync.Mutex
		win     = &loadWindow{hostile: map[int]int{}}
		windows []*loadWindow
		fig     = loadFigures{hostile: map[int]int{}}
		quiet   loadWindow
		mix     loadWindow
	)
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Hostile clients, anonymous, from the end of the first interval.
	var hwg sync.WaitGroup
	for c := range loadHostile {
		hwg.Add(1)
		go func() {
			defer hwg.Done()
			select {
			case <-time.After(loadInterval):
			case <-ctx.Done():
				return
			}
			client := &http.Client{Timeout: time.Minute}
			for i := 0; ctx.Err() == nil; i++ {
				req, _ := http.NewRequestWithContext(ctx, "POST", s.proc.base+"/graphql", strings.NewReader(hostileBody(c, i)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/graphql-response+json")
				code := 0
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				} else if ctx.Err() != nil {
					return
				}
				mu.Lock()
				win.hostile[code]++
				mu.Unlock()
			}
		}()
	}

	// RSS and Moodle sessions, every second.
	var swg sync.WaitGroup
	swg.Add(1)
	go func() {
		defer swg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rss := rssBytes(pid)
			conns, _ := s.moodleConns()
			mu.Lock()
			win.rssPeak = max(win.rssPeak, rss)
			win.connsPeak = max(win.connsPeak, conns)
			mu.Unlock()
		}
	}()

	// The report every interval.
	closeWindow := func() {
		mu.Lock()
		w := win
		win = &loadWindow{hostile: map[int]int{}}
		windows = append(windows, w)
		mu.Unlock()
		rss := rssBytes(pid)
		conns, cerr := s.moodleConns()
		if cerr != nil {
			t.Logf("moodle connections: %v", cerr)
		}
		w.rssPeak = max(w.rssPeak, rss)
		w.connsPeak = max(w.connsPeak, conns)
		fig.rss = append(fig.rss, rss)
		phase := "quiet"
		if len(windows) > 1 {
			phase = "mixed"
		}
		elapsed := time.Since(start).Round(time.Second)
		t.Logf("%4s %s: legit %6.1f req/s p50 %4d ms p99 %5d ms errors %d | RSS %3d MB (peak %3d) | Moodle conns %d (peak %d) | hostile %v",
			elapsed, phase, float64(w.ok+w.errors)/loadInterval.Seconds(), w.pct(.5).Milliseconds(), w.pct(.99).Milliseconds(), w.errors,
			rss>>20, w.rssPeak>>20, conns, w.connsPeak, w.hostile)
	}
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		tick := time.NewTicker(loadInterval)
		defer tick.Stop()
		for n := 1; time.Duration(n)*loadInterval < d; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			closeWindow()
		}
	}()

	atk := vegeta.NewAttacker(vegeta.Workers(loadClients), vegeta.MaxWorkers(loadClients), vegeta.KeepAlive(true),
		vegeta.Connections(loadClients), vegeta.Timeout(5*loadTimeout))
	for r := range atk.Attack(s.legitTargeter(), vegeta.Rate{}, d, "legit") {
		msg := legitFailure(r)
		mu.Lock()
		fig.requests++
		if msg != "" {
			win.errors++
			fig.errors++
			if len(fig.firstErrors) < 5 {
				fig.firstErrors = append(fig.firstErrors, msg)
			}
		} else {
			win.ok++
		}
		win.lat = append(win.lat, r.Latency)
		fig.maxLatency = max(fig.maxLatency, r.Latency)
		mu.Unlock()
	}
	rwg.Wait()
	closeWindow()
	cancel()
	hwg.Wait()
	swg.Wait()

	for i, w := range windows {
		fig.rssPeak = max(fig.rssPeak, w.rssPeak)
		fig.connsPeak = max(fig.connsPeak, w.connsPeak)
		for k, v := range w.hostile {
			fig.hostile[k] += v
		}
		agg := &mix
		if i == 0 {
			agg = &quiet
		}
		agg.ok += w.ok + w.errors
		agg.lat = append(agg.lat, w.lat...)
	}
	fig.quietRate = float64(quiet.ok) / loadInterval.Seconds()
	fig.mixRate = float64(mix.ok) / (time.Since(start) - loadInterval).Seconds()
	fig.quietP50, fig.quietP99 = quiet.pct(.5), quiet.pct(.99)
	fig.mixP50, fig.mixP99 = mix.pct(.5), mix.pct(.99)
	return fig
}

// checkLoad asserts the numbers that are outcomes: no legitimate
// request failed or outlasted the request timeout, RSS stayed below
// 200 MB and flat, the Moodle sessions within the pool's bound. The
// throughput and p99 ratios are reported, not asserted (the machine is
// shared).
func checkLoad(t *testing.T, name string, f loadFigures, bound int) {
	t.Helper()
	t.Logf("%s figures: quiet %.1f req/s (p50 %d ms, p99 %d ms); with %d hostile clients %.1f req/s (p50 %d ms, p99 %d ms): "+
		"throughput %.0f %% of quiet, p99 %.2f× quiet; slowest %d ms; %d requests, %d errors; RSS peak %d MB; Moodle connections peak %d; hostile answers %v",
		name, f.quietRate, f.quietP50.Milliseconds(), f.quietP99.Milliseconds(), loadHostile, f.mixRate, f.mixP50.Milliseconds(), f.mixP99.Milliseconds(),
		100*f.mixRate/max(f.quietRate, 1e-9), float64(f.mixP99)/float64(max(f.quietP99, 1)), f.maxLatency.Milliseconds(),
		f.requests, f.errors, f.rssPeak>>20, f.connsPeak, f.hostile)
	if f.requests == 0 || f.mixRate == 0 {
		t.Fatal("no legitimate request was answered")
	}
	if f.errors > 0 {
		t.Errorf("%d of %d legitimate requests failed; first: %q", f.errors, f.requests, f.firstErrors)
	}
	if f.maxLatency >= loadTimeout {
		t.Errorf("a legitimate request took %v, the request timeout is %v", f.maxLatency, loadTimeout)
	}
	if f.rssPeak >= loadRSSLimit {
		t.Errorf("RSS peaked at %d MB, want below %d MB", f.rssPeak>>20, loadRSSLimit>>20)
	}
	// Growth is what flat rules out; a fall is the runtime giving memory
	// back. With three minutes or more: the last minute's mean RSS
	// against the second minute's (the measure); shorter runs:
	// the last interval against the second.
	perMinute := int(time.Minute / loadInterval)
	if n := len(f.rss); n >= 3*perMinute {
		second, last := meanMB(f.rss[perMinute:2*perMinute]), meanMB(f.rss[n-perMinute:])
		if last > second*(1+loadFlatSlack) {
			t.Errorf("RSS not flat: %.1f MB in the second minute, %.1f MB in the last (want at most %.0f %% more)",
				second, last, 100*loadFlatSlack)
		}
	} else if n >= 3 {
		if second, last := float64(f.rss[1]), float64(f.rss[n-1]); last > second*(1+loadShortSlack) {
			t.Errorf("RSS grew: %d MB after the second interval, %d MB at the end (want at most %.0f %% more in a short run)",
				f.rss[1]>>20, f.rss[n-1]>>20, 100*loadShortSlack)
		}
	}
	if f.connsPeak > bound {
		t.Errorf("%d Moodle connections at the peak, the pool's bound is %d", f.connsPeak, bound)
	}
	if f.hostile[http.StatusInternalServerError] > 0 || f.hostile[0] > 0 {
		t.Errorf("hostile documents got 500s or broken connections: %v", f.hostile)
	}
}

// TestLoadSQLite: the load suite on a SQLite Moodle database and store.
func TestLoadSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and loads it")
	}
	d := loadDuration(t)
	dir := t.TempDir()
	site := startLoadSite(t, buildBinary(t), "sqlite://"+filepath.Join(dir, "moodle.db"), "sqlite://"+filepath.Join(dir, "store.db"), siteOptions{})
	checkLoad(t, "sqlite", runLoad(t, site, d), 4)
}

// TestLoadPostgres: the load suite on a PostgreSQL Moodle database and
// store, the Moodle sessions counted in pg_stat_activity.
func TestLoadPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and loads it")
	}
	pg := dbconntest.Require(t, "USESTATS_TEST_POSTGRES")
	d := loadDuration(t)
	app := fmt.Sprintf("usestats-load-%d", mrand.IntN(1_000_000))
	site := startLoadSite(t, buildBinary(t), pg, pgSchema(t, pg), siteOptions{app: app})
	checkLoad(t, "postgres", runLoad(t, site, d), 4)
}

// meanMB is the mean of RSS readings, in MB.
func meanMB(rss []int64) float64 {
	var sum float64
	for _, r := range rss {
		sum += float64(r)
	}
	return sum / float64(len(rss)) / (1 << 20)
}
