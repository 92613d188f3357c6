package mnet

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/usestats/usestats/internal/directorytest"
)

// BenchmarkGetStatsRoundTrip measures one use_stats_rpc_get_stats call at
// module scope through the whole envelope over loopback HTTP: client sign
// + encrypt, server decrypt + verify + compute + sign + encrypt, client
// decrypt + verify.
func BenchmarkGetStatsRoundTrip(b *testing.B) {
	u, _ := usFixture()
	u.Site.(*usSite).hosts["http://client.test"] = 2
	peers := &MemoryPeers{}
	srv := &Server{Peers: peers, Methods: u.Methods(), Services: []Service{u.Service()}}
	h := httptest.NewServer(srv)
	defer h.Close()
	srvID, err := NewIdentity(h.URL, time.Now().Unix(), IdentityOptions{}, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	srv.WWWRoot, srv.Keys = h.URL, func() Keyring { return Keyring{Current: srvID} }
	me, err := NewIdentity("http://client.test", time.Now().Unix(), IdentityOptions{}, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	if err := peers.SavePeer(context.Background(), Peer{WWWRoot: "http://client.test", Cert: me.Cert, CertPEM: me.CertPEM, Services: []string{UseStatsService}}); err != nil {
		b.Fatal(err)
	}
	c := &Client{WWWRoot: "http://client.test", Keys: func() Keyring { return Keyring{Current: me} }}
	peer := Peer{WWWRoot: h.URL, Cert: srvID.Cert}
	caller := Struct{{"username", "teacher"}, {"remoteuserhostroot", "http://client.test"}, {"remotehostroot", "http://client.test"}}
	u.Site.(*usSite).caps[6] = true
	dir := u.Directory.(*directorytest.Directory)
	teacher, _ := dir.User(6)
	teacher.HostID = 2
	dir.AddUsers(teacher)
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Call(context.Background(), peer, MethodGetStats, caller, "alice", "", int64(3), int64(0))
		if err != nil {
			b.Fatal(err)
		}
		if a, err := DecodeAnswer(res.Value); err != nil || a.Status != 200 {
			b.Fatalf("%+v %v", a, err)
		}
	}
}
