package mnet

// The MNET client (docs/protocols.md §2.6, §2.7): what a Moodle peer does when it calls
// another host, so that usestats can forward calls and gather time from
// several hosts.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// DefaultDriftThreshold is how far ahead of us a responder's timestamp may
// be before its answer is rejected (Moodle's mnet/drift_threshold).
const DefaultDriftThreshold = 15 * time.Second

// Client calls methods on MNET peers. Configure the fields before the first
// call and do not change them afterwards; a Client is safe for concurrent use.
type Client struct {
	// WWWRoot is our wwwroot (the caller), without a trailing slash.
	WWWRoot string
	// Keys returns our keyring: requests are signed with the current key and
	// answers are decrypted with any of its keys.
	Keys func() Keyring
	// HTTP is the transport (default: a client with a 30 s timeout). The
	// context of each call bounds it too.
	HTTP *http.Client
	// Limits bounds the answers we parse.
	Limits Limits
	// Now is the clock (default time.Now).
	Now func() time.Time
	// DriftThreshold: answers time-stamped further ahead are rejected
	// (default DefaultDriftThreshold).
	DriftThreshold time.Duration
	// Application is the name sent with system/keyswap (default "moodle").
	Application string
}

// CallError is a failure of a call that is not a fault answered by the
// peer: transport, HTTP status, envelope or signature. Stage names the step
// that failed ("transport", "http", "envelope", "decrypt", "signature",
// "clock", "decode", "rekey").
type CallError struct {
	Peer  string
	Stage string
	Err   error
}

// Error implements error.
func (e *CallError) Error() string {
	return fmt.Sprintf("mnet: calling %s: %s: %v", e.Peer, e.Stage, e.Err)
}

// Unwrap returns the cause; the chain carries an *aggregation.Error with
// code EUnavailable so edges map it once.
func (e *CallError) Unwrap() []error {
	return []error{e.Err, aggregation.Errorf(aggregation.EUnavailable, "peer %s unavailable", e.Peer)}
}

// RemoteFault is a fault answered by the peer (its code and message).
type RemoteFault struct {
	Peer string
	Fault
}

// Error implements error.
func (e *RemoteFault) Error() string {
	return fmt.Sprintf("mnet: %s answered fault %d: %s", e.Peer, e.Code, e.Message)
}

// Unwrap exposes the fault itself.
func (e *RemoteFault) Unwrap() error { return &e.Fault }

