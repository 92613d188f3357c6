package mnet

// The MNET security envelope (docs/protocols.md §2.2–§2.6, §2.10): an RSA-SHA1 signature
// over the raw XML-RPC bytes inside <signedMessage>, and RC4-128 encryption
// of that signed document inside <encryptedMessage> with the RC4 key wrapped
// by RSA PKCS#1 v1.5 for the recipient. The element layout and whitespace
// are Moodle's, byte for byte; the root tag is at byte offset 48, never 0.

import (
	"bytes"
	"crypto"
	"crypto/rc4"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// MNET fault codes used by the envelope and dispatch layers (docs/protocols.md §2.10).
const (
	FaultSignatureInvalid   = 710  // signature did not verify
	FaultNotSigned          = 711  // request not signed
	FaultBadMethodName      = 713  // method name fails the Moodle regex
	FaultUnknown            = 7000 // fall-through (also: unparseable envelope)
	FaultNoSuchRPC          = 7012 // no such RPC / no permission row
	FaultWrongWwwroot       = 7020 // envelope wwwroot is not a registered host
	FaultForbiddenTransport = 7021 // unencrypted request from a non-trusted host
	FaultEncryptionInvalid  = 7023 // no private key could decrypt the request
	FaultNewKey             = 7025 // request encrypted to an archived key; faultString = current cert PEM
)

// FaultError is an envelope or dispatch failure that the server answers
// with an XML-RPC fault of Code. Err, when set, is the underlying cause
// (for example a *LimitError).
type FaultError struct {
	Code    int
	Message string
	Err     error
}

// Error implements error.
func (e *FaultError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("mnet fault %d: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("mnet fault %d: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *FaultError) Unwrap() error { return e.Err }

// Fault returns the XML-RPC fault to send for e.
func (e *FaultError) Fault() *Fault { return &Fault{Code: e.Code, Message: e.Message} }

func faultf(code int, cause error, format string, args ...any) *FaultError {
	return &FaultError{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// FaultCode returns the MNET fault code carried by err (a *FaultError or a
// *Fault anywhere in its chain), or 0.
func FaultCode(err error) int {
	var fe *FaultError
	if errors.As(err, &fe) {
		return fe.Code
	}
	var f *Fault
	if errors.As(err, &f) {
		return f.Code
	}
	return 0
}

const envelopeHeader = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"

// checkWwwroot rejects a wwwroot that cannot be written verbatim into the
// envelope (Moodle writes it without escaping).
func checkWwwroot(wwwroot string) error {
	if wwwroot == "" {
		return errors.New("mnet: empty wwwroot")
	}
	for i := 0; i < len(wwwroot); i++ {
		c := wwwroot[i]
		if c < 0x21 || c > 0x7e || c == '<' || c == '>' || c == '&' || c == '"' || c == '\'' {
			return fmt.Errorf("mnet: wwwroot %q contains a character that cannot appear in the envelope", wwwroot)
		}
	}
	return nil
}

// Sign wraps the XML-RPC document xmlrpc (methodCall or methodResponse,
// exact bytes) in Moodle's <signedMessage> (docs/protocols.md §2.2): hex SHA-1 digest,
// RSASSA-PKCS1-v1_5 SHA-1 signature with key, base64 payload, the sender's
// wwwroot and the unix timestamp now.
func Sign(xmlrpc []byte, key *rsa.PrivateKey, wwwroot string, now int64) ([]byte, error) {
	if key == nil {
		return nil, errors.New("mnet: Sign: nil private key")
	}
	if err := checkWwwroot(wwwroot); err != nil {
		return nil, err
	}
	digest := sha1.Sum(xmlrpc)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA1, digest[:])
	if err != nil {
		return nil, fmt.Errorf("mnet: signing: %w", err)
	}
	b64 := base64.StdEncoding
	var b bytes.Buffer
	b.Grow(1400 + b64.EncodedLen(len(xmlrpc)) + b64.EncodedLen(len(sig)) + 2*len(wwwroot))
	b.WriteString(envelopeHeader)
	b.WriteString("    <signedMessage>\n")
	b.WriteString("        <Signature Id=\"MoodleSignature\" xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\n")
	b.WriteString("            <SignedInfo>\n")
	b.WriteString("                <CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>\n")
	b.WriteString("                <SignatureMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#rsa-sha1\"/>\n")
	b.WriteString("                <Reference URI=\"#XMLRPC-MSG\">\n")
	b.WriteString("                    <DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/>\n")
	b.WriteString("                    <DigestValue>" + hex.EncodeToString(digest[:]) + "</DigestValue>\n")
	b.WriteString("                </Reference>\n")
	b.WriteString("            </SignedInfo>\n")
	b.WriteString("            <SignatureValue>" + b64.EncodeToString(sig) + "</SignatureValue>\n")
	b.WriteString("            <KeyInfo>\n")
	b.WriteString("                <RetrievalMethod URI=\"" + wwwroot + "/mnet/publickey.php\"/>\n")
	b.WriteString("            </KeyInfo>\n")
	b.WriteString("        </Signature>\n")
	b.WriteString("        <object ID=\"XMLRPC-MSG\">" + b64.EncodeToString(xmlrpc) + "</object>\n")
	b.WriteString("        <wwwroot>" + wwwroot + "</wwwroot>\n")
	b.WriteString("        <timestamp>" + strconv.FormatInt(now, 10) + "</timestamp>\n")
	b.WriteString("    </signedMessage>")
	return b.Bytes(), nil
}

// Encrypt wraps the signed document in Moodle's <encryptedMessage>
// (docs/protocols.md §2.3): a fresh 16-byte RC4 key read from rnd (crypto/rand.Reader in
// production) encrypts signed, and is wrapped with RSAES-PKCS1-v1_5 for
// peerCert's key. wwwroot is the sender's.
func Encrypt(signed []byte, peerCert *x509.Certificate, wwwroot string, rnd io.Reader) ([]byte, error) {
	if peerCert == nil {
		return nil, errors.New("mnet: Encrypt: nil peer certificate")
	}
	pub, ok := peerCert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("mnet: peer certificate key is %T, not RSA", peerCert.PublicKey)
	}
	if rnd == nil {
		return nil, errors.New("mnet: Encrypt: nil random source")
	}
	k := make([]byte, 16)
	if _, err := io.ReadFull(rnd, k); err != nil {
		return nil, fmt.Errorf("mnet: session key: %w", err)
	}
	return encryptWithKey(signed, pub, wwwroot, k)
}

func encryptWithKey(signed []byte, pub *rsa.PublicKey, wwwroot string, k []byte) ([]byte, error) {
	if err := checkWwwroot(wwwroot); err != nil {
		return nil, err
	}
	c, err := rc4.NewCipher(k)
	if err != nil {
		return nil, err
	}
	data := make([]byte, len(signed))
	c.XORKeyStream(data, signed)
	// The random parameter is ignored by Go ≥ 1.26 (the system CSPRNG is used).
	//lint:ignore SA1019 MNET envelopes wrap the session key with PKCS#1 v1.5 (PHP's openssl_seal): the protocol requires it
	ek, err := rsa.EncryptPKCS1v15(nil, pub, k)
	if err != nil {
		return nil, fmt.Errorf("mnet: wrapping session key: %w", err)
	}
	b64 := base64.StdEncoding
	var b bytes.Buffer
	b.Grow(1700 + b64.EncodedLen(len(data)) + b64.EncodedLen(len(ek)) + len(wwwroot))
	b.WriteString(envelopeHeader)
	b.WriteString("    <encryptedMessage>\n")
	b.WriteString("        <EncryptedData Id=\"ED\" xmlns=\"http://www.w3.org/2001/04/xmlenc#\">\n")
	b.WriteString("            <EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#arcfour\"/>\n")
	b.WriteString("            <ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n")
	b.WriteString("                <ds:RetrievalMethod URI=\"#EK\" Type=\"http://www.w3.org/2001/04/xmlenc#EncryptedKey\"/>\n")
	b.WriteString("                <ds:KeyName>XMLENC</ds:KeyName>\n")
	b.WriteString("            </ds:KeyInfo>\n")
	b.WriteString("            <CipherData>\n")
	b.WriteString("                <CipherValue>" + b64.EncodeToString(data) + "</CipherValue>\n")
	b.WriteString("            </CipherData>\n")
	b.WriteString("        </EncryptedData>\n")
	b.WriteString("        <EncryptedKey Id=\"EK\" xmlns=\"http://www.w3.org/2001/04/xmlenc#\">\n")
	b.WriteString("            <EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-1_5\"/>\n")
	b.WriteString("            <ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n")
	b.WriteString("                <ds:KeyName>SSLKEY</ds:KeyName>\n")
	b.WriteString("            </ds:KeyInfo>\n")
	b.WriteString("            <CipherData>\n")
	b.WriteString("                <CipherValue>" + b64.EncodeToString(ek) + "</CipherValue>\n")
	b.WriteString("            </CipherData>\n")
	b.WriteString("            <ReferenceList>\n")
	b.WriteString("                <DataReference URI=\"#ED\"/>\n")
	b.WriteString("            </ReferenceList>\n")
	b.WriteString("            <CarriedKeyName>XMLENC</CarriedKeyName>\n")
	b.WriteString("        </EncryptedKey>\n")
	b.WriteString("        <wwwroot>" + wwwroot + "</wwwroot>\n")
	b.WriteString("    </encryptedMessage>")
	return b.Bytes(), nil
}

// PeerLookup returns the stored certificate of the registered host whose
// wwwroot is exactly wwwroot. known reports whether the host is registered
// at all; a registered host may have no certificate yet (cert nil).
type PeerLookup func(wwwroot string) (cert *x509.Certificate, known bool)

// Opened is an incoming MNET message with its envelope removed.
type Opened struct {
	// XMLRPC is the inner XML-RPC document: the decoded <object> when the
	// message was signed, else the (decrypted) text as-is.
	XMLRPC []byte
	// Wwwroot is the sending host: the signed layer's <wwwroot> when signed
	// (Moodle re-selects the host from it), else the encrypted envelope's.
	Wwwroot string
	// EnvelopeWwwroot is the <wwwroot> of the <encryptedMessage>, if any.
	EnvelopeWwwroot string
	// Encrypted reports that the body was an encrypted envelope and was
	// decrypted with keys[KeyIndex]. KeyIndex is -1 when not encrypted.
	Encrypted bool
	KeyIndex  int
	// Signed reports a SignatureValue was present; SignatureOK that it
	// verified against the sender's stored certificate.
	Signed      bool
	SignatureOK bool
	// Signature is the decoded SignatureValue (for re-verification after a
	// key refresh, see VerifySignature).
	Signature []byte
	// Timestamp is the signed layer's <timestamp> (0 when absent or not a
	// number; the server never checks it, docs/protocols.md §2.9).
	Timestamp int64
	// SignedLayer is the document the signature layer was read from (the
	// decrypted text when encrypted, else the body).
	SignedLayer []byte
}

// Rekey reports that the message was encrypted to an archived key: the
// server must answer fault 7025 carrying its current certificate, signed
// with keys[KeyIndex] and encrypted to the peer (docs/protocols.md §2.5 step 3).
func (o *Opened) Rekey() bool { return o.Encrypted && o.KeyIndex > 0 }

// envelopeFields is what Moodle's mnet_encxml_parser collects (docs/protocols.md §2.4).
type envelopeFields struct {
	digest, signature, object, timestamp, wwwroot string
	hasSignature                                  bool
	cipherValues                                  []string
	fault                                         bool
}

// parseEnvelope reads doc with the codec's hardened parser (size, depth and
// element limits; no DTD, no entities beyond the predefined five) and
// collects the text of the envelope elements, matched case-insensitively on
// the local name.
func parseEnvelope(doc []byte, lim Limits) (*envelopeFields, error) {
	p, err := newParser(bytes.NewReader(doc), lim)
	if err != nil {
		return nil, err
	}
	f := &envelopeFields{}
	var stack []string
	var cur *strings.Builder
	var curName string
	seenRoot := false
	for {
		tok, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 && seenRoot {
				return nil, invalid("more than one root element")
			}
			seenRoot = true
			name := strings.ToUpper(t.Name.Local)
			stack = append(stack, name)
			cur, curName = nil, ""
			switch name {
			case "DIGESTVALUE", "SIGNATUREVALUE", "OBJECT", "TIMESTAMP", "WWWROOT", "CIPHERVALUE":
				cur, curName = &strings.Builder{}, name
				if name == "SIGNATUREVALUE" {
					f.hasSignature = true
				}
			case "FAULT":
				f.fault = true
			}
		case xml.EndElement:
			if cur != nil {
				s := cur.String()
				switch curName {
				case "DIGESTVALUE":
					f.digest += s
				case "SIGNATUREVALUE":
					f.signature += s
				case "OBJECT":
					f.object += s
				case "TIMESTAMP":
					f.timestamp += s
				case "WWWROOT":
					f.wwwroot += s
				case "CIPHERVALUE":
					f.cipherValues = append(f.cipherValues, s)
				}
				cur, curName = nil, ""
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if cur != nil {
				cur.Write(t)
			}
		}
	}
	if !seenRoot {
		return nil, invalid("empty document")
	}
	return f, nil
}

// lenientBase64 decodes like PHP's base64_decode in non-strict mode: bytes
// outside the alphabet (whitespace, line breaks) are skipped.
func lenientBase64(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			clean = append(clean, c)
		}
	}
	return base64.RawStdEncoding.DecodeString(string(clean))
}

