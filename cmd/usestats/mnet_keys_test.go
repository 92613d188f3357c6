package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"
)

// Our key pair is created once, reloaded from the store, and rotated on
// expiry keeping three generations (the current one first).
func TestKeyManagerRotation(t *testing.T) {
	ctx := context.Background()
	st, err := openStore(ctx, "sqlite://"+filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const root = "https://usestats.example.test"
	k, err := newKeyManager(ctx, st, root, log)
	if err != nil {
		t.Fatal(err)
	}
	first := k.Keys().Current
	if first.Cert == nil || first.Cert.Subject.CommonName != root || len(k.Keys().Archived) != 0 {
		t.Fatalf("first key: %+v", k.Keys())
	}
	again, err := newKeyManager(ctx, st, root, log)
	if err != nil || !again.Keys().Current.Cert.Equal(first.Cert) {
		t.Fatalf("reload made a new key: %v", err)
	}
	now := time.Now()
	for i := 1; i <= 3; i++ {
		now = time.Unix(k.Keys().Current.Expires, 0).Add(time.Minute)
		k.now = func() time.Time { return now }
		if err := k.rotate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ring := k.Keys()
	if len(ring.Archived) != 2 || ring.Current.Cert.Equal(first.Cert) || ring.Current.Expires <= now.Unix() {
		t.Fatalf("after 3 rotations: current expires %d, %d archived", ring.Current.Expires, len(ring.Archived))
	}
	stored, err := st.MnetKeys(ctx, root)
	if err != nil || len(stored) != 3 || stored[0].CertPEM != string(ring.Current.CertPEM) {
		t.Fatalf("store keeps %d pairs (%v)", len(stored), err)
	}
	reloaded, err := newKeyManager(ctx, st, root, log)
	if err != nil {
		t.Fatal(err)
	}
	reloaded.now = k.now
	if r := reloaded.Keys(); !r.Current.Cert.Equal(ring.Current.Cert) || len(r.Archived) != 2 || !r.Archived[1].Cert.Equal(ring.Archived[1].Cert) {
		t.Fatalf("reloaded keyring differs")
	}
}
