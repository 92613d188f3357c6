package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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

// An ERP-style client written against Moodle's documentation (the npm
// package moodle-client, json; PHP http_build_query + curl, xml) calls the
// web-service functions on the live binary and reads the report
// command's numbers.
func TestWebServiceClients(t *testing.T) {
	node, php, tools := wsClients(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	site := newMnetSite(t, filepath.Join(dir, "moodle.db"), 7)
	learner, _ := site.learner(t)
	store := "sqlite://" + filepath.Join(dir, "store.db")
	token := strings.TrimSpace(runCLI(t, bin, "token", "create", "--name", "erp", "--scope", "site:read", "--store", store))
	us := startUsestats(t, bin, site.url, store, freePort(t))

	var rep struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
		Courses []struct {
			ID           int64 `json:"id"`
			Total        int64 `json:"total"`
			ActivityTime int64 `json:"activityTime"`
		} `json:"courses"`
	}
	if err := json.Unmarshal([]byte(runCLI(t, bin, "report", "--moodle", site.url, "--user", "username:"+learner)), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[int64]int64{}
	for _, c := range rep.Courses {
		if c.ID > 1 {
			want[c.ID] = c.Total
		}
	}
	if len(want) == 0 {
		t.Fatal("the learner has no course time")
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
	var info struct {
		SiteURL   string `json:"siteurl"`
		Functions []struct {
			Name string `json:"name"`
		} `json:"functions"`
	}
	if err := json.Unmarshal(mc("core_webservice_get_site_info", map[string]any{}), &info); err != nil || len(info.Functions) < 4 {
		t.Fatalf("site info: %+v %v", info, err)
	}
	var one struct {
		Courses []struct {
			ID          int64 `json:"id"`
			CourseTotal int64 `json:"coursetotal"`
		} `json:"courses"`
	}
	out := mc("block_use_stats_get_user_stats", map[string]any{"uidsource": "username", "uid": learner})
	if err := json.Unmarshal(out, &one); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[int64]int64{}
	for _, c := range one.Courses {
		got[c.ID] = c.CourseTotal
	}
	for id, total := range want {
		if got[id] != total {
			t.Errorf("course %d: web service %d, report %d (%s)", id, got[id], total, out)
		}
	}
	var many []struct {
		Courses []struct {
			ID          int64 `json:"id"`
			CourseTotal int64 `json:"coursetotal"`
		} `json:"courses"`
	}
	out = mc("block_use_stats_get_users_stats", map[string]any{"uidsource": "id", "uids": []any{rep.User.ID}})
	if err := json.Unmarshal(out, &many); err != nil || len(many) != 1 || len(many[0].Courses) != len(one.Courses) {
		t.Fatalf("users stats: %v %s", err, out)
	}

	// PHP, xml format.
	phpCall := func(fn string, args map[string]any) string {
		t.Helper()
		aj, _ := json.Marshal(args)
		cmd := exec.Command(php, filepath.Join(tools, "php-client.php"), us.base, token, fn, string(aj), "xml")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("php client %s: %v\n%s", fn, err, b)
		}
		return string(b)
	}
	x := phpCall("block_use_stats_get_user_stats", map[string]any{"uidsource": "username", "uid": learner})
	for id, total := range want {
		re := regexp.MustCompile(fmt.Sprintf(`(?s)<KEY name="id"><VALUE>%d</VALUE>\s*</KEY>.*?<KEY name="coursetotal"><VALUE>(\d+)</VALUE>`, id))
		m := re.FindStringSubmatch(x)
		if m == nil || m[1] != fmt.Sprint(total) {
			t.Errorf("xml course %d: %v, want %d\n%s", id, m, total, x)
		}
	}
	bad := phpCall("block_use_stats_get_user_stats", map[string]any{"uidsource": "id", "uid": "1 OR 1=1"})
	if !strings.Contains(bad, `<EXCEPTION class="invalid_parameter_exception">`) {
		t.Errorf("bad input: %s", bad)
	}
	wrong := exec.Command(php, filepath.Join(tools, "php-client.php"), us.base, "nope", "core_webservice_get_site_info", "{}", "json")
	b, _ := wrong.Output()
	if !strings.Contains(string(b), `"errorcode":"invalidtoken"`) {
		t.Errorf("bad token: %s", b)
	}
}
