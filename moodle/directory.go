package moodle

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

// Directory adapts a Source to aggregation.Directory: the serving edges ask
// it for users, courses, activities, participants and grades in core types.
type Directory struct{ src *Source }

var _ aggregation.Directory = Directory{}

// Directory returns the Source as an aggregation.Directory.
func (s *Source) Directory() Directory { return Directory{src: s} }

func userInfo(u *User) aggregation.UserInfo {
	return aggregation.UserInfo{ID: u.ID, Username: u.Username, IDNumber: u.IDNumber,
		FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, HostID: u.MnetHostID}
}

func courseInfo(c *Course) aggregation.CourseInfo {
	return aggregation.CourseInfo{ID: c.ID, ShortName: c.ShortName, FullName: c.FullName, IDNumber: c.IDNumber, Category: c.Category,
		Visible: c.Visible != 0, StartDate: c.StartDate}
}

// FindUser implements aggregation.Directory.
func (d Directory) FindUser(ctx context.Context, by aggregation.UserKey) (aggregation.UserInfo, error) {
	set := 0
	for _, ok := range []bool{by.ID != 0, by.Username != "", by.IDNumber != "", by.Email != ""} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return aggregation.UserInfo{}, aggregation.Errorf(aggregation.EInvalid, "give exactly one of id, username, idnumber or email")
	}
	var (
		u   *User
		err error
	)
	switch {
	case by.ID != 0:
		u, err = d.src.FindUser(ctx, UserByID, strconv.FormatInt(by.ID, 10), 0)
	case by.Username != "":
		u, err = d.src.FindUser(ctx, UserByUsername, by.Username, by.Host)
	case by.IDNumber != "":
		u, err = d.src.FindUser(ctx, UserByIDNumber, by.IDNumber, 0)
	default:
		u, err = d.src.FindUser(ctx, UserByEmail, by.Email, 0)
	}
	if err != nil {
		return aggregation.UserInfo{}, err
	}
	return userInfo(u), nil
}

// Users implements aggregation.Directory.
func (d Directory) Users(ctx context.Context, ids []int64) (map[int64]aggregation.UserInfo, error) {
	us, err := d.src.Users(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]aggregation.UserInfo, len(us))
	for id, u := range us {
		if u.Deleted == 0 {
			out[id] = userInfo(u)
		}
	}
	return out, nil
}

