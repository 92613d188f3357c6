package moodle_test

import (
	"context"
	"strings"
	"testing"

	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

const (
	tokLower = "e9dbbab271767af1397dcd89ce0c03b7"
	tokUpper = "E9DBBAB271767AF1397DCD89CE0C03B7"
	tokLimit = "0123456789abcdef0123456789abcdef"
	tokDup   = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
	tokOrph  = "0000000000000000000000000000beef"
	tokZero  = "ffffffffffffffffffffffffffffffff"
)

// fillTokens is a site with two services (1 enabled and open, 2 disabled,
// restricted, with a required capability) and tokens: 1 and 2 differ only
// in case, 3 is an embedded token with every restriction, 4 (embedded) and
// 5 (permanent) share a value, 6 names a missing service, 7 has validuntil 0.
func fillTokens(ctx context.Context, w *seed.Writer) error {
	open := seed.Defaults[seed.ExternalService]()
	open.ID, open.Name, open.ShortName, open.Enabled, open.Component, open.TimeCreated = 1, "usestats", seed.Some("usestats"), 1, seed.Some(""), 1700000000
	closed := seed.Defaults[seed.ExternalService]()
	closed.ID, closed.Name, closed.Enabled, closed.RestrictedUsers, closed.TimeCreated = 2, "Closed", 0, 1, 1700000000
	closed.RequiredCapability = seed.Some("block/use_stats:export")
	rows := []seed.Row{open, closed,
		seed.ExternalServiceFunction{ID: 1, ExternalServiceID: 1, FunctionName: "block_use_stats_get_user_stats"},
		seed.ExternalServiceFunction{ID: 2, ExternalServiceID: 1, FunctionName: "core_webservice_get_site_info"},
		seed.ExternalServiceFunction{ID: 3, ExternalServiceID: 2, FunctionName: "block_use_stats_get_users_stats"},
	}
	for _, t := range []seed.ExternalToken{
		{ID: 1, Token: tokLower, UserID: 20, ExternalServiceID: 1, ContextID: 1},
		{ID: 2, Token: tokUpper, UserID: 21, ExternalServiceID: 1, ContextID: 1},
		{ID: 3, Token: tokLimit, TokenType: moodle.TokenEmbedded, UserID: 22, ExternalServiceID: 2, ContextID: 12,
			SID: seed.Some("sess1"), IPRestriction: seed.Some("192.0.2.0/24, 10.1."), ValidUntil: seed.Some[int64](1700000100),
			PrivateToken: seed.Some("p"), LastAccess: seed.Some[int64](1700000050), Name: seed.Some("ERP")},
		{ID: 4, Token: tokDup, TokenType: moodle.TokenEmbedded, UserID: 23, ExternalServiceID: 1, ContextID: 1},
		{ID: 5, Token: tokDup, UserID: 24, ExternalServiceID: 1, ContextID: 1},
		{ID: 6, Token: tokOrph, UserID: 25, ExternalServiceID: 99, ContextID: 1},
		{ID: 7, Token: tokZero, UserID: 26, ExternalServiceID: 1, ContextID: 1, ValidUntil: seed.Some[int64](0)},
	} {
		t.CreatorID, t.TimeCreated = 2, 1700000000
		rows = append(rows, t)
	}
	return w.Add(ctx, rows...)
}

func TestExternalToken(t *testing.T) {
	forEachEngine(t, fillTokens, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		get := func(token string) (moodle.WSToken, bool) {
			t.Helper()
			tok, ok, err := src.ExternalToken(ctx, token)
			if err != nil {
				t.Fatalf("ExternalToken(%q): %v", token, err)
			}
			return tok, ok
		}
		want1 := moodle.WSToken{ID: 1, Token: tokLower, TokenType: moodle.TokenPermanent, UserID: 20, ContextID: 1,
			ServiceID: 1, ServiceName: "usestats", ServiceShortName: "usestats", ServiceEnabled: true}
		if tok, ok := get(tokLower); !ok || tok != want1 {
			t.Errorf("token 1:\n got %+v, %v\nwant %+v", tok, ok, want1)
		}
		if tok, ok := get(tokUpper); !ok || tok.ID != 2 || tok.UserID != 21 {
			t.Errorf("upper-case token = %+v, %v: want token 2", tok, ok)
		}
		want3 := moodle.WSToken{ID: 3, Token: tokLimit, TokenType: moodle.TokenEmbedded, UserID: 22, ContextID: 12,
			SID: "sess1", IPRestriction: "192.0.2.0/24, 10.1.", ValidUntil: 1700000100,
			ServiceID: 2, ServiceName: "Closed", RequiredCapability: "block/use_stats:export", RestrictedUsers: true}
		if tok, ok := get(tokLimit); !ok || tok != want3 {
			t.Errorf("token 3:\n got %+v, %v\nwant %+v", tok, ok, want3)
		} else if !tok.Expired(1700000101) || tok.Expired(1700000100) {
			t.Errorf("token 3 expiry around %d wrong", tok.ValidUntil)
		}
		if tok, ok := get(tokDup); !ok || tok.ID != 5 || tok.TokenType != moodle.TokenPermanent {
			t.Errorf("shared value = %+v, %v: want the permanent token 5", tok, ok)
		}
		if tok, ok := get(tokOrph); !ok || tok.ID != 6 || tok.ServiceID != 99 || tok.ServiceEnabled || tok.ServiceShortName != "" {
			t.Errorf("token of a missing service = %+v, %v", tok, ok)
		}
		if tok, ok := get(tokZero); !ok || tok.ValidUntil != 0 || tok.Expired(2000000000) {
			t.Errorf("validuntil 0 = %+v, %v: want never expiring", tok, ok)
		}
		for _, bad := range []string{
			"", tokLower + " ", " " + tokLower, tokLower[:31], "E9dbbab271767af1397dcd89ce0c03b7", "e9dbbab271767af1397dcd89ce0c03b7\n",
			"' OR '1'='1", tokLower + "' --", "%", "_", "\xff\xfe", "e9db\x00", strings.Repeat("a", 129), strings.Repeat("é", 200),
		} {
			if tok, ok := get(bad); ok {
				t.Errorf("ExternalToken(%q) = %+v: want not found", bad, tok)
			}
		}
		for _, c := range []struct {
			service int64
			fn      string
			want    bool
		}{
			{1, "block_use_stats_get_user_stats", true},
			{1, "core_webservice_get_site_info", true},
			{2, "block_use_stats_get_users_stats", true},
			{1, "block_use_stats_get_users_stats", false},
			{2, "block_use_stats_get_user_stats", false},
			{1, "BLOCK_USE_STATS_GET_USER_STATS", false},
			{1, "block_use_stats_get_user_stats ", false},
			{1, "", false},
			{1, "\xff", false},
			{99, "block_use_stats_get_user_stats", false},
		} {
			if got, err := src.ServiceHasFunction(ctx, c.service, c.fn); err != nil || got != c.want {
				t.Errorf("ServiceHasFunction(%d, %q) = %v, %v; want %v", c.service, c.fn, got, err, c.want)
			}
		}
	})
}

