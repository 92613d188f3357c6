package seed

import (
	"reflect"
	"slices"
	"testing"

	"github.com/usestats/usestats/dbconn"
)

// checkRoster asserts the shape of the generated roster: groups and a
// grouping in every course, members enrolled in the group's course,
// cohorts of existing users, enrolment ends after the activity.
func checkRoster(t *testing.T, db *dbconn.DB, p string, st Stats) {
	t.Helper()
	for what, c := range map[string]struct {
		sql  string
		want int64
	}{
		"courses with groups":   {`SELECT COUNT(DISTINCT courseid) FROM {p}groups`, int64(st.Courses)},
		"the front page groups": {`SELECT COUNT(*) FROM {p}groups WHERE courseid = 1`, 0},
		"courses with fewer than 2 or more than 4 groups": {`SELECT COUNT(*) FROM (SELECT courseid FROM {p}groups
			GROUP BY courseid HAVING COUNT(*) < 2 OR COUNT(*) > 4) x`, 0},
		"group members not enrolled in the course": {`SELECT COUNT(*) FROM (SELECT gm.id FROM {p}groups_members gm
			JOIN {p}groups g ON g.id = gm.groupid
			LEFT JOIN {p}enrol e ON e.courseid = g.courseid
			LEFT JOIN {p}user_enrolments ue ON ue.enrolid = e.id AND ue.userid = gm.userid
			GROUP BY gm.id HAVING COUNT(ue.id) = 0) x`, 0},
		"learners in more than two groups of a course": {`SELECT COUNT(*) FROM (SELECT gm.userid FROM {p}groups_members gm
			JOIN {p}groups g ON g.id = gm.groupid GROUP BY g.courseid, gm.userid HAVING COUNT(*) > 2) x`, 0},
		"teachers in groups": {`SELECT COUNT(*) FROM {p}groups_members gm JOIN {p}role_assignments ra
			ON ra.userid = gm.userid AND ra.roleid = 3`, 0},
		"groupings":               {`SELECT COUNT(*) FROM {p}groupings`, int64(st.Courses)},
		"groupings without group": {`SELECT COUNT(*) FROM {p}groupings gp LEFT JOIN {p}groupings_groups gg ON gg.groupingid = gp.id WHERE gg.id IS NULL`, 0},
		"groupings with another course's group": {`SELECT COUNT(*) FROM {p}groupings_groups gg
			JOIN {p}groupings gp ON gp.id = gg.groupingid JOIN {p}groups g ON g.id = gg.groupid WHERE g.courseid <> gp.courseid`, 0},
		"cohorts": {`SELECT COUNT(*) FROM {p}cohort`, 5},
		"cohorts without a context": {`SELECT COUNT(*) FROM {p}cohort c LEFT JOIN {p}context x ON x.id = c.contextid
			AND x.contextlevel IN (10, 40) WHERE x.id IS NULL`, 0},
		"hidden cohorts": {`SELECT COUNT(*) FROM {p}cohort WHERE visible = 0`, 1},
		"cohort members of unknown users": {`SELECT COUNT(*) FROM {p}cohort_members cm
			LEFT JOIN {p}user u ON u.id = cm.userid WHERE u.id IS NULL`, 0},
		"learners in no intake": {`SELECT COUNT(*) FROM {p}user u WHERE u.username LIKE 'learner%' AND u.id NOT IN
			(SELECT cm.userid FROM {p}cohort_members cm JOIN {p}cohort c ON c.id = cm.cohortid WHERE c.idnumber LIKE 'INTAKE-%')`, 0},
		"enrolments ending within the activity": {`SELECT COUNT(*) FROM {p}user_enrolments WHERE timeend > 0 AND timeend < ` + itoa(st.To), 0},
		"suspended teachers": {`SELECT COUNT(*) FROM {p}user_enrolments ue JOIN {p}role_assignments ra
			ON ra.id = ue.id AND ra.roleid = 3 WHERE ue.status <> 0 OR ue.timeend <> 0`, 0},
	} {
		if n := count(t, db, p, c.sql); n != c.want {
			t.Errorf("%s: %d, want %d", what, n, c.want)
		}
	}
	if n := count(t, db, p, `SELECT COUNT(*) FROM {p}user_enrolments WHERE status = 1`); n == 0 {
		t.Error("no suspended enrolment")
	}
}

// The roster's shares on a larger site: most learners in one group of
// each course, some in none, a few in two; some enrolments end, a few are
// suspended.
func TestRosterShares(t *testing.T) {
	o, err := Options{Seed: 11, Users: 300}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(o)
	groupsOf := map[int32]int{} // enrolment → groups
	for _, g := range s.roster.groups {
		for _, ei := range g.members {
			groupsOf[ei]++
		}
	}
	var none, one, two, ends, suspended int
	for ei := range s.enrols {
		switch groupsOf[int32(ei)] {
		case 0:
			none++
		case 1:
			one++
		case 2:
			two++
		default:
			t.Fatalf("enrolment %d in %d groups", ei, groupsOf[int32(ei)])
		}
		if s.roster.end[ei] != 0 {
			ends++
		}
		if s.roster.suspended[ei] {
			suspended++
		}
	}
	n := len(s.enrols)
	t.Logf("%d enrolments: %d in no group, %d in one, %d in two; %d with an end, %d suspended", n, none, one, two, ends, suspended)
	if one < n*3/4 || none == 0 || none > n/4 || two == 0 || two > n/5 {
		t.Errorf("group memberships: %d none, %d one, %d two of %d", none, one, two, n)
	}
	if ends < n/5 || ends > n/2 || suspended == 0 || suspended > n/10 {
		t.Errorf("%d ends, %d suspended of %d", ends, suspended, n)
	}
	for _, c := range s.roster.cohorts {
		if len(c.users) == 0 {
			t.Errorf("cohort %s is empty", c.name)
		}
	}
}

// Drawing the roster is deterministic and reads the population without
// changing it.
func TestRosterDeterministic(t *testing.T) {
	o, err := Options{Seed: 4, Users: 40}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	s := newSite(o)
	enrols := slices.Clone(s.enrols)
	again := s.planRoster()
	if !reflect.DeepEqual(s.roster, again) {
		t.Error("two draws of the roster differ")
	}
	for i := range enrols {
		if e, f := enrols[i], s.enrols[i]; e.user != f.user || e.start != f.start || e.weight != f.weight {
			t.Fatalf("enrolment %d changed: %+v → %+v", i, e, f)
		}
	}
}
