package main

// Client addresses behind reverse proxies, for the web-service IP checks.

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/usestats/usestats/aggregation"
)

// trustedProxies are the reverse proxies whose X-Forwarded-For is
// believed, as Moodle's reverseproxy settings do for getremoteaddr().
type trustedProxies []netip.Prefix

// parseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.1, 192.168.0.0/16, ::1").
func parseTrustedProxies(list string) (trustedProxies, error) {
	var out trustedProxies
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, aggregation.Errorf(aggregation.EInvalid, "serve: --ws-trusted-proxies: %q is neither an address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// trusts reports whether addr is one of the proxies.
func (t trustedProxies) trusts(addr string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteIP is the client address of r: the connection's peer, unless that
// peer is a trusted proxy; then X-Forwarded-For is read from the right,
// skipping trusted proxies, and the first other address is the client
// (the leftmost one when every hop is trusted). Headers from untrusted
// peers are ignored, so a client cannot choose its address. Hops may
// carry a port ("203.0.113.7:5555", "[2001:db8::7]:443"), as Moodle
// accepts; a hop that is still not an address gives "0.0.0.0", Moodle's
// unknown address, which no IP restriction admits.
func (t trustedProxies) remoteIP(r *http.Request) string {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		peer = r.RemoteAddr
	}
	if len(t) == 0 || !t.trusts(peer) {
		return peer
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, a := range strings.Split(h, ",") {
			if a = strings.TrimSpace(a); a != "" {
				hops = append(hops, a)
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := hopAddr(hops[i])
		if !ok {
			return "0.0.0.0"
		}
		if !t.trusts(a) || i == 0 {
			return a
		}
	}
	return peer
}

// hopAddr is the address of one X-Forwarded-For hop, without its port,
// IPv4-mapped IPv6 addresses written as IPv4.
func hopAddr(hop string) (string, bool) {
	if host, _, err := net.SplitHostPort(hop); err == nil {
		hop = host
	}
	a, err := netip.ParseAddr(strings.Trim(hop, "[]"))
	if err != nil || a.Zone() != "" {
		return "", false
	}
	return a.Unmap().String(), true
}