// Result is the outcome of a successful call.
type Result struct {
	Value any
	// Peer is the peer as it is after the call: when the peer answered
	// fault 7025 (Rekeyed), its new certificate replaced the old one and
	// the caller should store it.
	Peer    Peer
	Rekeyed bool
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// ServerURL is the address of a Moodle peer's MNET endpoint.
func ServerURL(wwwroot string) string { return strings.TrimSuffix(wwwroot, "/") + XMLRPCPath }

// post sends body and returns the answer of an HTTP 200 response.
func (c *Client) post(ctx context.Context, peer string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ServerURL(peer), bytes.NewReader(body))
	if err != nil {
		return nil, &CallError{peer, "transport", err}
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, &CallError{peer, "transport", err}
	}
	defer resp.Body.Close()
	lim := c.Limits.withDefaults()
	data, err := io.ReadAll(io.LimitReader(resp.Body, lim.MaxBytes+1))
	if err != nil {
		return nil, &CallError{peer, "transport", err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &CallError{peer, "http", fmt.Errorf("HTTP status %d", resp.StatusCode)}
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, &CallError{peer, "http", &LimitError{Limit: "bytes", Max: lim.MaxBytes}}
	}
	return bytes.TrimSpace(data), nil
}

// Keyswap asks the host at wwwroot for its certificate with the plain
// system/keyswap call, sending ours (docs/protocols.md §2.7). The certificate must name
// wwwroot and be valid now.
func (c *Client) Keyswap(ctx context.Context, wwwroot string) (*x509.Certificate, []byte, error) {
	wwwroot = strings.TrimSuffix(strings.TrimSpace(wwwroot), "/")
	if err := checkWwwroot(wwwroot); err != nil {
		return nil, nil, err
	}
	app := c.Application
	if app == "" {
		app = "moodle"
	}
	keys := c.Keys()
	req, err := EncodeRequest("system/keyswap", c.WWWRoot, string(keys.Current.CertPEM), app)
	if err != nil {
		return nil, nil, err
	}
	data, err := c.post(ctx, wwwroot, req)
	if err != nil {
		return nil, nil, err
	}
	v, fault, err := DecodeResponse(bytes.NewReader(data), c.Limits)
	if err != nil {
		return nil, nil, &CallError{wwwroot, "decode", err}
	}
	if fault != nil {
		return nil, nil, &RemoteFault{wwwroot, *fault}
	}
	s, ok := v.(string)
	if !ok {
		return nil, nil, &CallError{wwwroot, "decode", fmt.Errorf("keyswap answered %T, not a certificate string", v)}
	}
	cert, err := c.checkCert(wwwroot, s)
	if err != nil {
		return nil, nil, err
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), nil
}

func (c *Client) checkCert(wwwroot, certPEM string) (*x509.Certificate, error) {
	cert, err := ParseCertificatePEM([]byte(strings.TrimSpace(certPEM)))
	if err != nil {
		return nil, &CallError{wwwroot, "rekey", err}
	}
	if err := CheckPeerCertificate(cert, wwwroot); err != nil {
		return nil, &CallError{wwwroot, "rekey", err}
	}
	now := c.now()
	if now.Before(cert.NotBefore) || !now.Before(cert.NotAfter) {
		return nil, &CallError{wwwroot, "rekey", fmt.Errorf("certificate valid %s–%s, not now", cert.NotBefore, cert.NotAfter)}
	}
	return cert, nil
}

// Call sends method(params…) to peer, signed and encrypted, and processes
// the answer as a Moodle client does (docs/protocols.md §2.6): the answer must be
// encrypted to one of our keys and signed by the peer; a fault 7025 is
// handled once by taking the certificate it carries and re-sending. A fault
// the peer answers is a *RemoteFault; any other failure a *CallError.
func (c *Client) Call(ctx context.Context, peer Peer, method string, params ...any) (Result, error) {
	if peer.Cert == nil && len(peer.CertPEM) > 0 {
		cert, err := ParseCertificatePEM(peer.CertPEM)
		if err != nil {
			return Result{}, &CallError{peer.WWWRoot, "envelope", err}
		}
		peer.Cert = cert
	}
	if peer.Cert == nil {
		return Result{}, &CallError{peer.WWWRoot, "envelope", errors.New("no certificate for this peer: run keyswap first")}
	}
	xmlrpc, err := EncodeRequest(method, params...)
	if err != nil {
		return Result{}, err
	}
	res := Result{Peer: peer}
	for attempt := 0; ; attempt++ {
		v, fault, err := c.roundTrip(ctx, res.Peer, xmlrpc)
		if err != nil {
			return res, err
		}
		if fault != nil && fault.Code == FaultNewKey && attempt == 0 {
			cert, err := c.checkCert(peer.WWWRoot, fault.Message)
			if err != nil {
				return res, err
			}
			res.Peer.Cert = cert
			res.Peer.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
			res.Peer.Expires = cert.NotAfter.Unix()
			res.Rekeyed = true
			continue
		}
		if fault != nil {
			return res, &RemoteFault{peer.WWWRoot, *fault}
		}
		res.Value = v
		return res, nil
	}
}

// roundTrip sends one sealed request and opens the answer. A fault
// answered inside a valid envelope is returned as fault; the signature of
// a 7025 fault is not checked (it is made with our old key's partner,
// docs/protocols.md §2.6: the signature is checked after the re-key).
func (c *Client) roundTrip(ctx context.Context, peer Peer, xmlrpc []byte) (any, *Fault, error) {
	keys := c.Keys()
	sent := c.now()
	signed, err := Sign(xmlrpc, keys.Current.Key, c.WWWRoot, sent.Unix())
	if err != nil {
		return nil, nil, err
	}
	body, err := Encrypt(signed, peer.Cert, c.WWWRoot, rand.Reader)
	if err != nil {
		return nil, nil, &CallError{peer.WWWRoot, "envelope", err}
	}
	data, err := c.post(ctx, peer.WWWRoot, body)
	if err != nil {
		return nil, nil, err
	}
	received := c.now()
	lim := c.Limits.withDefaults()
	env, err := parseEnvelope(data, lim)
	if err != nil {
		return nil, nil, &CallError{peer.WWWRoot, "envelope", err}
	}
	if len(env.cipherValues) == 0 {
		// A plain answer is acceptable only as a fault (7020, 7023 …).
		if _, fault, derr := DecodeResponse(bytes.NewReader(data), lim); derr == nil && fault != nil {
			return nil, nil, &RemoteFault{peer.WWWRoot, *fault}
		}
		return nil, nil, &CallError{peer.WWWRoot, "envelope", errors.New("payload not encrypted")}
	}
	plain, _, ok := decrypt(env.cipherValues, keys.PrivateKeys())
	if !ok {
		return nil, nil, &CallError{peer.WWWRoot, "decrypt", errors.New("no key match")}
	}
	if !SignedLayoutOK(plain) {
		return nil, nil, &CallError{peer.WWWRoot, "envelope", errors.New("payload not signed")}
	}
	inner, err := parseEnvelope(plain, lim)
	if err != nil || !inner.hasSignature {
		return nil, nil, &CallError{peer.WWWRoot, "envelope", fmt.Errorf("payload not signed: %v", err)}
	}
	if ts, err := strconv.ParseInt(strings.TrimSpace(inner.timestamp), 10, 64); err == nil {
		drift := c.DriftThreshold
		if drift <= 0 {
			drift = DefaultDriftThreshold
		}
		mid := sent.Unix() + (received.Unix()-sent.Unix())/2
		if off := ts - mid; off > 0 && off > int64(drift/time.Second) {
			return nil, nil, &CallError{peer.WWWRoot, "clock", fmt.Errorf("time gap: the peer's clock is %d s ahead", off)}
		}
	}
	payload, err := lenientBase64(inner.object)
	if err != nil {
		return nil, nil, &CallError{peer.WWWRoot, "decode", err}
	}
	v, fault, err := DecodeResponse(bytes.NewReader(payload), lim)
	if err != nil {
		return nil, nil, &CallError{peer.WWWRoot, "decode", err}
	}
	if fault != nil && fault.Code == FaultNewKey {
		return nil, fault, nil
	}
	sig, _ := lenientBase64(inner.signature)
	if !VerifySignature(payload, sig, peer.Cert) {
		return nil, nil, &CallError{peer.WWWRoot, "signature", errors.New("invalid signature")}
	}
	return v, fault, nil
}