// Open removes the envelope of an incoming request body (docs/protocols.md
// §2.5 steps 1–2). keys are our private keys, current first, then archived ones
// newest first. peers looks up registered hosts.
//
// Failures are *FaultError: 7020 when an encrypted envelope names an
// unregistered wwwroot, 7023 when no key decrypts it, 7000 when the body is
// not well-formed XML or exceeds lim (the cause, e.g. a *LimitError, is
// wrapped). A signature that is missing or does not verify is not an error
// here: it is reported in Opened and turned into 710/711/7021 by Authorize
// once the method name is known, as Moodle does.
func Open(body []byte, keys []*rsa.PrivateKey, peers PeerLookup, lim Limits) (*Opened, error) {
	lim = lim.withDefaults()
	if peers == nil {
		peers = func(string) (*x509.Certificate, bool) { return nil, false }
	}
	if int64(len(body)) > lim.MaxBytes {
		return nil, faultf(FaultUnknown, &LimitError{Limit: "bytes", Max: lim.MaxBytes}, "request too large")
	}
	outer, err := parseEnvelope(body, lim)
	if err != nil {
		return nil, faultf(FaultUnknown, err, "malformed request")
	}
	o := &Opened{KeyIndex: -1, SignedLayer: body}
	if len(outer.cipherValues) > 0 {
		o.EnvelopeWwwroot = outer.wwwroot
		if _, known := peers(outer.wwwroot); !known {
			return nil, faultf(FaultWrongWwwroot, nil, "wrong-wwwroot: %s is not a registered host", outer.wwwroot)
		}
		plain, idx, ok := decrypt(outer.cipherValues, keys)
		if !ok {
			return nil, faultf(FaultEncryptionInvalid, nil, "encryption-invalid: no key could decrypt the request")
		}
		o.Encrypted, o.KeyIndex, o.SignedLayer = true, idx, plain
		o.Wwwroot = outer.wwwroot
	}

	inner := outer
	if o.Encrypted {
		inner, err = parseEnvelope(o.SignedLayer, lim)
		if err != nil {
			return nil, faultf(FaultUnknown, err, "malformed decrypted payload")
		}
	}
	if !inner.hasSignature {
		o.XMLRPC = o.SignedLayer
		return o, nil
	}
	o.Signed = true
	o.Wwwroot = inner.wwwroot
	if ts, err := strconv.ParseInt(strings.TrimSpace(inner.timestamp), 10, 64); err == nil {
		o.Timestamp = ts
	}
	// Undecodable base64 leaves the payload or signature empty; the
	// signature then fails to verify (fault 710 later), as in Moodle.
	o.XMLRPC, _ = lenientBase64(inner.object)
	o.Signature, _ = lenientBase64(inner.signature)
	if cert, known := peers(o.Wwwroot); known && cert != nil {
		o.SignatureOK = VerifySignature(o.XMLRPC, o.Signature, cert)
	}
	return o, nil
}

