package seed

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/usestats/usestats/dbconn"
)

// checkAccess asserts the access rows of a fresh install: settings, the
// standard roles, the manager's capability and the course role assignments
// of the manual enrolments.
func checkAccess(t *testing.T, db *dbconn.DB, p string, st Stats) {
	t.Helper()
	ctx := context.Background()
	q := func(sql string) string {
		sql = strings.ReplaceAll(sql, "{p}", p)
		return strings.ReplaceAll(sql, "{value}", quote(db.Kind, "value"))
	}
	rows, err := db.DB.DB.QueryContext(ctx, q("SELECT name, {value} FROM {p}config ORDER BY id"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg []string
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		cfg = append(cfg, name+"="+value)
	}
	rows.Close()
	want := []string{"mnet_localhost_id=1", "mnet_all_hosts_id=2", "siteguest=1", "siteadmins=2", "guestroleid=6", "defaultuserroleid=7",
		"release=" + SiteRelease, "version=" + SiteVersion, "lang=en",
		"timezone=UTC", "forcetimezone=99"}
	if !slices.Equal(cfg, want) {
		t.Errorf("config %q, want %q", cfg, want)
	}
	rows, err = db.DB.DB.QueryContext(ctx, q("SELECT id, name, shortname, description, sortorder, archetype FROM {p}role ORDER BY id"))
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for rows.Next() {
		var id, sortorder int64
		var name, short, desc, arch string
		if err := rows.Scan(&id, &name, &short, &desc, &sortorder, &arch); err != nil {
			t.Fatal(err)
		}
		if name != "" || desc != "" || sortorder != id || arch != short {
			t.Errorf("role %d: name %q description %q sortorder %d archetype %q", id, name, desc, sortorder, arch)
		}
		roles = append(roles, strconv.FormatInt(id, 10)+":"+short)
	}
	rows.Close()
	if want := []string{"1:manager", "2:coursecreator", "3:editingteacher", "4:teacher", "5:student", "6:guest", "7:user", "8:frontpage"}; !slices.Equal(roles, want) {
		t.Errorf("roles %q, want %q", roles, want)
	}
	for what, c := range map[string]struct {
		sql  string
		want int64
	}{
		"local mnet host of mnet_localhost_id": {`SELECT COUNT(*) FROM {p}mnet_host h JOIN {p}config c ON c.name = 'mnet_localhost_id'
			AND c.{value} = '1' WHERE h.id = 1 AND h.wwwroot = '` + siteWWWRoot + `' AND h.deleted = 0`, 1},
		"users of another host": {`SELECT COUNT(*) FROM {p}user WHERE mnethostid <> 1`, 0},
		"site admin user 2":     {`SELECT COUNT(*) FROM {p}user WHERE id = 2 AND username = 'admin' AND deleted = 0`, 1},
		"site guest user 1":     {`SELECT COUNT(*) FROM {p}user WHERE id = 1 AND username = 'guest'`, 1},
		"system context 1":      {`SELECT COUNT(*) FROM {p}context WHERE id = 1 AND contextlevel = 10`, 1},
		"role capabilities":     {`SELECT COUNT(*) FROM {p}role_capabilities`, 1},
		"manager sees the site details": {`SELECT COUNT(*) FROM {p}role_capabilities WHERE id = 1 AND contextid = 1 AND roleid = 1
			AND capability = 'block/use_stats:seesitedetails' AND permission = 1`, 1},
		"role assignments":           {`SELECT COUNT(*) FROM {p}role_assignments`, int64(st.Enrolments)},
		"editing teacher per course": {`SELECT COUNT(*) FROM {p}role_assignments WHERE roleid = 3`, int64(st.Courses)},
		"student per learner enrolment": {`SELECT COUNT(*) FROM {p}role_assignments WHERE roleid = 5`,
			int64(st.Enrolments - st.Courses)},
		"assignments without their manual enrolment": {`SELECT COUNT(*) FROM {p}role_assignments ra
			LEFT JOIN {p}context x ON x.id = ra.contextid AND x.contextlevel = 50
			LEFT JOIN {p}enrol e ON e.courseid = x.instanceid AND e.enrol = 'manual'
			LEFT JOIN {p}user_enrolments ue ON ue.enrolid = e.id AND ue.userid = ra.userid AND ue.id = ra.id
			WHERE ue.id IS NULL OR ra.component <> '' OR ra.itemid <> 0`, 0},
	} {
		if n := count(t, db, p, q(c.sql)); n != c.want {
			t.Errorf("%s: %d, want %d", what, n, c.want)
		}
	}
}
