package seed

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// DefaultPrefix is Moodle's default table prefix.
const DefaultPrefix = "mdl_"

// maxNameLength bounds index and constraint names, as Moodle's generators do
// (docs/moodle-data.md §2: names are truncated to 30 characters).
const maxNameLength = 30

var prefixRE = regexp.MustCompile(`^[a-z0-9_]{0,20}$`)

// checkPrefix accepts the table prefixes this package can quote safely.
func checkPrefix(prefix string) error {
	if !prefixRE.MatchString(prefix) {
		return aggregation.Errorf(aggregation.EInvalid, "table prefix %q: want at most 20 characters among a-z, 0-9 and _", prefix)
	}
	return nil
}

// Tables returns the physical names of every table the package creates,
// in creation order.
func Tables(prefix string) []string {
	cat, err := buildCatalog()
	if err != nil {
		panic(err) // unreachable: the package tests check the catalog
	}
	out := make([]string, len(cat.tables))
	for i, t := range cat.tables {
		out[i] = prefix + t.name
	}
	return out
}

// namer hands out index and constraint names with Moodle's rule
// (sql_generator::getNameForObject): prefix + the first 4 characters of each
// "_"-separated part of the table name + "_" + the first 3 characters of
// each column + "_" + suffix, cut to 30 characters, with a counter inserted
// on collision.
type namer struct {
	prefix string
	used   map[string]bool
}

func (n *namer) name(table string, cols []string, suffix string) string {
	var b strings.Builder
	for _, part := range strings.Split(table, "_") {
		b.WriteString(part[:min(4, len(part))])
	}
	b.WriteByte('_')
	for _, c := range cols {
		b.WriteString(c[:min(3, len(c))])
	}
	base := n.prefix + b.String()
	limit := maxNameLength - len(suffix) - 1
	name := base[:min(limit, len(base))] + "_" + suffix
	for counter := 1; n.used[name]; counter++ {
		cs := strconv.Itoa(counter)
		name = base[:min(limit-len(cs), len(base))] + cs + "_" + suffix
	}
	n.used[name] = true
	return name
}

// quote quotes an identifier for the engine.
func quote(kind dbconn.Kind, ident string) string {
	if kind == dbconn.MySQL {
		return "`" + ident + "`"
	}
	return `"` + ident + `"`
}

// columnSQL renders one column definition (docs/moodle-data.md §2 type mapping).
func columnSQL(kind dbconn.Kind, c column) string {
	q := quote(kind, c.name)
	if c.typ == tSeq {
		switch kind {
		case dbconn.Postgres:
			return q + " BIGSERIAL"
		case dbconn.MySQL:
			return q + " BIGINT(10) NOT NULL AUTO_INCREMENT"
		default:
			return q + " INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"
		}
	}
	var typ string
	switch c.typ {
	case tInt:
		typ = intType(kind, c.length)
	case tChar:
		typ = fmt.Sprintf("VARCHAR(%d)", c.length)
	case tText:
		typ = "TEXT"
		if kind == dbconn.MySQL {
			typ = "LONGTEXT"
		}
	case tNumber:
		typ = fmt.Sprintf("NUMERIC(%d,%d)", c.length, c.dec)
	case tFloat:
		switch kind {
		case dbconn.Postgres:
			typ = "DOUBLE PRECISION"
		case dbconn.MySQL:
			typ = "DOUBLE"
		default:
			typ = "REAL"
		}
	}
	s := q + " " + typ
	if c.notNull {
		s += " NOT NULL"
	}
	switch {
	case c.typ == tText:
		// Moodle gives text columns no default (MySQL forbids one).
	case c.hasDef && (c.typ == tChar):
		s += " DEFAULT '" + strings.ReplaceAll(c.def, "'", "''") + "'"
	case c.hasDef:
		s += " DEFAULT " + c.def
	case c.notNull && c.typ == tChar:
		s += " DEFAULT ''" // NOT NULL char without a default gets '' (docs/moodle-data.md §1)
	}
	return s
}

func intType(kind dbconn.Kind, n int) string {
	switch kind {
	case dbconn.Postgres:
		switch {
		case n > 9:
			return "BIGINT"
		case n > 4:
			return "INTEGER"
		default:
			return "SMALLINT"
		}
	case dbconn.MySQL:
		switch {
		case n > 9:
			return fmt.Sprintf("BIGINT(%d)", n)
		case n > 6:
			return fmt.Sprintf("INT(%d)", n)
		case n > 4:
			return fmt.Sprintf("MEDIUMINT(%d)", n)
		case n > 2:
			return fmt.Sprintf("SMALLINT(%d)", n)
		default:
			return fmt.Sprintf("TINYINT(%d)", n)
		}
	default:
		return fmt.Sprintf("INTEGER(%d)", n)
	}
}

// indexDDL is one index to create.
type indexDDL struct {
	table, name string // quoted
	unique      bool
	cols        string // quoted column list
}

// sql is the CREATE INDEX statement.
func (ix indexDDL) sql() string {
	unique := ""
	if ix.unique {
		unique = "UNIQUE "
	}
	return fmt.Sprintf("CREATE %sINDEX %s ON %s (%s)", unique, ix.name, ix.table, ix.cols)
}