// decrypt opens the data (second-to-last CipherValue) with the wrapped key
// (last CipherValue), trying each private key in order.
func decrypt(values []string, keys []*rsa.PrivateKey) (plain []byte, idx int, ok bool) {
	if len(values) < 2 {
		return nil, -1, false
	}
	ek, err := lenientBase64(values[len(values)-1])
	if err != nil {
		return nil, -1, false
	}
	data, err := lenientBase64(values[len(values)-2])
	if err != nil {
		return nil, -1, false
	}
	for i, key := range keys {
		if key == nil {
			continue
		}
		//lint:ignore SA1019 MNET envelopes wrap the session key with PKCS#1 v1.5 (PHP's openssl_seal): the protocol requires it
		k, err := rsa.DecryptPKCS1v15(nil, key, ek)
		if err != nil || len(k) == 0 || len(k) > 256 {
			continue
		}
		c, err := rc4.NewCipher(k)
		if err != nil {
			continue
		}
		out := make([]byte, len(data))
		c.XORKeyStream(out, data)
		return out, i, true
	}
	return nil, -1, false
}

// VerifySignature reports whether sig is a valid RSASSA-PKCS1-v1_5 SHA-1
// signature of xmlrpc by cert's key.
func VerifySignature(xmlrpc, sig []byte, cert *x509.Certificate) bool {
	if cert == nil {
		return false
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return false
	}
	digest := sha1.Sum(xmlrpc)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA1, digest[:], sig) == nil
}

