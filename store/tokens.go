package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/usestats/usestats/aggregation"
)

// API token format: "ust_" followed by 32 random bytes in unpadded
// base64url (43 characters).
const (
	tokenMarker    = "ust_"
	tokenSecretLen = 32
	tokenTextLen   = len(tokenMarker) + 43
	// PrefixLen is the length of Token.Prefix.
	PrefixLen = 8
	// LastUsedInterval is how stale (seconds) a token's last_used_at may
	// get: Authenticate writes it at most once per interval per token.
	LastUsedInterval = 60
	// MaxTokenNameLen is the longest token name CreateToken accepts.
	MaxTokenNameLen = 64
)

// badToken is the only answer to a credential that does not authenticate,
// whatever the reason, so callers cannot tell unknown from revoked.
const badToken = "invalid or revoked API token"

// Token is a stored API token, without its secret.
type Token struct {
	ID   int64
	Name string
	// Prefix is the 8 characters that follow "ust_" in the plaintext, to
	// recognise a token in lists ("ust_" + Prefix + "…"); it is not enough
	// to authenticate.
	Prefix     string
	Scopes     aggregation.Scopes
	CreatedAt  int64 // Unix seconds
	LastUsedAt int64 // Unix seconds, 0 if never used; up to LastUsedInterval stale
	RevokedAt  int64 // Unix seconds, 0 if not revoked
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return t.RevokedAt != 0 }

// tokenRow is a row of usestats_tokens.
type tokenRow struct {
	bun.BaseModel `bun:"table:usestats_tokens,alias:t"`

	ID          int64  `bun:"id,pk,autoincrement"`
	Name        string `bun:"name,notnull"`
	TokenHash   string `bun:"token_hash,notnull"`
	TokenPrefix string `bun:"token_prefix,notnull"`
	Scopes      string `bun:"scopes,notnull"`
	CreatedAt   int64  `bun:"created_at,notnull"`
	LastUsedAt  int64  `bun:"last_used_at,nullzero"`
	RevokedAt   int64  `bun:"revoked_at,nullzero"`
}

// tokenColumns are the columns read back: never the hash.
var tokenColumns = []string{"id", "name", "token_prefix", "scopes", "created_at", "last_used_at", "revoked_at"}

// toToken converts a row to a Token. Scopes that no longer parse mean the
// row was corrupted outside usestats: an internal error.
func toToken(r *tokenRow) (Token, error) {
	scopes, err := aggregation.ParseScopes(r.Scopes)
	if err != nil {
		// %v, not %w: the parse error's EInvalid code would blame the caller.
		return Token{}, fmt.Errorf("store: token %d has unreadable scopes %q: %v", r.ID, r.Scopes, err)
	}
	return Token{ID: r.ID, Name: r.Name, Prefix: r.TokenPrefix, Scopes: scopes,
		CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}, nil
}

// hashToken is what is stored for a plaintext token: hex SHA-256.
func hashToken(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// wellFormed reports whether s has the shape of a token CreateToken makes.
func wellFormed(s string) bool {
	if len(s) != tokenTextLen || !strings.HasPrefix(s, tokenMarker) {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s[len(tokenMarker):])
	return err == nil && len(b) == tokenSecretLen
}

// validateName checks a token name: 1 to MaxTokenNameLen letters, digits,
// '.', '_' or '-', not all digits (so RevokeToken never mistakes it for an
// id).
func validateName(name string) error {
	if name == "" || len(name) > MaxTokenNameLen {
		return aggregation.Errorf(aggregation.EInvalid, "token name must be 1 to %d characters", MaxTokenNameLen)
	}
	for _, r := range name {
		ok := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '_' || r == '-'
		if !ok {
			return aggregation.Errorf(aggregation.EInvalid, "token name %q: use only letters, digits, '.', '_' and '-'", name)
		}
	}
	if allDigits(name) {
		return aggregation.Errorf(aggregation.EInvalid, "token name %q: must not be only digits (ids are)", name)
	}
	return nil
}

// CreateToken creates an API token named name with the given scopes and
// returns its plaintext, which is shown once and never stored: the store
// keeps its SHA-256 hash and display prefix only. A bad or duplicate name
// or an empty scope set is an EInvalid error.
func (s *Store) CreateToken(ctx context.Context, name string, scopes aggregation.Scopes, now int64) (string, Token, error) {
	if err := validateName(name); err != nil {
		return "", Token{}, err
	}
	if scopes.Len() == 0 {
		return "", Token{}, aggregation.Errorf(aggregation.EInvalid, "token %q needs at least one scope", name)
	}
	secret := make([]byte, tokenSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return "", Token{}, wrap("create token: random", err)
	}
	plaintext := tokenMarker + base64.RawURLEncoding.EncodeToString(secret)
	row := tokenRow{
		Name:        name,
		TokenHash:   hashToken(plaintext),
		TokenPrefix: plaintext[len(tokenMarker) : len(tokenMarker)+PrefixLen],
		Scopes:      scopes.String(),
		CreatedAt:   now,
	}
	if _, err := s.db.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return "", Token{}, aggregation.Errorf(aggregation.EInvalid, "a token named %q already exists", name)
		}
		return "", Token{}, wrap("create token", err)
	}
	tok, err := toToken(&row)
	if err != nil {
		return "", Token{}, err
	}
	return plaintext, tok, nil
}

