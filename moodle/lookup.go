package moodle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// UserField names the column a user is looked up by.
type UserField string

// The user lookup fields.
const (
	UserByID       UserField = "id"
	UserByUsername UserField = "username"
	UserByIDNumber UserField = "idnumber"
	UserByEmail    UserField = "email"
)

// FindUser returns the one non-deleted user whose field equals value. For
// usernames, mnetHostID selects the host the account belongs to (0: any
// host, an error if the username exists on several). Not found → ENotFound;
// several matches → EInvalid.
func (s *Source) FindUser(ctx context.Context, field UserField, value string, mnetHostID int64) (*User, error) {
	q := s.db.NewSelect().ModelTableExpr(s.tableAs("user", "u")).Where("deleted = 0")
	switch field {
	case UserByID:
		id, err := strconv.ParseInt(value, 10, 64)
		if err != nil || id <= 0 {
			return nil, aggregation.Errorf(aggregation.EInvalid, "user id %q is not a positive integer", value)
		}
		q = q.Where("id = ?", id)
	case UserByUsername:
		q = q.Where("username = ?", value)
		if mnetHostID > 0 {
			q = q.Where("mnethostid = ?", mnetHostID)
		}
	case UserByIDNumber:
		q = q.Where("idnumber = ?", value)
	case UserByEmail:
		q = q.Where("LOWER(email) = ?", strings.ToLower(value))
	default:
		return nil, aggregation.Errorf(aggregation.EInvalid, "unknown user field %q (id, username, idnumber, email)", field)
	}
	if value == "" {
		return nil, aggregation.Errorf(aggregation.EInvalid, "empty user %s", field)
	}
	var users []User
	if err := q.Model(&users).OrderExpr("id").Limit(2).Scan(ctx); err != nil {
		return nil, fmt.Errorf("looking up user by %s: %w", field, err)
	}
	switch len(users) {
	case 0:
		return nil, aggregation.Errorf(aggregation.ENotFound, "no user with %s %q", field, value)
	case 1:
		return &users[0], nil
	}
	return nil, aggregation.Errorf(aggregation.EInvalid, "several users have %s %q (give the MNET host)", field, value)
}

// Users returns the users with the given ids (missing ids are absent).
func (s *Source) Users(ctx context.Context, ids []int64) (map[int64]*User, error) {
	out := make(map[int64]*User, len(ids))
	for _, batch := range batches(ids, 500) {
		var users []User
		if err := s.db.NewSelect().Model(&users).ModelTableExpr(s.tableAs("user", "u")).
			Where("id IN (?)", bun.List(batch)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("reading users: %w", err)
		}
		for i := range users {
			out[users[i].ID] = &users[i]
		}
	}
	return out, nil
}

// CourseField names the column a course is looked up by.
type CourseField string

// The course lookup fields.
const (
	CourseByID        CourseField = "id"
	CourseByShortName CourseField = "shortname"
	CourseByIDNumber  CourseField = "idnumber"
)

// FindCourse returns the course whose field equals value (ENotFound if none).
func (s *Source) FindCourse(ctx context.Context, field CourseField, value string) (*Course, error) {
	q := s.db.NewSelect().ModelTableExpr(s.tableAs("course", "c"))
	switch field {
	case CourseByID:
		id, err := strconv.ParseInt(value, 10, 64)
		if err != nil || id <= 0 {
			return nil, aggregation.Errorf(aggregation.EInvalid, "course id %q is not a positive integer", value)
		}
		q = q.Where("id = ?", id)
	case CourseByShortName:
		q = q.Where("shortname = ?", value)
	case CourseByIDNumber:
		if value == "" {
			return nil, aggregation.Errorf(aggregation.EInvalid, "empty course idnumber")
		}
		q = q.Where("idnumber = ?", value)
	default:
		return nil, aggregation.Errorf(aggregation.EInvalid, "unknown course field %q (id, shortname, idnumber)", field)
	}
	var cs []Course
	if err := q.Model(&cs).OrderExpr("id").Limit(2).Scan(ctx); err != nil {
		return nil, fmt.Errorf("looking up course by %s: %w", field, err)
	}
	switch len(cs) {
	case 0:
		return nil, aggregation.Errorf(aggregation.ENotFound, "no course with %s %q", field, value)
	case 1:
		return &cs[0], nil
	}
	return nil, aggregation.Errorf(aggregation.EInvalid, "several courses have %s %q", field, value)
}

