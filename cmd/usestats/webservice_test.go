package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/webservice"
)

// Moodle's own tokens are accepted only when enabled and then pass
// Moodle's REST checks (moodle.AuthenticateWSToken): refusals come out as
// Moodle's exceptions; the export capability gives the ws scope; the
// service's function list restricts the calls.
func TestWSAuthMoodleTokens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	site := newMnetSite(t, filepath.Join(dir, "moodle.db"), 3)
	now := time.Now().Unix()
	add := func(token string, tokentype, user int64, ip string, validUntil int64) {
		site.exec(t, `INSERT INTO mdl_external_tokens (token, tokentype, userid, externalserviceid, contextid, creatorid,
			iprestriction, validuntil, timecreated) VALUES (?, ?, ?, 1, 1, 2, ?, ?, 0)`, token, tokentype, user, ip, validUntil)
	}
	add("admintoken", 0, 2, "", 0)
	add("expired", 0, 2, "", now-10)
	add("iponly", 0, 2, "10.0.0.0/8", now+3600)
	add("session", 1, 2, "", 0)
	add("learner", 0, 3, "", 0)
	add("clerk", 0, 4, "", 0)
	add("auditor", 0, 5, "", 0)
	// The auditor's token bound to a course context (50).
	site.exec(t, `INSERT INTO mdl_external_tokens (token, tokentype, userid, externalserviceid, contextid, creatorid, timecreated)
		VALUES ('coursectx', 0, 5, 1, 50, 2, 0)`)
	// User 4 may use REST; user 5 may use REST and export (a custom role 9).
	site.exec(t, `INSERT INTO mdl_role_capabilities (contextid, roleid, capability, permission, timemodified, modifierid)
		VALUES (1, 9, 'webservice/rest:use', 1, 0, 2), (1, 10, 'webservice/rest:use', 1, 0, 2), (1, 10, 'block/use_stats:export', 1, 0, 2)`)
	site.exec(t, `INSERT INTO mdl_role_assignments (roleid, contextid, userid, timemodified, modifierid, component, itemid, sortorder)
		VALUES (9, 1, 4, 0, 2, '', 0, 0), (10, 1, 5, 0, 2, '', 0, 0)`)
	st, err := openStore(ctx, "sqlite://"+filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	src, err := moodle.Open(ctx, site.url, moodle.DefaultPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	a := wsAuth{st: st, src: src, moodleTokens: true, now: time.Now}
	ws, _ := aggregation.NewScopes(aggregation.WSScope())

	for token, user := range map[string]int64{"admintoken": 2, "auditor": 5} {
		p, err := a.authenticate(ctx, token, "192.0.2.1")
		if err != nil || p.UserID != user || !slices.Equal(p.Functions, wsFunctions) || !p.Scopes.Equal(ws) {
			t.Errorf("%s: %+v %v", token, p, err)
		}
	}
	// A token of another context than the system's: the statistics
	// functions will answer restricted_context_exception.
	if p, err := a.authenticate(ctx, "coursectx", "192.0.2.1"); err != nil || !p.RestrictedContext {
		t.Errorf("course context token: %+v %v", p, err)
	}
	if p, _ := a.authenticate(ctx, "auditor", "192.0.2.1"); p.RestrictedContext {
		t.Errorf("system context token restricted: %+v", p)
	}
	// REST without the export capability: site info only, no statistics.
	if p, err := a.authenticate(ctx, "clerk", "192.0.2.1"); err != nil || p.UserID != 4 || p.Scopes.Len() != 0 || len(p.Functions) != 4 {
		t.Errorf("clerk: %+v %v", p, err)
	}
	if _, err := a.authenticate(ctx, "iponly", "10.1.2.3"); err != nil {
		t.Errorf("allowed address refused: %v", err)
	}
	for token, code := range map[string]string{
		"nope": "invalidtoken", "session": "invalidtoken", "expired": "accessexception",
		"iponly": "accessexception", "learner": "accessexception",
	} {
		_, err := a.authenticate(ctx, token, "192.0.2.1")
		if ex, ok := errors.AsType[*webservice.Exception](err); !ok || ex.ErrorCode != code {
			t.Errorf("%s: %v, want %s", token, err, code)
		}
	}
	site.exec(t, `UPDATE mdl_user SET suspended = 1 WHERE id = 5`)
	if _, err := a.authenticate(ctx, "auditor", "192.0.2.1"); !strings.Contains(fmt.Sprint(err), "Refused web service access for suspended username") {
		t.Errorf("suspended user: %v", err)
	}
	site.exec(t, `DELETE FROM mdl_external_services_functions WHERE functionname = 'block_use_stats_get_users_stats'`)
	if p, _ := a.authenticate(ctx, "admintoken", "192.0.2.1"); len(p.Functions) != 3 || slices.Contains(p.Functions, "block_use_stats_get_users_stats") {
		t.Errorf("service functions: %v", p.Functions)
	}
	site.exec(t, `UPDATE mdl_external_services SET enabled = 0`)
	if p, err := a.authenticate(ctx, "admintoken", "192.0.2.1"); err != nil || len(p.Functions) != 0 {
		t.Errorf("disabled service: %+v %v", p, err)
	}
	a.moodleTokens = false
	if _, err := a.authenticate(ctx, "admintoken", "192.0.2.1"); aggregation.ErrorCode(err) != aggregation.EUnauthenticated {
		t.Errorf("Moodle tokens off: %v", err)
	}
}

// Bad --ws-* (and --workers) values and USESTATS_WS_* variables stop
// serve before it opens anything, naming what is wrong.
func TestServeWSFlags(t *testing.T) {
	for _, tc := range []struct {
		env, value string
		args       []string
		want       string
	}{
		{"USESTATS_WS_WORKERS", "many", nil, "USESTATS_WS_WORKERS is not a number"},
		{"USESTATS_WS_TIMEOUT", "2", nil, "USESTATS_WS_TIMEOUT is not a duration"},
		{"USESTATS_WS_DEBUGINFO", "maybe", nil, "USESTATS_WS_DEBUGINFO is not a boolean"},
		{"", "", []string{"--ws-workers", "0"}, "--ws-workers"},
		{"USESTATS_WORKERS", "many", nil, "USESTATS_WORKERS is not a number"},
		{"", "", []string{"--workers", "0"}, "--workers"},
		{"", "", []string{"--ws-timeout", "-1s"}, "--ws-timeout"},
		{"", "", []string{"--ws-max-users", "0"}, "--ws-max-users"},
		{"", "", []string{"--ws-trusted-proxies", "10.0.0.1, proxy.local"}, `"proxy.local" is neither an address nor a CIDR prefix`},
		{"USESTATS_WS_TRUSTED_PROXIES", "10.0.0.0/33", nil, "--ws-trusted-proxies"},
	} {
		if tc.env != "" {
			t.Setenv(tc.env, tc.value)
		}
		args := append([]string{"--store", "sqlite://" + filepath.Join(t.TempDir(), "s.db"), "--addr", "127.0.0.1:0"}, tc.args...)
		err := runServe(context.Background(), args, io.Discard, io.Discard)
		if aggregation.ErrorCode(err) != aggregation.EInvalid || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s %v: %v, want %q", tc.env, tc.value, tc.args, err, tc.want)
		}
		if tc.env != "" {
			os.Unsetenv(tc.env)
		}
	}
}

