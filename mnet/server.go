package mnet

// The MNET server endpoint (docs/protocols.md §1.1, §2.5, §2.7, §2.8, §3):
// POST /mnet/xmlrpc/server.php and GET /mnet/publickey.php.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// Paths served by Server.
const (
	XMLRPCPath    = "/mnet/xmlrpc/server.php"
	PublicKeyPath = "/mnet/publickey.php"
)

// MNET fault codes of the system/* dispatcher (docs/protocols.md §2.8, §2.10).
const (
	FaultNoSuchSystemMethod = 7018 // unknown system/* method
	FaultSystemUnhandled    = 7019 // system/listFiles, system/retrieveFile
)

// Peer is a registered MNET host as the server sees it.
type Peer struct {
	WWWRoot string
	Name    string
	// Cert is the peer's certificate; when nil, CertPEM is parsed.
	Cert    *x509.Certificate
	CertPEM []byte
	Expires int64 // the certificate's notAfter, Unix seconds
	// Services are the service names published to this peer: it may call
	// the methods of those services (Server.Services).
	Services []string
	// Layout is how use_stats answers this peer at scope 3 (empty:
	// LayoutPublished).
	Layout Layout
}

// PeerStore is the peer registry the server needs.
type PeerStore interface {
	// Peer returns the host registered under exactly wwwroot.
	Peer(ctx context.Context, wwwroot string) (Peer, bool, error)
	// SavePeer creates or replaces the host p.WWWRoot.
	SavePeer(ctx context.Context, p Peer) error
}

// MemoryPeers is an in-memory PeerStore. The zero value is ready to use.
type MemoryPeers struct {
	mu sync.RWMutex
	m  map[string]Peer
}

// Peer implements PeerStore.
func (m *MemoryPeers) Peer(_ context.Context, wwwroot string) (Peer, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.m[wwwroot]
	return p, ok, nil
}

// SavePeer implements PeerStore.
func (m *MemoryPeers) SavePeer(_ context.Context, p Peer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Peer{}
	}
	p.Services = slices.Clone(p.Services)
	m.m[p.WWWRoot] = p
	return nil
}

// Method is an RPC we publish. caller is the authenticated calling host;
// params are the decoded XML-RPC parameters. An error that is (or wraps) a
// *Fault or *FaultError is answered as that fault; an outage (a database
// down or hung: dbconn.Unavailable, or any EUnavailable error) as Moodle
// answers a dml exception in the call, fault 0 with its message; any
// other error is logged and answered with a generic fault that reveals
// nothing.
type Method func(ctx context.Context, caller Peer, params []any) (any, error)

// Service groups published methods (Moodle's mnet_service, docs/protocols.md §2.8).
type Service struct {
	Name       string
	APIVersion string
	Methods    []string // xmlrpc paths, keys of Server.Methods
	// Subscribe reports that we also call this service on peers; it is
	// announced in system/listServices.
	Subscribe bool
}

// Param describes a parameter or return value for system/methodSignature.
type Param struct {
	Name        string
	Type        string
	Description string
}

// MethodDoc documents a method for system/methodSignature and methodHelp.
type MethodDoc struct {
	Help   string
	Params []Param
	Return Param
}

// Server answers MNET requests. Configure the exported fields before the
// first request and do not change them afterwards.
type Server struct {
	// WWWRoot is our wwwroot, without a trailing slash.
	WWWRoot string
	// Keys returns our current keyring (current identity, archived ones).
	Keys func() Keyring
	// Peers is the registry of hosts allowed to call us.
	Peers PeerStore
	// AutoRegister registers unknown callers of system/keyswap with the
	// certificate they send (Moodle's mnet_register_allhosts). Off by
	// default: unknown hosts are refused (fault 7020).
	AutoRegister bool
	// TrustedHost reports that the request comes from a trusted address:
	// signed but unencrypted requests are then accepted (docs/protocols.md
	// §2.5). Nil trusts nobody.
	TrustedHost func(*http.Request) bool
	// Limits bounds the request body and the XML parsers.
	Limits Limits
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the details of internal errors (default slog.Default()).
	Logger *slog.Logger
	// Methods are the published RPCs by xmlrpc path. A method listed in
	// some Service may be called only by peers that service is published
	// to (Peer.Services); a method in no service by every registered peer.
	Methods map[string]Method
	// Services group the methods for permissions and system/listServices.
	Services []Service
	// Docs document methods for system/methodSignature and methodHelp.
	Docs map[string]MethodDoc
	// Seen, when set, is told of every authenticated request of a
	// registered peer (to record its last connection).
	Seen func(ctx context.Context, wwwroot string)
	// RefreshKey, when set, fetches a registered peer's current
	// certificate from the peer itself (our outbound system/keyswap). A
	// request whose signature fails with the stored certificate is checked
	// again with the fetched one before fault 710, as Moodle does
	// (docs/protocols.md §2.5); a certificate that verifies replaces the
	// stored one.
	RefreshKey func(ctx context.Context, wwwroot string) (*x509.Certificate, error)
	// Observe, when set, is told of every XML-RPC request once it is
	// answered: the method (a published one or a system/* one we answer,
	// else "unknown") and the outcome: "ok", "refused" (a protocol
	// fault: envelope, signature, unknown method or caller), "unavailable"
	// (an outage fault) or "internal". Every answer is HTTP 200, so this
	// is how the failures can be counted.
	Observe func(r *http.Request, method, outcome string)
}

