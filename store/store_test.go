package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/store"
)

const t0 = 1_760_000_000 // a fixed "now"

func scopes(t *testing.T, text string) aggregation.Scopes {
	t.Helper()
	ss, err := aggregation.ParseScopes(text)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := aggregation.ErrorCode(err); got != code {
		t.Errorf("%s: err = %v (code %q), want %q", what, err, got, code)
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{
		"mysql://root@127.0.0.1:1/test", // refused before any connection attempt
		"mariadb://root@127.0.0.1:1/test",
		"oracle://x/y",
		"sqlite://",
		"",
	} {
		s, err := store.Open(ctx, dsn)
		if err == nil {
			s.Close()
		}
		wantCode(t, fmt.Sprintf("Open(%q)", dsn), err, aggregation.EInvalid)
	}
	_, err := store.Open(ctx, "mysql://root@127.0.0.1:1/test")
	if msg := aggregation.ErrorMessage(err); !strings.Contains(msg, "sqlite://") || !strings.Contains(msg, "postgres://") {
		t.Errorf("the MySQL refusal does not say what to use: %q", msg)
	}
	_, err = store.Open(ctx, "postgres://postgres:secret@127.0.0.1:1/test")
	wantCode(t, "Open(unreachable)", err, aggregation.EUnavailable)
}

// The service's default: a relative SQLite file, created on first use.
func TestOpenDefaultSQLite(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s := openStore(t, "sqlite://usestats.db")
	if s.Kind() != dbconn.SQLite {
		t.Errorf("Kind() = %q", s.Kind())
	}
	if _, err := os.Stat(filepath.Join(dir, "usestats.db")); err != nil {
		t.Fatal(err)
	}
}

func TestMigrate(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		all, err := store.MigrationNames(s.Kind())
		if err != nil {
			t.Fatal(err)
		}
		applied, err := s.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(applied, all) {
			t.Fatalf("first Migrate applied %v, want %v", applied, all)
		}
		for i := 0; i < 2; i++ {
			if applied, err := s.Migrate(ctx); err != nil || len(applied) != 0 {
				t.Fatalf("Migrate again: applied %v, %v; want nothing", applied, err)
			}
		}
		// A new process on the same database.
		s2, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if applied, err := s2.Migrate(ctx); err != nil || len(applied) != 0 {
			t.Fatalf("Migrate from a second store: applied %v, %v; want nothing", applied, err)
		}
		var n int
		if err := store.RawDB(s).NewRaw("SELECT COUNT(*) FROM usestats_migrations").Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if n != len(all) {
			t.Errorf("usestats_migrations has %d rows, want %d", n, len(all))
		}
		if err := store.RawDB(s).NewRaw("SELECT COUNT(*) FROM usestats_tokens").Scan(ctx, &n); err != nil || n != 0 {
			t.Errorf("usestats_tokens: %d rows, %v", n, err)
		}
		if _, _, err := s2.CreateToken(ctx, "after-remigrate", scopes(t, "site:read"), t0); err != nil {
			t.Fatal(err)
		}
	})
}

// Several instances starting at once on one PostgreSQL database.
func TestMigrateConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		if !strings.HasPrefix(dsn, "postgres") {
			t.Skip("SQLite stores are single-process")
		}
		ctx := context.Background()
		const n = 4
		stores := make([]*store.Store, n)
		for i := range stores {
			s, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		applied := make([][]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { applied[i], errs[i] = s.Migrate(ctx) })
		}
		wg.Wait()
		total := 0
		for i := range stores {
			if errs[i] != nil {
				t.Errorf("instance %d: %v", i, errs[i])
			}
			total += len(applied[i])
		}
		all, _ := store.MigrationNames(dbconn.Postgres)
		if total != len(all) {
			t.Errorf("instances applied %v in total, want each of %v once", applied, all)
		}
	})
}

