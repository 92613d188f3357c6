package moodle_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// The functions asked about in the web-service access tests.
var wsAsked = []string{"block_use_stats_get_user_stats", "block_use_stats_get_users_stats", "core_webservice_get_site_info"}

const wsNow = 1700000000

// fillWSAuth is a site with a REST-using role (role 1 holds
// webservice/rest:use and the maintenance access, role 2 only
// webservice/rest:use, role 3 the required capability of service 3), the
// users 10 (role 1), 11 (no role), 12 deleted, 13 unconfirmed, 14
// suspended, 15 nologin, 16 (roles 2 and 3), 17 (role 2), and the
// services: 1 open (two of the functions), 2 disabled, 3 requiring
// block/use_stats:export, 4 restricted to listed users (16 for ever from
// 10.0.0.0/8, 17 until wsNow-1). Token "t-<name>" belongs to the user
// and service its name says.
func fillWSAuth(ctx context.Context, w *seed.Writer) error {
	var rows []seed.Row
	users := []struct {
		id   int64
		name string
		edit func(*seed.User)
	}{
		{10, "erp", nil}, {11, "norole", nil},
		{12, "gone", func(u *seed.User) { u.Deleted = 1 }},
		{13, "fresh", func(u *seed.User) { u.Confirmed = 0 }},
		{14, "paused", func(u *seed.User) { u.Suspended = 1 }},
		{15, "locked", func(u *seed.User) { u.Auth = "nologin" }},
		{16, "listed", nil}, {17, "lapsed", nil},
	}
	for _, u := range users {
		r := accessUser(u.id, u.name)
		if u.edit != nil {
			u.edit(&r)
		}
		rows = append(rows, r)
	}
	rows = append(rows,
		seed.Config{ID: 1, Name: "siteadmins", Value: "2"},
		seed.Context{ID: 1, ContextLevel: 10, Path: seed.Some("/1"), Depth: 1})
	for i, p := range []struct {
		role int64
		cap  string
	}{{1, moodle.CapRESTUse}, {1, moodle.CapMaintenanceAccess}, {2, moodle.CapRESTUse}, {3, "block/use_stats:export"}} {
		rows = append(rows, seed.RoleCapability{ID: int64(i + 1), ContextID: 1, RoleID: p.role, Capability: p.cap, Permission: moodle.CapAllow})
	}
	for i, a := range [][2]int64{{10, 1}, {12, 1}, {13, 1}, {14, 1}, {15, 1}, {16, 2}, {16, 3}, {17, 2}} {
		rows = append(rows, seed.RoleAssignment{ID: int64(i + 1), UserID: a[0], RoleID: a[1], ContextID: 1})
	}
	for _, s := range []struct {
		id         int64
		enabled    int64
		restricted int64
		capability string
	}{{1, 1, 0, ""}, {2, 0, 0, ""}, {3, 1, 0, "block/use_stats:export"}, {4, 1, 1, ""}} {
		svc := seed.Defaults[seed.ExternalService]()
		svc.ID, svc.Name, svc.Enabled, svc.RestrictedUsers, svc.TimeCreated = s.id, fmt.Sprintf("service%d", s.id), s.enabled, s.restricted, 1
		if s.capability != "" {
			svc.RequiredCapability = seed.Some(s.capability)
		}
		rows = append(rows, svc)
	}
	fid := int64(0)
	for svc := int64(1); svc <= 4; svc++ {
		listed := wsAsked
		if svc == 1 {
			listed = wsAsked[:2] // no site info
		}
		for _, f := range listed {
			fid++
			rows = append(rows, seed.ExternalServiceFunction{ID: fid, ExternalServiceID: svc, FunctionName: f})
		}
	}
	rows = append(rows,
		seed.ExternalServiceUser{ID: 1, ExternalServiceID: 4, UserID: 16, IPRestriction: seed.Some("10.0.0.0/8"), TimeCreated: 1},
		seed.ExternalServiceUser{ID: 2, ExternalServiceID: 4, UserID: 17, ValidUntil: seed.Some[int64](wsNow - 1), TimeCreated: 1})
	tokens := []struct {
		token      string
		user, svc  int64
		tokenType  int64
		ip, sid    string
		validUntil int64
	}{
		{"t-erp", 10, 1, 0, "", "", 0},
		{"t-erp-disabled", 10, 2, 0, "", "", 0},
		{"t-erp-capability", 10, 3, 0, "", "", 0},
		{"t-erp-restricted", 10, 4, 0, "", "", 0},
		{"t-erp-expired", 10, 1, 0, "", "", wsNow - 1},
		{"t-erp-valid", 10, 1, 0, "", "", wsNow},
		{"t-erp-ip", 10, 1, 0, "192.0.2.0/24", "", 0},
		{"t-erp-session", 10, 1, 0, "", "abc", 0},
		{"t-erp-embedded", 10, 1, moodle.TokenEmbedded, "", "", 0},
		{"t-norole", 11, 1, 0, "", "", 0},
		{"t-gone", 12, 1, 0, "", "", 0},
		{"t-fresh", 13, 1, 0, "", "", 0},
		{"t-paused", 14, 1, 0, "", "", 0},
		{"t-locked", 15, 1, 0, "", "", 0},
		{"t-listed", 16, 4, 0, "", "", 0},
		{"t-listed-capability", 16, 3, 0, "", "", 0},
		{"t-lapsed", 17, 4, 0, "", "", 0},
		{"t-nobody", 99, 1, 0, "", "", 0},
		{"t-erp-course", 10, 1, 0, "", "", 0}, // bound to a course context below
	}
	for i, t := range tokens {
		r := seed.ExternalToken{ID: int64(i + 1), Token: t.token, TokenType: t.tokenType, UserID: t.user,
			ExternalServiceID: t.svc, ContextID: 1, CreatorID: 2, TimeCreated: 1}
		if t.token == "t-erp-course" {
			r.ContextID = 50
		}
		if t.ip != "" {
			r.IPRestriction = seed.Some(t.ip)
		}
		if t.sid != "" {
			r.SID = seed.Some(t.sid)
		}
		if t.validUntil != 0 {
			r.ValidUntil = seed.Some(t.validUntil)
		}
		rows = append(rows, r)
	}
	return w.Add(ctx, rows...)
}

