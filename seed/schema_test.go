package seed

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

func TestCatalog(t *testing.T) {
	cat, err := buildCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.tables) != 42 {
		t.Errorf("%d tables", len(cat.tables))
	}
	log := cat.byName["logstore_standard_log"]
	if got := len(log.cols); got != 21 {
		t.Errorf("log: %d columns, want 21", got)
	}
	if got := len(cat.byName["user"].cols); got != 48 {
		t.Errorf("user: %d columns, want 48", got)
	}
	// Every row type's defaults are readable.
	u := Defaults[User]()
	if u.Auth != "manual" || u.Lang != "en" || u.Timezone != "99" || u.MailDisplay != 2 || u.Description.Valid {
		t.Errorf("user defaults: %+v", u)
	}
	if ue := Defaults[UserEnrolment](); ue.TimeEnd != 2147483647 {
		t.Errorf("user_enrolments.timeend default %d", ue.TimeEnd)
	}
	if gi := Defaults[GradeItem](); gi.GradeMax != 100 || gi.MultFactor != 1 || gi.GradeType != 1 {
		t.Errorf("grade item defaults: %+v", gi)
	}
	if cm := Defaults[CourseModule](); !cm.DownloadContent.Valid || cm.DownloadContent.V != 1 || cm.Visible != 1 {
		t.Errorf("course module defaults: %+v", cm)
	}
}

func TestIndexNames(t *testing.T) {
	cat, err := buildCatalog()
	if err != nil {
		t.Fatal(err)
	}
	ddl := func(kind dbconn.Kind) []string {
		stmts, indexes := schemaSQL(kind, cat, "mdl_")
		for _, ix := range indexes {
			stmts = append(stmts, ix.sql())
		}
		return stmts
	}
	stmts := ddl(dbconn.MySQL)
	all := strings.Join(stmts, "\n")
	// Names confirmed by real MySQL dumps (docs/moodle-data.md §2, §3.1) and the rule.
	for _, want := range []string{
		"`mdl_logsstanlog_tim_ix` ON `mdl_logstore_standard_log` (`timecreated`)",
		"`mdl_logsstanlog_couanotim_ix` ON `mdl_logstore_standard_log` (`courseid`, `anonymous`, `timecreated`)",
		"`mdl_logsstanlog_useconconcr_ix` ON `mdl_logstore_standard_log` (`userid`, `contextlevel`, `contextinstanceid`, `crud`, `edulevel`, `timecreated`)",
		"`mdl_logsstanlog_con_ix` ON `mdl_logstore_standard_log` (`contextid`)",
		"`mdl_logsstanlog_use_ix` ON `mdl_logstore_standard_log` (`userid`)",
		"`mdl_logsstanlog_cou_ix`", "`mdl_logsstanlog_rea_ix`", "`mdl_logsstanlog_rel_ix`",
		"CREATE UNIQUE INDEX `mdl_user_mneuse_uix` ON `mdl_user` (`mnethostid`, `username`)",
		"`mdl_user_fir_ix` ON `mdl_user` (`firstname`)",
		"`mdl_user_fir1_ix` ON `mdl_user` (`firstnamephonetic`)", // collision counter
		"CREATE UNIQUE INDEX `mdl_cont_conins_uix` ON `mdl_context` (`contextlevel`, `instanceid`)",
		"CREATE UNIQUE INDEX `mdl_gradgrad_useite_uix` ON `mdl_grade_grades` (`userid`, `itemid`)",
		"CREATE UNIQUE INDEX `mdl_coursect_cousec_uix` ON `mdl_course_sections` (`course`, `section`)",
		"CREATE UNIQUE INDEX `mdl_userenro_enruse_uix` ON `mdl_user_enrolments` (`enrolid`, `userid`)",
		"CREATE UNIQUE INDEX `mdl_conf_nam_uix` ON `mdl_config` (`name`)",
		"CREATE UNIQUE INDEX `mdl_role_sho_uix` ON `mdl_role` (`shortname`)",
		"CREATE UNIQUE INDEX `mdl_role_sor_uix` ON `mdl_role` (`sortorder`)",
		"CREATE INDEX `mdl_roleassi_useconrol_ix` ON `mdl_role_assignments` (`userid`, `contextid`, `roleid`)",
		"CREATE INDEX `mdl_roleassi_comiteuse_ix` ON `mdl_role_assignments` (`component`, `itemid`, `userid`)",
		"CREATE UNIQUE INDEX `mdl_rolecapa_rolconcap_uix` ON `mdl_role_capabilities` (`roleid`, `contextid`, `capability`)",
		"`value` LONGTEXT NOT NULL",
		"`permission` BIGINT(10) NOT NULL DEFAULT 0",
		"`id` BIGINT(10) NOT NULL AUTO_INCREMENT",
		"`eventname` VARCHAR(255) NOT NULL DEFAULT ''",
		"`edulevel` TINYINT(1) NOT NULL",
		"`anonymous` TINYINT(1) NOT NULL DEFAULT 0",
		"`other` LONGTEXT",
		"`grademax` NUMERIC(10,5) NOT NULL DEFAULT 100",
		"`timeend` BIGINT(10) NOT NULL DEFAULT 2147483647",
		"`newsitems` MEDIUMINT(5) NOT NULL DEFAULT 1",
		"DEFAULT CHARSET=utf8mb4",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("MySQL DDL lacks %s", want)
		}
	}
	for _, s := range stmts {
		if strings.HasPrefix(s, "CREATE") && strings.Contains(s, "INDEX") {
			name := strings.Fields(s)[2]
			if name == "INDEX" {
				name = strings.Fields(s)[3]
			}
			if len(strings.Trim(name, "`")) > maxNameLength {
				t.Errorf("index name %s longer than %d", name, maxNameLength)
			}
		}
	}
	pg := strings.Join(ddl(dbconn.Postgres), "\n")
	for _, want := range []string{
		`"id" BIGSERIAL`, `CONSTRAINT "mdl_logsstanlog_id_pk" PRIMARY KEY ("id")`,
		`"edulevel" SMALLINT NOT NULL`, `"contextlevel" BIGINT NOT NULL`, `"other" TEXT`,
		`"finalgrade" NUMERIC(10,5)`, `("path" varchar_pattern_ops)`, `"maxgrade" DOUBLE PRECISION NOT NULL DEFAULT 0`,
	} {
		if !strings.Contains(pg, want) {
			t.Errorf("PostgreSQL DDL lacks %s", want)
		}
	}
	lite := strings.Join(ddl(dbconn.SQLite), "\n")
	for _, want := range []string{`"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL`, `"edulevel" INTEGER(1) NOT NULL`} {
		if !strings.Contains(lite, want) {
			t.Errorf("SQLite DDL lacks %s", want)
		}
	}
}

