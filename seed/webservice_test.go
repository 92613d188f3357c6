package seed

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/usestats/usestats/dbconn"
)

// checkWebService asserts the web-service rows of the generated site: the
// usestats service with its four functions, and no token.
func checkWebService(t *testing.T, db *dbconn.DB, p string) {
	t.Helper()
	ctx := context.Background()
	var (
		id, enabled, restricted, created, download, upload int64
		name, short, component                             string
		modified                                           int64
		capNull                                            bool
	)
	row := db.DB.DB.QueryRowContext(ctx, `SELECT id, name, shortname, enabled, restrictedusers, component, timecreated,
		timemodified, downloadfiles, uploadfiles, CASE WHEN requiredcapability IS NULL THEN 1 ELSE 0 END FROM `+p+`external_services`)
	if err := row.Scan(&id, &name, &short, &enabled, &restricted, &component, &created, &modified, &download, &upload, &capNull); err != nil {
		t.Fatal(err)
	}
	adminCreated := count(t, db, p, "SELECT timecreated FROM {p}user WHERE id = 2")
	if id != 1 || name != "usestats" || short != "usestats" || enabled != 1 || restricted != 0 || component != "" ||
		created != adminCreated || modified != created || download != 0 || upload != 0 || !capNull {
		t.Errorf("service: id %d name %q shortname %q enabled %d restrictedusers %d component %q timecreated %d (admin %d) timemodified %d files %d/%d capability NULL %v",
			id, name, short, enabled, restricted, component, created, adminCreated, modified, download, upload, capNull)
	}
	rows, err := db.DB.DB.QueryContext(ctx, "SELECT externalserviceid, functionname FROM "+p+"external_services_functions ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var fns []string
	for rows.Next() {
		var svc int64
		var fn string
		if err := rows.Scan(&svc, &fn); err != nil {
			t.Fatal(err)
		}
		if svc != 1 {
			t.Errorf("function %s of service %d", fn, svc)
		}
		fns = append(fns, fn)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"block_use_stats_get_user_stats", "block_use_stats_get_users_stats",
		"block_use_stats_get_users_course_stats", "core_webservice_get_site_info"}
	if !slices.Equal(fns, want) {
		t.Errorf("service functions %q, want %q", fns, want)
	}
	if n := count(t, db, p, "SELECT COUNT(*) FROM {p}external_tokens"); n != 0 {
		t.Errorf("%d tokens, want none", n)
	}
}

func TestWebServiceTables(t *testing.T) {
	cat, err := buildCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for table, cols := range map[string]int{"external_services": 11, "external_services_functions": 3, "external_tokens": 14} {
		if got := len(cat.byName[table].cols); got != cols {
			t.Errorf("%s: %d columns, want %d", table, got, cols)
		}
	}
	if tok := Defaults[ExternalToken](); tok.CreatorID != 1 || tok.ValidUntil.Valid || tok.IPRestriction.Valid {
		t.Errorf("token defaults: %+v", tok)
	}
	stmts, indexes := schemaSQL(dbconn.MySQL, cat, "mdl_")
	for _, ix := range indexes {
		stmts = append(stmts, ix.sql())
	}
	all := strings.Join(stmts, "\n")
	for _, want := range []string{
		"CREATE UNIQUE INDEX `mdl_exteserv_nam_uix` ON `mdl_external_services` (`name`)",
		"CREATE INDEX `mdl_exteservfunc_ext_ix` ON `mdl_external_services_functions` (`externalserviceid`)",
		"CREATE INDEX `mdl_extetoke_tok_ix` ON `mdl_external_tokens` (`token`)",
		"CREATE INDEX `mdl_extetoke_sid_ix` ON `mdl_external_tokens` (`sid`)",
		"CREATE INDEX `mdl_extetoke_use_ix` ON `mdl_external_tokens` (`userid`)",
		"CREATE INDEX `mdl_extetoke_ext_ix` ON `mdl_external_tokens` (`externalserviceid`)",
		"CREATE INDEX `mdl_extetoke_con_ix` ON `mdl_external_tokens` (`contextid`)",
		"CREATE INDEX `mdl_extetoke_cre_ix` ON `mdl_external_tokens` (`creatorid`)",
		"`token` VARCHAR(128) NOT NULL DEFAULT ''",
		"`creatorid` BIGINT(10) NOT NULL DEFAULT 1",
		"`validuntil` BIGINT(10)",
		"`requiredcapability` VARCHAR(150)",
		"`functionname` VARCHAR(200) NOT NULL DEFAULT ''",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("MySQL DDL lacks %s", want)
		}
	}
}