// likePattern returns a case-insensitive substring pattern for LIKE ...
// ESCAPE '!', portable across the three engines.
func likePattern(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// ListUsers implements aggregation.Directory.
func (d Directory) ListUsers(ctx context.Context, f aggregation.UserFilter, after int64, first int) ([]aggregation.UserInfo, error) {
	if first <= 0 {
		return nil, nil
	}
	var us []User
	q := d.src.db.NewSelect().Model(&us).ModelTableExpr(d.src.tableAs("user", "u")).
		Where("id > ?", after).OrderExpr("id").Limit(int64(first))
	if err := userFilter(q, f).Scan(ctx); err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	out := make([]aggregation.UserInfo, len(us))
	for i := range us {
		out[i] = userInfo(&us[i])
	}
	return out, nil
}

// userFilter narrows a query of the user table to the users ListUsers
// lists: not deleted, on the filter's host, matching its search.
func userFilter(q *bun.SelectQuery, f aggregation.UserFilter) *bun.SelectQuery {
	q = q.Where("deleted = 0")
	if f.Host > 0 {
		q = q.Where("mnethostid = ?", f.Host)
	}
	return searchAny(q, f.Search, "username", "firstname", "lastname", "email", "idnumber")
}

// FindCourse implements aggregation.Directory.
func (d Directory) FindCourse(ctx context.Context, by aggregation.CourseKey) (aggregation.CourseInfo, error) {
	var (
		c   *Course
		err error
	)
	switch {
	case by.ID != 0 && by.ShortName == "" && by.IDNumber == "":
		c, err = d.src.FindCourse(ctx, CourseByID, strconv.FormatInt(by.ID, 10))
	case by.ShortName != "" && by.ID == 0 && by.IDNumber == "":
		c, err = d.src.FindCourse(ctx, CourseByShortName, by.ShortName)
	case by.IDNumber != "" && by.ID == 0 && by.ShortName == "":
		c, err = d.src.FindCourse(ctx, CourseByIDNumber, by.IDNumber)
	default:
		return aggregation.CourseInfo{}, aggregation.Errorf(aggregation.EInvalid, "give exactly one of id, shortname or idnumber")
	}
	if err != nil {
		return aggregation.CourseInfo{}, err
	}
	return courseInfo(c), nil
}

// Courses implements aggregation.Directory.
// Descriptions are reused for NamesTTL.
func (d Directory) Courses(ctx context.Context, ids []int64) (map[int64]aggregation.CourseInfo, error) {
	return cached(ctx, &d.src.names.courses, ids, func(ctx context.Context, ids []int64) (map[int64]aggregation.CourseInfo, error) {
		cs, err := d.src.Courses(ctx, ids)
		if err != nil {
			return nil, err
		}
		out := make(map[int64]aggregation.CourseInfo, len(cs))
		for id, c := range cs {
			out[id] = courseInfo(c)
		}
		return out, nil
	})
}

// Modules implements aggregation.Directory.
// Descriptions are reused for NamesTTL; a module not cached brings in
// every module of its course (see Source.loadCourseNames).
func (d Directory) Modules(ctx context.Context, cmids []int64) (map[int64]aggregation.ModuleInfo, error) {
	return d.src.cachedModules(ctx, cmids)
}

// Participants implements aggregation.Directory: the non-deleted users
// with an enrolment (any method, any status) in the course.
func (d Directory) Participants(ctx context.Context, courseID, after int64, first int) ([]aggregation.UserInfo, error) {
	if first <= 0 {
		return nil, nil
	}
	enrolled := d.src.db.NewSelect().ColumnExpr("ue.userid").
		TableExpr("? AS ue", bun.Ident(d.src.prefix+"user_enrolments")).
		Join("JOIN ? AS e ON e.id = ue.enrolid", bun.Ident(d.src.prefix+"enrol")).
		Where("e.courseid = ?", courseID)
	var us []User
	err := d.src.db.NewSelect().Model(&us).ModelTableExpr(d.src.tableAs("user", "u")).
		Where("deleted = 0").Where("id > ?", after).Where("id IN (?)", enrolled).
		OrderExpr("id").Limit(int64(first)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing participants of course %d: %w", courseID, err)
	}
	out := make([]aggregation.UserInfo, len(us))
	for i := range us {
		out[i] = userInfo(&us[i])
	}
	return out, nil
}

// Grades implements aggregation.Directory: one query for the course's grade
// items, one for the users' grades, one for the course's modules.
func (d Directory) Grades(ctx context.Context, courseID int64, userIDs []int64) (map[int64]aggregation.CourseGrade, error) {
	out := make(map[int64]aggregation.CourseGrade, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	s := d.src
	var items []GradeItem
	if err := s.db.NewSelect().Model(&items).ModelTableExpr(s.tableAs("grade_items", "gi")).
		Where("courseid = ?", courseID).
		Where("(itemtype = 'course' OR (itemtype = 'mod' AND (itemnumber = 0 OR itemnumber IS NULL)))").
		OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("reading grade items of course %d: %w", courseID, err)
	}
	if len(items) == 0 {
		return out, nil
	}
	itemIDs := make([]int64, len(items))
	for i := range items {
		itemIDs[i] = items[i].ID
	}
	final := map[[2]int64]float64{} // (user, item) → finalgrade
	for _, batch := range batches(userIDs, 500) {
		var gg []GradeGrade
		if err := s.db.NewSelect().Model(&gg).ModelTableExpr(s.tableAs("grade_grades", "gg")).
			Where("userid IN (?)", bun.List(batch)).Where("itemid IN (?)", bun.List(itemIDs)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("reading grades in course %d: %w", courseID, err)
		}
		for _, g := range gg {
			if g.FinalGrade.Valid {
				final[[2]int64{g.UserID, g.ItemID}] = g.FinalGrade.Float64
			}
		}
	}
	cmOf, err := s.courseModuleIndex(ctx, courseID)
	if err != nil {
		return nil, err
	}
	for _, uid := range userIDs {
		var cg aggregation.CourseGrade
		for _, it := range items {
			g := aggregation.Grade{Max: float64(it.GradeMax), Min: float64(it.GradeMin)}
			if v, ok := final[[2]int64{uid, it.ID}]; ok {
				g.Value = &v
			}
			if it.ItemType == "course" {
				if cg.Course == nil {
					cg.Course = &g
				}
				continue
			}
			cg.Modules = append(cg.Modules, aggregation.ModuleGrade{
				CMID: cmOf[[2]any{it.ItemModule.String, it.ItemInstance.Int64}], Type: it.ItemModule.String, Grade: g})
		}
		out[uid] = cg
	}
	return out, nil
}

// courseModuleIndex maps (module type, instance) → cmid for a course.
func (s *Source) courseModuleIndex(ctx context.Context, courseID int64) (map[[2]any]int64, error) {
	mods, err := s.moduleNames(ctx)
	if err != nil {
		return nil, err
	}
	var cms []CourseModule
	if err := s.db.NewSelect().Model(&cms).ModelTableExpr(s.tableAs("course_modules", "cm")).
		Column("id", "module", "instance").Where("course = ?", courseID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("reading course modules of course %d: %w", courseID, err)
	}
	idx := make(map[[2]any]int64, len(cms))
	for _, cm := range cms {
		idx[[2]any{mods[cm.Module], cm.Instance}] = cm.ID
	}
	return idx, nil
}
