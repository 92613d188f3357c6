package mnet

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	envWwwrootA = "http://moodle-a.test"
	envWwwrootB = "http://moodle-b.test"
	envVectorTS = 1767225600
)

func envRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func envKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	blk, _ := pem.Decode(envRead(t, name))
	if blk == nil {
		t.Fatalf("%s: no PEM", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

func envCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(envRead(t, name))
	if blk == nil {
		t.Fatalf("%s: no PEM", name)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type envFixture struct {
	keyA, keyB   *rsa.PrivateKey
	certA, certB *x509.Certificate
	xmlrpc       []byte
	signed       []byte
	encrypted    []byte
}

func newEnvFixture(t testing.TB) *envFixture {
	return &envFixture{
		keyA:      envKey(t, "peerA-moodle-a.test.key"),
		keyB:      envKey(t, "peerB-moodle-b.test.key"),
		certA:     envCert(t, "peerA-moodle-a.test.crt"),
		certB:     envCert(t, "peerB-moodle-b.test.crt"),
		xmlrpc:    envRead(t, "request-A-to-B.xmlrpc.xml"),
		signed:    envRead(t, "request-A-to-B.signed.xml"),
		encrypted: envRead(t, "request-A-to-B.encrypted.xml"),
	}
}

// peers returns a lookup knowing the given hosts.
func envPeers(m map[string]*x509.Certificate) PeerLookup {
	return func(w string) (*x509.Certificate, bool) {
		c, ok := m[w]
		return c, ok
	}
}

// B's view: A is registered with its certificate.
func (f *envFixture) peersOfB() PeerLookup {
	return envPeers(map[string]*x509.Certificate{envWwwrootA: f.certA})
}

func wantFault(t *testing.T, err error, code int) {
	t.Helper()
	var fe *FaultError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FaultError (want code %d)", err, code)
	}
	if fe.Code != code || FaultCode(err) != code || fe.Fault().Code != code {
		t.Fatalf("fault code %d (%v), want %d", fe.Code, err, code)
	}
}

func TestSignVectorByteForByte(t *testing.T) {
	f := newEnvFixture(t)
	got, err := Sign(f.xmlrpc, f.keyA, envWwwrootA, envVectorTS)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.signed) {
		t.Fatalf("signed layer differs from the vector\n got: %q\nwant: %q", got, f.signed)
	}
	if i := bytes.Index(got, []byte("<signedMessage>")); i != 48 {
		t.Fatalf("<signedMessage> at offset %d, want 48", i)
	}
	if !SignedLayoutOK(got) {
		t.Fatal("our signed layer fails the Moodle client layout test")
	}
	// Known answers of docs/protocols.md §6.
	if !bytes.Contains(got, []byte("<DigestValue>d271e48c899c0bc35dfe9a0b261865ef3b87bef8</DigestValue>")) {
		t.Fatal("digest known answer missing")
	}
}

func TestSignedLayoutOffsetZeroTrap(t *testing.T) {
	f := newEnvFixture(t)
	i := bytes.Index(f.signed, []byte("<signedMessage>"))
	if SignedLayoutOK(f.signed[i:]) {
		t.Fatal("offset-0 <signedMessage> must be rejected like a Moodle client does")
	}
	if SignedLayoutOK([]byte(strings.Repeat(" ", 100) + "<signedMessage>")) {
		t.Fatal("<signedMessage> beyond the first 100 bytes must be rejected")
	}
}

func TestEncryptVectorLayout(t *testing.T) {
	f := newEnvFixture(t)
	k, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	got, err := encryptWithKey(f.signed, f.certB.PublicKey.(*rsa.PublicKey), envWwwrootA, k)
	if err != nil {
		t.Fatal(err)
	}
	// Only the RSA-wrapped key (the last CipherValue) is random: splice the
	// vector's one in and the documents must be identical.
	got = envReplaceLastCipherValue(t, got, envLastCipherValue(t, f.encrypted))
	if !bytes.Equal(got, f.encrypted) {
		t.Fatalf("encrypted layer differs from the vector\n got: %q\nwant: %q", got, f.encrypted)
	}
	// Known answer: first 16 ciphertext bytes.
	fields, err := parseEnvelope(f.encrypted, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := base64.StdEncoding.DecodeString(fields.cipherValues[0])
	if hex.EncodeToString(data[:16]) != "d5a338942bc26fa974a8fea960e0087e" {
		t.Fatalf("first ciphertext bytes %x", data[:16])
	}
	ek, _ := base64.StdEncoding.DecodeString(fields.cipherValues[1])
	//lint:ignore SA1019 the test vector's session key is wrapped with PKCS#1 v1.5, as MNET requires
	key, err := rsa.DecryptPKCS1v15(nil, f.keyB, ek)
	if err != nil || !bytes.Equal(key, k) {
		t.Fatalf("vector session key %x, %v", key, err)
	}
}

func envLastCipherValue(t *testing.T, doc []byte) string {
	t.Helper()
	i := bytes.LastIndex(doc, []byte("<CipherValue>"))
	j := bytes.LastIndex(doc, []byte("</CipherValue>"))
	if i < 0 || j < i {
		t.Fatal("no CipherValue")
	}
	return string(doc[i+len("<CipherValue>") : j])
}

func envReplaceLastCipherValue(t *testing.T, doc []byte, v string) []byte {
	t.Helper()
	i := bytes.LastIndex(doc, []byte("<CipherValue>")) + len("<CipherValue>")
	j := bytes.LastIndex(doc, []byte("</CipherValue>"))
	out := append([]byte{}, doc[:i]...)
	out = append(out, v...)
	return append(out, doc[j:]...)
}

func TestOpenVector(t *testing.T) {
	f := newEnvFixture(t)
	o, err := Open(f.encrypted, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o.XMLRPC, f.xmlrpc) {
		t.Fatalf("payload %q, want %q", o.XMLRPC, f.xmlrpc)
	}
	if !bytes.Equal(o.SignedLayer, f.signed) {
		t.Fatal("decrypted layer differs from the signed vector")
	}
	if !o.Encrypted || o.KeyIndex != 0 || o.Rekey() || !o.Signed || !o.SignatureOK {
		t.Fatalf("flags %+v", o)
	}
	if o.Wwwroot != envWwwrootA || o.EnvelopeWwwroot != envWwwrootA || o.Timestamp != envVectorTS {
		t.Fatalf("wwwroot %q/%q timestamp %d", o.Wwwroot, o.EnvelopeWwwroot, o.Timestamp)
	}
	method, params, err := DecodeRequest(bytes.NewReader(o.XMLRPC), Limits{})
	if err != nil || method != "system/listServices" || len(params) != 0 {
		t.Fatalf("decode: %q %v %v", method, params, err)
	}
	if err := CheckMethodName(method); err != nil {
		t.Fatal(err)
	}
	if err := o.Authorize(method, false); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSignedVectorPlaintext(t *testing.T) {
	f := newEnvFixture(t)
	o, err := Open(f.signed, nil, f.peersOfB(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Encrypted || o.KeyIndex != -1 || !o.Signed || !o.SignatureOK || !bytes.Equal(o.XMLRPC, f.xmlrpc) {
		t.Fatalf("flags %+v", o)
	}
	// Signed but not encrypted: only trusted hosts may do that.
	wantFault(t, o.Authorize("system/listServices", false), FaultForbiddenTransport)
	if err := o.Authorize("system/listServices", true); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTripSignEncryptOpen(t *testing.T) {
	f := newEnvFixture(t)
	req, err := EncodeRequest("blocks/use_stats/rpclib.php/use_stats_rpc_get_stats", "jdoe & <co>", int64(3))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := Sign(req, f.keyA, envWwwrootA, 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	body, err := Encrypt(signed, f.certB, envWwwrootA, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(body, []byte("<encryptedMessage>")); i != 48 {
		t.Fatalf("<encryptedMessage> at %d", i)
	}
	o, err := Open(body, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(o.XMLRPC, req) || !bytes.Equal(o.SignedLayer, signed) || !o.SignatureOK || o.Timestamp != 1700000000 {
		t.Fatalf("round trip %+v", o)
	}

	// B answers; the response is sealed like the request and A opens it.
	resp, err := EncodeResponse("ok")
	if err != nil {
		t.Fatal(err)
	}
	keysB := []*rsa.PrivateKey{f.keyB}
	sealed, err := o.Seal(resp, o.SigningKey(keysB), f.certA, envWwwrootB, 1700000001, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Open(sealed, []*rsa.PrivateKey{f.keyA}, envPeers(map[string]*x509.Certificate{envWwwrootB: f.certB}), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !back.Encrypted || !back.SignatureOK || back.Wwwroot != envWwwrootB || !bytes.Equal(back.XMLRPC, resp) || !SignedLayoutOK(back.SignedLayer) {
		t.Fatalf("response %+v", back)
	}
}

func TestOpenWrongKey(t *testing.T) {
	f := newEnvFixture(t)
	_, err := Open(f.encrypted, []*rsa.PrivateKey{f.keyA}, f.peersOfB(), Limits{})
	wantFault(t, err, FaultEncryptionInvalid)
	_, err = Open(f.encrypted, nil, f.peersOfB(), Limits{})
	wantFault(t, err, FaultEncryptionInvalid)
	// Garbage in the wrapped key.
	bad := envReplaceLastCipherValue(t, f.encrypted, "AAAA")
	_, err = Open(bad, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{})
	wantFault(t, err, FaultEncryptionInvalid)
	// Only one CipherValue.
	i := bytes.Index(f.encrypted, []byte("<EncryptedKey"))
	j := bytes.Index(f.encrypted, []byte("</EncryptedKey>")) + len("</EncryptedKey>")
	one := append(append([]byte{}, f.encrypted[:i]...), f.encrypted[j:]...)
	_, err = Open(one, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{})
	wantFault(t, err, FaultEncryptionInvalid)
}

func TestOpenArchivedKey(t *testing.T) {
	f := newEnvFixture(t)
	// B's current key is "A's key" here; the vector was sent to B's
	// archived key at index 1.
	keys := []*rsa.PrivateKey{f.keyA, f.keyB}
	o, err := Open(f.encrypted, keys, f.peersOfB(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if o.KeyIndex != 1 || !o.Rekey() || o.SigningKey(keys) != f.keyB || !bytes.Equal(o.XMLRPC, f.xmlrpc) {
		t.Fatalf("archived key: %+v", o)
	}
	cur := &Opened{Encrypted: true, KeyIndex: 0}
	if cur.SigningKey(keys) != f.keyA {
		t.Fatal("current key must sign ordinary responses")
	}
}

func TestOpenUnknownPeer(t *testing.T) {
	f := newEnvFixture(t)
	_, err := Open(f.encrypted, []*rsa.PrivateKey{f.keyB}, envPeers(nil), Limits{})
	wantFault(t, err, FaultWrongWwwroot)

	// Registered but without a certificate, or the inner signer is another
	// host: decrypts, the signature is not OK → 710.
	for _, peers := range []PeerLookup{
		envPeers(map[string]*x509.Certificate{envWwwrootA: nil}),
		envPeers(map[string]*x509.Certificate{envWwwrootA: f.certB}),
	} {
		o, err := Open(f.encrypted, []*rsa.PrivateKey{f.keyB}, peers, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !o.Signed || o.SignatureOK {
			t.Fatalf("%+v", o)
		}
		wantFault(t, o.Authorize("system/listServices", false), FaultSignatureInvalid)
	}
}

func TestOpenTampered(t *testing.T) {
	f := newEnvFixture(t)
	// Change the signed payload (methodName) and keep the old signature.
	other := bytes.Replace(f.xmlrpc, []byte("listServices"), []byte("listMethods"), 1)
	tampered := bytes.Replace(f.signed,
		[]byte(base64.StdEncoding.EncodeToString(f.xmlrpc)),
		[]byte(base64.StdEncoding.EncodeToString(other)), 1)
	if bytes.Equal(tampered, f.signed) {
		t.Fatal("tampering failed")
	}
	body, err := Encrypt(tampered, f.certB, envWwwrootA, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Open(body, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Signed || o.SignatureOK || !bytes.Equal(o.XMLRPC, other) {
		t.Fatalf("%+v", o)
	}
	wantFault(t, o.Authorize("system/listMethods", false), FaultSignatureInvalid)
	// keyswap is always accepted.
	if err := o.Authorize("system/keyswap", false); err != nil {
		t.Fatal(err)
	}
	// Flipped signature bit on the vector itself.
	sig := envBetween(t, f.signed, "<SignatureValue>", "</SignatureValue>")
	raw, _ := base64.StdEncoding.DecodeString(sig)
	raw[10] ^= 1
	flipped := bytes.Replace(f.signed, []byte(sig), []byte(base64.StdEncoding.EncodeToString(raw)), 1)
	body, _ = Encrypt(flipped, f.certB, envWwwrootA, rand.Reader)
	o, err = Open(body, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantFault(t, o.Authorize("system/listServices", false), FaultSignatureInvalid)
}

func envBetween(t *testing.T, doc []byte, open, close string) string {
	t.Helper()
	i := bytes.Index(doc, []byte(open))
	j := bytes.Index(doc, []byte(close))
	if i < 0 || j < i {
		t.Fatalf("no %s", open)
	}
	return string(doc[i+len(open) : j])
}

func TestOpenUnsignedAndPlain(t *testing.T) {
	f := newEnvFixture(t)
	// Encrypted but not signed → 711.
	body, err := Encrypt(f.xmlrpc, f.certB, envWwwrootA, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Open(body, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Encrypted || o.Signed || !bytes.Equal(o.XMLRPC, f.xmlrpc) || o.Wwwroot != envWwwrootA {
		t.Fatalf("%+v", o)
	}
	wantFault(t, o.Authorize("system/listServices", false), FaultNotSigned)

	// Plain unsigned request: keyswap passes, anything else 7021 (untrusted)
	// or 711 (trusted).
	ks, _ := EncodeRequest("system/keyswap", envWwwrootA, "PEM", "moodle")
	o, err = Open(ks, nil, envPeers(nil), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Encrypted || o.Signed || !bytes.Equal(o.XMLRPC, ks) {
		t.Fatalf("%+v", o)
	}
	if err := o.Authorize("system/keyswap", false); err != nil {
		t.Fatal(err)
	}
	wantFault(t, o.Authorize("system/listServices", false), FaultForbiddenTransport)
	wantFault(t, o.Authorize("system/listServices", true), FaultNotSigned)
}

func TestOpenLimitsAndEntities(t *testing.T) {
	f := newEnvFixture(t)
	_, err := Open(f.encrypted, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{MaxBytes: 1000})
	wantFault(t, err, FaultUnknown)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "bytes" {
		t.Fatalf("want a bytes LimitError, got %v", err)
	}

	bomb := `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<signedMessage><SignatureValue>&lol2;</SignatureValue><wwwroot>http://moodle-a.test</wwwroot></signedMessage>`
	_, err = Open([]byte(bomb), nil, f.peersOfB(), Limits{})
	wantFault(t, err, FaultUnknown)

	// The same bomb hidden in the encrypted layer.
	body, err := Encrypt([]byte(bomb), f.certB, envWwwrootA, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(body, []*rsa.PrivateKey{f.keyB}, f.peersOfB(), Limits{})
	wantFault(t, err, FaultUnknown)

	// Deep nesting and garbage.
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	_, err = Open([]byte(deep), nil, f.peersOfB(), Limits{})
	wantFault(t, err, FaultUnknown)
	for _, g := range []string{"", "garbage", "<a>", "<a></a><b></b>", "\xff\xfe<x/>"} {
		_, err = Open([]byte(g), nil, f.peersOfB(), Limits{})
		wantFault(t, err, FaultUnknown)
	}
}

func TestCheckMethodName(t *testing.T) {
	for _, ok := range []string{
		"system/listServices", "system/keyswap",
		"blocks/use_stats/rpclib.php/use_stats_rpc_get_stats",
		"auth/mnet/auth.php/user_authorise",
	} {
		if err := CheckMethodName(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"system.keyswap", "", "x", "/etc/passwd", "a/b c", "a/b;rm"} {
		wantFault(t, CheckMethodName(bad), FaultBadMethodName)
	}
}

func TestSignEncryptErrors(t *testing.T) {
	f := newEnvFixture(t)
	if _, err := Sign(f.xmlrpc, nil, envWwwrootA, 0); err == nil {
		t.Error("nil key accepted")
	}
	for _, w := range []string{"", "http://a.test/<x>", "http://a.test/\"", "http://a test"} {
		if _, err := Sign(f.xmlrpc, f.keyA, w, 0); err == nil {
			t.Errorf("wwwroot %q accepted", w)
		}
	}
	if _, err := Encrypt(f.signed, nil, envWwwrootA, rand.Reader); err == nil {
		t.Error("nil cert accepted")
	}
	if _, err := Encrypt(f.signed, f.certB, envWwwrootA, bytes.NewReader([]byte{1, 2})); err == nil {
		t.Error("short random source accepted")
	}
	o := &Opened{Encrypted: true}
	if _, err := o.Seal([]byte("x"), nil, nil, envWwwrootB, 0, rand.Reader); err == nil {
		t.Error("seal without peer cert accepted")
	}
}

func FuzzOpen(f *testing.F) {
	fx := newEnvFixture(f)
	f.Add(fx.encrypted)
	f.Add(fx.signed)
	f.Add(fx.xmlrpc)
	f.Add([]byte("<encryptedMessage><CipherValue>AA==</CipherValue><CipherValue>AA</CipherValue><wwwroot>http://moodle-a.test</wwwroot></encryptedMessage>"))
	keys := []*rsa.PrivateKey{fx.keyB}
	peers := fx.peersOfB()
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := Open(body, keys, peers, Limits{MaxBytes: 64 << 10})
		if err != nil {
			if FaultCode(err) == 0 {
				t.Fatalf("error without fault code: %v", err)
			}
			return
		}
		_ = o.Authorize("system/listServices", false)
	})
}