// Authorize applies docs/protocols.md §2.5 steps 5–6 to an opened request for method:
// accepted when encrypted and correctly signed, when method is
// system/keyswap, or when correctly signed and trustedHost (the caller's IP
// is in the trusted-hosts list). Otherwise 7021 (unencrypted, untrusted),
// 711 (unsigned), 710 (bad signature) or 7000. Call it after handling
// Rekey.
func (o *Opened) Authorize(method string, trustedHost bool) error {
	switch {
	case o.Encrypted && o.SignatureOK:
		return nil
	case method == "system/keyswap" || method == "system.keyswap":
		return nil
	case o.SignatureOK && trustedHost:
		return nil
	case !o.Encrypted && !trustedHost:
		return faultf(FaultForbiddenTransport, nil, "forbidden-transport: unencrypted requests are not accepted from %s", o.Wwwroot)
	case !o.Signed:
		return faultf(FaultNotSigned, nil, "verifysignature-error: the request is not signed")
	case !o.SignatureOK:
		return faultf(FaultSignatureInvalid, nil, "verifysignature-invalid: the signature did not verify")
	}
	return faultf(FaultUnknown, nil, "unknownerror")
}

var methodNameRE = regexp.MustCompile(`^[A-Za-z0-9]+/[A-Za-z0-9/_.-]+(\.php/)?[A-Za-z0-9_-]+$`)

