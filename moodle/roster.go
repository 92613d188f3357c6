package moodle

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

// Roster adapts a Source to aggregation.Roster: the course catalogue, a
// course's members with their roles, groups and enrolment dates, a
// course's groups and the site's cohorts, each in a bounded number of
// queries.
//
// Lists sorted by a name compare the lower-cased names with the
// database's collation (byte order on SQLite, the database's collation on
// PostgreSQL, utf8mb4_unicode_ci on a Moodle MariaDB/MySQL): the same
// order for ASCII names everywhere, and ties always fall back on the id.
type Roster struct{ src *Source }

var _ aggregation.Roster = Roster{}

// Roster returns the Source as an aggregation.Roster.
func (s *Source) Roster() Roster { return Roster{src: s} }

// siteCourseID is SITEID, the front page: course 1, the one course of
// category 0.
const siteCourseID = 1

// contextLevelCourse is context.contextlevel of a course context.
const contextLevelCourse = 50

// Group is a row of groups.
type Group struct {
	bun.BaseModel `bun:"table:groups,alias:g"`

	ID       int64  `bun:"id,pk"`
	CourseID int64  `bun:"courseid"`
	IDNumber string `bun:"idnumber"`
	Name     string `bun:"name"`
}

// Cohort is a row of cohort.
type Cohort struct {
	bun.BaseModel `bun:"table:cohort,alias:ch"`

	ID        int64          `bun:"id,pk"`
	ContextID int64          `bun:"contextid"`
	Name      string         `bun:"name"`
	IDNumber  sql.NullString `bun:"idnumber"`
	Visible   int64          `bun:"visible"`
}

