package mnet

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

const cliRoot = "http://client.test"

type cliFixture struct {
	srv     *Server
	http    *httptest.Server
	peers   *MemoryPeers
	mu      sync.Mutex
	keyring Keyring
	client  *Client
	me      Identity
}

func newIdentity(t *testing.T, wwwroot string) Identity {
	t.Helper()
	id, err := NewIdentity(wwwroot, time.Now().Unix(), IdentityOptions{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newCliFixture serves a Server on a loopback port whose wwwroot is its
// own URL, with the client host registered and published use_stats.
func newCliFixture(t *testing.T) *cliFixture {
	t.Helper()
	f := &cliFixture{peers: &MemoryPeers{}}
	f.srv = &Server{
		Keys:  func() Keyring { f.mu.Lock(); defer f.mu.Unlock(); return f.keyring },
		Peers: f.peers,
		Methods: map[string]Method{
			srvStats: func(_ context.Context, caller Peer, params []any) (any, error) {
				return Struct{{"caller", caller.WWWRoot}, {"params", params}}, nil
			},
			"local/demo/lib.php/fault": func(context.Context, Peer, []any) (any, error) {
				return nil, &Fault{Code: 520, Message: "Target user does not exist."}
			},
		},
		Services: []Service{{Name: "use_stats", APIVersion: "1", Methods: []string{srvStats}}},
	}
	f.http = httptest.NewServer(f.srv)
	t.Cleanup(f.http.Close)
	f.srv.WWWRoot = f.http.URL
	f.keyring = Keyring{Current: newIdentity(t, f.http.URL)}
	f.me = newIdentity(t, cliRoot)
	if err := f.peers.SavePeer(context.Background(), Peer{WWWRoot: cliRoot, Cert: f.me.Cert, CertPEM: f.me.CertPEM,
		Services: []string{"use_stats"}}); err != nil {
		t.Fatal(err)
	}
	f.client = &Client{WWWRoot: cliRoot, Keys: func() Keyring { return Keyring{Current: f.me} }}
	return f
}

func (f *cliFixture) serverPeer(t *testing.T) Peer {
	t.Helper()
	cert, certPEM, err := f.client.Keyswap(context.Background(), f.http.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Equal(f.keyring.Current.Cert) {
		t.Fatal("keyswap returned another certificate")
	}
	return Peer{WWWRoot: f.http.URL, Cert: cert, CertPEM: certPEM}
}

func TestClientCall(t *testing.T) {
	f := newCliFixture(t)
	peer := f.serverPeer(t)
	res, err := f.client.Call(context.Background(), peer, srvStats, Struct{{"username", "admin"}}, "bob", int64(3))
	if err != nil {
		t.Fatal(err)
	}
	m, err := AsStruct(res.Value)
	if err != nil || m["caller"] != cliRoot || res.Rekeyed {
		t.Fatalf("answer %#v %v", res, err)
	}
	ps, _ := AsArray(m["params"])
	if len(ps) != 3 || ps[1] != "bob" || ps[2] != int64(3) {
		t.Errorf("params relayed as %#v", ps)
	}

	_, err = f.client.Call(context.Background(), peer, "local/demo/lib.php/fault")
	var rf *RemoteFault
	if !errors.As(err, &rf) || rf.Code != 520 {
		t.Errorf("fault: %v", err)
	}
	_, err = f.client.Call(context.Background(), peer, "local/demo/lib.php/missing")
	if !errors.As(err, &rf) || rf.Code != FaultNoSuchRPC {
		t.Errorf("missing method: %v", err)
	}
}

func TestClientRekey(t *testing.T) {
	f := newCliFixture(t)
	peer := f.serverPeer(t)
	old := f.keyring.Current
	next := newIdentity(t, f.http.URL)
	f.mu.Lock()
	f.keyring = Keyring{Current: next, Archived: []Identity{old}}
	f.mu.Unlock()
	res, err := f.client.Call(context.Background(), peer, srvStats)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Rekeyed || !res.Peer.Cert.Equal(next.Cert) || res.Peer.Expires != next.Cert.NotAfter.Unix() {
		t.Fatalf("not re-keyed: %+v", res)
	}
	// With the new certificate, no re-key is needed.
	res2, err := f.client.Call(context.Background(), res.Peer, srvStats)
	if err != nil || res2.Rekeyed {
		t.Fatalf("second call: %+v %v", res2, err)
	}
	// A 7025 whose certificate names another host is refused.
	f.mu.Lock()
	f.keyring = Keyring{Current: newIdentity(t, "http://elsewhere.test"), Archived: []Identity{next}}
	f.mu.Unlock()
	_, err = f.client.Call(context.Background(), res.Peer, srvStats)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Stage != "rekey" {
		t.Errorf("foreign certificate accepted: %v", err)
	}
}

func TestClientUnregistered(t *testing.T) {
	f := newCliFixture(t)
	peer := f.serverPeer(t)
	stranger := newIdentity(t, "http://stranger.test")
	c := &Client{WWWRoot: "http://stranger.test", Keys: func() Keyring { return Keyring{Current: stranger} }}
	_, err := c.Call(context.Background(), peer, srvStats)
	var rf *RemoteFault
	if !errors.As(err, &rf) || rf.Code != FaultWrongWwwroot {
		t.Fatalf("want 7020, got %v", err)
	}
	if _, err := c.Call(context.Background(), Peer{WWWRoot: f.http.URL}, srvStats); aggregation.ErrorCode(err) != aggregation.EUnavailable {
		t.Errorf("no certificate: %v", err)
	}
}

// fakePeer answers every request with body(request).
func fakePeer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(answer))
	t.Cleanup(s.Close)
	return s.URL
}

func TestClientRejectsBadAnswers(t *testing.T) {
	me := newIdentity(t, cliRoot)
	peerID := newIdentity(t, "http://peer.test")
	impostor := newIdentity(t, "http://peer.test")
	resp, _ := EncodeResponse("hello")
	seal := func(signer Identity, ts int64) []byte {
		s, err := Sign(resp, signer.Key, "http://peer.test", ts)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Encrypt(s, me.Cert, "http://peer.test", rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	now := time.Now().Unix()
	cases := []struct {
		name  string
		body  []byte
		code  int
		stage string
	}{
		{"good", seal(peerID, now), 200, ""},
		{"impostor signature", seal(impostor, now), 200, "signature"},
		{"clock ahead", seal(peerID, now+120), 200, "clock"},
		{"plain answer", resp, 200, "envelope"},
		{"http 500", seal(peerID, now), 500, "http"},
		{"garbage", []byte("<<<not xml"), 200, "envelope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := fakePeer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.code)
				_, _ = w.Write(tc.body)
			})
			c := &Client{WWWRoot: cliRoot, Keys: func() Keyring { return Keyring{Current: me} }}
			res, err := c.Call(context.Background(), Peer{WWWRoot: url, Cert: peerID.Cert}, srvStats)
			var ce *CallError
			switch {
			case tc.stage == "" && (err != nil || res.Value != "hello"):
				t.Fatalf("good answer refused: %v", err)
			case tc.stage != "" && (!errors.As(err, &ce) || ce.Stage != tc.stage):
				t.Fatalf("want stage %s, got %v", tc.stage, err)
			}
		})
	}
}

func TestClientDeadline(t *testing.T) {
	block := make(chan struct{})
	url := fakePeer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(block) }) // runs before the server's Close
	me := newIdentity(t, cliRoot)
	peer := newIdentity(t, "http://peer.test")
	c := &Client{WWWRoot: cliRoot, Keys: func() Keyring { return Keyring{Current: me} }}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Call(ctx, Peer{WWWRoot: url, Cert: peer.Cert}, srvStats)
	if aggregation.ErrorCode(err) != aggregation.EUnavailable || time.Since(start) > 5*time.Second {
		t.Fatalf("deadline not honoured: %v after %s", err, time.Since(start))
	}
}