// systemMethods are the system/* methods the server answers.
var systemMethods = []string{"keyswap", "listServices", "listMethods", "methodSignature", "methodHelp", "listFiles", "retrieveFile"}

// methodLabel bounds the method names given to Observe.
func (s *Server) methodLabel(method string) string {
	if name, ok := strings.CutPrefix(method, "system/"); ok && slices.Contains(systemMethods, name) {
		return method
	}
	if s.Methods[method] != nil {
		return method
	}
	return "unknown"
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case XMLRPCPath:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		s.serveXMLRPC(w, r)
	case PublicKeyPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		kr := s.keyring()
		if len(kr.Current.CertPEM) == 0 {
			http.Error(w, "no key pair", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(kr.Current.CertPEM)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) keyring() Keyring {
	if s.Keys == nil {
		return Keyring{}
	}
	return s.Keys()
}

// request is the state of one XML-RPC request.
type request struct {
	s      *Server
	ctx    context.Context
	http   *http.Request
	keys   Keyring
	peers  map[string]peerEntry
	errs   []error // peer store failures seen during Open
	opened *Opened
	// method and outcome are what Observe is told.
	method, outcome string
}

type peerEntry struct {
	p     Peer
	known bool
}

// peer looks a host up once per request, parsing CertPEM when Cert is nil.
func (q *request) peer(wwwroot string) (Peer, bool) {
	if e, ok := q.peers[wwwroot]; ok {
		return e.p, e.known
	}
	var p Peer
	var known bool
	if q.s.Peers != nil {
		var err error
		p, known, err = q.s.Peers.Peer(q.ctx, wwwroot)
		if err != nil {
			q.errs = append(q.errs, err)
			known = false
		}
	}
	if known && p.Cert == nil && len(p.CertPEM) > 0 {
		if c, err := ParseCertificatePEM(p.CertPEM); err == nil {
			p.Cert = c
		} else {
			q.s.log().Warn("mnet: stored peer certificate unreadable", "wwwroot", wwwroot, "err", err)
		}
	}
	q.peers[wwwroot] = peerEntry{p, known}
	return p, known
}

func (s *Server) serveXMLRPC(w http.ResponseWriter, r *http.Request) {
	q := &request{s: s, ctx: r.Context(), http: r, peers: map[string]peerEntry{}, method: "unknown"}
	defer func() {
		if v := recover(); v != nil {
			s.log().Error("mnet: panic serving request", "panic", v, "stack", string(debug.Stack()))
			writeXML(w, mustFault(FaultUnknown, "unknownerror"))
			q.outcome = "internal"
		}
		if s.Observe != nil {
			if q.outcome == "" {
				q.outcome = "refused"
			}
			s.Observe(r, q.method, q.outcome)
		}
	}()
	writeXML(w, q.serve())
}

func writeXML(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func mustFault(code int, msg string) []byte {
	b, err := EncodeFault(code, msg)
	if err != nil { // only for a message with invalid characters
		b, _ = EncodeFault(code, "unknownerror")
	}
	return b
}

// serve runs docs/protocols.md §2.5 and returns the response body.
func (q *request) serve() []byte {
	s := q.s
	lim := s.Limits.withDefaults()
	body, err := io.ReadAll(io.LimitReader(q.http.Body, lim.MaxBytes+1))
	if err != nil {
		s.log().Warn("mnet: reading request", "err", err)
		q.outcome = "internal"
		return mustFault(FaultUnknown, "unknownerror")
	}
	if int64(len(body)) > lim.MaxBytes {
		return mustFault(FaultUnknown, "request too large")
	}
	q.keys = s.keyring()
	keys := q.keys.PrivateKeys()
	if q.keys.Current.Key == nil || len(q.keys.Current.CertPEM) == 0 {
		s.log().Error("mnet: no current key pair")
		q.outcome = "internal"
		return mustFault(FaultUnknown, "unknownerror")
	}

	// Steps 1–2: envelope. Early failures are answered in plain text.
	o, err := Open(body, keys, func(w string) (*x509.Certificate, bool) {
		p, known := q.peer(w)
		return p.Cert, known
	}, lim)
	if len(q.errs) > 0 {
		err := errors.Join(q.errs...)
		if f := outageFault(err); f != nil {
			s.log().Warn("mnet: peer store unavailable", "err", err)
			q.outcome = "unavailable"
			return mustFault(f.Code, f.Message)
		}
		s.log().Error("mnet: peer store", "err", err)
		q.outcome = "internal"
		return mustFault(FaultUnknown, "unknownerror")
	}
	if err != nil {
		return plainFault(err)
	}
	q.opened = o
	q.refreshSignature()

	// Step 3: encrypted to an archived key → our new certificate, signed
	// with that old key.
	if o.Rekey() {
		return q.seal(mustFault(FaultNewKey, string(q.keys.Current.CertPEM)))
	}

	// Steps 4–6.
	method, params, err := DecodeRequest(bytes.NewReader(o.XMLRPC), lim)
	q.method = s.methodLabel(method)
	if err != nil {
		return q.seal(mustFault(FaultUnknown, "unknownerror: malformed XML-RPC request"))
	}
	if err := CheckMethodName(method); err != nil {
		return q.seal(faultBody(err))
	}
	trusted := s.TrustedHost != nil && s.TrustedHost(q.http)
	if err := o.Authorize(method, trusted); err != nil {
		return q.seal(faultBody(err))
	}
	if _, known := q.peer(o.Wwwroot); known && s.Seen != nil && method != "system/keyswap" {
		s.Seen(q.ctx, o.Wwwroot)
	}

	// Step 7: dispatch.
	return q.seal(q.dispatch(method, params))
}

// refreshSignature re-checks a failed signature of a registered peer with
// the certificate the peer serves now.
func (q *request) refreshSignature() {
	s, o := q.s, q.opened
	if s.RefreshKey == nil || !o.Signed || o.SignatureOK {
		return
	}
	p, known := q.peer(o.Wwwroot)
	if !known {
		return
	}
	cert, err := s.RefreshKey(q.ctx, o.Wwwroot)
	if err != nil {
		s.log().Info("mnet: refreshing a peer's certificate failed", "peer", o.Wwwroot, "err", err)
		return
	}
	if !VerifySignature(o.XMLRPC, o.Signature, cert) {
		return
	}
	p.Cert = cert
	p.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	p.Expires = cert.NotAfter.Unix()
	if err := s.Peers.SavePeer(q.ctx, p); err != nil {
		s.log().Error("mnet: saving a peer's refreshed certificate", "peer", o.Wwwroot, "err", err)
		return
	}
	q.peers[o.Wwwroot] = peerEntry{p, true}
	o.SignatureOK = true
	s.log().Info("mnet: a peer's new certificate was fetched and verified", "peer", o.Wwwroot)
}

// plainFault answers an envelope failure unwrapped.
func plainFault(err error) []byte {
	var fe *FaultError
	if errors.As(err, &fe) {
		return mustFault(fe.Code, fe.Message)
	}
	return mustFault(FaultUnknown, "unknownerror")
}

// faultBody encodes a *FaultError or *Fault.
func faultBody(err error) []byte {
	var fe *FaultError
	if errors.As(err, &fe) {
		return mustFault(fe.Code, fe.Message)
	}
	var f *Fault
	if errors.As(err, &f) {
		return mustFault(f.Code, f.Message)
	}
	return mustFault(FaultUnknown, "unknownerror")
}

// seal wraps resp the way the request came in (signed iff signed,
// encrypted to the caller iff encrypted). If that is impossible (no
// certificate to encrypt to), the answer goes out plain.
func (q *request) seal(resp []byte) []byte {
	o := q.opened
	var cert *x509.Certificate
	if o.Encrypted {
		if p, ok := q.peer(o.Wwwroot); ok && p.Cert != nil {
			cert = p.Cert
		} else if p, ok := q.peer(o.EnvelopeWwwroot); ok && p.Cert != nil {
			cert = p.Cert
		}
	}
	out, err := o.Seal(resp, o.SigningKey(q.keys.PrivateKeys()), cert, q.s.WWWRoot, q.s.now().Unix(), rand.Reader)
	if err != nil {
		q.s.log().Warn("mnet: cannot seal the response; answering plain", "wwwroot", o.Wwwroot, "err", err)
		return resp
	}
	return out
}

// dispatch calls method and encodes its answer or fault.
func (q *request) dispatch(method string, params []any) (resp []byte) {
	s := q.s
	defer func() {
		if v := recover(); v != nil {
			s.log().Error("mnet: panic in method", "method", method, "panic", v, "stack", string(debug.Stack()))
			resp = mustFault(FaultUnknown, "unknownerror")
			q.outcome = "internal"
		}
	}()
	var result any
	var err error
	if name, ok := strings.CutPrefix(method, "system/"); ok && !strings.Contains(name, "/") {
		if name == "keyswap" {
			result, err = q.keyswap(params)
		} else {
			caller, known := q.peer(q.opened.Wwwroot)
			if !known {
				return mustFault(FaultWrongWwwroot, "wrong-wwwroot")
			}
			result, err = s.system(name, caller, params)
		}
	} else {
		caller, known := q.peer(q.opened.Wwwroot)
		if !known {
			return mustFault(FaultWrongWwwroot, "wrong-wwwroot")
		}
		m, ok := s.Methods[method]
		if !ok || m == nil || !s.permitted(method, caller) {
			return mustFault(FaultNoSuchRPC, "nosuchfunction")
		}
		result, err = m(q.ctx, caller, params)
	}
	if err != nil {
		var fe *FaultError
		var f *Fault
		if errors.As(err, &fe) || errors.As(err, &f) {
			return faultBody(err)
		}
		if f := outageFault(err); f != nil {
			s.log().Warn("mnet: method failed: a dependency is unavailable", "method", method, "caller", q.opened.Wwwroot, "err", err)
			q.outcome = "unavailable"
			return mustFault(f.Code, f.Message)
		}
		s.log().Error("mnet: method failed", "method", method, "caller", q.opened.Wwwroot, "err", err)
		q.outcome = "internal"
		return mustFault(FaultUnknown, "unknownerror")
	}
	b, err := EncodeResponse(result)
	if err != nil {
		s.log().Error("mnet: encoding the response", "method", method, "err", err)
		q.outcome = "internal"
		return mustFault(FaultUnknown, "unknownerror")
	}
	q.outcome = "ok"
	return b
}

// permitted applies the publish rule: a method in some service needs one
// of those services published to the caller.
func (s *Server) permitted(method string, caller Peer) bool {
	inService := false
	for _, sv := range s.Services {
		if slices.Contains(sv.Methods, method) {
			inService = true
			if slices.Contains(caller.Services, sv.Name) {
				return true
			}
		}
	}
	return !inService
}

// visibleMethods lists the methods caller may call, optionally only those
// of service, sorted.
func (s *Server) visibleMethods(caller Peer, service string) []string {
	out := []string{}
	if service != "" {
		for _, sv := range s.Services {
			if sv.Name == service && slices.Contains(caller.Services, sv.Name) {
				for _, m := range sv.Methods {
					if s.Methods[m] != nil {
						out = append(out, m)
					}
				}
			}
		}
	} else {
		for m, fn := range s.Methods {
			if fn != nil && s.permitted(m, caller) {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// system answers the introspection methods of docs/protocols.md §3.
func (s *Server) system(name string, caller Peer, params []any) (any, error) {
	arg := func() (string, error) {
		if len(params) < 1 {
			return "", nil
		}
		v, err := AsString(params[0])
		if err != nil {
			return "", &Fault{Code: FaultUnknown, Message: "invalid parameter"}
		}
		return v, nil
	}
	switch name {
	case "listServices":
		svcs := slices.Clone(s.Services)
		slices.SortFunc(svcs, func(a, b Service) int { return strings.Compare(a.Name, b.Name) })
		out := []any{}
		for _, sv := range svcs {
			pub := slices.Contains(caller.Services, sv.Name)
			if !pub && !sv.Subscribe {
				continue
			}
			out = append(out, Struct{
				{"name", sv.Name},
				{"apiversion", sv.APIVersion},
				{"publish", flag(pub)},
				{"subscribe", flag(sv.Subscribe)},
			})
		}
		return out, nil
	case "listMethods":
		service, err := arg()
		if err != nil {
			return nil, err
		}
		return s.visibleMethods(caller, service), nil
	case "methodSignature", "methodHelp":
		path, err := arg()
		if err != nil {
			return nil, err
		}
		if s.Methods[path] == nil || !s.permitted(path, caller) {
			return false, nil
		}
		doc := s.Docs[path]
		if name == "methodHelp" {
			return doc.Help, nil
		}
		ps := make([]any, 0, len(doc.Params))
		for _, p := range doc.Params {
			ps = append(ps, Struct{{"name", p.Name}, {"type", p.Type}, {"description", p.Description}})
		}
		return Struct{
			{"parameters", ps},
			{"return", Struct{{"type", doc.Return.Type}, {"description", doc.Return.Description}}},
		}, nil
	case "listFiles", "retrieveFile":
		return nil, &Fault{Code: FaultSystemUnhandled, Message: "nosuchfunction"}
	}
	return nil, &Fault{Code: FaultNoSuchSystemMethod, Message: "nosuchfunction"}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// keyswap answers system/keyswap(wwwroot, certPEM, application) with our
// current certificate (docs/protocols.md §2.7). The caller's certificate is recorded
// when it names the caller and is currently valid: for an unknown host
// only when AutoRegister; for a known host only when its stored
// certificate is missing or expired — an unauthenticated request never
// replaces a valid key (that would let anyone impersonate the peer; valid
// keys change through fault 7025 or an outbound keyswap). Whatever happens,
// the answer is our certificate, as Moodle's.
func (q *request) keyswap(params []any) (any, error) {
	ours := string(q.keys.Current.CertPEM)
	if err := q.recordKey(params); err != nil {
		q.s.log().Info("mnet: keyswap certificate not recorded", "err", err)
	}
	return ours, nil
}

func (q *request) recordKey(params []any) error {
	s := q.s
	if len(params) < 2 {
		return errors.New("keyswap: missing parameters")
	}
	wwwroot, err1 := AsString(params[0])
	certPEM, err2 := AsString(params[1])
	if err1 != nil || err2 != nil {
		return errors.New("keyswap: parameters are not strings")
	}
	wwwroot = strings.TrimSuffix(strings.TrimSpace(wwwroot), "/")
	if len(params) >= 3 {
		app, _ := AsString(params[2])
		if app != "moodle" && app != "mahara" {
			return fmt.Errorf("keyswap: unknown application %q", app)
		}
	}
	if err := checkWwwroot(wwwroot); err != nil {
		return err
	}
	if !strings.HasPrefix(wwwroot, "http://") && !strings.HasPrefix(wwwroot, "https://") {
		return fmt.Errorf("keyswap: %q is not an http(s) URL", wwwroot)
	}
	cert, err := ParseCertificatePEM([]byte(strings.TrimSpace(certPEM)))
	if err != nil {
		return err
	}
	if err := CheckPeerCertificate(cert, wwwroot); err != nil {
		return err
	}
	now := s.now()
	if now.Before(cert.NotBefore) || !now.Before(cert.NotAfter) {
		return fmt.Errorf("keyswap: certificate for %s is not valid now", wwwroot)
	}
	if s.Peers == nil {
		return errors.New("keyswap: no peer store")
	}
	p, known := q.peer(wwwroot)
	if len(q.errs) > 0 {
		return errors.Join(q.errs...)
	}
	switch {
	case !known && !s.AutoRegister:
		return fmt.Errorf("keyswap: %s is not registered and auto-registration is off", wwwroot)
	case !known:
		p = Peer{WWWRoot: wwwroot, Name: wwwroot}
	case p.Cert != nil && now.Unix() < p.Cert.NotAfter.Unix():
		if p.Cert.Equal(cert) {
			return nil
		}
		return fmt.Errorf("keyswap: %s already has a valid certificate; not replaced", wwwroot)
	}
	p.Cert = cert
	p.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	p.Expires = cert.NotAfter.Unix()
	if err := s.Peers.SavePeer(q.ctx, p); err != nil {
		return err
	}
	q.peers[wwwroot] = peerEntry{p, true}
	s.log().Info("mnet: keyswap recorded a certificate", "wwwroot", wwwroot, "registered", !known)
	return nil
}
