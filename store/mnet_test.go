package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/store"
)

func TestMnetKeys(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		const root = "https://usestats.example.test"
		for i := 1; i <= 4; i++ {
			k, err := s.AddMnetKey(ctx, store.MnetKey{WWWRoot: root, CertPEM: fmt.Sprintf("cert %d", i), KeyPEM: fmt.Sprintf("key %d", i),
				ExpiresAt: int64(1000 + i), CreatedAt: int64(i)}, 3)
			if err != nil || k.ID == 0 {
				t.Fatalf("add %d: %+v %v", i, k, err)
			}
		}
		if _, err := s.AddMnetKey(ctx, store.MnetKey{WWWRoot: "https://other.test", CertPEM: "c", KeyPEM: "k"}, 3); err != nil {
			t.Fatal(err)
		}
		keys, err := s.MnetKeys(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 3 || keys[0].CertPEM != "cert 4" || keys[2].KeyPEM != "key 2" || keys[0].ExpiresAt != 1004 {
			t.Fatalf("keys = %+v, want the 3 newest, newest first", keys)
		}
		if other, _ := s.MnetKeys(ctx, "https://other.test"); len(other) != 1 {
			t.Errorf("another wwwroot's keys were trimmed: %+v", other)
		}
		if _, err := s.AddMnetKey(ctx, store.MnetKey{WWWRoot: root}, 3); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("empty key: err = %v", err)
		}
	})
}

func TestMnetPeers(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		p, err := s.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: "https://b.test", CertPEM: "cert1", ExpiresAt: 100,
			Services: []string{"use_stats", " use_stats"}, CreatedAt: 5})
		if err != nil || p.ID == 0 || p.Name != "https://b.test" || len(p.Services) != 1 || p.LastConnectAt != 0 {
			t.Fatalf("save: %+v %v", p, err)
		}
		if _, err := s.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: "https://a.test", Name: "A", CertPEM: "c", CreatedAt: 6}); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchMnetPeer(ctx, "https://b.test", 50); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchMnetPeer(ctx, "https://b.test", 40); err != nil {
			t.Fatal(err)
		}
		up, err := s.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: "https://b.test", Name: "B", CertPEM: "cert2", ExpiresAt: 200})
		if err != nil || up.ID != p.ID || up.CertPEM != "cert2" || up.Name != "B" || up.LastConnectAt != 50 ||
			up.CreatedAt != 5 || len(up.Services) != 0 {
			t.Fatalf("update kept the wrong fields: %+v %v", up, err)
		}
		all, err := s.MnetPeers(ctx)
		if err != nil || len(all) != 2 || all[0].WWWRoot != "https://a.test" {
			t.Fatalf("list: %+v %v", all, err)
		}
		if err := s.RemoveMnetPeer(ctx, "https://a.test"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveMnetPeer(ctx, "https://a.test"); aggregation.ErrorCode(err) != aggregation.ENotFound {
			t.Errorf("second remove: %v", err)
		}
		if _, ok, err := s.MnetPeer(ctx, "https://a.test"); ok || err != nil {
			t.Errorf("removed peer still there: %v %v", ok, err)
		}
		if _, err := s.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: "https://c.test", CertPEM: "c", Services: []string{"a,b"}}); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("bad service name: %v", err)
		}
		if p.Layout != "published" || up.Layout != "published" {
			t.Errorf("default layout: %q then %q, want published", p.Layout, up.Layout)
		}
	})
}

func TestMnetPeerLayout(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		p, err := s.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: "https://n.test", CertPEM: "c", Layout: "nested"})
		if err != nil || p.Layout != "nested" {
			t.Fatalf("save nested: %+v %v", p, err)
		}
		if p, err = s.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: "https://n.test", CertPEM: "c2", Layout: "nested"}); err != nil || p.Layout != "nested" {
			t.Fatalf("a new certificate changed the layout: %+v %v", p, err)
		}
		if p, err = s.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: "https://n.test", CertPEM: "c2", Layout: "published"}); err != nil || p.Layout != "published" {
			t.Fatalf("back to published: %+v %v", p, err)
		}
		for _, bad := range []string{"flat", "Nested", " nested"} {
			_, err := s.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: "https://n.test", CertPEM: "c3", Layout: bad})
			if aggregation.ErrorCode(err) != aggregation.EInvalid {
				t.Errorf("layout %q: %v, want EInvalid", bad, err)
			}
		}
		if p, _, err := s.MnetPeer(ctx, "https://n.test"); err != nil || p.CertPEM != "c2" {
			t.Errorf("a refused save changed the peer: %+v %v", p, err)
		}
		// A row written without the column (a peer registered before
		// migration 0005) reads as published.
		if _, err := store.RawDB(s).ExecContext(ctx, `INSERT INTO usestats_mnet_peers (wwwroot, name, cert_pem, expires_at, services, created_at)
			VALUES ('https://old.test', 'old', 'c', 0, '', 0)`); err != nil {
			t.Fatal(err)
		}
		if p, ok, err := s.MnetPeer(ctx, "https://old.test"); err != nil || !ok || p.Layout != "published" {
			t.Errorf("old row: %+v %v %v", p, ok, err)
		}
	})
}
