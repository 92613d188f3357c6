package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/store"
)

// defaultStore is usestats' own database when nothing else is configured.
const defaultStore = "sqlite://usestats.db"

const tokenUsage = `usage: usestats token <create|list|revoke> [flags]

  create --name NAME --scope SCOPES   print a new API token (shown once)
  list                                the tokens, without their secrets
  revoke NAME|ID                      revoke a token

Scopes: site:read, course:<id>:read, group:<id>:read, user:<id>:self (several: comma or space separated),
and ws: every user through the Moodle web-service functions only (for ERPs; nothing in GraphQL).
Every subcommand takes --store URL (before or after NAME|ID) (env USESTATS_STORE, default ` + defaultStore + `).
`

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := newFlags("token "+sub, stderr)
	storeURL := fs.String("store", envOr("USESTATS_STORE", defaultStore), "usestats' own database: sqlite://PATH or postgres://… (env USESTATS_STORE)")
	var name, scope *string
	var target []string // revoke's NAME|ID
	if sub == "create" {
		name = fs.String("name", "", "a name for the token (letters, digits, . _ -)")
		scope = fs.String("scope", "", "what the token may read: site:read, course:<id>:read, group:<id>:read, user:<id>:self, ws")
	}
	switch sub {
	case "create", "list":
		if err := parseFlags(fs, args); err != nil {
			return err
		}
	case "revoke":
		var err error
		if target, err = parseArgs(fs, args); err != nil {
			return err
		}
		if len(target) != 1 {
			return aggregation.Errorf(aggregation.EInvalid, "token revoke: give one token name or id")
		}
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, tokenUsage)
		return nil
	default:
		return aggregation.Errorf(aggregation.EInvalid, "token: unknown subcommand %q (create, list, revoke)", sub)
	}
	st, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().Unix()
	switch sub {
	case "create":
		if *name == "" || *scope == "" {
			return aggregation.Errorf(aggregation.EInvalid, "token create: --name and --scope are required")
		}
		scopes, err := aggregation.ParseScopes(*scope)
		if err != nil {
			return err
		}
		plain, tok, err := st.CreateToken(ctx, *name, scopes, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", plain)
		fmt.Fprintf(stderr, "token %q (id %d, scopes %s) created; it is shown only this once\n", tok.Name, tok.ID, tok.Scopes)
	case "list":
		toks, err := st.ListTokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tCREATED\tLAST USED\tREVOKED")
		for _, t := range toks {
			fmt.Fprintf(tw, "%d\t%s\tust_%s…\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.Scopes,
				when(t.CreatedAt), when(t.LastUsedAt), when(t.RevokedAt))
		}
		return tw.Flush()
	case "revoke":
		tok, err := st.RevokeToken(ctx, target[0], now)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %q (id %d) revoked\n", tok.Name, tok.ID)
	}
	return nil
}

// openStore opens usestats' own database and brings its schema up to date.
func openStore(ctx context.Context, url string) (*store.Store, error) {
	st, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func when(t int64) string {
	if t == 0 {
		return "-"
	}
	return time.Unix(t, 0).UTC().Format("2006-01-02 15:04Z")
}
