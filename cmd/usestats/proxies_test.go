package main

import (
	"net/http/httptest"
	"testing"
)

// X-Forwarded-For is believed only from trusted proxies, read from the
// right, and never lets a client pick its address.
func TestTrustedProxiesRemoteIP(t *testing.T) {
	tp, err := parseTrustedProxies(" 10.0.0.1, 192.168.0.0/16 ,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"203.0.113.5:1234", nil, "203.0.113.5"},
		{"203.0.113.5:1234", []string{"10.9.9.9"}, "203.0.113.5"}, // untrusted peer: header ignored
		{"10.0.0.1:1234", nil, "10.0.0.1"},
		{"10.0.0.1:1234", []string{"198.51.100.7"}, "198.51.100.7"},
		{"10.0.0.1:1234", []string{"6.6.6.6, 198.51.100.7, 192.168.1.1"}, "198.51.100.7"}, // spoofed left part skipped
		{"10.0.0.1:1234", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},            // several headers
		{"10.0.0.1:1234", []string{"192.168.3.3, 192.168.1.1"}, "192.168.3.3"},            // all trusted: leftmost
		{"10.0.0.1:1234", []string{"not-an-ip"}, "0.0.0.0"},                               // no restriction admits it
		{"10.0.0.1:1234", []string{"unknown, 198.51.100.7"}, "198.51.100.7"},
		{"10.0.0.1:1234", []string{"198.51.100.7, unknown"}, "0.0.0.0"},
		{"10.0.0.1:1234", []string{"203.0.113.7:5555"}, "203.0.113.7"},              // with a port
		{"10.0.0.1:1234", []string{"[2001:db8::7]:443"}, "2001:db8::7"},             // IPv6 with a port
		{"10.0.0.1:1234", []string{"::ffff:198.51.100.9"}, "198.51.100.9"},          // IPv4-mapped
		{"10.0.0.1:1234", []string{"198.51.100.7, 192.168.1.1:80"}, "198.51.100.7"}, // trusted hop with a port
		{"[::1]:1234", []string{"2001:db8::7"}, "2001:db8::7"},
		{"[::ffff:10.0.0.1]:1234", []string{"198.51.100.8"}, "198.51.100.8"}, // IPv4-mapped peer
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		for _, h := range tc.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := tp.remoteIP(r); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	// Without trusted proxies the peer is the client.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.7")
	if got := trustedProxies(nil).remoteIP(r); got != "10.0.0.1" {
		t.Errorf("no proxies: %s", got)
	}
	for _, bad := range []string{"proxy.local", "10.0.0.0/33", "1.2.3"} {
		if _, err := parseTrustedProxies(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