func TestPostgresIsolation(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		if !strings.HasPrefix(dsn, "postgres") {
			t.Skip("PostgreSQL only")
		}
		s := openStore(t, dsn)
		db := store.RawDB(s)
		// Every pooled session must see the test's schema.
		var wg sync.WaitGroup
		schemas := make([]string, 8)
		for i := range schemas {
			wg.Go(func() {
				conn, err := db.Conn(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				defer conn.Close()
				if err := conn.NewRaw("SELECT current_schema()").Scan(context.Background(), &schemas[i]); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, sc := range schemas {
			if !strings.HasPrefix(sc, "ust_") || sc != schemas[0] {
				t.Fatalf("sessions use schemas %v, want the test's own", schemas)
			}
		}
		var table string
		if err := db.NewRaw("SELECT table_schema FROM information_schema.tables WHERE table_name = 'usestats_tokens' AND table_schema = current_schema()").Scan(context.Background(), &table); err != nil {
			t.Fatalf("usestats_tokens is not in %s: %v", schemas[0], err)
		}
	})
}

func TestPing(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close()
		wantCode(t, "Ping after Close", s.Ping(ctx), aggregation.EUnavailable)
	})
}

var plaintextRE = regexp.MustCompile(`^ust_[A-Za-z0-9_-]{43}$`)

func TestTokenLifecycle(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)

		if tokens, err := s.ListTokens(ctx); err != nil || len(tokens) != 0 {
			t.Fatalf("ListTokens on an empty store = %v, %v", tokens, err)
		}
		plainA, a, err := s.CreateToken(ctx, "erp", scopes(t, "site:read"), t0)
		if err != nil {
			t.Fatal(err)
		}
		plainB, b, err := s.CreateToken(ctx, "teacher.course-5_2025", scopes(t, "course:5:read user:9:self"), t0+1)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{plainA, plainB} {
			if !plaintextRE.MatchString(p) {
				t.Errorf("plaintext %q is not ust_ + 43 base64url characters", p)
			}
		}
		if plainA == plainB || a.ID == b.ID || a.ID <= 0 || b.ID <= 0 {
			t.Fatalf("tokens not distinct: %q %q ids %d %d", plainA, plainB, a.ID, b.ID)
		}
		wantA := store.Token{ID: a.ID, Name: "erp", Prefix: plainA[4:12], Scopes: scopes(t, "site:read"), CreatedAt: t0}
		if !sameToken(a, wantA) {
			t.Errorf("CreateToken returned %+v, want %+v", a, wantA)
		}
		if b.Prefix != plainB[4:12] || len(b.Prefix) != store.PrefixLen {
			t.Errorf("prefix %q, plaintext %q", b.Prefix, plainB)
		}

		got, err := s.Authenticate(ctx, plainA, t0+10)
		if err != nil {
			t.Fatal(err)
		}
		wantA.LastUsedAt = t0 + 10
		if !sameToken(got, wantA) {
			t.Errorf("Authenticate = %+v, want %+v", got, wantA)
		}
		got, err = s.Authenticate(ctx, plainB, t0+20)
		if err != nil || got.ID != b.ID || !got.Scopes.Equal(b.Scopes) {
			t.Fatalf("Authenticate(b) = %+v, %v", got, err)
		}

		tokens, err := s.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tokens) != 2 || !sameToken(tokens[0], wantA) || tokens[1].Name != b.Name || tokens[1].LastUsedAt != t0+20 {
			t.Fatalf("ListTokens = %+v", tokens)
		}

		// Revoke by name, then again (no-op), then by id.
		r, err := s.RevokeToken(ctx, "erp", t0+100)
		if err != nil || r.ID != a.ID || r.RevokedAt != t0+100 || !r.Revoked() {
			t.Fatalf("RevokeToken(erp) = %+v, %v", r, err)
		}
		r, err = s.RevokeToken(ctx, "erp", t0+200)
		if err != nil || r.RevokedAt != t0+100 {
			t.Fatalf("RevokeToken(erp) twice = %+v, %v; want the first revocation kept", r, err)
		}
		r, err = s.RevokeToken(ctx, fmt.Sprint(a.ID), t0+300)
		if err != nil || r.ID != a.ID || r.RevokedAt != t0+100 {
			t.Fatalf("RevokeToken(id %d) = %+v, %v", a.ID, r, err)
		}
		_, err = s.Authenticate(ctx, plainA, t0+400)
		wantCode(t, "Authenticate(revoked)", err, aggregation.EUnauthenticated)
		if got, err := s.Authenticate(ctx, plainB, t0+400); err != nil || got.ID != b.ID {
			t.Errorf("revoking a changed b: %+v, %v", got, err)
		}
		r, err = s.RevokeToken(ctx, fmt.Sprint(b.ID), t0+500)
		if err != nil || r.Name != b.Name || r.RevokedAt != t0+500 {
			t.Fatalf("RevokeToken(id %d) = %+v, %v", b.ID, r, err)
		}
		_, err = s.Authenticate(ctx, plainB, t0+600)
		wantCode(t, "Authenticate(b revoked by id)", err, aggregation.EUnauthenticated)

		tokens, err = s.ListTokens(ctx)
		if err != nil || len(tokens) != 2 || tokens[0].RevokedAt != t0+100 || tokens[1].RevokedAt != t0+500 {
			t.Fatalf("ListTokens after revocations = %+v, %v", tokens, err)
		}

		for _, unknown := range []string{"nobody", "999999", "0", "-1", "", "99999999999999999999"} {
			_, err := s.RevokeToken(ctx, unknown, t0)
			wantCode(t, fmt.Sprintf("RevokeToken(%q)", unknown), err, aggregation.ENotFound)
		}
	})
}