// readErrAny is readErr for a read of several tables: a missing one
// becomes checkTable's ENotFound error naming it.
func (s *Source) readErrAny(ctx context.Context, tables []string, what string, err error) error {
	if ctx.Err() == nil && isMissingTable(err) {
		for _, t := range tables {
			if s.checkTable(ctx, t) != nil {
				return s.readErr(ctx, t, what, err)
			}
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func cohortInfo(c *Cohort) aggregation.CohortInfo {
	return aggregation.CohortInfo{ID: c.ID, Name: c.Name, IDNumber: c.IDNumber.String, ContextID: c.ContextID, Visible: c.Visible != 0}
}

// The sort keys of the list orders ("": the id alone).
var (
	courseOrders = map[aggregation.CourseOrder]string{
		aggregation.CourseByID:        "",
		aggregation.CourseByFullName:  "LOWER(fullname)",
		aggregation.CourseByShortName: "LOWER(shortname)",
		aggregation.CourseByStart:     "startdate",
	}
	cohortOrders = map[aggregation.CohortOrder]string{
		aggregation.CohortByID:   "",
		aggregation.CohortByName: "LOWER(name)",
	}
)

// pageOrder checks a page of a list (what) and returns its ORDER BY: an
// unknown order, a negative offset or limit are EInvalid.
func pageOrder[O comparable](what string, page aggregation.Page[O], keys map[O]string) (string, error) {
	if page.Offset < 0 || page.Limit < 0 {
		return "", aggregation.Errorf(aggregation.EInvalid, "%s: negative offset (%d) or limit (%d)", what, page.Offset, page.Limit)
	}
	key, ok := keys[page.Order]
	if !ok {
		return "", aggregation.Errorf(aggregation.EInvalid, "%s: unknown order %v", what, page.Order)
	}
	return orderBy(key, page.Desc), nil
}

// orderBy returns the ORDER BY of a page: key ("": the id alone) in the
// page's direction, then the id ascending (descending when the id is the
// key).
func orderBy(key string, desc bool) string {
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	if key == "" {
		return "id" + dir
	}
	return key + dir + ", id ASC"
}

// searchAny narrows q to the rows where one of cols holds s, a
// case-insensitive substring (no filter for an empty s).
func searchAny(q *bun.SelectQuery, s string, cols ...string) *bun.SelectQuery {
	if s == "" {
		return q
	}
	p := likePattern(s)
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		for _, col := range cols {
			q = q.WhereOr("LOWER(?) LIKE ? ESCAPE '!'", bun.Ident(col), p)
		}
		return q
	})
}

// whereVisible narrows q to visible (true) or hidden (false) rows.
func whereVisible(q *bun.SelectQuery, visible *bool) *bun.SelectQuery {
	switch {
	case visible == nil:
		return q
	case *visible:
		return q.Where("visible <> 0")
	default:
		return q.Where("visible = 0")
	}
}

// listPage answers a page of a list: the rows of table that narrow keeps,
// counted, then the page of them in order (not read when it starts past
// the end or Limit is 0), each described by info.
func listPage[M, I any, O comparable](ctx context.Context, s *Source, table, alias string, page aggregation.Page[O], keys map[O]string,
	narrow func(*bun.SelectQuery) *bun.SelectQuery, info func(*M) I) ([]I, int, error) {
	order, err := pageOrder(table, page, keys)
	if err != nil {
		return nil, 0, err
	}
	var rows []M
	q := narrow(s.db.NewSelect().Model(&rows).ModelTableExpr(s.tableAs(table, alias)))
	n, err := q.Count(ctx)
	total := int(n)
	if err == nil && page.Limit > 0 && page.Offset < total {
		err = q.OrderExpr(order).Offset(int64(page.Offset)).Limit(int64(page.Limit)).Scan(ctx)
	}
	if err != nil {
		return nil, 0, s.readErr(ctx, table, "listing "+table, err)
	}
	out := make([]I, len(rows))
	for i := range rows {
		out[i] = info(&rows[i])
	}
	return out, total, nil
}

// ListCourses implements aggregation.Roster: a count and a page, the
// front page left out. A zero Limit counts only.
func (r Roster) ListCourses(ctx context.Context, f aggregation.CourseFilter, page aggregation.Page[aggregation.CourseOrder]) ([]aggregation.CourseInfo, int, error) {
	return listPage(ctx, r.src, "course", "c", page, courseOrders, func(q *bun.SelectQuery) *bun.SelectQuery {
		q = q.Where("id <> ?", siteCourseID).Where("category <> 0")
		if f.Category != 0 {
			q = q.Where("category = ?", f.Category)
		}
		return whereVisible(searchAny(q, f.Search, "fullname", "shortname", "idnumber"), f.Visible)
	}, courseInfo)
}

// CourseMembers implements aggregation.Roster in three queries: the
// enrolled users with their enrolments summed up, their roles in the
// course context, their groups of the course. Deleted users are left
// out. Enrolment.Start is the earliest timestart (0 when one is unset:
// that enrolment has no start), End is 0 when an enrolment has no end
// (timeend 0, or Moodle's column default 2147483647), else the latest
// timeend, and Active says that one
// enrolment is active in an enabled enrolment method; the dates are not
// compared with the time.
// noEnrolmentEnd is user_enrolments.timeend's default in Moodle's schema:
// like 0, it means the enrolment does not end.
const noEnrolmentEnd = 2147483647

func (r Roster) CourseMembers(ctx context.Context, courseID int64) ([]aggregation.Member, error) {
	s := r.src
	enrolled := s.db.NewSelect().
		ColumnExpr("ue.userid AS userid").
		ColumnExpr("MIN(ue.timestart) AS enrolstart").
		ColumnExpr("MIN(ue.timeend) AS minend").
		ColumnExpr("MAX(ue.timeend) AS maxend").
		ColumnExpr("MAX(CASE WHEN ue.status = 0 AND e.status = 0 THEN 1 ELSE 0 END) AS active").
		TableExpr(s.tableAs("user_enrolments", "ue")).
		Join("JOIN ? AS e ON e.id = ue.enrolid", s.table("enrol")).
		Where("e.courseid = ?", courseID).
		GroupExpr("ue.userid")
	var rows []struct {
		ID         int64  `bun:"id"`
		Username   string `bun:"username"`
		IDNumber   string `bun:"idnumber"`
		FirstName  string `bun:"firstname"`
		LastName   string `bun:"lastname"`
		Email      string `bun:"email"`
		MnetHostID int64  `bun:"mnethostid"`
		EnrolStart int64  `bun:"enrolstart"`
		MinEnd     int64  `bun:"minend"`
		MaxEnd     int64  `bun:"maxend"`
		Active     int64  `bun:"active"`
	}
	err := s.db.NewSelect().
		ColumnExpr("u.id AS id, u.username AS username, u.idnumber AS idnumber").
		ColumnExpr("u.firstname AS firstname, u.lastname AS lastname, u.email AS email, u.mnethostid AS mnethostid").
		ColumnExpr("m.enrolstart AS enrolstart, m.minend AS minend, m.maxend AS maxend, m.active AS active").
		TableExpr("(?) AS m", enrolled).
		Join("JOIN ? AS u ON u.id = m.userid", s.table("user")).
		Where("u.deleted = 0").
		OrderExpr("u.id").
		Scan(ctx, &rows)
	if err != nil {
		return nil, s.readErrAny(ctx, []string{"user_enrolments", "enrol", "user"}, fmt.Sprintf("reading the members of course %d", courseID), err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]aggregation.Member, len(rows))
	index := make(map[int64]*aggregation.Member, len(rows))
	for i, row := range rows {
		m := &out[i]
		m.UserInfo = aggregation.UserInfo{ID: row.ID, Username: row.Username, IDNumber: row.IDNumber,
			FirstName: row.FirstName, LastName: row.LastName, Email: row.Email, HostID: row.MnetHostID}
		m.Enrolment = aggregation.Enrolment{Start: row.EnrolStart, End: row.MaxEnd, Active: row.Active != 0}
		if row.MinEnd == 0 || row.MaxEnd >= noEnrolmentEnd {
			m.Enrolment.End = 0 // one enrolment has no end
		}
		index[row.ID] = m
	}
	if err := r.memberRoles(ctx, courseID, index); err != nil {
		return nil, err
	}
	if err := r.memberGroups(ctx, courseID, index); err != nil {
		return nil, err
	}
	return out, nil
}

// memberRoles adds the roles assigned in the course's context to the
// members, by role sort order, each role once.
func (r Roster) memberRoles(ctx context.Context, courseID int64, members map[int64]*aggregation.Member) error {
	s := r.src
	var rows []struct {
		UserID    int64  `bun:"userid"`
		RoleID    int64  `bun:"roleid"`
		ShortName string `bun:"shortname"`
		Name      string `bun:"name"`
	}
	err := s.db.NewSelect().
		ColumnExpr("ra.userid AS userid, r.id AS roleid, r.shortname AS shortname, r.name AS name").
		TableExpr(s.tableAs("role_assignments", "ra")).
		Join("JOIN ? AS ctx ON ctx.id = ra.contextid", s.table("context")).
		Join("JOIN ? AS r ON r.id = ra.roleid", s.table("role")).
		Where("ctx.contextlevel = ?", contextLevelCourse).Where("ctx.instanceid = ?", courseID).
		OrderExpr("ra.userid, r.sortorder, r.id").
		Scan(ctx, &rows)
	if err != nil {
		return s.readErrAny(ctx, []string{"role_assignments", "context", "role"}, fmt.Sprintf("reading the roles in course %d", courseID), err)
	}
	for _, row := range rows {
		m := members[row.UserID]
		if m == nil || (len(m.Roles) > 0 && m.Roles[len(m.Roles)-1].ID == row.RoleID) {
			continue // not a member, or the same role assigned twice
		}
		m.Roles = append(m.Roles, aggregation.RoleInfo{ID: row.RoleID, ShortName: row.ShortName, Name: row.Name})
	}
	return nil
}

// memberGroups adds the ids of the course's groups to the members,
// ascending.
func (r Roster) memberGroups(ctx context.Context, courseID int64, members map[int64]*aggregation.Member) error {
	s := r.src
	var rows []struct {
		UserID  int64 `bun:"userid"`
		GroupID int64 `bun:"groupid"`
	}
	err := s.db.NewSelect().
		ColumnExpr("gm.userid AS userid, gm.groupid AS groupid").
		TableExpr(s.tableAs("groups_members", "gm")).
		Join("JOIN ? AS g ON g.id = gm.groupid", s.table("groups")).
		Where("g.courseid = ?", courseID).
		OrderExpr("gm.userid, gm.groupid").
		Scan(ctx, &rows)
	if err != nil {
		return s.readErrAny(ctx, []string{"groups_members", "groups"}, fmt.Sprintf("reading the group members of course %d", courseID), err)
	}
	for _, row := range rows {
		m := members[row.UserID]
		if m == nil || (len(m.Groups) > 0 && m.Groups[len(m.Groups)-1] == row.GroupID) {
			continue
		}
		m.Groups = append(m.Groups, row.GroupID)
	}
	return nil
}

// CourseGroups implements aggregation.Roster in two queries: the groups,
// then the groupings they belong to (by name, then id).
func (r Roster) CourseGroups(ctx context.Context, courseID int64) ([]aggregation.GroupInfo, error) {
	s := r.src
	var gs []Group
	if err := s.db.NewSelect().Model(&gs).ModelTableExpr(s.tableAs("groups", "g")).
		Where("courseid = ?", courseID).OrderExpr(orderBy("LOWER(name)", false)).Scan(ctx); err != nil {
		return nil, s.readErr(ctx, "groups", fmt.Sprintf("reading the groups of course %d", courseID), err)
	}
	if len(gs) == 0 {
		return nil, nil
	}
	var rows []struct {
		GroupID    int64  `bun:"groupid"`
		GroupingID int64  `bun:"groupingid"`
		Name       string `bun:"name"`
	}
	if err := s.db.NewSelect().
		ColumnExpr("gg.groupid AS groupid, gp.id AS groupingid, gp.name AS name").
		TableExpr(s.tableAs("groupings_groups", "gg")).
		Join("JOIN ? AS gp ON gp.id = gg.groupingid", s.table("groupings")).
		Where("gp.courseid = ?", courseID).
		OrderExpr("gg.groupid, LOWER(gp.name), gp.id").
		Scan(ctx, &rows); err != nil {
		return nil, s.readErrAny(ctx, []string{"groupings_groups", "groupings"}, fmt.Sprintf("reading the groupings of course %d", courseID), err)
	}
	groupings := map[int64][]aggregation.GroupingInfo{}
	for _, row := range rows {
		gps := groupings[row.GroupID]
		if n := len(gps); n > 0 && gps[n-1].ID == row.GroupingID {
			continue
		}
		groupings[row.GroupID] = append(gps, aggregation.GroupingInfo{ID: row.GroupingID, Name: row.Name})
	}
	out := make([]aggregation.GroupInfo, len(gs))
	for i, g := range gs {
		out[i] = aggregation.GroupInfo{ID: g.ID, CourseID: g.CourseID, Name: g.Name, IDNumber: g.IDNumber, Groupings: groupings[g.ID]}
	}
	return out, nil
}

// FindGroups implements aggregation.Roster in one query.
func (r Roster) FindGroups(ctx context.Context, ids []int64) ([]aggregation.GroupInfo, error) {
	s := r.src
	var gs []Group
	if err := s.db.NewSelect().Model(&gs).ModelTableExpr(s.tableAs("groups", "g")).
		Where("id IN (?)", bun.List(ids)).OrderExpr("id").Scan(ctx); err != nil {
		return nil, s.readErr(ctx, "groups", fmt.Sprintf("reading groups %v", ids), err)
	}
	out := make([]aggregation.GroupInfo, len(gs))
	for i, g := range gs {
		out[i] = aggregation.GroupInfo{ID: g.ID, CourseID: g.CourseID, Name: g.Name, IDNumber: g.IDNumber}
	}
	return out, nil
}

// ListCohorts implements aggregation.Roster: a count and a page of the
// cohorts of every context. A zero Limit counts only.
func (r Roster) ListCohorts(ctx context.Context, f aggregation.CohortFilter, page aggregation.Page[aggregation.CohortOrder]) ([]aggregation.CohortInfo, int, error) {
	return listPage(ctx, r.src, "cohort", "ch", page, cohortOrders, func(q *bun.SelectQuery) *bun.SelectQuery {
		return whereVisible(searchAny(q, f.Search, "name", "idnumber"), f.Visible)
	}, cohortInfo)
}

// FindCohort implements aggregation.Roster. An idnumber is compared byte
// for byte (also under MariaDB's case-insensitive collations); several
// cohorts with one idnumber are EInvalid.
func (r Roster) FindCohort(ctx context.Context, by aggregation.CohortKey) (aggregation.CohortInfo, error) {
	s := r.src
	var cs []Cohort
	q := s.db.NewSelect().Model(&cs).ModelTableExpr(s.tableAs("cohort", "ch"))
	var what string
	switch {
	case by.ID != 0 && by.IDNumber == "":
		q, what = q.Where("id = ?", by.ID), fmt.Sprintf("id %d", by.ID)
	case by.IDNumber != "" && by.ID == 0:
		q, what = q.Where("idnumber = ?", by.IDNumber), fmt.Sprintf("idnumber %q", by.IDNumber)
	default:
		return aggregation.CohortInfo{}, aggregation.Errorf(aggregation.EInvalid, "give exactly one of a cohort's id or idnumber")
	}
	if err := q.OrderExpr("id").Limit(10).Scan(ctx); err != nil {
		return aggregation.CohortInfo{}, s.readErr(ctx, "cohort", "looking up cohort "+what, err)
	}
	if by.IDNumber != "" {
		cs = slices.DeleteFunc(cs, func(c Cohort) bool { return c.IDNumber.String != by.IDNumber })
	}
	switch len(cs) {
	case 0:
		return aggregation.CohortInfo{}, aggregation.Errorf(aggregation.ENotFound, "no cohort with %s", what)
	case 1:
		return cohortInfo(&cs[0]), nil
	}
	return aggregation.CohortInfo{}, aggregation.Errorf(aggregation.EInvalid, "several cohorts have %s", what)
}

// CohortMembers implements aggregation.Roster: the cohort's users that
// are not deleted, in id order (none for a cohort that does not exist).
func (r Roster) CohortMembers(ctx context.Context, cohortID int64) ([]aggregation.UserInfo, error) {
	s := r.src
	members := s.db.NewSelect().ColumnExpr("cm.userid").
		TableExpr(s.tableAs("cohort_members", "cm")).
		Where("cm.cohortid = ?", cohortID)
	var us []User
	if err := s.db.NewSelect().Model(&us).ModelTableExpr(s.tableAs("user", "u")).
		Where("deleted = 0").Where("id IN (?)", members).OrderExpr("id").Scan(ctx); err != nil {
		return nil, s.readErrAny(ctx, []string{"cohort_members", "user"}, fmt.Sprintf("reading the members of cohort %d", cohortID), err)
	}
	out := make([]aggregation.UserInfo, len(us))
	for i := range us {
		out[i] = userInfo(&us[i])
	}
	return out, nil
}

// CourseVisitors implements aggregation.Roster in one query: the users
// (not deleted) with a log row in the course from..to, which the log's
// (courseid, anonymous, timecreated) index serves.
func (r Roster) CourseVisitors(ctx context.Context, courseID, from, to int64) ([]aggregation.UserInfo, error) {
	s := r.src
	visitors := s.db.NewSelect().ColumnExpr("DISTINCT l.userid").
		TableExpr(s.tableAs("logstore_standard_log", "l")).
		Where("l.courseid = ?", courseID).
		Where("l.timecreated >= ? AND l.timecreated <= ?", from, to)
	var us []User
	if err := s.db.NewSelect().Model(&us).ModelTableExpr(s.tableAs("user", "u")).
		Where("deleted = 0").Where("id IN (?)", visitors).OrderExpr("id").Scan(ctx); err != nil {
		return nil, s.readErrAny(ctx, []string{"logstore_standard_log", "user"}, fmt.Sprintf("reading who visited course %d", courseID), err)
	}
	out := make([]aggregation.UserInfo, len(us))
	for i := range us {
		out[i] = userInfo(&us[i])
	}
	return out, nil
}

// CountUsers implements aggregation.Roster: how many users ListUsers
// lists for the filter, in one query.
func (r Roster) CountUsers(ctx context.Context, f aggregation.UserFilter) (int, error) {
	s := r.src
	n, err := userFilter(s.db.NewSelect().TableExpr(s.tableAs("user", "u")), f).Count(ctx)
	if err != nil {
		return 0, s.readErrAny(ctx, []string{"user"}, "counting users", err)
	}
	return int(n), nil
}