// A peer whose key changed is re-fetched (docs/protocols.md §2.5 step 2) before 710.
func TestServerRefreshesChangedPeerKey(t *testing.T) {
	f := newCliFixture(t)
	peer := f.serverPeer(t)
	newMe := newIdentity(t, cliRoot)
	f.client.Keys = func() Keyring { return Keyring{Current: newMe, Archived: []Identity{f.me}} }
	_, err := f.client.Call(context.Background(), peer, srvStats)
	var rf *RemoteFault
	if !errors.As(err, &rf) || rf.Code != FaultSignatureInvalid {
		t.Fatalf("without refresh: want 710, got %v", err)
	}
	fetched := 0
	f.srv.RefreshKey = func(_ context.Context, w string) (*x509.Certificate, error) {
		fetched++
		if w != cliRoot {
			t.Errorf("refresh asked for %s", w)
		}
		return newMe.Cert, nil
	}
	if _, err := f.client.Call(context.Background(), peer, srvStats); err != nil {
		t.Fatalf("with refresh: %v", err)
	}
	if p, _, _ := f.peers.Peer(context.Background(), cliRoot); !p.Cert.Equal(newMe.Cert) || p.Services[0] != "use_stats" {
		t.Errorf("stored peer not updated: %+v", p)
	}
	// An impostor's signature still fails even after a refresh.
	impostor := newIdentity(t, cliRoot)
	f.client.Keys = func() Keyring { return Keyring{Current: impostor, Archived: []Identity{newMe}} }
	if _, err := f.client.Call(context.Background(), peer, srvStats); !errors.As(err, &rf) || rf.Code != FaultSignatureInvalid || fetched != 2 {
		t.Fatalf("impostor: %v (fetched %d)", err, fetched)
	}
}