// sameToken compares tokens field by field (Scopes is a set).
func sameToken(a, b store.Token) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Prefix == b.Prefix && a.Scopes.Equal(b.Scopes) &&
		a.CreatedAt == b.CreatedAt && a.LastUsedAt == b.LastUsedAt && a.RevokedAt == b.RevokedAt
}

func TestAuthenticateRejects(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		plain, _, err := s.CreateToken(ctx, "good", scopes(t, "site:read"), t0)
		if err != nil {
			t.Fatal(err)
		}
		revoked, _, err := s.CreateToken(ctx, "gone", scopes(t, "site:read"), t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokeToken(ctx, "gone", t0); err != nil {
			t.Fatal(err)
		}
		flip := func(p string, i int) string { // change one secret character
			c := byte('A')
			if p[i] == 'A' {
				c = 'B'
			}
			return p[:i] + string(c) + p[i+1:]
		}
		// A well-formed secret that was never issued.
		unknown := "ust_" + strings.Repeat("A", 43)
		bad := map[string]string{
			"empty":                "",
			"marker only":          "ust_",
			"garbage":              "hello",
			"no marker":            plain[4:],
			"other marker":         "usx_" + plain[4:],
			"upper marker":         "UST_" + plain[4:],
			"bearer prefix":        "Bearer " + plain,
			"trailing space":       plain + " ",
			"leading space":        " " + plain,
			"truncated":            plain[:len(plain)-1],
			"extended":             plain + "A",
			"padded":               plain + "=",
			"not base64url":        plain[:10] + "+" + plain[11:],
			"non-canonical tail":   plain[:len(plain)-1] + "/",
			"one char changed":     flip(plain, 20),
			"last char changed":    flip(plain, len(plain)-1),
			"unknown":              unknown,
			"revoked":              revoked,
			"the hash":             hashHex(plain),
			"the display prefix":   plain[:12],
			"std base64 alphabet":  strings.NewReplacer("-", "+", "_", "/").Replace(plain),
			"plaintext in unicode": "ust_" + strings.Repeat("é", 21) + "A",
		}
		var message string
		for name, p := range bad {
			if p == plain {
				continue // e.g. the alphabet swap of a token without - or _
			}
			_, err := s.Authenticate(ctx, p, t0+10)
			wantCode(t, "Authenticate("+name+")", err, aggregation.EUnauthenticated)
			msg := aggregation.ErrorMessage(err)
			if message == "" {
				message = msg
			} else if msg != message {
				t.Errorf("Authenticate(%s) says %q, others %q: an oracle", name, msg, message)
			}
		}
		if _, err := s.Authenticate(ctx, plain, t0+10); err != nil {
			t.Fatalf("the good token no longer authenticates: %v", err)
		}
	})
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestCreateTokenInvalid(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		site := scopes(t, "site:read")
		if _, _, err := s.CreateToken(ctx, "dup", site, t0); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.CreateToken(ctx, "dup", scopes(t, "course:1:read"), t0+1)
		wantCode(t, "duplicate name", err, aggregation.EInvalid)
		if msg := aggregation.ErrorMessage(err); !strings.Contains(msg, `"dup" already exists`) {
			t.Errorf("duplicate name message: %q", msg)
		}
		// A revoked token keeps its name.
		if _, err := s.RevokeToken(ctx, "dup", t0+2); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.CreateToken(ctx, "dup", site, t0+3)
		wantCode(t, "name of a revoked token", err, aggregation.EInvalid)

		for _, name := range []string{"", "12", "0", "has space", "tab\t", "semi;colon", "é", "ust/x", strings.Repeat("a", store.MaxTokenNameLen+1)} {
			_, _, err := s.CreateToken(ctx, name, site, t0)
			wantCode(t, fmt.Sprintf("CreateToken(name %q)", name), err, aggregation.EInvalid)
		}
		if _, _, err := s.CreateToken(ctx, strings.Repeat("a", store.MaxTokenNameLen), site, t0); err != nil {
			t.Errorf("a name of %d characters: %v", store.MaxTokenNameLen, err)
		}
		_, _, err = s.CreateToken(ctx, "noscope", aggregation.Scopes{}, t0)
		wantCode(t, "CreateToken(no scope)", err, aggregation.EInvalid)

		tokens, err := s.ListTokens(ctx)
		if err != nil || len(tokens) != 2 {
			t.Fatalf("failed creations left rows: %+v, %v", tokens, err)
		}
	})
}