// ListTokens returns every token, revoked ones included, by id. Secrets
// and hashes are never returned.
func (s *Store) ListTokens(ctx context.Context) ([]Token, error) {
	var rows []tokenRow
	if err := s.db.NewSelect().Model(&rows).Column(tokenColumns...).OrderExpr("id ASC").Scan(ctx); err != nil {
		return nil, wrap("list tokens", err)
	}
	tokens := make([]Token, 0, len(rows))
	for i := range rows {
		tok, err := toToken(&rows[i])
		if err != nil {
			return nil, err
		}
		tokens = append(tokens, tok)
	}
	return tokens, nil
}

// findToken reads a token by id (nameOrID all digits) or by name, ENotFound
// when there is none.
func (s *Store) findToken(ctx context.Context, nameOrID string) (Token, error) {
	q := s.db.NewSelect().Model((*tokenRow)(nil)).Column(tokenColumns...)
	if allDigits(nameOrID) {
		id, err := strconv.ParseInt(nameOrID, 10, 64)
		if err != nil {
			return Token{}, aggregation.Errorf(aggregation.ENotFound, "no API token %q", nameOrID)
		}
		q = q.Where("id = ?", id)
	} else {
		q = q.Where("name = ?", nameOrID)
	}
	var row tokenRow
	if err := q.Limit(1).Scan(ctx, &row); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Token{}, aggregation.Errorf(aggregation.ENotFound, "no API token %q", nameOrID)
		}
		return Token{}, wrap("find token", err)
	}
	return toToken(&row)
}

// RevokeToken revokes the token with the given id or name at now and
// returns it. Revoking a revoked token changes nothing (its RevokedAt stays
// the first revocation's); an unknown token is ENotFound.
func (s *Store) RevokeToken(ctx context.Context, nameOrID string, now int64) (Token, error) {
	tok, err := s.findToken(ctx, nameOrID)
	if err != nil || tok.Revoked() {
		return tok, err
	}
	if _, err := s.db.NewUpdate().Model((*tokenRow)(nil)).
		Set("revoked_at = ?", now).
		Where("id = ?", tok.ID).
		Where("revoked_at IS NULL").
		Exec(ctx); err != nil {
		return Token{}, wrap("revoke token", err)
	}
	return s.findToken(ctx, strconv.FormatInt(tok.ID, 10))
}

// Authenticate returns the token whose plaintext is given. An empty,
// malformed, unknown or revoked token is an EUnauthenticated error with
// the same message in every case; a database failure is another error.
// It records the use in LastUsedAt, writing at most once per
// LastUsedInterval per token so that requests do not each cost a write.
func (s *Store) Authenticate(ctx context.Context, plaintext string, now int64) (Token, error) {
	if !wellFormed(plaintext) {
		return Token{}, aggregation.Errorf(aggregation.EUnauthenticated, badToken)
	}
	var row tokenRow
	err := s.db.NewSelect().Model(&row).Column(tokenColumns...).
		Where("token_hash = ?", hashToken(plaintext)).
		Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, aggregation.Errorf(aggregation.EUnauthenticated, badToken)
	}
	if err != nil {
		return Token{}, wrap("authenticate", err)
	}
	if row.RevokedAt != 0 {
		return Token{}, aggregation.Errorf(aggregation.EUnauthenticated, badToken)
	}
	if row.LastUsedAt == 0 || now-row.LastUsedAt >= LastUsedInterval {
		// The condition is repeated in SQL so that concurrent requests
		// (or instances) write once, and the time never goes back.
		res, err := s.db.NewUpdate().Model((*tokenRow)(nil)).
			Set("last_used_at = ?", now).
			Where("id = ?", row.ID).
			Where("last_used_at IS NULL OR last_used_at <= ?", now-LastUsedInterval).
			Exec(ctx)
		if err != nil {
			return Token{}, wrap("authenticate: record use", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			row.LastUsedAt = now
		}
	}
	return toToken(&row)
}

// allDigits reports whether s is a non-empty string of ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isUniqueViolation reports whether err is a unique-constraint violation
// from PostgreSQL or SQLite.
func isUniqueViolation(err error) bool {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('C') == "23505"
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
