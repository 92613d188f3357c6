package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/mnet"
	"github.com/usestats/usestats/store"
)

// defaultWWWRoot is our wwwroot when neither --wwwroot nor
// USESTATS_WWWROOT is given (serve's default address).
const defaultWWWRoot = "http://localhost:8080"

const peerUsage = `usage: usestats peer <add|list|remove> [flags]

  add URL [--name NAME] [--services use_stats] [--layout published|nested]
                                   fetch the host's certificate (system/keyswap)
                                   and register it as an MNET peer
  list                             the registered peers
  remove URL                       forget a peer

Every subcommand takes --store URL (env USESTATS_STORE, default ` + defaultStore + `);
add takes --wwwroot (env USESTATS_WWWROOT, default ` + defaultWWWRoot + `): ours, as serve uses it.
--layout is where use_stats_rpc_get_stats puts the modules at scope 3 for this peer:
published (default: one MODULES under USE_STATS) or nested (MODULES in each COURSE,
as block_use_stats' code does).
Running add again refreshes the certificate, name and services; it keeps the
layout unless --layout is given.
`

func runPeer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, peerUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, peerUsage)
		return nil
	case "add", "list", "remove":
	default:
		return aggregation.Errorf(aggregation.EInvalid, "peer: unknown subcommand %q (add, list, remove)", sub)
	}
	fs := newFlags("peer "+sub, stderr)
	storeURL := fs.String("store", envOr("USESTATS_STORE", defaultStore), "usestats' own database (env USESTATS_STORE)")
	wwwroot := fs.String("wwwroot", envOr("USESTATS_WWWROOT", defaultWWWRoot), "our wwwroot (env USESTATS_WWWROOT)")
	name := fs.String("name", "", "the peer's display name (default: its wwwroot)")
	services := fs.String("services", mnet.UseStatsService, "services published to the peer, comma separated; empty: none")
	layoutFlag := fs.String("layout", "", "scope-3 layout of the peer's use_stats answers: published (default) or nested")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline of the key exchange")
	// Flags before or after the URL: peer add URL --name X, or --name X URL.
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	var target string
	if len(pos) > 0 {
		target = pos[0]
	}
	if (sub == "list") != (target == "") || len(pos) > 1 {
		return aggregation.Errorf(aggregation.EInvalid, "peer %s: give exactly one host URL (none for list)", sub)
	}
	layout, err := mnet.ParseLayout(*layoutFlag)
	if err != nil {
		return fmt.Errorf("peer %s --layout: %w", sub, err)
	}
	st, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "list":
		return listPeers(ctx, st, stdout)
	case "remove":
		root, err := checkWWWRoot(target)
		if err != nil {
			return err
		}
		if err := st.RemoveMnetPeer(ctx, root); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "peer %s removed\n", root)
		return nil
	}
	ours, err := checkWWWRoot(*wwwroot)
	if err != nil {
		return err
	}
	root, err := checkWWWRoot(target)
	if err != nil {
		return err
	}
	var svcs []string
	for _, s := range strings.Split(*services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			svcs = append(svcs, s)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	keys, err := newKeyManager(ctx, st, ours, log)
	if err != nil {
		return err
	}
	client := &mnet.Client{WWWRoot: ours, Keys: keys.Keys}
	kctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	fmt.Fprintf(stderr, "exchanging keys with %s …\n", root)
	cert, certPEM, err := client.Keyswap(kctx, root)
	if err != nil {
		return aggregation.Errorf(aggregation.EUnavailable, "peer add: key exchange with %s failed: %v", root, err)
	}
	if *layoutFlag == "" { // keep the layout of a peer added before
		if old, ok, err := st.MnetPeer(ctx, root); err != nil {
			return err
		} else if ok {
			layout = mnet.Layout(old.Layout)
		}
	}
	p, err := st.SaveMnetPeer(ctx, store.MnetPeer{WWWRoot: root, Name: *name, CertPEM: string(certPEM),
		ExpiresAt: cert.NotAfter.Unix(), Services: svcs, Layout: string(layout), CreatedAt: time.Now().Unix()})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "peer %s registered (certificate valid until %s, services: %s, layout: %s)\n", p.WWWRoot,
		cert.NotAfter.UTC().Format(time.RFC3339), orNone(strings.Join(p.Services, ",")), p.Layout)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func listPeers(ctx context.Context, st *store.Store, stdout io.Writer) error {
	ps, err := st.MnetPeers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WWWROOT\tNAME\tCERTIFICATE EXPIRES\tSERVICES\tLAYOUT\tLAST CONNECT")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.WWWRoot, p.Name, when(p.ExpiresAt), orNone(strings.Join(p.Services, ",")),
			p.Layout, when(p.LastConnectAt))
	}
	return tw.Flush()
}
