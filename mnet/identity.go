package mnet

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Identity defaults (docs/protocols.md §2.1).
const (
	DefaultKeyLifetimeDays = 28 // Moodle's mnetkeylifetime
	DefaultGenerations     = 3  // Moodle's openssl_generations
	keyBits                = 2048
)

// oidSubjectAltNameAttr is 2.5.29.17 used, as Moodle does, as a subject DN
// attribute holding the wwwroot (not as an extension).
var oidSubjectAltNameAttr = asn1.ObjectIdentifier{2, 5, 29, 17}

// Identity is one MNET key pair: a self-signed certificate naming our
// wwwroot and its RSA key.
type Identity struct {
	Cert    *x509.Certificate
	CertPEM []byte // canonical PEM, as Moodle's PARAM_PEM cleaning produces
	Key     *rsa.PrivateKey
	Expires int64 // the certificate's notAfter, Unix seconds
}

// IdentityOptions are the subject fields of a new certificate.
type IdentityOptions struct {
	Organization string // the site's name (≤ 64 characters)
	Country      string // two letters; default NZ as Moodle's
	Locality     string // default Wellington as Moodle's
	Email        string // default noreply@<host of wwwroot>
	Days         int    // validity; default DefaultKeyLifetimeDays
}

// NewIdentity generates an RSA-2048 key and a self-signed certificate whose
// CN and 2.5.29.17 attribute are the wwwroot (docs/protocols.md §2.1), valid from now.
func NewIdentity(wwwroot string, now int64, opt IdentityOptions, rnd io.Reader) (Identity, error) {
	wwwroot = strings.TrimRight(wwwroot, "/")
	if !strings.HasPrefix(wwwroot, "http://") && !strings.HasPrefix(wwwroot, "https://") {
		return Identity{}, aggregation.Errorf(aggregation.EInvalid, "mnet: wwwroot %q must be an http(s) URL", wwwroot)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	if opt.Days <= 0 {
		opt.Days = DefaultKeyLifetimeDays
	}
	if opt.Country == "" {
		opt.Country = "NZ"
	}
	if opt.Locality == "" {
		opt.Locality = "Wellington"
	}
	host := strings.SplitN(strings.SplitN(wwwroot, "://", 2)[1], "/", 2)[0]
	if opt.Email == "" {
		opt.Email = "noreply@" + host
	}
	if opt.Organization == "" {
		opt.Organization = host
	}
	key, err := rsa.GenerateKey(rnd, keyBits)
	if err != nil {
		return Identity{}, fmt.Errorf("mnet: generating the key: %w", err)
	}
	serial, err := rand.Int(rnd, big.NewInt(1<<62))
	if err != nil {
		return Identity{}, fmt.Errorf("mnet: serial: %w", err)
	}
	subject := pkix.Name{
		Country:            []string{opt.Country},
		Province:           []string{opt.Locality},
		Locality:           []string{opt.Locality},
		Organization:       []string{cutTo(opt.Organization, 64)},
		OrganizationalUnit: []string{"Moodle"},
		CommonName:         cutTo(wwwroot, 64),
		ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidSubjectAltNameAttr, Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(wwwroot)}},
			{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagIA5String, Bytes: []byte(opt.Email)}},
		},
	}
	start := time.Unix(now, 0)
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      subject,
		Issuer:       subject,
		NotBefore:    start,
		NotAfter:     start.AddDate(0, 0, opt.Days),
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return Identity{}, fmt.Errorf("mnet: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Identity{}, fmt.Errorf("mnet: certificate: %w", err)
	}
	return Identity{Cert: cert, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key: key, Expires: cert.NotAfter.Unix()}, nil
}

