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
