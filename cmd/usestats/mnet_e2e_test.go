package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/seed"
)

// phpTools returns the php binary and the interop scripts' folder, or
// skips (fails under CI: .ci/run installs PHP with .ci/php).
func phpTools(t *testing.T) (php, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the binary and PHP")
	}
	dir, _ = filepath.Abs("../../tools/php-interop")
	php, err := exec.LookPath("php")
	if err == nil {
		out, _ := exec.Command(php, "-m").Output()
		if !regexp.MustCompile(`(?m)^xmlrpc$`).Match(out) {
			err = fmt.Errorf("the php xmlrpc extension is missing")
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("php: %v (.ci/run installs it with .ci/php)", err)
		}
		t.Skipf("php: %v: run .ci/php", err)
	}
	return php, dir
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// phpEnv runs php with the legacy OpenSSL provider (RC4).
func phpEnv(dir string) []string {
	return append(os.Environ(), "OPENSSL_CONF="+filepath.Join(dir, "openssl-legacy.cnf"))
}

// phpClient runs client.php and decodes its JSON output.
func phpClient(t *testing.T, php, dir string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(php, append([]string{filepath.Join(dir, "client.php")}, args...)...)
	cmd.Env = phpEnv(dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var v map[string]any
	if jerr := json.Unmarshal(out, &v); jerr != nil {
		t.Fatalf("client.php %s: %v, output %q, stderr %s", args[0], err, out, stderr.String())
	}
	if err != nil {
		v["exit"] = err.Error()
	}
	return v
}

// startPHPServer runs server.php under php -S as the host wwwroot.
func startPHPServer(t *testing.T, php, dir, wwwroot, state string, port int) {
	t.Helper()
	cmd := exec.Command(php, "-S", fmt.Sprintf("127.0.0.1:%d", port), filepath.Join(dir, "server.php"))
	cmd.Env = append(phpEnv(dir), "MNET_WWWROOT="+wwwroot, "MNET_DIR="+state, "MNET_LOG="+filepath.Join(state, "log.jsonl"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitHTTP(t, wwwroot+"/mnet/publickey.php", &logs)
}

func waitHTTP(t *testing.T, url string, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not up: %v\n%s", url, err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mnetSite is a seeded Moodle SQLite database with MNET rows added.
type mnetSite struct {
	url string
	db  *dbconn.DB
}

func newMnetSite(t *testing.T, path string, seedNo uint64) *mnetSite {
	t.Helper()
	ctx := context.Background()
	url := "sqlite://" + path
	db, err := dbconn.Open(ctx, url, dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := seed.Seed(ctx, db, seed.Options{Seed: seedNo, Users: 20}); err != nil {
		t.Fatal(err)
	}
	return &mnetSite{url: url, db: db}
}

func (s *mnetSite) exec(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	res, err := s.db.ExecContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	id, _ := res.LastInsertId()
	return id
}

// addHost registers an MNET host in the Moodle database (mnet_host).
func (s *mnetSite) addHost(t *testing.T, wwwroot string) int64 {
	return s.exec(t, `INSERT INTO mdl_mnet_host (deleted, wwwroot, ip_address, name, public_key, public_key_expires,
		transport, portno, last_connect_time, last_log_id, force_theme, applicationid, sslverification)
		VALUES (0, ?, '127.0.0.1', ?, '', 0, 0, 0, 0, 0, 0, 1, 0)`, wwwroot, wwwroot)
}

// addRemoteUser adds a user of host hostID; manager makes them a manager at
// system level (which holds block/use_stats:seesitedetails).
func (s *mnetSite) addRemoteUser(t *testing.T, username string, hostID int64, manager bool) {
	id := s.exec(t, `INSERT INTO mdl_user (auth, confirmed, deleted, suspended, mnethostid, username, password, idnumber,
		firstname, lastname, email, timecreated, timemodified) VALUES ('mnet', 1, 0, 0, ?, ?, '', '', 'Remote', 'User', '', 0, 0)`,
		hostID, username)
	if manager {
		s.exec(t, `INSERT INTO mdl_role_assignments (roleid, contextid, userid, timemodified, modifierid, component, itemid, sortorder)
			VALUES (1, (SELECT id FROM mdl_context WHERE contextlevel = 10), ?, 0, 0, '', 0, 0)`, id)
	}
}

// learner returns a seeded user with time and one of their courses.
func (s *mnetSite) learner(t *testing.T) (username string, course int64) {
	t.Helper()
	row := s.db.QueryRowContext(context.Background(), `SELECT u.username, l.courseid FROM mdl_logstore_standard_log l
		JOIN mdl_user u ON u.id = l.userid WHERE l.courseid > 1 GROUP BY u.username, l.courseid ORDER BY COUNT(*) DESC LIMIT 1`)
	if err := row.Scan(&username, &course); err != nil {
		t.Fatal(err)
	}
	return username, course
}

// usestatsProc is a running `usestats serve` on a known address.
type usestatsProc struct {
	base, wwwroot, store string
	stderr               *bytes.Buffer
	cmd                  *exec.Cmd
}

func startUsestats(t *testing.T, bin, moodleURL, store string, port int, extra ...string) *usestatsProc {
	t.Helper()
	p := &usestatsProc{base: fmt.Sprintf("http://127.0.0.1:%d", port), store: store, stderr: &bytes.Buffer{}}
	p.wwwroot = p.base
	args := append([]string{"serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--moodle", moodleURL, "--store", store}, extra...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stderr = p.stderr
	stdout, _ := p.cmd.StdoutPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
		}
	}()
	waitHTTP(t, p.base+"/readyz", p.stderr)
	return p
}

func (p *usestatsProc) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// runCLI runs the usestats binary and returns its stdout.
func runCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("usestats %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// reportMinutes is the report command's total for user, in whole minutes.
func reportMinutes(t *testing.T, bin, moodleURL, user string) int64 {
	t.Helper()
	return readReport(t, bin, moodleURL, user).Total / 60
}

var elapsedRE = regexp.MustCompile(`<USER>\n\t<USERNAME>([^<]*)</USERNAME>\n\t<FIRSTNAME>[^<]*</FIRSTNAME>\n\t<LASTNAME>[^<]*</LASTNAME>\n\t<FROM>0</FROM>\n\t<ELAPSED>(\d+)</ELAPSED>\n\n</USER>`)

// decodeUseStats reads a use_stats JSON answer string.
func decodeUseStats(t *testing.T, v any) (status int, message string, errs []any) {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("answer is %T %v, want a JSON string", v, v)
	}
	var a struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
		Errors  []any  `json:"errors"`
	}
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		t.Fatalf("answer is not JSON: %q", s)
	}
	return a.Status, a.Message, a.Errors
}

// A PHP client built from Moodle's primitives (xmlrpc_encode_request,
// openssl_sign, openssl_seal RC4) swaps keys with usestats and calls
// get_stats at scopes 1–3 and get_scores; its answers decrypt, verify and
// carry the report command's numbers. usestats' own client talks to a PHP
// server stub (peer add's key exchange, and forwarding when whereroot names
// the PHP host); bad requests get the right faults.
func TestMNETWithPHP(t *testing.T) {
	php, tools := phpTools(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	phpPort, ourPort := freePort(t), freePort(t)
	phpRoot := fmt.Sprintf("http://127.0.0.1:%d", phpPort)
	ourRoot := fmt.Sprintf("http://127.0.0.1:%d", ourPort)

	site := newMnetSite(t, filepath.Join(dir, "moodle.db"), 7)
	hostID := site.addHost(t, phpRoot)
	site.addRemoteUser(t, "phpadmin", hostID, true)
	site.addRemoteUser(t, "phpstudent", hostID, false)
	learner, course := site.learner(t)
	site.renameForEscaping(t, learner, course)

	state := filepath.Join(dir, "php")
	startPHPServer(t, php, tools, phpRoot, state, phpPort)
	store := "sqlite://" + filepath.Join(dir, "store.db")
	out := runCLI(t, bin, "peer", "add", phpRoot, "--store", store, "--wwwroot", ourRoot, "--name", "PHP site")
	if !strings.Contains(out, "peer "+phpRoot+" registered") {
		t.Fatalf("peer add: %s", out)
	}
	if _, err := os.Stat(filepath.Join(state, "cert.pem")); err != nil {
		t.Fatal(err)
	}
	us := startUsestats(t, bin, site.url, store, ourPort)

	// Keyswap by the PHP client: our certificate names our wwwroot.
	ks := phpClient(t, php, tools, "keyswap", us.base, phpRoot, filepath.Join(state, "cert.pem"))
	if ks["cn"] != ourRoot || !strings.Contains(fmt.Sprint(ks["cert"]), "BEGIN CERTIFICATE") {
		t.Fatalf("keyswap: %v", ks)
	}
	ourCert := filepath.Join(dir, "usestats.pem")
	if err := os.WriteFile(ourCert, []byte(ks["cert"].(string)), 0o600); err != nil {
		t.Fatal(err)
	}
	call := func(method string, params ...any) map[string]any {
		t.Helper()
		if params == nil {
			params = []any{}
		}
		pj, _ := json.Marshal(params)
		return phpClient(t, php, tools, "call", us.base, phpRoot, filepath.Join(state, "cert.pem"), filepath.Join(state, "key.pem"),
			ourCert, method, string(pj))
	}
	admin := map[string]string{"username": "phpadmin", "remoteuserhostroot": phpRoot, "remotehostroot": phpRoot}

	rep := readReport(t, bin, site.url, learner)
	want := rep.Total / 60
	if want < 5 {
		t.Fatalf("the learner has only %d minutes; the fixture needs more", want)
	}
	for scope := 1; scope <= 3; scope++ {
		r := call("blocks/use_stats/rpclib.php/use_stats_rpc_get_stats", admin, learner, "", scope, 0)
		if r["encrypted"] != true || r["signed"] != true || r["response"] == nil {
			t.Fatalf("scope %d: %v", scope, r)
		}
		status, msg, errs := decodeUseStats(t, r["response"])
		m := elapsedRE.FindStringSubmatch(msg)
		if status != 200 || len(errs) != 0 || m == nil || m[1] != learner || m[2] != strconv.FormatInt(want, 10) {
			t.Fatalf("scope %d: status %d errors %v message\n%s\nwant ELAPSED %d", scope, status, errs, msg, want)
		}
		if strings.Contains(msg, "<COURSES>") != (scope == 2) || strings.Contains(msg, "</USER><MODULES>") != (scope == 3) {
			t.Errorf("scope %d has the wrong sections:\n%s", scope, msg)
		}
	}
	// Scope 3 read by the PHP client in each layout: published (the
	// default), then nested once peer add sets it while usestats serves;
	// adding the peer again without --layout keeps it.
	const getStats = "blocks/use_stats/rpclib.php/use_stats_rpc_get_stats"
	checkScope3WithPHP(t, php, tools, call(getStats, admin, learner, "", 3, 0)["response"], rep, "published")
	runCLI(t, bin, "peer", "add", phpRoot, "--store", store, "--wwwroot", ourRoot, "--name", "PHP site", "--layout", "nested")
	checkScope3WithPHP(t, php, tools, call(getStats, admin, learner, "", 3, 0)["response"], rep, "nested")
	runCLI(t, bin, "peer", "add", phpRoot, "--store", store, "--wwwroot", ourRoot, "--name", "PHP site")
	checkScope3WithPHP(t, php, tools, call(getStats, admin, learner, "", "3", 0)["response"], rep, "nested")

	// The block/ spelling, a struct answer (jsonresponse false).
	r := call("block/use_stats/rpclib.php/use_stats_rpc_get_stats", admin, learner, "", 1, 0, false)
	if st, ok := r["response"].(map[string]any); !ok || st["status"] != float64(200) || !strings.Contains(fmt.Sprint(st["message"]), "<ELAPSED>") {
		t.Fatalf("struct answer: %v", r)
	}

	// get_scores: the final grade from the course grade item.
	var grade sql0
	_ = site.db.QueryRowContext(context.Background(), `SELECT gg.finalgrade FROM mdl_grade_grades gg JOIN mdl_grade_items gi ON gi.id = gg.itemid
		JOIN mdl_user u ON u.id = gg.userid WHERE gi.itemtype = 'course' AND gi.courseid = ? AND u.username = ?`, course, learner).Scan(&grade.v)
	r = call("blocks/use_stats/rpclib.php/use_stats_rpc_get_scores", admin, learner, "", "notes/global", "id", strconv.FormatInt(course, 10))
	status, msg, _ := decodeUseStats(t, r["response"])
	if status != 200 || !strings.Contains(msg, "<USERNAME>"+learner+"</USERNAME>") || !strings.Contains(msg, "<SCORE>"+grade.text()+"</SCORE>") {
		t.Fatalf("get_scores: %d %q (grade %q)", status, msg, grade.text())
	}

	// Refusals inside a valid exchange.
	student := map[string]string{"username": "phpstudent", "remoteuserhostroot": phpRoot, "remotehostroot": phpRoot}
	if status, _, errs := decodeUseStats(t, call("blocks/use_stats/rpclib.php/use_stats_rpc_get_stats", student, learner)["response"]); status != 510 || len(errs) != 1 {
		t.Errorf("no capability: %d %v", status, errs)
	}
	if status, _, _ := decodeUseStats(t, call("blocks/use_stats/rpclib.php/use_stats_rpc_get_stats", admin, "nobody-here")["response"]); status != 520 {
		t.Errorf("unknown target: %d", status)
	}
	faultOf := func(r map[string]any) float64 {
		f, _ := r["fault"].(map[string]any)
		if f == nil {
			t.Fatalf("no fault in %v", r)
		}
		return f["code"].(float64)
	}
	if c := faultOf(call("blocks/use_stats/rpclib.php/nothing")); c != 7012 {
		t.Errorf("unknown method: %v", c)
	}
	if c := faultOf(call("system/nothing")); c != 7018 {
		t.Errorf("unknown system method: %v", c)
	}
	svcs := call("system/listServices")["response"]
	if !strings.Contains(fmt.Sprint(svcs), "use_stats") {
		t.Errorf("listServices: %v", svcs)
	}
	pj, _ := json.Marshal([]any{admin, learner})
	signedOnly := phpClient(t, php, tools, "call", us.base, phpRoot, filepath.Join(state, "cert.pem"), filepath.Join(state, "key.pem"),
		ourCert, "blocks/use_stats/rpclib.php/use_stats_rpc_get_stats", string(pj), "--no-encrypt")
	if faultOf(signedOnly) != 7021 {
		t.Errorf("signed only: %v", signedOnly)
	}
	garbage := filepath.Join(dir, "garbage.xml")
	os.WriteFile(garbage, []byte("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"xx\">]><encryptedMessage>&x;</encryptedMessage>"), 0o600)
	raw := phpClient(t, php, tools, "raw", us.base, garbage)
	if raw["status"] != float64(200) || !strings.Contains(fmt.Sprint(raw["body"]), "<fault>") {
		t.Errorf("garbage: %v", raw)
	}

	// Forwarding: whereroot names the PHP host, so usestats calls the PHP
	// stub with its own client and relays the stub's answer.
	r = call("blocks/use_stats/rpclib.php/use_stats_rpc_get_stats", admin, learner, phpRoot, 2, 0)
	status, msg, errs := decodeUseStats(t, r["response"])
	if status != 200 || !strings.Contains(msg, "<USERNAME>"+learner+"</USERNAME>") || !strings.Contains(msg, "<ELAPSED>42</ELAPSED>") {
		t.Fatalf("forwarded: %d %v %q", status, errs, msg)
	}
	logb, _ := os.ReadFile(filepath.Join(state, "log.jsonl"))
	if !strings.Contains(string(logb), `"caller":"`+strings.ReplaceAll(ourRoot, "/", `\/`)+`"`) &&
		!strings.Contains(string(logb), `"caller":"`+ourRoot+`"`) {
		t.Errorf("the stub did not log a call from us:\n%s", logb)
	}

	list := runCLI(t, bin, "peer", "list", "--store", store)
	if !strings.Contains(list, phpRoot) || !regexp.MustCompile(`LAYOUT\s+LAST CONNECT\n.*use_stats\s+nested\s+\d{4}-\d\d-\d\d`).MatchString(list) {
		t.Errorf("peer list has no nested layout or no last connection:\n%s", list)
	}
}

// sql0 reads a nullable number column.
type sql0 struct{ v any }

func (s sql0) text() string {
	switch x := s.v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case []byte:
		f, _ := strconv.ParseFloat(string(x), 64)
		return strconv.FormatFloat(f, 'f', -1, 64)
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(s.v)
}
