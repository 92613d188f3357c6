package mnet

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// srvNow is inside the lab certificates' validity.
var srvNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

const srvStats = "blocks/use_stats/rpclib.php/use_stats_rpc_get_stats"

type srvFixture struct {
	*envFixture
	idA, idB Identity
	peers    *MemoryPeers
	srv      *Server
	http     *httptest.Server
	logs     *bytes.Buffer
	keyring  Keyring
	mu       sync.Mutex
	gotPeer  Peer
}

func srvIdentity(t *testing.T, name string) Identity {
	t.Helper()
	id, err := ParseIdentity(envRead(t, name+".crt"), envRead(t, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newSrvFixture serves B with A registered (service use_stats published
// to A) unless registerA is false.
func newSrvFixture(t *testing.T, registerA bool) *srvFixture {
	t.Helper()
	f := &srvFixture{envFixture: newEnvFixture(t), peers: &MemoryPeers{}, logs: &bytes.Buffer{}}
	f.idA = srvIdentity(t, "peerA-moodle-a.test")
	f.idB = srvIdentity(t, "peerB-moodle-b.test")
	f.keyring = Keyring{Current: f.idB}
	if registerA {
		if err := f.peers.SavePeer(context.Background(), Peer{WWWRoot: envWwwrootA, Name: "Site A", Cert: f.idA.Cert,
			CertPEM: f.idA.CertPEM, Expires: f.idA.Expires, Services: []string{"use_stats"}}); err != nil {
			t.Fatal(err)
		}
	}
	f.srv = &Server{
		WWWRoot: envWwwrootB,
		Keys: func() Keyring {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.keyring
		},
		Peers:  f.peers,
		Now:    func() time.Time { return srvNow },
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		Methods: map[string]Method{
			srvStats: func(_ context.Context, caller Peer, params []any) (any, error) {
				f.mu.Lock()
				f.gotPeer = caller
				f.mu.Unlock()
				return map[string]any{"caller": caller.WWWRoot, "n": int64(len(params))}, nil
			},
			"local/demo/lib.php/fault": func(context.Context, Peer, []any) (any, error) {
				return nil, &Fault{Code: 42, Message: "custom fault"}
			},
			"local/demo/lib.php/faulterror": func(context.Context, Peer, []any) (any, error) {
				return nil, &FaultError{Code: 43, Message: "wrapped fault", Err: errors.New("secret cause")}
			},
			"local/demo/lib.php/internal": func(context.Context, Peer, []any) (any, error) {
				return nil, errors.New("db password is hunter2")
			},
			"local/demo/lib.php/panic": func(context.Context, Peer, []any) (any, error) {
				panic("boom")
			},
			"local/other/lib.php/hidden": func(context.Context, Peer, []any) (any, error) {
				return "should not run", nil
			},
		},
		Services: []Service{
			{Name: "use_stats", APIVersion: "1", Methods: []string{srvStats}},
			{Name: "other", APIVersion: "2", Methods: []string{"local/other/lib.php/hidden"}},
			{Name: "sso_sp", APIVersion: "1", Subscribe: true},
		},
		Docs: map[string]MethodDoc{srvStats: {Help: "Time spent.", Params: []Param{{"username", "string", "user"}},
			Return: Param{Type: "string", Description: "JSON"}}},
	}
	f.http = httptest.NewServer(f.srv)
	t.Cleanup(f.http.Close)
	return f
}

func (f *srvFixture) post(t *testing.T, body []byte) []byte {
	t.Helper()
	resp, err := http.Post(f.http.URL+XMLRPCPath, "text/xml charset=UTF-8", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/xml; charset=utf-8" {
		t.Fatalf("status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), out)
	}
	return out
}

// callAB sends method as A (signed with A's key, encrypted to certB) and
// returns the opened response, which must be signed and encrypted and
// verify against certB.
func (f *srvFixture) callAB(t *testing.T, certB *x509.Certificate, method string, params ...any) (any, *Fault) {
	t.Helper()
	req, err := EncodeRequest(method, params...)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign(req, f.keyA, envWwwrootA, srvNow.Unix())
	if err != nil {
		t.Fatal(err)
	}
	body, err := Encrypt(signed, certB, envWwwrootA, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw := f.post(t, body)
	o, err := Open(raw, []*rsa.PrivateKey{f.keyA}, envPeers(map[string]*x509.Certificate{envWwwrootB: certB}), Limits{})
	if err != nil {
		t.Fatalf("open response: %v\n%s", err, raw)
	}
	if !o.Encrypted || !o.SignatureOK || o.Wwwroot != envWwwrootB || !SignedLayoutOK(o.SignedLayer) || o.Timestamp != srvNow.Unix() {
		t.Fatalf("response envelope %+v", o)
	}
	return decodeResp(t, o.XMLRPC)
}

func decodeResp(t *testing.T, doc []byte) (any, *Fault) {
	t.Helper()
	v, fault, err := DecodeResponse(bytes.NewReader(doc), Limits{})
	if err != nil {
		t.Fatalf("decode response: %v\n%s", err, doc)
	}
	return v, fault
}

func wantRespFault(t *testing.T, fault *Fault, code int) {
	t.Helper()
	if fault == nil || fault.Code != code {
		t.Fatalf("fault %+v, want code %d", fault, code)
	}
}

func TestServerListServices(t *testing.T) {
	f := newSrvFixture(t, true)
	v, fault := f.callAB(t, f.certB, "system/listServices")
	if fault != nil {
		t.Fatal(fault)
	}
	arr, _ := AsArray(v)
	if len(arr) != 2 {
		t.Fatalf("services %v", v)
	}
	s0, _ := AsStruct(arr[0])
	s1, _ := AsStruct(arr[1])
	if s0["name"] != "sso_sp" || s0["publish"] != "0" || s0["subscribe"] != "1" ||
		s1["name"] != "use_stats" || s1["apiversion"] != "1" || s1["publish"] != "1" || s1["subscribe"] != "0" {
		t.Fatalf("services %v", arr)
	}
}

func TestServerListMethodsAndDocs(t *testing.T) {
	f := newSrvFixture(t, true)
	v, fault := f.callAB(t, f.certB, "system/listMethods")
	if fault != nil {
		t.Fatal(fault)
	}
	got := strings.Join(anyStrings(t, v), ",")
	want := "blocks/use_stats/rpclib.php/use_stats_rpc_get_stats,local/demo/lib.php/fault,local/demo/lib.php/faulterror,local/demo/lib.php/internal,local/demo/lib.php/panic"
	if got != want {
		t.Fatalf("listMethods = %s", got)
	}
	v, _ = f.callAB(t, f.certB, "system/listMethods", "use_stats")
	if got := strings.Join(anyStrings(t, v), ","); got != srvStats {
		t.Fatalf("listMethods(use_stats) = %s", got)
	}
	v, _ = f.callAB(t, f.certB, "system/listMethods", "other")
	if len(anyStrings(t, v)) != 0 {
		t.Fatalf("listMethods(other) = %v", v)
	}
	v, _ = f.callAB(t, f.certB, "system/methodHelp", srvStats)
	if v != "Time spent." {
		t.Fatalf("methodHelp = %v", v)
	}
	v, _ = f.callAB(t, f.certB, "system/methodSignature", srvStats)
	sig, _ := AsStruct(v)
	ps, _ := AsArray(sig["parameters"])
	p0, _ := AsStruct(ps[0])
	ret, _ := AsStruct(sig["return"])
	if len(ps) != 1 || p0["name"] != "username" || ret["type"] != "string" {
		t.Fatalf("methodSignature = %v", v)
	}
	for _, m := range []string{"system/methodHelp", "system/methodSignature"} {
		if v, _ := f.callAB(t, f.certB, m, "local/other/lib.php/hidden"); v != false {
			t.Fatalf("%s(hidden) = %v", m, v)
		}
	}
	_, fault = f.callAB(t, f.certB, "system/listFiles")
	wantRespFault(t, fault, FaultSystemUnhandled)
	_, fault = f.callAB(t, f.certB, "system/nothing")
	wantRespFault(t, fault, FaultNoSuchSystemMethod)
}

func anyStrings(t *testing.T, v any) []string {
	t.Helper()
	arr, err := AsArray(v)
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	out := []string{}
	for _, e := range arr {
		s, _ := AsString(e)
		out = append(out, s)
	}
	return out
}

func TestServerDispatchCustomMethod(t *testing.T) {
	f := newSrvFixture(t, true)
	v, fault := f.callAB(t, f.certB, srvStats, "jdoe", int64(3))
	if fault != nil {
		t.Fatal(fault)
	}
	m, _ := AsStruct(v)
	if m["caller"] != envWwwrootA || m["n"] != int64(2) {
		t.Fatalf("result %v", v)
	}
	if f.gotPeer.WWWRoot != envWwwrootA || f.gotPeer.Name != "Site A" || f.gotPeer.Cert == nil {
		t.Fatalf("caller %+v", f.gotPeer)
	}
	// Registered but not published to A.
	_, fault = f.callAB(t, f.certB, "local/other/lib.php/hidden")
	wantRespFault(t, fault, FaultNoSuchRPC)
}

func TestServerUnknownMethodAndBadName(t *testing.T) {
	f := newSrvFixture(t, true)
	_, fault := f.callAB(t, f.certB, "local/nothing/lib.php/nope")
	wantRespFault(t, fault, FaultNoSuchRPC)
	_, fault = f.callAB(t, f.certB, "system.listMethods")
	wantRespFault(t, fault, FaultBadMethodName)
}

func TestServerMethodErrors(t *testing.T) {
	f := newSrvFixture(t, true)
	_, fault := f.callAB(t, f.certB, "local/demo/lib.php/fault")
	if fault == nil || fault.Code != 42 || fault.Message != "custom fault" {
		t.Fatalf("fault %+v", fault)
	}
	_, fault = f.callAB(t, f.certB, "local/demo/lib.php/faulterror")
	if fault == nil || fault.Code != 43 || fault.Message != "wrapped fault" {
		t.Fatalf("fault %+v", fault)
	}
	_, fault = f.callAB(t, f.certB, "local/demo/lib.php/internal")
	wantRespFault(t, fault, FaultUnknown)
	if strings.Contains(fault.Message, "hunter2") || !strings.Contains(f.logs.String(), "hunter2") {
		t.Fatalf("internal error leaked (%q) or not logged", fault.Message)
	}
	_, fault = f.callAB(t, f.certB, "local/demo/lib.php/panic")
	wantRespFault(t, fault, FaultUnknown)
	if strings.Contains(fault.Message, "boom") || !strings.Contains(f.logs.String(), "boom") {
		t.Fatalf("panic leaked (%q) or not logged", fault.Message)
	}
}

// plainFaultOf posts body and decodes a plain (unwrapped) fault answer.
func (f *srvFixture) plainFaultOf(t *testing.T, body []byte) *Fault {
	t.Helper()
	raw := f.post(t, body)
	if bytes.Contains(raw, []byte("signedMessage")) || bytes.Contains(raw, []byte("encryptedMessage")) {
		t.Fatalf("expected a plain answer: %s", raw)
	}
	_, fault := decodeResp(t, raw)
	return fault
}

func TestServerUnknownCaller(t *testing.T) {
	f := newSrvFixture(t, false)
	req, _ := EncodeRequest("system/listServices")
	signed, _ := Sign(req, f.keyA, envWwwrootA, srvNow.Unix())
	body, _ := Encrypt(signed, f.certB, envWwwrootA, rand.Reader)
	wantRespFault(t, f.plainFaultOf(t, body), FaultWrongWwwroot)

	// Keyswap without AutoRegister: answered, nothing registered.
	keyswap, _ := EncodeRequest("system/keyswap", envWwwrootA, string(f.idA.CertPEM), "moodle")
	v, fault := decodeResp(t, f.post(t, keyswap))
	if fault != nil || v != string(f.idB.CertPEM) {
		t.Fatalf("keyswap = %v %v", v, fault)
	}
	if _, known, _ := f.peers.Peer(context.Background(), envWwwrootA); known {
		t.Fatal("registered without AutoRegister")
	}

	// With AutoRegister the keyswap registers A, and A can then call.
	f.srv.AutoRegister = true
	if v, _ := decodeResp(t, f.post(t, keyswap)); v != string(f.idB.CertPEM) {
		t.Fatalf("keyswap = %v", v)
	}
	p, known, _ := f.peers.Peer(context.Background(), envWwwrootA)
	if !known || !bytes.Equal(p.CertPEM, f.idA.CertPEM) || p.Expires != f.idA.Expires || len(p.Services) != 0 {
		t.Fatalf("registered %+v", p)
	}
	v, fault = f.callAB(t, f.certB, "system/listMethods")
	if fault != nil || len(anyStrings(t, v)) == 0 {
		t.Fatalf("after registration: %v %v", v, fault)
	}
	// A certificate not naming the caller is not registered.
	evil, _ := EncodeRequest("system/keyswap", "http://evil.test", string(f.idA.CertPEM), "moodle")
	if v, _ := decodeResp(t, f.post(t, evil)); v != string(f.idB.CertPEM) {
		t.Fatalf("keyswap = %v", v)
	}
	if _, known, _ := f.peers.Peer(context.Background(), "http://evil.test"); known {
		t.Fatal("registered a host with someone else's certificate")
	}
}

func TestServerKeyswapUpdatesPeer(t *testing.T) {
	f := newSrvFixture(t, false)
	ctx := context.Background()
	// A is registered without a key (e.g. added by an admin before the swap).
	_ = f.peers.SavePeer(ctx, Peer{WWWRoot: envWwwrootA, Name: "Site A", Services: []string{"use_stats"}})
	keyswap, _ := EncodeRequest("system/keyswap", envWwwrootA+"/", string(f.idA.CertPEM), "moodle")
	if v, _ := decodeResp(t, f.post(t, keyswap)); v != string(f.idB.CertPEM) {
		t.Fatalf("keyswap = %v", v)
	}
	p, _, _ := f.peers.Peer(ctx, envWwwrootA)
	if !bytes.Equal(p.CertPEM, f.idA.CertPEM) || p.Name != "Site A" || len(p.Services) != 1 {
		t.Fatalf("peer %+v", p)
	}
	if _, fault := f.callAB(t, f.certB, srvStats); fault != nil {
		t.Fatal(fault)
	}

	// A valid stored key is not replaced by an unauthenticated keyswap.
	other, err := NewIdentity(envWwwrootA, srvNow.Unix(), IdentityOptions{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	swap2, _ := EncodeRequest("system/keyswap", envWwwrootA, string(other.CertPEM), "moodle")
	decodeResp(t, f.post(t, swap2))
	p, _, _ = f.peers.Peer(ctx, envWwwrootA)
	if !bytes.Equal(p.CertPEM, f.idA.CertPEM) {
		t.Fatal("valid key replaced")
	}
	// Once the stored key has expired, the new one is taken.
	f.srv.Now = func() time.Time { return f.idA.Cert.NotAfter.Add(time.Hour) }
	other, err = NewIdentity(envWwwrootA, f.idA.Cert.NotAfter.Unix(), IdentityOptions{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	swap3, _ := EncodeRequest("system/keyswap", envWwwrootA, string(other.CertPEM), "moodle")
	decodeResp(t, f.post(t, swap3))
	p, _, _ = f.peers.Peer(ctx, envWwwrootA)
	if !bytes.Equal(p.CertPEM, other.CertPEM) || p.Expires != other.Expires {
		t.Fatal("expired key not replaced")
	}
}

func TestServerPlainRequests(t *testing.T) {
	f := newSrvFixture(t, true)
	req, _ := EncodeRequest("system/listServices")
	// Plain, unsigned: not encrypted from an untrusted host.
	wantRespFault(t, f.plainFaultOf(t, req), FaultForbiddenTransport)

	// Signed but not encrypted: 7021, answered signed.
	signed, _ := Sign(req, f.keyA, envWwwrootA, srvNow.Unix())
	raw := f.post(t, signed)
	o, err := Open(raw, nil, envPeers(map[string]*x509.Certificate{envWwwrootB: f.certB}), Limits{})
	if err != nil || o.Encrypted || !o.SignatureOK {
		t.Fatalf("%+v %v", o, err)
	}
	_, fault := decodeResp(t, o.XMLRPC)
	wantRespFault(t, fault, FaultForbiddenTransport)

	// From a trusted host, signed plaintext is accepted; unsigned is 711.
	f.srv.TrustedHost = func(*http.Request) bool { return true }
	raw = f.post(t, signed)
	o, _ = Open(raw, nil, envPeers(map[string]*x509.Certificate{envWwwrootB: f.certB}), Limits{})
	if v, fault := decodeResp(t, o.XMLRPC); fault != nil || v == nil {
		t.Fatalf("trusted: %v %v", v, fault)
	}
	wantRespFault(t, f.plainFaultOf(t, req), FaultNotSigned)

	// Encrypted but signed by the wrong key: 710, signed and encrypted.
	bad, _ := Sign(req, f.keyB, envWwwrootA, srvNow.Unix())
	body, _ := Encrypt(bad, f.certB, envWwwrootA, rand.Reader)
	raw = f.post(t, body)
	o, err = Open(raw, []*rsa.PrivateKey{f.keyA}, envPeers(map[string]*x509.Certificate{envWwwrootB: f.certB}), Limits{})
	if err != nil || !o.Encrypted || !o.SignatureOK {
		t.Fatalf("%+v %v", o, err)
	}
	_, fault = decodeResp(t, o.XMLRPC)
	wantRespFault(t, fault, FaultSignatureInvalid)

	// Encrypted to a key we do not hold: 7023, plain.
	body, _ = Encrypt(signed, f.certA, envWwwrootA, rand.Reader)
	wantRespFault(t, f.plainFaultOf(t, body), FaultEncryptionInvalid)

	// Garbage.
	wantRespFault(t, f.plainFaultOf(t, []byte("<<<not xml")), FaultUnknown)
}

func TestServerArchivedKey(t *testing.T) {
	f := newSrvFixture(t, true)
	fresh, err := NewIdentity(envWwwrootB, srvNow.Unix(), IdentityOptions{}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.keyring = Keyring{Current: fresh, Archived: []Identity{f.idB}}
	// A still holds B's old certificate; the answer is signed with that
	// old key, so A verifies it against what it has.
	_, fault := f.callAB(t, f.certB, srvStats)
	wantRespFault(t, fault, FaultNewKey)
	if fault.Message != string(fresh.CertPEM) {
		t.Fatalf("7025 carries %q", fault.Message)
	}
	if f.gotPeer.WWWRoot != "" {
		t.Fatal("method ran on a rekey request")
	}
	// Retried with the new certificate it goes through.
	if _, fault := f.callAB(t, fresh.Cert, srvStats); fault != nil {
		t.Fatal(fault)
	}
}

func TestServerBodyTooLarge(t *testing.T) {
	f := newSrvFixture(t, true)
	f.srv.Limits = Limits{MaxBytes: 1024}
	big := bytes.Repeat([]byte("A"), 64<<10)
	fault := f.plainFaultOf(t, big)
	wantRespFault(t, fault, FaultUnknown)
	// A real envelope over the limit is refused the same way, in plain.
	req, _ := EncodeRequest("system/listServices", strings.Repeat("x", 2048))
	signed, _ := Sign(req, f.keyA, envWwwrootA, srvNow.Unix())
	body, _ := Encrypt(signed, f.certB, envWwwrootA, rand.Reader)
	wantRespFault(t, f.plainFaultOf(t, body), FaultUnknown)
	// Still serving.
	f.srv.Limits = Limits{}
	if _, fault := f.callAB(t, f.certB, "system/listServices"); fault != nil {
		t.Fatal(fault)
	}
}

func TestServerPublicKeyAndRoutes(t *testing.T) {
	f := newSrvFixture(t, true)
	resp, err := http.Get(f.http.URL + PublicKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !bytes.Equal(body, f.idB.CertPEM) {
		t.Fatalf("publickey: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", XMLRPCPath, 405},
		{"POST", PublicKeyPath, 405},
		{"GET", "/nothing", 404},
		{"POST", "/mnet/xmlrpc/other.php", 404},
	} {
		req, _ := http.NewRequest(c.method, f.http.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
}

// A peer store failure is a generic fault, logged.
type failingPeers struct{}

func (failingPeers) Peer(context.Context, string) (Peer, bool, error) {
	return Peer{}, false, errors.New("store down")
}
func (failingPeers) SavePeer(context.Context, Peer) error { return errors.New("store down") }

func TestServerStoreFailure(t *testing.T) {
	f := newSrvFixture(t, true)
	f.srv.Peers = failingPeers{}
	req, _ := EncodeRequest("system/listServices")
	signed, _ := Sign(req, f.keyA, envWwwrootA, srvNow.Unix())
	body, _ := Encrypt(signed, f.certB, envWwwrootA, rand.Reader)
	fault := f.plainFaultOf(t, body)
	wantRespFault(t, fault, FaultUnknown)
	if strings.Contains(fault.Message, "store down") || !strings.Contains(f.logs.String(), "store down") {
		t.Fatalf("fault %q, logs %s", fault.Message, f.logs)
	}
}