// The row holds a hash of the secret, never the secret.
func TestStoredHash(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		plain, tok, err := s.CreateToken(ctx, "hashed", scopes(t, "user:3:self"), t0)
		if err != nil {
			t.Fatal(err)
		}
		var row struct {
			ID          int64  `bun:"id"`
			Name        string `bun:"name"`
			TokenHash   string `bun:"token_hash"`
			TokenPrefix string `bun:"token_prefix"`
			Scopes      string `bun:"scopes"`
			CreatedAt   int64  `bun:"created_at"`
			LastUsedAt  *int64 `bun:"last_used_at"`
			RevokedAt   *int64 `bun:"revoked_at"`
		}
		if err := store.RawDB(s).NewRaw("SELECT * FROM usestats_tokens WHERE id = ?", tok.ID).Scan(ctx, &row); err != nil {
			t.Fatal(err)
		}
		if row.TokenHash == plain || strings.Contains(row.TokenHash, plain[4:]) {
			t.Fatal("the plaintext is stored")
		}
		if row.TokenHash != hashHex(plain) {
			t.Errorf("token_hash = %q, want hex SHA-256 of the plaintext", row.TokenHash)
		}
		secret := plain[4:]
		for col, v := range map[string]string{"name": row.Name, "token_prefix": row.TokenPrefix, "scopes": row.Scopes} {
			if strings.Contains(v, secret[:16]) {
				t.Errorf("column %s holds part of the secret: %q", col, v)
			}
		}
		if row.TokenPrefix != secret[:store.PrefixLen] || row.Scopes != "user:3:self" || row.CreatedAt != t0 {
			t.Errorf("row = %+v", row)
		}
		if row.LastUsedAt != nil || row.RevokedAt != nil {
			t.Errorf("a new token has last_used_at %v, revoked_at %v; want NULL", row.LastUsedAt, row.RevokedAt)
		}
	})
}