func TestAuthenticateWSToken(t *testing.T) {
	forEachEngine(t, fillWSAuth, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		two, three := wsAsked[:2], wsAsked
		for _, tc := range []struct {
			token, ip string
			user      int64
			functions []string // nil: refused
			class     string   // the refusal
			code      string
			debug     string
		}{
			{token: "t-erp", user: 10, functions: two},
			{token: "t-erp-valid", user: 10, functions: two},
			{token: "t-erp-ip", ip: "192.0.2.9", user: 10, functions: two},
			{token: "t-erp-disabled", user: 10, functions: []string{}},
			{token: "t-erp-capability", user: 10, functions: []string{}},
			{token: "t-erp-restricted", user: 10, functions: []string{}},
			{token: "t-listed", ip: "10.1.2.3", user: 16, functions: three},
			{token: "t-listed", ip: "192.0.2.9", user: 16, functions: []string{}},
			{token: "t-listed-capability", user: 16, functions: three},
			{token: "t-lapsed", user: 17, functions: []string{}},

			{token: "nope", class: "moodle_exception", code: "invalidtoken"},
			{token: "", class: "moodle_exception", code: "invalidtoken"},
			{token: "t-erp-embedded", class: "moodle_exception", code: "invalidtoken"},
			{token: "t-erp-expired", class: "webservice_access_exception", code: "accessexception",
				debug: "Invalid token - token expired - check validuntil time for the token"},
			{token: "t-erp-session", class: "webservice_access_exception", code: "accessexception",
				debug: "Invalid session based token - session not found or expired"},
			{token: "t-erp-ip", ip: "198.51.100.1", class: "webservice_access_exception", code: "accessexception",
				debug: "Invalid service - IP:198.51.100.1 is not supported - check this allowed user"},
			{token: "t-nobody", class: "dml_missing_record_exception", code: "invalidrecord"},
			{token: "t-gone", class: "webservice_access_exception", code: "accessexception",
				debug: "Refused web service access for deleted username: gone"},
			{token: "t-fresh", class: "moodle_exception", code: "wsaccessuserunconfirmed"},
			{token: "t-paused", class: "webservice_access_exception", code: "accessexception",
				debug: "Refused web service access for suspended username: paused"},
			{token: "t-locked", class: "webservice_access_exception", code: "accessexception",
				debug: "Refused web service access for nologin authentication username: locked"},
			{token: "t-norole", class: "webservice_access_exception", code: "accessexception",
				debug: "You are not allowed to use the rest protocol (missing capability: webservice/rest:use)"},
		} {
			ip := tc.ip
			if ip == "" {
				ip = "203.0.113.5"
			}
			a, err := src.AuthenticateWSToken(ctx, tc.token, ip, wsNow, wsAsked)
			if tc.functions != nil {
				if err != nil || a.User.ID != tc.user || !slices.Equal(a.Functions, tc.functions) {
					t.Errorf("%s from %s: user %d, functions %v, %v; want user %d, %v", tc.token, ip, a.User.ID, a.Functions, err, tc.user, tc.functions)
				}
				continue
			}
			r, ok := errors.AsType[*moodle.WSRefusal](err)
			if !ok || r.Class != tc.class || r.ErrorCode != tc.code || (tc.debug != "" && r.DebugInfo != tc.debug) {
				t.Errorf("%s from %s: %v; want %s %s %q", tc.token, ip, err, tc.class, tc.code, tc.debug)
			}
		}
		// An unconfirmed user is named in the message, as Moodle does.
		_, err := src.AuthenticateWSToken(ctx, "t-fresh", "203.0.113.5", wsNow, wsAsked)
		if r, _ := errors.AsType[*moodle.WSRefusal](err); r == nil || r.Message != "Refused web service access for unconfirmed username: fresh" {
			t.Errorf("unconfirmed: %v", err)
		}
		// Only a token of the system context runs the statistics functions.
		if a, err := src.AuthenticateWSToken(ctx, "t-erp", "203.0.113.5", wsNow, wsAsked); err != nil || !a.SystemContext {
			t.Errorf("system context token: %+v, %v", a, err)
		}
		if a, err := src.AuthenticateWSToken(ctx, "t-erp-course", "203.0.113.5", wsNow, wsAsked); err != nil || a.SystemContext {
			t.Errorf("course context token: %+v, %v", a, err)
		}
	})
}