// Without the web-service tables the lookups are ENotFound errors naming
// the missing table.
func TestExternalTokenMissingTables(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := newSchema(t, e.url)
			defer cleanup()
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			drop := func(table string) {
				t.Helper()
				if _, err := db.DB.DB.ExecContext(ctx, "DROP TABLE "+prefix+table); err != nil {
					t.Fatal(err)
				}
			}
			wantMissing := missingTable(t, prefix)
			if _, ok, err := src.ExternalToken(ctx, tokLower); err != nil || ok {
				t.Errorf("empty tables: %v, %v", ok, err)
			}
			drop("external_services")
			_, _, err = src.ExternalToken(ctx, tokLower)
			wantMissing("ExternalToken without external_services", err, "external_services")
			drop("external_tokens")
			_, _, err = src.ExternalToken(ctx, tokLower)
			wantMissing("ExternalToken without external_tokens", err, "external_tokens")
			drop("external_services_functions")
			_, err = src.ServiceHasFunction(ctx, 1, "core_webservice_get_site_info")
			wantMissing("ServiceHasFunction", err, "external_services_functions")
		})
	}
}

func TestCheckIPRestriction(t *testing.T) {
	for _, c := range []struct {
		restriction, ip string
		want            bool
	}{
		// No restriction.
		{"", "192.0.2.7", true},
		{"0", "192.0.2.7", true},
		{"", "", true},
		{" ", "192.0.2.7", false},
		{",", "192.0.2.7", false},
		// Exact addresses.
		{"192.0.2.7", "192.0.2.7", true},
		{"192.0.2.7", "192.0.2.8", false},
		{" 10.0.0.1 , 192.0.2.7 ", "192.0.2.7", true},
		{"192.000.002.007", "192.0.2.7", true},
		{"192.0.2.7", "192.000.002.007", true},
		{"192.0.2.7.", "192.0.2.7", true},
		{"192.0.2.256", "192.0.2.0", false},
		{"2001:db8::7", "2001:0db8:0:0::7", true},
		{"2001:DB8::7", "2001:db8::7", true},
		{"2001:db8::7", "2001:db8::8", false},
		{"::ffff:192.0.2.7", "192.0.2.7", true},
		{"192.0.2.7", "::ffff:192.0.2.7", true},
		// CIDR.
		{"192.0.2.0/24", "192.0.2.255", true},
		{"192.0.2.0/24", "192.0.3.0", false},
		{"192.0.2.77/24", "192.0.2.1", true},
		{"192.0.2.0 / 24", "192.0.2.1", true},
		{"10.0.0.0/8", "10.255.1.2", true},
		{"10.0.0.0/7", "11.0.0.1", true},
		{"192.0.2.7/32", "192.0.2.7", true},
		{"192.0.2.7/32", "192.0.2.6", false},
		{"0.0.0.0/0", "203.0.113.9", true},
		{"0.0.0.0/0", "2001:db8::1", false},
		{"192.0.2.0/33", "192.0.2.1", false},
		{"192.0.2.0/-1", "192.0.2.1", false},
		{"192.0.2.0/+24", "192.0.2.1", false},
		{"192.0.2.0/x", "192.0.2.1", false},
		{"192.0.2.0/", "192.0.2.1", false},
		{"2001:db8::/32", "2001:db8:ffff::1", true},
		{"2001:db8::/32", "2001:db9::1", false},
		{"2001:db8:8000::/33", "2001:db8:8001::1", true},
		{"2001:db8:8000::/33", "2001:db8:7fff::1", false},
		{"::/0", "2001:db8::1", true},
		{"::/0", "192.0.2.1", false},
		{"2001:db8::/129", "2001:db8::1", false},
		{"192.0.2.0/24", "2001:db8::1", false},
		// Ranges in the last group.
		{"192.0.2.4-20", "192.0.2.4", true},
		{"192.0.2.4-20", "192.0.2.20", true},
		{"192.0.2.4-20", "192.0.2.12", true},
		{"192.0.2.4-20", "192.0.2.3", false},
		{"192.0.2.4-20", "192.0.2.21", false},
		{"192.0.2.4-20", "192.0.3.12", false},
		{"192.0.2.4 - 20", "192.0.2.5", true},
		{"192.0.2.20-4", "192.0.2.10", false},
		{"192.0.2.4-256", "192.0.2.10", false},
		{"192.0.2.4-2-9", "192.0.2.5", false},
		{"192.0.2-4", "192.0.2.4", false},
		{"2001:db8::4-1f", "2001:db8::1f", true},
		{"2001:db8::4-1f", "2001:db8::a", true},
		{"2001:db8::4-1f", "2001:db8::20", false},
		{"2001:db8::4-1f", "2001:db8:1::a", false},
		{"2001:db8::4-1F", "2001:db8::1e", true},
		{"2001:db8::4-1f", "192.0.2.10", false},
		{"192.0.2.4-20", "2001:db8::10", false},
		// Prefixes of whole groups.
		{"192.0.2.", "192.0.2.200", true},
		{"192.0.2", "192.0.2.200", true},
		{"192.0.2.", "192.0.3.1", false},
		{"192.0", "192.0.255.1", true},
		{"192.", "192.168.0.1", true},
		{"192", "192.168.0.1", true},
		{"192", "193.168.0.1", false},
		{"10.1.", "10.1.2.3", true},
		{"10.1.", "10.10.2.3", false},
		{"2001:db8", "2001:db8:1:2::3", true},
		{"2001:db8:", "2001:db8::1", true},
		{"2001:db8:", "2001:db9::1", false},
		{"2001:db8", "192.0.2.1", false},
		{"192.0", "2001:db8::1", false},
		{".", "192.0.2.1", false},
		{"a.b.c", "192.0.2.1", false},
		{"300.1", "44.1.0.1", false},
		{"example.org", "192.0.2.1", false},
		{"2001:xyz", "2001::1", false},
		// Lists: any entry may match; malformed entries are skipped.
		{"junk, 192.0.2.0/24", "192.0.2.9", true},
		{"10.0.0.0/8,192.168.,2001:db8::/32", "192.168.4.4", true},
		{"10.0.0.0/8,192.168.,2001:db8::/32", "2001:db8::4", true},
		{"10.0.0.0/8,192.168.,2001:db8::/32", "172.16.0.1", false},
		// Client addresses that never match.
		{"0.0.0.0/0", "0.0.0.0", false},
		{"0.0.0.0", "0.0.0.0", false},
		{"192.0.2.0/24", "", false},
		{"192.0.2.0/24", "not an ip", false},
		{"192.0.2.0/24", "192.0.2.1:8080", false},
		{"fe80::/10", "fe80::1%eth0", false},
		{"192.0.2.0/24", " 192.0.2.1 ", true},
	} {
		if got := moodle.CheckIPRestriction(c.restriction, c.ip); got != c.want {
			t.Errorf("CheckIPRestriction(%q, %q) = %v, want %v", c.restriction, c.ip, got, c.want)
		}
	}
}
