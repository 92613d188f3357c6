package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/mnet"
)

// rename gives the most active learner of a site the username name.
func (s *mnetSite) renameLearner(t *testing.T, name string) {
	t.Helper()
	s.exec(t, `UPDATE mdl_user SET username = username || '-old' WHERE username = ?`, name)
	s.exec(t, `UPDATE mdl_user SET username = ? WHERE id = (SELECT l.userid FROM mdl_logstore_standard_log l
		WHERE l.courseid > 1 GROUP BY l.userid ORDER BY COUNT(*) DESC LIMIT 1)`, name)
}

func graphql(t *testing.T, base, token, q string) map[string]any {
	t.Helper()
	code, out := (&server{base: base}).query(t, token, q, nil)
	if code != 200 || out["errors"] != nil {
		t.Fatalf("graphql %d: %v", code, out)
	}
	return out
}

// Two usestats instances on two ports with different Moodle databases:
// forwarding (whereroot = the other host) relays the other's number, the
// multi-host GraphQL query sums both; with one stopped, the answer is
// partial, names that host's error and comes back within the deadline.
func TestTwoInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	pa, pb := freePort(t), freePort(t)
	rootA, rootB := fmt.Sprintf("http://127.0.0.1:%d", pa), fmt.Sprintf("http://127.0.0.1:%d", pb)

	// A test host that calls A as a Moodle peer would.
	testID, err := mnet.NewIdentity("http://placeholder.test", time.Now().Unix(), mnet.IdentityOptions{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := func() mnet.Keyring { return mnet.Keyring{Current: testID} }
	testSrv := httptest.NewServer(&mnet.Server{Keys: keys, Peers: &mnet.MemoryPeers{}})
	defer testSrv.Close()
	testRoot := testSrv.URL
	if testID, err = mnet.NewIdentity(testRoot, time.Now().Unix(), mnet.IdentityOptions{}, rand.Reader); err != nil {
		t.Fatal(err)
	}

	siteA := newMnetSite(t, filepath.Join(dir, "a.db"), 7)
	siteB := newMnetSite(t, filepath.Join(dir, "b.db"), 8)
	learner, _ := siteA.learner(t)
	siteB.renameLearner(t, learner)
	for _, s := range []*mnetSite{siteA, siteB} {
		s.addRemoteUser(t, "tester", s.addHost(t, testRoot), true)
	}
	siteA.addHost(t, rootB)
	siteB.addRemoteUser(t, "usestats", siteB.addHost(t, rootA), true) // A's --mnet-caller on B

	storeA, storeB := "sqlite://"+filepath.Join(dir, "sa.db"), "sqlite://"+filepath.Join(dir, "sb.db")
	b := startUsestats(t, bin, siteB.url, storeB, pb)
	runCLI(t, bin, "peer", "add", rootB, "--store", storeA, "--wwwroot", rootA)
	runCLI(t, bin, "peer", "add", testRoot, "--store", storeA, "--wwwroot", rootA)
	a := startUsestats(t, bin, siteA.url, storeA, pa, "--mnet-timeout", "3s")
	runCLI(t, bin, "peer", "add", rootA, "--store", storeB, "--wwwroot", rootB)
	token := strings.TrimSpace(runCLI(t, bin, "token", "create", "--name", "e2e", "--scope", "site:read", "--store", storeA))

	wantA := reportMinutes(t, bin, siteA.url, learner)
	wantB := reportMinutes(t, bin, siteB.url, learner)
	var repA struct {
		Total int64 `json:"total"`
	}
	json.Unmarshal([]byte(runCLI(t, bin, "report", "--moodle", siteA.url, "--user", "username:"+learner)), &repA)
	if wantA < 5 || wantB < 5 {
		t.Fatalf("fixture: %d and %d minutes", wantA, wantB)
	}

	// Forwarding through A to B, and A itself.
	client := &mnet.Client{WWWRoot: testRoot, Keys: keys}
	cert, certPEM, err := client.Keyswap(context.Background(), rootA)
	if err != nil {
		t.Fatal(err)
	}
	peerA := mnet.Peer{WWWRoot: rootA, Cert: cert, CertPEM: certPEM}
	caller := mnet.Struct{{Name: "username", Value: "tester"}, {Name: "remoteuserhostroot", Value: testRoot},
		{Name: "remotehostroot", Value: testRoot}}
	elapsed := func(where string) int64 {
		t.Helper()
		res, err := client.Call(context.Background(), peerA, mnet.MethodGetStats, caller, learner, where, int64(2), int64(0))
		if err != nil {
			t.Fatal(err)
		}
		ans, err := mnet.DecodeAnswer(res.Value)
		if err != nil || ans.Status != 200 {
			t.Fatalf("%s: %+v %v", where, ans, err)
		}
		m, err := mnet.ParseStatsMessage(ans.Message)
		if err != nil {
			t.Fatal(err)
		}
		return m.Elapsed / 60
	}
	if got := elapsed(""); got != wantA {
		t.Errorf("A: %d minutes, report says %d", got, wantA)
	}
	if got := elapsed(rootB); got != wantB {
		t.Errorf("forwarded to B: %d minutes, report on B says %d", got, wantB)
	}

	q := `{ user(by: {username: "` + learner + `"}) { stats { total allHostsTotal
		hosts { wwwroot local ok total error { code message } } } } }`
	stats := func(args string) map[string]any {
		t.Helper()
		out := graphql(t, a.base, token, strings.Replace(q, "stats {", "stats("+args+") {", 1))
		return out["data"].(map[string]any)["user"].(map[string]any)["stats"].(map[string]any)
	}
	st := stats("allHosts: true")
	hosts := st["hosts"].([]any)
	if len(hosts) != 3 {
		t.Fatalf("hosts: %v", hosts)
	}
	sum := float64(repA.Total + wantB*60)
	if st["total"] != float64(repA.Total) || st["allHostsTotal"] != sum {
		t.Fatalf("total %v allHostsTotal %v, want %d and %v:\n%v", st["total"], st["allHostsTotal"], repA.Total, sum, hosts)
	}
	rowB := map[string]any{}
	for _, h := range hosts {
		if h.(map[string]any)["wwwroot"] == rootB {
			rowB = h.(map[string]any)
		}
	}
	if rowB["ok"] != true || rowB["total"] != float64(wantB*60) {
		t.Errorf("row B: %v", rowB)
	}

	// B stops: a partial answer naming B's error, within the deadline.
	b.stop()
	start := time.Now()
	st = stats(`hosts: ["` + rootB + `"]`)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s with B down", took)
	}
	hosts = st["hosts"].([]any)
	last := hosts[len(hosts)-1].(map[string]any)
	errObj, _ := last["error"].(map[string]any)
	if len(hosts) != 2 || last["ok"] != false || errObj == nil || errObj["code"] != "UNAVAILABLE" || st["allHostsTotal"] != float64(repA.Total) {
		t.Fatalf("with B down: %v", st)
	}
	list := runCLI(t, bin, "peer", "list", "--store", storeA)
	if !regexp.MustCompile(regexp.QuoteMeta(rootB) + `.*use_stats\s+published\s+\d{4}-`).MatchString(list) {
		t.Errorf("last connection to B not recorded:\n%s", list)
	}
}
