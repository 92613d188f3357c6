package store

import (
	"context"
	"database/sql"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

// MnetKey is one of our MNET key pairs, stored as PEM (the store does not
// interpret it; the MNET adapter does).
type MnetKey struct {
	ID        int64
	WWWRoot   string // the wwwroot the certificate names
	CertPEM   string
	KeyPEM    string // the private key, as Moodle keeps it in its own database
	ExpiresAt int64
	CreatedAt int64
}

type mnetKeyRow struct {
	bun.BaseModel `bun:"table:usestats_mnet_keys,alias:k"`

	ID        int64  `bun:"id,pk,autoincrement"`
	WWWRoot   string `bun:"wwwroot,notnull"`
	CertPEM   string `bun:"cert_pem,notnull"`
	KeyPEM    string `bun:"key_pem,notnull"`
	ExpiresAt int64  `bun:"expires_at,notnull"`
	CreatedAt int64  `bun:"created_at,notnull"`
}

// MnetKeys returns the key pairs of a wwwroot, newest (current) first.
func (s *Store) MnetKeys(ctx context.Context, wwwroot string) ([]MnetKey, error) {
	var rows []mnetKeyRow
	if err := s.db.NewSelect().Model(&rows).Where("wwwroot = ?", wwwroot).OrderExpr("id DESC").Scan(ctx); err != nil {
		return nil, wrap("list mnet keys", err)
	}
	out := make([]MnetKey, len(rows))
	for i, r := range rows {
		out[i] = MnetKey{ID: r.ID, WWWRoot: r.WWWRoot, CertPEM: r.CertPEM, KeyPEM: r.KeyPEM, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// AddMnetKey makes k the current key pair of its wwwroot and keeps only the
// newest keep pairs (keep ≥ 1), in one transaction.
func (s *Store) AddMnetKey(ctx context.Context, k MnetKey, keep int) (MnetKey, error) {
	if k.WWWRoot == "" || k.CertPEM == "" || k.KeyPEM == "" || keep < 1 {
		return MnetKey{}, aggregation.Errorf(aggregation.EInvalid, "store: an MNET key needs a wwwroot, a certificate, a key and keep ≥ 1")
	}
	row := mnetKeyRow{WWWRoot: k.WWWRoot, CertPEM: k.CertPEM, KeyPEM: k.KeyPEM, ExpiresAt: k.ExpiresAt, CreatedAt: k.CreatedAt}
	err := s.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
			return err
		}
		var ids []int64
		if err := tx.NewSelect().Model((*mnetKeyRow)(nil)).Column("id").Where("wwwroot = ?", k.WWWRoot).
			OrderExpr("id DESC").Scan(ctx, &ids); err != nil {
			return err
		}
		if len(ids) > keep {
			_, err := tx.NewDelete().Model((*mnetKeyRow)(nil)).Where("id IN (?)", bun.List(ids[keep:])).Exec(ctx)
			return err
		}
		return nil
	})
	if err != nil {
		return MnetKey{}, wrap("add mnet key", err)
	}
	k.ID = row.ID
	return k, nil
}
