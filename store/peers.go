package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

// MnetPeer is a registered MNET host: who may call us and whom we call.
// The store keeps the certificate as PEM and does not interpret it.
type MnetPeer struct {
	ID        int64
	WWWRoot   string
	Name      string
	CertPEM   string
	ExpiresAt int64
	// Services are the service names published to this peer (it may call
	// their methods), e.g. "use_stats".
	Services []string
	// Layout is how use_stats answers the peer at scope 3: one of
	// MnetLayouts; empty is saved as the first, the default.
	Layout        string
	LastConnectAt int64 // 0 = never
	CreatedAt     int64
}

// MnetLayouts are the scope-3 layouts a peer may have, the default first
// (the names of mnet.Layout).
var MnetLayouts = []string{"published", "nested"}

type mnetPeerRow struct {
	bun.BaseModel `bun:"table:usestats_mnet_peers,alias:p"`

	ID            int64         `bun:"id,pk,autoincrement"`
	WWWRoot       string        `bun:"wwwroot,notnull"`
	Name          string        `bun:"name,notnull"`
	CertPEM       string        `bun:"cert_pem,notnull"`
	ExpiresAt     int64         `bun:"expires_at,notnull"`
	Services      string        `bun:"services,notnull"`
	Layout        string        `bun:"layout,notnull"`
	LastConnectAt sql.NullInt64 `bun:"last_connect_at"`
	CreatedAt     int64         `bun:"created_at,notnull"`
}

func (r mnetPeerRow) peer() MnetPeer {
	p := MnetPeer{ID: r.ID, WWWRoot: r.WWWRoot, Name: r.Name, CertPEM: r.CertPEM, ExpiresAt: r.ExpiresAt,
		Layout: r.Layout, LastConnectAt: r.LastConnectAt.Int64, CreatedAt: r.CreatedAt, Services: []string{}}
	for _, s := range strings.Split(r.Services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			p.Services = append(p.Services, s)
		}
	}
	return p
}

func validServices(svcs []string) (string, error) {
	out := slices.Clone(svcs)
	for i, s := range out {
		s = strings.TrimSpace(s)
		if s == "" || strings.ContainsAny(s, ", \t\n") {
			return "", aggregation.Errorf(aggregation.EInvalid, "store: invalid MNET service name %q", s)
		}
		out[i] = s
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ","), nil
}

// validLayout returns the layout to store: the default for "".
func validLayout(l string) (string, error) {
	switch {
	case l == "":
		return MnetLayouts[0], nil
	case slices.Contains(MnetLayouts, l):
		return l, nil
	}
	return "", aggregation.Errorf(aggregation.EInvalid, "store: invalid MNET peer layout %q (%s)", l, strings.Join(MnetLayouts, " or "))
}

// SaveMnetPeer creates the peer p.WWWRoot or replaces its name, certificate,
// expiry, services and layout (its id, creation time and last connection
// are kept).
func (s *Store) SaveMnetPeer(ctx context.Context, p MnetPeer) (MnetPeer, error) {
	if p.WWWRoot == "" || p.CertPEM == "" {
		return MnetPeer{}, aggregation.Errorf(aggregation.EInvalid, "store: an MNET peer needs a wwwroot and a certificate")
	}
	svcs, err := validServices(p.Services)
	if err != nil {
		return MnetPeer{}, err
	}
	layout, err := validLayout(p.Layout)
	if err != nil {
		return MnetPeer{}, err
	}
	if p.Name == "" {
		p.Name = p.WWWRoot
	}
	row := mnetPeerRow{WWWRoot: p.WWWRoot, Name: p.Name, CertPEM: p.CertPEM, ExpiresAt: p.ExpiresAt, Services: svcs,
		Layout: layout, CreatedAt: p.CreatedAt}
	if p.LastConnectAt > 0 {
		row.LastConnectAt = sql.NullInt64{Int64: p.LastConnectAt, Valid: true}
	}
	_, err = s.db.NewInsert().Model(&row).
		On("CONFLICT (wwwroot) DO UPDATE").
		Set("name = EXCLUDED.name, cert_pem = EXCLUDED.cert_pem, expires_at = EXCLUDED.expires_at, services = EXCLUDED.services, layout = EXCLUDED.layout").
		Exec(ctx)
	if err != nil {
		return MnetPeer{}, wrap("save mnet peer", err)
	}
	saved, ok, err := s.MnetPeer(ctx, p.WWWRoot)
	if err != nil {
		return MnetPeer{}, err
	}
	if !ok {
		return MnetPeer{}, wrap("save mnet peer", errors.New("the saved row is missing"))
	}
	return saved, nil
}

// MnetPeer returns the peer registered under exactly wwwroot.
func (s *Store) MnetPeer(ctx context.Context, wwwroot string) (MnetPeer, bool, error) {
	var row mnetPeerRow
	err := s.db.NewSelect().Model(&row).Where("wwwroot = ?", wwwroot).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return MnetPeer{}, false, nil
	}
	if err != nil {
		return MnetPeer{}, false, wrap("read mnet peer", err)
	}
	return row.peer(), true, nil
}

// MnetPeers lists every registered peer by wwwroot.
func (s *Store) MnetPeers(ctx context.Context) ([]MnetPeer, error) {
	var rows []mnetPeerRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("wwwroot").Scan(ctx); err != nil {
		return nil, wrap("list mnet peers", err)
	}
	out := make([]MnetPeer, len(rows))
	for i, r := range rows {
		out[i] = r.peer()
	}
	return out, nil
}

// RemoveMnetPeer deletes the peer wwwroot; ENotFound when there is none.
func (s *Store) RemoveMnetPeer(ctx context.Context, wwwroot string) error {
	res, err := s.db.NewDelete().Model((*mnetPeerRow)(nil)).Where("wwwroot = ?", wwwroot).Exec(ctx)
	if err != nil {
		return wrap("remove mnet peer", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return aggregation.Errorf(aggregation.ENotFound, "store: no MNET peer %q", wwwroot)
	}
	return nil
}

// TouchMnetPeer records a successful exchange with wwwroot at time at
// (never moving the time backwards). Unknown peers are ignored.
func (s *Store) TouchMnetPeer(ctx context.Context, wwwroot string, at int64) error {
	_, err := s.db.NewUpdate().Model((*mnetPeerRow)(nil)).Set("last_connect_at = ?", at).
		Where("wwwroot = ?", wwwroot).Where("last_connect_at IS NULL OR last_connect_at < ?", at).Exec(ctx)
	if err != nil {
		return wrap("touch mnet peer", err)
	}
	return nil
}