// In maintenance mode only users with moodle/site:maintenanceaccess (and
// site admins) get through.
func TestAuthenticateWSTokenMaintenance(t *testing.T) {
	fill := func(ctx context.Context, w *seed.Writer) error {
		if err := fillWSAuth(ctx, w); err != nil {
			return err
		}
		return w.Add(ctx, seed.Config{ID: 2, Name: "maintenance_enabled", Value: "1"})
	}
	forEachEngine(t, fill, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		if _, err := src.AuthenticateWSToken(ctx, "t-erp", "203.0.113.5", wsNow, wsAsked); err != nil {
			t.Errorf("maintenance access: %v", err)
		}
		_, err := src.AuthenticateWSToken(ctx, "t-listed", "10.0.0.1", wsNow, wsAsked)
		if r, _ := errors.AsType[*moodle.WSRefusal](err); r == nil || r.ErrorCode != "sitemaintenance" ||
			r.Message != "The site is undergoing maintenance and is currently not available" {
			t.Errorf("no maintenance access: %v", err)
		}
		// Maintenance is checked before the user's state, as Moodle does: a
		// deleted user (who holds no capability) learns of the maintenance.
		_, err = src.AuthenticateWSToken(ctx, "t-gone", "203.0.113.5", wsNow, wsAsked)
		if r, _ := errors.AsType[*moodle.WSRefusal](err); r == nil || r.ErrorCode != "sitemaintenance" {
			t.Errorf("deleted user in maintenance: %v", err)
		}
	})
}

// Read failures are errors of their own, never refusals: a site without
// external_services_users gives an ENotFound error naming it, for a
// restricted service only.
func TestAuthenticateWSTokenMissingTable(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := filledSchema(t, e.url, fillWSAuth)
			defer cleanup()
			if _, err := db.DB.DB.ExecContext(ctx, "DROP TABLE "+prefix+"external_services_users"); err != nil {
				t.Fatal(err)
			}
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			_, err = src.AuthenticateWSToken(ctx, "t-listed", "10.0.0.1", wsNow, wsAsked)
			var ae *aggregation.Error
			if !errors.As(err, &ae) || ae.Code != aggregation.ENotFound || !strings.Contains(err.Error(), prefix+"external_services_users") {
				t.Errorf("missing table: %v", err)
			}
			if a, err := src.AuthenticateWSToken(ctx, "t-erp", "10.0.0.1", wsNow, wsAsked); err != nil || len(a.Functions) != 2 {
				t.Errorf("an open service needs no allowance table: %+v %v", a, err)
			}
		})
	}
}