// CheckMethodName applies Moodle's method-name regex (docs/protocols.md §1.3); a name
// that fails it is fault 713. (Unknown or unpermitted RPCs are 7012,
// FaultNoSuchRPC, decided by the dispatcher.)
func CheckMethodName(method string) error {
	if !methodNameRE.MatchString(method) {
		return faultf(FaultBadMethodName, nil, "nosuchfunction: invalid method name %q", truncate(method))
	}
	return nil
}

// SigningKey returns the key a response to o must be signed with: the
// archived key that decrypted the request when Rekey, else keys[0].
func (o *Opened) SigningKey(keys []*rsa.PrivateKey) *rsa.PrivateKey {
	if o.Rekey() && o.KeyIndex < len(keys) {
		return keys[o.KeyIndex]
	}
	if len(keys) == 0 {
		return nil
	}
	return keys[0]
}

// Seal wraps the response document resp the way the request o came in
// (docs/protocols.md §2.5 step 7): signed with signKey iff the request was signed,
// encrypted to peerCert iff it was encrypted. wwwroot is ours.
func (o *Opened) Seal(resp []byte, signKey *rsa.PrivateKey, peerCert *x509.Certificate, wwwroot string, now int64, rnd io.Reader) ([]byte, error) {
	out := resp
	var err error
	if o.Signed {
		if out, err = Sign(out, signKey, wwwroot, now); err != nil {
			return nil, err
		}
	}
	if o.Encrypted {
		if out, err = Encrypt(out, peerCert, wwwroot, rnd); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SignedLayoutOK reports whether a decrypted response passes the Moodle
// client's "is it signed" test (docs/protocols.md §2.2, §2.6): "<signedMessage>"
// must occur within the first 100 bytes at an offset greater than 0.
func SignedLayoutOK(signed []byte) bool {
	head := signed
	if len(head) > 100 {
		head = head[:100]
	}
	i := bytes.Index(head, []byte("<signedMessage>"))
	return i > 0
}
