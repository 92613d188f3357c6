package main

// MNET wiring: our key pairs kept in the store, the peer registry in the
// store, the Moodle site behind the use_stats service, the client that
// forwards calls.

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/mnet"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/store"
)

// keyGenerations is how many key pairs we keep (Moodle keeps 3).
const keyGenerations = 3

// checkWWWRoot validates a wwwroot given on the command line.
func checkWWWRoot(w string) (string, error) {
	w = strings.TrimSuffix(strings.TrimSpace(w), "/")
	u, err := url.Parse(w)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", aggregation.Errorf(aggregation.EInvalid, "%q is not a wwwroot (http(s)://host[:port][/path])", w)
	}
	return w, nil
}

// keyManager holds our keyring, loaded from and saved to the store, and
// rotates it when the current certificate expires.
type keyManager struct {
	st      *store.Store
	wwwroot string
	now     func() time.Time
	log     *slog.Logger

	mu   sync.RWMutex
	ring mnet.Keyring
}

func newKeyManager(ctx context.Context, st *store.Store, wwwroot string, log *slog.Logger) (*keyManager, error) {
	k := &keyManager{st: st, wwwroot: wwwroot, now: time.Now, log: log}
	keys, err := st.MnetKeys(ctx, wwwroot)
	if err != nil {
		return nil, err
	}
	for i, sk := range keys {
		id, err := mnet.ParseIdentity([]byte(sk.CertPEM), []byte(sk.KeyPEM))
		if err != nil {
			return nil, fmt.Errorf("mnet: stored key pair %d of %s: %w", sk.ID, wwwroot, err)
		}
		if i == 0 {
			k.ring.Current = id
		} else {
			k.ring.Archived = append(k.ring.Archived, id)
		}
	}
	if err := k.rotate(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Keys returns the current keyring.
func (k *keyManager) Keys() mnet.Keyring {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.ring
}

// rotate replaces an expired (or missing) current key pair, keeping the
// older ones for messages still encrypted to them.
func (k *keyManager) rotate(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	next, changed, err := k.ring.Rotate(k.wwwroot, k.now().Unix(), keyGenerations, mnet.IdentityOptions{}, rand.Reader)
	if err != nil || !changed {
		return err
	}
	c := next.Current
	if _, err := k.st.AddMnetKey(ctx, store.MnetKey{WWWRoot: k.wwwroot, CertPEM: string(c.CertPEM), KeyPEM: string(c.KeyPEM()),
		ExpiresAt: c.Expires, CreatedAt: k.now().Unix()}, keyGenerations); err != nil {
		return err
	}
	k.ring = next
	k.log.Info("mnet: new key pair", "wwwroot", k.wwwroot, "expires", time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	return nil
}

// rotateEvery checks for expiry until ctx ends.
func (k *keyManager) rotateEvery(ctx context.Context, d time.Duration) {
	repeat(ctx, d, func() {
		if err := k.rotate(ctx); err != nil && ctx.Err() == nil {
			k.log.Error("mnet: key rotation failed", "err", err)
		}
	})
}

// peerStore adapts the store's peer registry to mnet.PeerStore.
type peerStore struct{ st *store.Store }

func toPeer(p store.MnetPeer) mnet.Peer {
	out := mnet.Peer{WWWRoot: p.WWWRoot, Name: p.Name, CertPEM: []byte(p.CertPEM), Expires: p.ExpiresAt, Services: p.Services,
		Layout: mnet.Layout(p.Layout)}
	if cert, err := mnet.ParseCertificatePEM(out.CertPEM); err == nil {
		out.Cert = cert
	}
	return out
}

// Peer implements mnet.PeerStore.
func (s peerStore) Peer(ctx context.Context, wwwroot string) (mnet.Peer, bool, error) {
	p, ok, err := s.st.MnetPeer(ctx, wwwroot)
	if err != nil || !ok {
		return mnet.Peer{}, ok, err
	}
	return toPeer(p), true, nil
}

// SavePeer implements mnet.PeerStore.
func (s peerStore) SavePeer(ctx context.Context, p mnet.Peer) error {
	_, err := s.st.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: p.WWWRoot, Name: p.Name, CertPEM: string(p.CertPEM),
		ExpiresAt: p.Expires, Services: p.Services, Layout: string(p.Layout), CreatedAt: time.Now().Unix()})
	return err
}

// moodleSite adapts the Moodle database to mnet.UseStatsSite.
type moodleSite struct{ src *moodle.Source }

func (m moodleSite) LocalHostID(ctx context.Context) (int64, error) { return m.src.LocalHostID(ctx) }

func (m moodleSite) MnetHostID(ctx context.Context, wwwroot string) (int64, bool, error) {
	h, ok, err := m.src.MnetHostByWWWRoot(ctx, wwwroot)
	return h.ID, ok, err
}

func (m moodleSite) HasSystemCapability(ctx context.Context, userID int64, caps ...string) (bool, error) {
	return m.src.HasSystemCapability(ctx, userID, caps...)
}

// mnetNode is everything MNET in one running service.
type mnetNode struct {
	wwwroot string
	keys    *keyManager
	peers   peerStore
	client  *mnet.Client
	server  *mnet.Server
	gather  *mnet.Gatherer
	st      *store.Store
	log     *slog.Logger
}

type mnetOptions struct {
	wwwroot      string
	autoRegister bool
	caller       string                // username peers know us by
	service      *aggregation.Service  // computes the time of use_stats calls
	directory    aggregation.Directory // finds users (nil: the Moodle source's)
}

func newMnetNode(ctx context.Context, st *store.Store, src *moodle.Source, opt mnetOptions, log *slog.Logger) (*mnetNode, error) {
	keys, err := newKeyManager(ctx, st, opt.wwwroot, log)
	if err != nil {
		return nil, err
	}
	n := &mnetNode{wwwroot: opt.wwwroot, keys: keys, peers: peerStore{st}, st: st, log: log}
	n.client = &mnet.Client{WWWRoot: opt.wwwroot, Keys: keys.Keys}
	if src == nil {
		return n, nil
	}
	dir := opt.directory
	if dir == nil {
		dir = src.Directory()
	}
	us := &mnet.UseStats{
		WWWRoot:      opt.wwwroot,
		Site:         moodleSite{src},
		Directory:    dir,
		QueryService: opt.service,
		Now:          func() int64 { return time.Now().Unix() },
		Forward:      n.forward,
		Logger:       log,
	}
	n.server = &mnet.Server{
		WWWRoot:      opt.wwwroot,
		Keys:         keys.Keys,
		Peers:        n.peers,
		AutoRegister: opt.autoRegister,
		Logger:       log,
		Observe:      observeCall("mnet"),
		Methods:      us.Methods(),
		Services:     []mnet.Service{us.Service()},
		Docs:         us.Docs(),
		RefreshKey: func(ctx context.Context, wwwroot string) (*x509.Certificate, error) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			cert, _, err := n.client.Keyswap(ctx, wwwroot)
			return cert, err
		},
		Seen: func(ctx context.Context, wwwroot string) {
			if err := st.TouchMnetPeer(ctx, wwwroot, time.Now().Unix()); err != nil {
				log.Warn("mnet: recording last connection", "peer", wwwroot, "err", err)
			}
		},
	}
	n.gather = &mnet.Gatherer{WWWRoot: opt.wwwroot, Caller: opt.caller, Forward: n.forward, List: n.hosts, Logger: log}
	return n, nil
}