// --workers sizes the query service's one pool; the deprecated
// --ws-workers (or USESTATS_WS_WORKERS) still does when --workers is not
// given, with a warning, and is ignored when it is.
func TestServeWorkers(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want int
		note string
	}{
		{nil, nil, 2, ""},
		{nil, []string{"--workers", "5"}, 5, ""},
		{map[string]string{"USESTATS_WORKERS": "3"}, nil, 3, ""},
		{nil, []string{"--ws-workers", "4"}, 4, "deprecated: use --workers"},
		{map[string]string{"USESTATS_WS_WORKERS": "6"}, nil, 6, "deprecated: use --workers"},
		{nil, []string{"--ws-workers", "4", "--workers", "3"}, 3, "deprecated and ignored"},
		{map[string]string{"USESTATS_WORKERS": "7", "USESTATS_WS_WORKERS": "6"}, nil, 7, "deprecated and ignored"},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		fs := newFlags("serve", io.Discard)
		var c serveConfig
		env := envDefaults{cmd: "serve"}
		fs.IntVar(&c.workers, "workers", env.int("USESTATS_WORKERS", 2), "")
		c.ws.addFlags(fs, &env)
		if err := parseFlags(fs, tc.args); err != nil || env.err != nil {
			t.Fatalf("%v %v: %v %v", tc.env, tc.args, err, env.err)
		}
		note, err := c.resolveWorkers(fs)
		if err != nil || c.workers != tc.want || !strings.Contains(note, tc.note) || (tc.note == "") != (note == "") {
			t.Errorf("%v %v: workers %d, note %q, %v; want %d, %q", tc.env, tc.args, c.workers, note, err, tc.want, tc.note)
		}
		for k := range tc.env {
			os.Unsetenv(k)
		}
	}
}