// logIndexes reads the columns of each index of the log table.
func logIndexes(t *testing.T, db *dbconn.DB, table string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var q string
	switch db.Kind {
	case dbconn.Postgres:
		q = `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = '` + table + `'`
	case dbconn.MySQL:
		q = `SELECT index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ',') FROM information_schema.statistics
		     WHERE table_schema = DATABASE() AND table_name = '` + table + `' GROUP BY index_name`
	default:
		q = `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '` + table + `' AND sql IS NOT NULL`
	}
	rows, err := db.DB.DB.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var def sql.NullString
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		cols := def.String
		if i := strings.LastIndexByte(cols, '('); i >= 0 && db.Kind != dbconn.MySQL {
			cols = strings.TrimSuffix(cols[i+1:], ")")
		}
		cols = strings.NewReplacer(`"`, "", " ", "", "`", "").Replace(cols)
		out[name] = cols
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			prefix := testPrefix(t, e.db)
			if err := CreateSchema(ctx, e.db, prefix); err != nil {
				t.Fatal(err)
			}
			got := logIndexes(t, e.db, prefix+"logstore_standard_log")
			want := []string{
				"timecreated", "courseid,anonymous,timecreated",
				"userid,contextlevel,contextinstanceid,crud,edulevel,timecreated",
				"contextid", "userid", "courseid", "realuserid", "relateduserid",
			}
			var cols []string
			for name, c := range got {
				if c == "id" || strings.HasSuffix(name, "_pk") || name == "PRIMARY" {
					continue
				}
				if !strings.HasPrefix(name, prefix+"logsstanlog_") {
					t.Errorf("index %s does not follow the naming rule", name)
				}
				cols = append(cols, c)
			}
			slices.Sort(cols)
			slices.Sort(want)
			if !slices.Equal(cols, want) {
				t.Errorf("log indexes:\n got %q\nwant %q", cols, want)
			}
			if _, ok := got[prefix+"logsstanlog_tim_ix"]; !ok {
				t.Errorf("no %slogsstanlog_tim_ix in %v", prefix, got)
			}
			// A second CreateSchema refuses to touch existing tables.
			err := CreateSchema(ctx, e.db, prefix)
			if aggregation.ErrorCode(err) != aggregation.EInvalid || !strings.Contains(err.Error(), "already exist") {
				t.Errorf("second CreateSchema: %v", err)
			}
			if err := DropSchema(ctx, e.db, prefix); err != nil {
				t.Fatal(err)
			}
			if found, err := existingTables(ctx, e.db, Tables(prefix)); err != nil || len(found) != 0 {
				t.Errorf("after DropSchema: %v, %v", found, err)
			}
		})
	}
}
