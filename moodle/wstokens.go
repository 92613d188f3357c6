package moodle

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Token types of external_tokens.tokentype.
const (
	TokenPermanent        = 0 // EXTERNAL_TOKEN_PERMANENT: a web-service token
	TokenEmbedded         = 1 // EXTERNAL_TOKEN_EMBEDDED: linked to a browser session (sid)
	TokenPermanentSession = 2 // permanent, with an emulated session
)

// maxTokenLength is the width of external_tokens.token (char(128)).
const maxTokenLength = 128

// WSToken is a Moodle web-service token (a row of external_tokens) with
// the service it was issued for (external_services). Nullable columns read
// as their zero value.
type WSToken struct {
	ID        int64
	Token     string
	TokenType int64 // TokenPermanent, TokenEmbedded or TokenPermanentSession
	UserID    int64
	ContextID int64  // the context the token is restricted to
	SID       string // PHP session of an embedded token ("" for none)
	// IPRestriction is the token's comma-separated address list ("" for
	// none); see CheckIPRestriction.
	IPRestriction string
	ValidUntil    int64 // expiry (Unix seconds); 0 = never

	ServiceID          int64 // external_tokens.externalserviceid
	ServiceName        string
	ServiceShortName   string
	ServiceEnabled     bool // false too when the service row is missing
	RequiredCapability string
	RestrictedUsers    bool // only users listed in external_services_users
}

// Expired reports whether the token's validuntil is set and before now
// (Unix seconds), Moodle's test for an expired token.
func (t WSToken) Expired(now int64) bool { return t.ValidUntil != 0 && t.ValidUntil < now }

// wsTokenRow is what ExternalToken reads.
type wsTokenRow struct {
	ID                 int64          `bun:"id"`
	Token              string         `bun:"token"`
	TokenType          int64          `bun:"tokentype"`
	UserID             int64          `bun:"userid"`
	ServiceID          int64          `bun:"externalserviceid"`
	SID                sql.NullString `bun:"sid"`
	ContextID          int64          `bun:"contextid"`
	IPRestriction      sql.NullString `bun:"iprestriction"`
	ValidUntil         sql.NullInt64  `bun:"validuntil"`
	ServiceFound       sql.NullInt64  `bun:"service_id"`
	ServiceName        sql.NullString `bun:"service_name"`
	ServiceShortName   sql.NullString `bun:"service_shortname"`
	ServiceEnabled     sql.NullInt64  `bun:"service_enabled"`
	RequiredCapability sql.NullString `bun:"service_requiredcapability"`
	RestrictedUsers    sql.NullInt64  `bun:"service_restrictedusers"`
}