func TestLastUsedThrottle(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		plain, tok, err := s.CreateToken(ctx, "busy", scopes(t, "site:read"), t0)
		if err != nil {
			t.Fatal(err)
		}
		stored := func() int64 {
			t.Helper()
			var v *int64
			if err := store.RawDB(s).NewRaw("SELECT last_used_at FROM usestats_tokens WHERE id = ?", tok.ID).Scan(ctx, &v); err != nil {
				t.Fatal(err)
			}
			if v == nil {
				return 0
			}
			return *v
		}
		if stored() != 0 {
			t.Fatal("a new token has a last use")
		}
		steps := []struct {
			now, want int64 // want: last_used_at stored and returned
		}{
			{t0 + 5, t0 + 5},   // first use: always written
			{t0 + 6, t0 + 5},   // within the minute: no write
			{t0 + 64, t0 + 5},  // 59 s later: no write
			{t0 + 65, t0 + 65}, // 60 s later: written
			{t0 + 100, t0 + 65},
			{t0 + 10, t0 + 65}, // a clock that went back never rewinds it
			{t0 + 3600, t0 + 3600},
		}
		for _, st := range steps {
			got, err := s.Authenticate(ctx, plain, st.now)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastUsedAt != st.want || stored() != st.want {
				t.Errorf("at %d: returned %d, stored %d; want %d", st.now-t0, got.LastUsedAt-t0, stored()-t0, st.want-t0)
			}
		}
		// Concurrent requests in a new minute write once.
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Go(func() {
				if _, err := s.Authenticate(ctx, plain, t0+7200); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if stored() != t0+7200 {
			t.Errorf("stored %d after concurrent use", stored()-t0)
		}
		tokens, err := s.ListTokens(ctx)
		if err != nil || tokens[0].LastUsedAt != t0+7200 {
			t.Errorf("ListTokens = %+v, %v", tokens, err)
		}
	})
}

func TestScopesPersisted(t *testing.T) {
	eachDB(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openStore(t, dsn)
		cases := map[string]string{
			"site":   "site:read",
			"course": "course:12:read, course:3:read",
			"self":   "user:9223372036854775807:self",
			"mixed":  "user:7:self course:5:read site:read course:5:read",
		}
		plains := map[string]string{}
		for name, text := range cases {
			p, tok, err := s.CreateToken(ctx, name, scopes(t, text), t0)
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Scopes.Equal(scopes(t, text)) {
				t.Errorf("%s: CreateToken scopes %q", name, tok.Scopes)
			}
			plains[name] = p
		}
		tokens, err := s.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range tokens {
			want := scopes(t, cases[tok.Name])
			if !tok.Scopes.Equal(want) {
				t.Errorf("%s: listed scopes %q, want %q", tok.Name, tok.Scopes, want)
			}
			got, err := s.Authenticate(ctx, plains[tok.Name], t0)
			if err != nil || !got.Scopes.Equal(want) {
				t.Errorf("%s: authenticated scopes %q, %v", tok.Name, got.Scopes, err)
			}
		}
		got, _ := s.Authenticate(ctx, plains["mixed"], t0)
		if !got.Scopes.CanReadSite() || !got.Scopes.CanReadUser(7) {
			t.Errorf("mixed token decisions wrong: %q", got.Scopes)
		}
		got, _ = s.Authenticate(ctx, plains["course"], t0)
		if got.Scopes.CanReadSite() || !got.Scopes.CanReadCourse(3) || !got.Scopes.CanReadCourse(12) || got.Scopes.CanReadCourse(5) {
			t.Errorf("course token decisions wrong: %q", got.Scopes)
		}
		// A row corrupted outside usestats is an internal error, not a
		// token with no scopes.
		if _, err := store.RawDB(s).NewRaw("UPDATE usestats_tokens SET scopes = 'root' WHERE name = 'site'").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = s.Authenticate(ctx, plains["site"], t0)
		wantCode(t, "Authenticate(corrupt scopes)", err, aggregation.EInternal)
	})
}

func TestPlaintextsDiffer(t *testing.T) {
	s := openStore(t, "sqlite://"+t.TempDir()+"/u.db")
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		p, _, err := s.CreateToken(context.Background(), fmt.Sprintf("t%d", i), scopes(t, "site:read"), t0)
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] || seen[p[:12]] {
			t.Fatalf("token %d repeats a plaintext or prefix", i)
		}
		seen[p], seen[p[:12]] = true, true
	}
}
