package mnet

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
)

const wwwroot = "https://usestats.example.test"

func TestNewIdentity(t *testing.T) {
	now := int64(1764000000)
	id, err := NewIdentity(wwwroot+"/", now, IdentityOptions{Organization: "Demo University"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.Key.N.BitLen() != 2048 {
		t.Errorf("key size %d", id.Key.N.BitLen())
	}
	if id.Cert.Subject.CommonName != wwwroot || CertificateWWWRoot(id.Cert) != wwwroot {
		t.Errorf("CN %q, 2.5.29.17 %q", id.Cert.Subject.CommonName, CertificateWWWRoot(id.Cert))
	}
	if id.Expires != now+28*86400 || id.Cert.NotBefore.Unix() != now {
		t.Errorf("validity %v … %v", id.Cert.NotBefore, id.Cert.NotAfter)
	}
	if err := CheckPeerCertificate(id.Cert, wwwroot); err != nil {
		t.Errorf("our own certificate fails Moodle's rule: %v", err)
	}
	if err := CheckPeerCertificate(id.Cert, "https://other.test"); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("a certificate for another wwwroot was accepted: %v", err)
	}
	back, err := ParseIdentity(id.CertPEM, id.KeyPEM())
	if err != nil || !back.Key.Equal(id.Key) || string(back.CertPEM) != string(id.CertPEM) {
		t.Fatalf("PEM round trip: %v", err)
	}
	other, _ := NewIdentity(wwwroot, now, IdentityOptions{}, nil)
	if _, err := ParseIdentity(id.CertPEM, other.KeyPEM()); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("a mismatched key was accepted: %v", err)
	}
	if _, err := NewIdentity("moodle.test", now, IdentityOptions{}, nil); aggregation.ErrorCode(err) != aggregation.EInvalid {
		t.Errorf("a wwwroot without scheme was accepted: %v", err)
	}

	// OpenSSL, an independent reader, sees the subject Moodle writes: the
	// 2.5.29.17 attribute as a UTF8String equal to the wwwroot.
	if _, err := exec.LookPath("openssl"); err == nil {
		path := filepath.Join(t.TempDir(), "c.pem")
		os.WriteFile(path, id.CertPEM, 0o600)
		out, err := exec.Command("openssl", "x509", "-in", path, "-noout", "-subject", "-nameopt", "oneline").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "subjectAltName = "+wwwroot) || !strings.Contains(string(out), "CN = "+wwwroot) {
			t.Errorf("openssl reads the subject as %s (%v)", out, err)
		}
		asn, _ := exec.Command("openssl", "asn1parse", "-in", path).CombinedOutput()
		if !strings.Contains(string(asn), "UTF8STRING        :"+wwwroot) {
			t.Errorf("2.5.29.17 is not a UTF8String:\n%s", asn)
		}
	}
}

// The lab certificates (docs/protocols.md §6, in testdata) are accepted for their
// wwwroots, and their PKCS#8 keys parse.
func TestLabIdentities(t *testing.T) {
	dir := "testdata/vectors"
	for _, p := range []struct{ name, root string }{{"peerA-moodle-a.test", "http://moodle-a.test"}, {"peerB-moodle-b.test", "http://moodle-b.test"}} {
		certPEM, err1 := os.ReadFile(filepath.Join(dir, p.name+".crt"))
		keyPEM, err2 := os.ReadFile(filepath.Join(dir, p.name+".key"))
		if err1 != nil || err2 != nil {
			t.Fatalf("vectors: %v %v", err1, err2)
		}
		id, err := ParseIdentity(certPEM, keyPEM)
		if err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if got := CertificateWWWRoot(id.Cert); got != p.root {
			t.Errorf("%s names %q", p.name, got)
		}
		if err := CheckPeerCertificate(id.Cert, p.root); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
	}
}

func TestRotate(t *testing.T) {
	now := int64(1764000000)
	var k Keyring
	k, rotated, err := k.Rotate(wwwroot, now, 0, IdentityOptions{Days: 1}, nil)
	if err != nil || !rotated || len(k.Archived) != 0 {
		t.Fatalf("first identity: %v %v %d", rotated, err, len(k.Archived))
	}
	first := k.Current
	if k2, rotated, _ := k.Rotate(wwwroot, now+3600, 0, IdentityOptions{Days: 1}, nil); rotated || k2.Current.Key != first.Key {
		t.Fatal("rotated a valid key")
	}
	for i := 1; i <= 4; i++ {
		k, rotated, err = k.Rotate(wwwroot, now+int64(i)*86400, 0, IdentityOptions{Days: 1}, nil)
		if err != nil || !rotated {
			t.Fatalf("rotation %d: %v %v", i, rotated, err)
		}
	}
	if len(k.Archived) != 2 || len(k.PrivateKeys()) != 3 {
		t.Fatalf("kept %d archived keys, %d in all; want 3 generations", len(k.Archived), len(k.PrivateKeys()))
	}
	if k.Archived[0].Expires <= k.Archived[1].Expires || k.Current.Expires <= k.Archived[0].Expires {
		t.Errorf("keyring not newest first")
	}
}