// ExternalToken returns the web-service token whose external_tokens.token
// is exactly token (byte for byte: MariaDB's collations ignore case and
// trailing spaces, so the comparison is made again here), with its
// service. ok is false when there is none; a token that cannot be stored
// (empty, longer than 128 characters, invalid UTF-8 or holding NUL) is
// never found and costs no query. When several rows match, a permanent
// token (tokentype 0, what Moodle's REST server looks up) comes first, then
// the lowest id. Validity (type, expiry, IP restriction, service enabled)
// is the caller's to check. Missing tables are ENotFound errors.
func (s *Source) ExternalToken(ctx context.Context, token string) (WSToken, bool, error) {
	if token == "" || !utf8.ValidString(token) || strings.IndexByte(token, 0) >= 0 ||
		utf8.RuneCountInString(token) > maxTokenLength {
		return WSToken{}, false, nil
	}
	var rows []wsTokenRow
	err := s.db.NewSelect().TableExpr("? AS t", bun.Ident(s.prefix+"external_tokens")).
		Join("LEFT JOIN ? AS es ON es.id = t.externalserviceid", bun.Ident(s.prefix+"external_services")).
		ColumnExpr("t.id, t.token, t.tokentype, t.userid, t.externalserviceid, t.sid, t.contextid, t.iprestriction, t.validuntil").
		ColumnExpr("es.id AS service_id, es.name AS service_name, es.shortname AS service_shortname").
		ColumnExpr("es.enabled AS service_enabled, es.requiredcapability AS service_requiredcapability").
		ColumnExpr("es.restrictedusers AS service_restrictedusers").
		Where("t.token = ?", token).OrderExpr("t.id").Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		table := "external_tokens"
		if ctx.Err() == nil && isMissingTable(err) && s.checkTable(ctx, table) == nil {
			table = "external_services"
		}
		return WSToken{}, false, s.readErr(ctx, table, "reading the web-service token", err)
	}
	best := -1
	for i, r := range rows {
		if r.Token != token {
			continue
		}
		if best < 0 || (rows[best].TokenType != TokenPermanent && r.TokenType == TokenPermanent) {
			best = i
		}
	}
	if best < 0 {
		return WSToken{}, false, nil
	}
	r := rows[best]
	return WSToken{
		ID: r.ID, Token: r.Token, TokenType: r.TokenType, UserID: r.UserID, ContextID: r.ContextID,
		SID: r.SID.String, IPRestriction: r.IPRestriction.String, ValidUntil: r.ValidUntil.Int64,
		ServiceID: r.ServiceID, ServiceName: r.ServiceName.String, ServiceShortName: r.ServiceShortName.String,
		ServiceEnabled:     r.ServiceFound.Valid && r.ServiceEnabled.Int64 != 0,
		RequiredCapability: r.RequiredCapability.String,
		RestrictedUsers:    r.RestrictedUsers.Int64 != 0,
	}, true, nil
}

// ServiceHasFunction reports whether the service lists the external
// function (external_services_functions; names compared exactly). A
// missing table is an ENotFound error.
func (s *Source) ServiceHasFunction(ctx context.Context, serviceID int64, function string) (bool, error) {
	if function == "" || !utf8.ValidString(function) || strings.IndexByte(function, 0) >= 0 ||
		utf8.RuneCountInString(function) > 200 {
		return false, nil
	}
	var names []string
	if err := s.db.NewSelect().TableExpr("?", s.table("external_services_functions")).ColumnExpr("functionname").
		Where("externalserviceid = ?", serviceID).Where("functionname = ?", function).Scan(ctx, &names); err != nil && !isNoRows(err) {
		return false, s.readErr(ctx, "external_services_functions",
			fmt.Sprintf("reading the functions of web service %d", serviceID), err)
	}
	for _, n := range names {
		if n == function {
			return true, nil
		}
	}
	return false, nil
}

// CheckIPRestriction reports whether the client address ip passes a
// token's iprestriction. An empty restriction (or "0", which PHP also
// treats as unset) lets every address through; otherwise ip must match one
// entry of the comma-separated list, with the forms of Moodle's
// address_in_subnet:
//
//   - an exact address: 192.0.2.7, 2001:db8::7;
//   - CIDR: 192.0.2.0/24, 2001:db8::/32 (a mask of 0 matches every address
//     of that family);
//   - a range in the last group: 192.0.2.4-20, 2001:db8::4-1f (hex);
//   - a prefix of whole groups: 192.0, 192.0.2. (/16, /24), 2001:db8 or
//     2001:db8: (/32).
//
// Entries are trimmed; malformed ones never match, nor does the client
// address 0.0.0.0 or an unparsable one. IPv4 groups may have leading zeros
// (010.1.2.3 is 10.1.2.3). An IPv4 address in IPv6 form (::ffff:192.0.2.7)
// is checked as IPv4.
func CheckIPRestriction(restriction, ip string) bool {
	if restriction == "" || restriction == "0" {
		return true
	}
	addr, ok := parseAddr(strings.TrimSpace(ip))
	if !ok || (addr.Is4() && addr.IsUnspecified()) {
		return false
	}
	for entry := range strings.SplitSeq(restriction, ",") {
		if entry = strings.TrimSpace(entry); entry != "" && entryMatches(entry, addr) {
			return true
		}
	}
	return false
}

