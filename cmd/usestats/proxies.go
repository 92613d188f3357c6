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
// peers are ignored, so a client cannot choose its address.
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
		if _, err := netip.ParseAddr(hops[i]); err != nil {
			return peer // a malformed hop: keep what the connection says
		}
		if !t.trusts(hops[i]) || i == 0 {
			return hops[i]
		}
	}
	return peer
}