// schemaSQL returns the DDL statements creating every table, and the
// indexes of each, in creation order.
func schemaSQL(kind dbconn.Kind, cat *catalog, prefix string) (tables []string, indexes []indexDDL) {
	nm := &namer{prefix: prefix, used: map[string]bool{}}
	for _, t := range cat.tables {
		phys := prefix + t.name
		var b strings.Builder
		b.WriteString("CREATE TABLE " + quote(kind, phys) + " (\n")
		for i, c := range t.cols {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString("  " + columnSQL(kind, c))
		}
		pk := nm.name(t.name, []string{"id"}, "pk")
		switch kind {
		case dbconn.Postgres:
			b.WriteString(",\n  CONSTRAINT " + quote(kind, pk) + " PRIMARY KEY (" + quote(kind, "id") + ")")
		case dbconn.MySQL:
			b.WriteString(",\n  PRIMARY KEY (" + quote(kind, "id") + ")")
		}
		b.WriteString("\n)")
		if kind == dbconn.MySQL {
			b.WriteString(" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=DYNAMIC")
		}
		tables = append(tables, b.String())
		for _, ix := range t.indexes {
			suffix := "ix"
			if ix.unique {
				suffix = "uix"
			}
			cols := make([]string, len(ix.cols))
			for i, c := range ix.cols {
				cols[i] = quote(kind, c)
				if kind == dbconn.Postgres && t.name == "context" && c == "path" {
					cols[i] += " varchar_pattern_ops" // prefix LIKE on paths (docs/moodle-data.md §2)
				}
			}
			indexes = append(indexes, indexDDL{table: quote(kind, phys), name: quote(kind, nm.name(t.name, ix.cols, suffix)),
				unique: ix.unique, cols: strings.Join(cols, ", ")})
		}
	}
	return tables, indexes
}

// existingTables returns which of names exist in the database.
func existingTables(ctx context.Context, db *dbconn.DB, names []string) ([]string, error) {
	// The names are checked identifiers ([a-z0-9_]): literal IN list.
	in := "'" + strings.Join(names, "', '") + "'"
	var q string
	switch db.Kind {
	case dbconn.Postgres:
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN (" + in + ")"
	case dbconn.MySQL:
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (" + in + ")"
	default:
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (" + in + ")"
	}
	rows, err := db.DB.DB.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("seed: list tables: %w", err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("seed: list tables: %w", err)
		}
		found = append(found, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("seed: list tables: %w", err)
	}
	slices.Sort(found)
	return found, nil
}

// CreateSchema creates the Moodle tables and indexes of this package with
// the given prefix, using each engine's real column types (docs/moodle-data.md §2, §3).
// It fails, creating nothing, when any of the tables already exists; drop
// them first with DropSchema (or Options.Reset in Seed).
func CreateSchema(ctx context.Context, db *dbconn.DB, prefix string) error {
	tables, indexes, err := schemaFor(ctx, db, prefix)
	if err != nil {
		return err
	}
	for _, ix := range indexes {
		tables = append(tables, ix.sql())
	}
	return execDDL(ctx, db, tables)
}

// buildIndexes creates indexes on loaded tables, the fast way for each
// engine: MariaDB/MySQL builds all the indexes of a table in one ALTER
// TABLE (one scan of the rows); PostgreSQL (with a larger sort memory) and
// SQLite build them one by one in a transaction.
func buildIndexes(ctx context.Context, db *dbconn.DB, indexes []indexDDL) error {
	switch db.Kind {
	case dbconn.MySQL:
		var order []string
		clauses := map[string][]string{}
		for _, ix := range indexes {
			if clauses[ix.table] == nil {
				order = append(order, ix.table)
			}
			kind := "INDEX"
			if ix.unique {
				kind = "UNIQUE INDEX"
			}
			clauses[ix.table] = append(clauses[ix.table], fmt.Sprintf("ADD %s %s (%s)", kind, ix.name, ix.cols))
		}
		for _, t := range order {
			if _, err := db.DB.DB.ExecContext(ctx, "ALTER TABLE "+t+" "+strings.Join(clauses[t], ", ")); err != nil {
				return fmt.Errorf("seed: create the indexes of %s: %w", t, err)
			}
		}
		return nil
	default:
		var stmts []string
		if db.Kind == dbconn.Postgres { // sort memory for the builds (PostgreSQL runs them in parallel itself)
			stmts = append(stmts, "SET LOCAL maintenance_work_mem = '256MB'")
		}
		for _, ix := range indexes {
			stmts = append(stmts, ix.sql())
		}
		return execDDL(ctx, db, stmts)
	}
}

// schemaFor checks the prefix and that no table exists yet, and returns
// the DDL of the schema.
func schemaFor(ctx context.Context, db *dbconn.DB, prefix string) (tables []string, indexes []indexDDL, err error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, nil, err
	}
	cat, err := buildCatalog()
	if err != nil {
		return nil, nil, err
	}
	found, err := existingTables(ctx, db, Tables(prefix))
	if err != nil {
		return nil, nil, err
	}
	if len(found) > 0 {
		return nil, nil, aggregation.Errorf(aggregation.EInvalid, "seed: %d tables with prefix %q already exist (%s); drop them first (reset)",
			len(found), prefix, strings.Join(found, ", "))
	}
	tables, indexes = schemaSQL(db.Kind, cat, prefix)
	return tables, indexes, nil
}

// execDDL runs DDL statements, in one transaction where DDL is
// transactional (PostgreSQL, SQLite).
func execDDL(ctx context.Context, db *dbconn.DB, stmts []string) error {
	if db.Kind == dbconn.MySQL {
		for _, s := range stmts {
			if _, err := db.DB.DB.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("seed: create schema: %w", err)
			}
		}
		return nil
	}
	tx, err := db.DB.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("seed: create schema: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("seed: create schema: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("seed: create schema: %w", err)
	}
	return nil
}

// DropSchema drops the package's tables with the given prefix, those that
// exist; other tables are left alone.
func DropSchema(ctx context.Context, db *dbconn.DB, prefix string) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	for _, name := range Tables(prefix) {
		if _, err := db.DB.DB.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(db.Kind, name)); err != nil {
			return fmt.Errorf("seed: drop %s: %w", name, err)
		}
	}
	return nil
}