// entryMatches checks one entry of an IP restriction list.
func entryMatches(entry string, addr netip.Addr) bool {
	switch {
	case strings.Contains(entry, "/"):
		ipText, maskText, _ := strings.Cut(entry, "/")
		ip, ok := parseAddr(strings.TrimSpace(ipText))
		if !ok || ip.Is4() != addr.Is4() {
			return false
		}
		bits, err := strconv.Atoi(strings.TrimSpace(maskText))
		if err != nil || bits < 0 || bits > ip.BitLen() || strings.HasPrefix(strings.TrimSpace(maskText), "+") {
			return false
		}
		p, err := ip.Prefix(bits)
		return err == nil && p.Contains(addr)
	case strings.Contains(entry, "-"):
		startText, endText, _ := strings.Cut(entry, "-")
		if strings.Contains(endText, "-") {
			return false
		}
		start, ok := parseAddr(strings.TrimSpace(startText))
		if !ok || start.Is4() != addr.Is4() || strings.Contains(entry, ":") == start.Is4() {
			return false
		}
		last, ok := parseGroup(strings.TrimSpace(endText), start.Is4())
		if !ok {
			return false
		}
		s, a := start.AsSlice(), addr.AsSlice()
		n := len(s)
		if start.Is4() {
			if string(s[:3]) != string(a[:3]) {
				return false
			}
			return uint(a[3]) >= uint(s[3]) && uint(a[3]) <= last
		}
		if string(s[:n-2]) != string(a[:n-2]) {
			return false
		}
		first, got := uint(s[n-2])<<8|uint(s[n-1]), uint(a[n-2])<<8|uint(a[n-1])
		return got >= first && got <= last
	default:
		if ip, ok := parseAddr(entry); ok {
			return ip == addr
		}
		v6 := strings.Contains(entry, ":")
		if v6 == addr.Is4() {
			return false
		}
		sep, groupBits, groups := ".", 8, 4
		if v6 {
			sep, groupBits, groups = ":", 16, 8
		}
		trimmed := strings.TrimSuffix(entry, sep)
		parts := strings.Split(trimmed, sep)
		if len(parts) >= groups { // a whole address with a trailing separator
			ip, ok := parseAddr(trimmed)
			return ok && len(parts) == groups && ip == addr
		}
		var b [16]byte
		for i, p := range parts {
			g, ok := parseGroup(p, !v6)
			if !ok {
				return false
			}
			if v6 {
				b[2*i], b[2*i+1] = byte(g>>8), byte(g)
			} else {
				b[i] = byte(g)
			}
		}
		base := netip.AddrFrom16(b)
		if !v6 {
			base = netip.AddrFrom4([4]byte(b[:4]))
		}
		p, err := base.Prefix(len(parts) * groupBits)
		return err == nil && p.Contains(addr)
	}
}

// parseAddr parses an IPv4 address (1 to 3 decimal digits per group,
// leading zeros allowed) or an IPv6 one (no zone); IPv4-mapped IPv6
// addresses become IPv4.
func parseAddr(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if !strings.Contains(s, ":") {
		parts := strings.Split(s, ".")
		if len(parts) != 4 {
			return netip.Addr{}, false
		}
		var b [4]byte
		for i, p := range parts {
			g, ok := parseGroup(p, true)
			if !ok {
				return netip.Addr{}, false
			}
			b[i] = byte(g)
		}
		return netip.AddrFrom4(b), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseGroup parses one group of an address: 1-3 decimal digits up to 255
// for IPv4, 1-4 hex digits for IPv6.
func parseGroup(s string, v4 bool) (uint, bool) {
	base, width, maxVal := 16, 4, uint64(0xffff)
	if v4 {
		base, width, maxVal = 10, 3, 255
	}
	if s == "" || len(s) > width {
		return 0, false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9') && (v4 || !(c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, base, 16)
	if err != nil || v > maxVal {
		return 0, false
	}
	return uint(v), true
}