// hosts lists the registered peers for the GraphQL multi-host query.
func (n *mnetNode) hosts(ctx context.Context) ([]aggregation.HostInfo, error) {
	ps, err := n.st.MnetPeers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]aggregation.HostInfo, len(ps))
	for i, p := range ps {
		out[i] = aggregation.HostInfo{WWWRoot: p.WWWRoot, Name: p.Name}
	}
	return out, nil
}

// forward calls method on the registered host wwwroot, stores a
// certificate the host rotated (fault 7025) and records the connection.
func (n *mnetNode) forward(ctx context.Context, wwwroot, method string, params []any) (any, error) {
	p, ok, err := n.peers.Peer(ctx, wwwroot)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, aggregation.Errorf(aggregation.ENotFound, "%s is not a registered MNET host", wwwroot)
	}
	res, err := n.client.Call(ctx, p, method, params...)
	if res.Rekeyed {
		if serr := n.peers.SavePeer(ctx, res.Peer); serr != nil {
			n.log.Error("mnet: saving a peer's new certificate", "peer", wwwroot, "err", serr)
		}
	}
	if err != nil {
		return nil, err
	}
	if terr := n.st.TouchMnetPeer(ctx, wwwroot, time.Now().Unix()); terr != nil {
		n.log.Warn("mnet: recording last connection", "peer", wwwroot, "err", terr)
	}
	return res.Value, nil
}