// Courses returns the courses with the given ids (deleted courses are absent).
func (s *Source) Courses(ctx context.Context, ids []int64) (map[int64]*Course, error) {
	out := make(map[int64]*Course, len(ids))
	for _, batch := range batches(ids, 500) {
		var cs []Course
		if err := s.db.NewSelect().Model(&cs).ModelTableExpr(s.tableAs("course", "c")).
			Where("id IN (?)", bun.List(batch)).Scan(ctx); err != nil {
			return nil, fmt.Errorf("reading courses: %w", err)
		}
		for i := range cs {
			out[cs[i].ID] = &cs[i]
		}
	}
	return out, nil
}

// ModuleInfo describes a course module for reports.
type ModuleInfo struct {
	CMID      int64
	CourseID  int64
	Type      string // modules.name
	Instance  int64
	Name      string // the activity's name (mdl_<type>.name)
	IDNumber  string
	SectionID int64
}

var moduleTableName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Modules returns the live course modules with the given ids, with their
// activity names read from each module type's table in one query per type.
// Deleted modules are absent; a module type whose table is gone (plugin
// uninstalled) keeps its activities without names.
func (s *Source) Modules(ctx context.Context, cmids []int64) (map[int64]*ModuleInfo, error) {
	cms, err := s.cmInfos(ctx, cmids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*ModuleInfo, len(cmids))
	byType := map[string][]int64{} // type → instance ids
	for _, id := range cmids {
		cm := cms[id]
		if !cm.known {
			continue
		}
		out[id] = &ModuleInfo{CMID: id, CourseID: cm.course, Type: cm.typ, Instance: cm.instance, IDNumber: cm.idnumber, SectionID: cm.section}
		byType[cm.typ] = append(byType[cm.typ], cm.instance)
	}
	for typ, instances := range byType {
		if !moduleTableName.MatchString(typ) {
			continue
		}
		names := map[int64]string{}
		for _, batch := range batches(instances, 500) {
			var rows []ModuleInstance
			err := s.db.NewSelect().Model(&rows).ModelTableExpr(s.tableAs(typ, "mi")).
				Column("id", "course", "name").Where("id IN (?)", bun.List(batch)).Scan(ctx)
			if err != nil {
				if isMissingTable(err) && ctx.Err() == nil {
					break
				}
				return nil, fmt.Errorf("reading %s names: %w", typ, err)
			}
			for _, r := range rows {
				names[r.ID] = r.Name
			}
		}
		for _, m := range out {
			if m.Type == typ {
				m.Name = names[m.Instance]
			}
		}
	}
	return out, nil
}

// isMissingTable reports an engine's "no such table" error.
func isMissingTable(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "does not exist") || // PostgreSQL 42P01
		strings.Contains(msg, "doesn't exist") || // MariaDB/MySQL 1146
		strings.Contains(msg, "no such table") // SQLite
}

// CourseGrade returns the user's final course grade (the course grade
// item's finalgrade with its range). ok is false when the course has no
// course grade item.
func (s *Source) CourseGrade(ctx context.Context, userID, courseID int64) (g aggregation.Grade, ok bool, err error) {
	gs, err := s.Directory().Grades(ctx, courseID, []int64{userID})
	if err != nil {
		return aggregation.Grade{}, false, err
	}
	if cg := gs[userID].Course; cg != nil {
		return *cg, true, nil
	}
	return aggregation.Grade{}, false, nil
}

// MnetHosts returns the MNET hosts that are not deleted.
func (s *Source) MnetHosts(ctx context.Context) ([]MnetHost, error) {
	var hosts []MnetHost
	if err := s.db.NewSelect().Model(&hosts).ModelTableExpr(s.tableAs("mnet_host", "mh")).
		Where("deleted = 0").OrderExpr("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("reading mnet hosts: %w", err)
	}
	return hosts, nil
}

func batches(ids []int64, n int) [][]int64 {
	var out [][]int64
	for start := 0; start < len(ids); start += n {
		out = append(out, ids[start:min(start+n, len(ids))])
	}
	return out
}
