package main

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
)

// Moodle's own tokens are accepted only when enabled, permanent, valid,
// from an allowed address, for an enabled service, by a user holding
// block/use_stats:export; the service's function list restricts the calls.
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

	p, err := a.authenticate(ctx, "admintoken", "192.0.2.1")
	if err != nil || p.UserID != 2 || !slices.Equal(p.Functions, wsFunctions) {
		t.Fatalf("admin token: %+v %v", p, err)
	}
	if _, err := a.authenticate(ctx, "iponly", "10.1.2.3"); err != nil {
		t.Errorf("allowed address refused: %v", err)
	}
	for token, code := range map[string]string{
		"nope": aggregation.EUnauthenticated, "session": aggregation.EUnauthenticated,
		"expired": aggregation.EForbidden, "iponly": aggregation.EForbidden, "learner": aggregation.EForbidden,
	} {
		if _, err := a.authenticate(ctx, token, "192.0.2.1"); aggregation.ErrorCode(err) != code {
			t.Errorf("%s: %v, want %s", token, err, code)
		}
	}
	site.exec(t, `DELETE FROM mdl_external_services_functions WHERE functionname = 'block_use_stats_get_users_stats'`)
	if p, _ := a.authenticate(ctx, "admintoken", "192.0.2.1"); len(p.Functions) != 3 || slices.Contains(p.Functions, "block_use_stats_get_users_stats") {
		t.Errorf("service functions: %v", p.Functions)
	}
	site.exec(t, `UPDATE mdl_external_services SET enabled = 0`)
	if _, err := a.authenticate(ctx, "admintoken", "192.0.2.1"); aggregation.ErrorCode(err) != aggregation.EForbidden {
		t.Errorf("disabled service: %v", err)
	}
	a.moodleTokens = false
	if _, err := a.authenticate(ctx, "admintoken", "192.0.2.1"); aggregation.ErrorCode(err) != aggregation.EUnauthenticated {
		t.Errorf("Moodle tokens off: %v", err)
	}
}