func cutTo(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// KeyPEM returns the private key as PKCS#8 PEM ("BEGIN PRIVATE KEY").
func (id Identity) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil { // cannot happen for an RSA key
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// ParseIdentity reads a certificate PEM and its key PEM (PKCS#8 or the
// older PKCS#1 "BEGIN RSA PRIVATE KEY") and checks that they match.
func ParseIdentity(certPEM, keyPEM []byte) (Identity, error) {
	cert, err := ParseCertificatePEM(certPEM)
	if err != nil {
		return Identity{}, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return Identity{}, aggregation.Errorf(aggregation.EInvalid, "mnet: the private key is not PEM")
	}
	var key *rsa.PrivateKey
	switch kb.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			return Identity{}, aggregation.Errorf(aggregation.EInvalid, "mnet: private key: %v", err)
		}
		var ok bool
		if key, ok = k.(*rsa.PrivateKey); !ok {
			return Identity{}, aggregation.Errorf(aggregation.EInvalid, "mnet: the private key is not RSA")
		}
	case "RSA PRIVATE KEY":
		if key, err = x509.ParsePKCS1PrivateKey(kb.Bytes); err != nil {
			return Identity{}, aggregation.Errorf(aggregation.EInvalid, "mnet: private key: %v", err)
		}
	default:
		return Identity{}, aggregation.Errorf(aggregation.EInvalid, "mnet: unexpected key PEM type %q", kb.Type)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return Identity{}, aggregation.Errorf(aggregation.EInvalid, "mnet: the private key does not match the certificate")
	}
	return Identity{Cert: cert, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		Key: key, Expires: cert.NotAfter.Unix()}, nil
}

// ParseCertificatePEM reads one PEM certificate with an RSA key.
func ParseCertificatePEM(certPEM []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, aggregation.Errorf(aggregation.EInvalid, "mnet: not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, aggregation.Errorf(aggregation.EInvalid, "mnet: certificate: %v", err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, aggregation.Errorf(aggregation.EInvalid, "mnet: the certificate's key is not RSA")
	}
	return cert, nil
}

// CertificateWWWRoot returns the wwwroot a peer's certificate names: its
// 2.5.29.17 subject attribute when present, else its CN (docs/protocols.md §2.1).
func CertificateWWWRoot(cert *x509.Certificate) string {
	for _, a := range cert.Subject.Names {
		if a.Type.Equal(oidSubjectAltNameAttr) {
			if s, ok := a.Value.(string); ok {
				return s
			}
		}
	}
	return cert.Subject.CommonName
}

// CheckPeerCertificate applies Moodle's acceptance rule for a peer's
// certificate: a 2.5.29.17 attribute, when present, must equal the peer's
// wwwroot, and the CN must equal its first 64 characters.
func CheckPeerCertificate(cert *x509.Certificate, wwwroot string) error {
	for _, a := range cert.Subject.Names {
		if a.Type.Equal(oidSubjectAltNameAttr) {
			if s, _ := a.Value.(string); s != wwwroot {
				return aggregation.Errorf(aggregation.EInvalid, "mnet: certificate names %q, not %q", s, wwwroot)
			}
		}
	}
	if cert.Subject.CommonName != cutTo(wwwroot, 64) {
		return aggregation.Errorf(aggregation.EInvalid, "mnet: certificate CN %q is not %q", cert.Subject.CommonName, cutTo(wwwroot, 64))
	}
	return nil
}

// Keyring is our current identity and the archived ones, newest first.
// Messages encrypted with an archived key are still read (the answer tells
// the peer our new certificate, fault 7025).
type Keyring struct {
	Current  Identity
	Archived []Identity
}

// PrivateKeys returns the keys to try when decrypting: current first.
func (k Keyring) PrivateKeys() []*rsa.PrivateKey {
	keys := []*rsa.PrivateKey{k.Current.Key}
	for _, a := range k.Archived {
		keys = append(keys, a.Key)
	}
	return keys
}

// Rotate returns the keyring to use at now: unchanged while the current
// certificate is valid; otherwise a new identity becomes current and the old
// one is archived, keeping generations key pairs in all (default 3).
func (k Keyring) Rotate(wwwroot string, now int64, generations int, opt IdentityOptions, rnd io.Reader) (Keyring, bool, error) {
	if k.Current.Key != nil && k.Current.Expires > now {
		return k, false, nil
	}
	if generations <= 0 {
		generations = DefaultGenerations
	}
	fresh, err := NewIdentity(wwwroot, now, opt, rnd)
	if err != nil {
		return k, false, err
	}
	next := Keyring{Current: fresh}
	if k.Current.Key != nil {
		next.Archived = append([]Identity{k.Current}, k.Archived...)
	}
	if len(next.Archived) > generations-1 {
		next.Archived = next.Archived[:generations-1]
	}
	return next, true, nil
}
