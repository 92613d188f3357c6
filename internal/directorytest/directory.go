// Package directorytest is an in-memory aggregation.Directory for the tests
// of the serving edges (resolvers, webservice, mnet): one Directory holds
// users, courses, activities, enrolments and grades and answers every
// method of the interface as the Moodle adapter does, without a database.
// It also counts its calls and can be told to fail, panic, block or lag,
// so that tests can check batching, outages and deadlines.
//
// Only tests import it. Fixture data (which users and courses exist) stays
// with each package's tests, built with New and the Add, Enrol and SetGrade
// setters; this package is about behaviour.
package directorytest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Directory is an in-memory aggregation.Directory. Its zero value is not
// usable: make one with New. It is safe for concurrent use; its setters
// may be called between or during calls.
//
// Every call, before it answers, runs these steps in order:
//
//  1. it is counted under its method's name (see Calls);
//  2. it waits for the latency (see SetLatency);
//  3. it runs the Before hook, whose error it returns (see SetBefore);
//  4. it returns the failure, if one is set (see SetFailure);
//  5. it panics if its method is made to (see SetPanics);
//  6. it waits for its context's end if its method is made to block, and
//     returns an error wrapping the context's (see SetBlocking).
type Directory struct {
	mu       sync.Mutex
	users    map[int64]aggregation.UserInfo
	courses  map[int64]aggregation.CourseInfo
	modules  map[int64]aggregation.ModuleInfo
	enrolled map[int64]map[int64]bool // course → user ids
	grades   map[[2]int64]aggregation.CourseGrade
	roster   roster

	calls    map[string]int
	latency  time.Duration
	before   func(ctx context.Context, method string) error
	failure  error
	panics   map[string]bool
	blocking map[string]bool
}

var _ aggregation.Directory = (*Directory)(nil)

// New returns an empty Directory: no users, courses, activities,
// enrolments or grades, no calls counted and nothing made to fail.
func New() *Directory {
	return &Directory{
		users:    map[int64]aggregation.UserInfo{},
		courses:  map[int64]aggregation.CourseInfo{},
		modules:  map[int64]aggregation.ModuleInfo{},
		enrolled: map[int64]map[int64]bool{},
		grades:   map[[2]int64]aggregation.CourseGrade{},
		roster:   newRoster(),
		calls:    map[string]int{},
	}
}

// AddUsers adds users, replacing any with the same id.
func (d *Directory) AddUsers(users ...aggregation.UserInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range users {
		d.users[u.ID] = u
	}
}

// User returns the user with that id, and whether there is one.
func (d *Directory) User(id int64) (aggregation.UserInfo, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[id]
	return u, ok
}

// AddCourses adds courses, replacing any with the same id.
func (d *Directory) AddCourses(courses ...aggregation.CourseInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range courses {
		d.courses[c.ID] = c
	}
}

// AddModules adds course modules (activities), replacing any with the same
// CMID.
func (d *Directory) AddModules(modules ...aggregation.ModuleInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range modules {
		d.modules[m.CMID] = m
	}
}

// Enrol makes the users participants of the course. Enrolling a user twice
// is the same as once; an enrolled id that is not a user is never listed.
func (d *Directory) Enrol(courseID int64, userIDs ...int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.enrolled[courseID] == nil {
		d.enrolled[courseID] = map[int64]bool{}
	}
	for _, id := range userIDs {
		d.enrolled[courseID][id] = true
	}
}

// SetGrade sets the user's grades in the course, which Grades returns as
// they are given.
func (d *Directory) SetGrade(courseID, userID int64, g aggregation.CourseGrade) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.grades[[2]int64{courseID, userID}] = g
}

// Scored is a course grade of v out of 100 on the course grade item, with
// no activity grades.
func Scored(v float64) aggregation.CourseGrade {
	return aggregation.CourseGrade{Course: &aggregation.Grade{Value: &v, Max: 100}}
}

// Unscored is a course grade item out of 100 on which the user has no
// grade yet, with no activity grades.
func Unscored() aggregation.CourseGrade {
	return aggregation.CourseGrade{Course: &aggregation.Grade{Max: 100}}
}

// Calls returns how often each method was called since New or the last
// ResetCalls, by the aggregation.Directory method's name ("FindUser",
// "Users", "ListUsers", "FindCourse", "Courses", "Modules",
// "Participants", "Grades"). A method never called is absent. Calls that
// failed, panicked or blocked count too.
func (d *Directory) Calls() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.calls)
}

// ResetCalls forgets the calls counted so far.
func (d *Directory) ResetCalls() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = map[string]int{}
}

// SetLatency makes every call wait for lag first, as for a database's
// round trip (0: no wait).
func (d *Directory) SetLatency(lag time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.latency = lag
}

// SetBefore sets a hook that every call runs with its context and its
// method's name before it looks anything up; an error the hook returns is
// the call's answer. It serves to check that calls carry a deadline, or to
// make calls go through a real (failing) database. nil removes the hook.
func (d *Directory) SetBefore(hook func(ctx context.Context, method string) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.before = hook
}

// SetFailure makes every call return err, as a database outage would
// (nil: calls answer again).
func (d *Directory) SetFailure(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failure = err
}

// SetPanics makes the calls of the named methods panic with the message
// "directory exploded in <method>"; it replaces the methods set before
// (none: no call panics).
func (d *Directory) SetPanics(methods ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.panics = set(methods)
}

// SetBlocking makes the calls of the named methods wait for their
// context's end, as a hung database would, and return an error wrapping
// the context's error; it replaces the methods set before (none: no call
// blocks).
func (d *Directory) SetBlocking(methods ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.blocking = set(methods)
}

func set(names []string) map[string]bool {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out
}

// enter is the start of every call: the steps listed on Directory. A
// non-nil error is the call's answer.
func (d *Directory) enter(ctx context.Context, method string) error {
	d.mu.Lock()
	d.calls[method]++
	latency, before, failure := d.latency, d.before, d.failure
	panics, blocks := d.panics[method], d.blocking[method]
	d.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	if before != nil {
		if err := before(ctx, method); err != nil {
			return err
		}
	}
	if failure != nil {
		return failure
	}
	if panics {
		panic("directory exploded in " + method)
	}
	if blocks {
		<-ctx.Done()
		return fmt.Errorf("directorytest: %s: %w", method, ctx.Err())
	}
	return nil
}

// FindUser implements aggregation.Directory: the user matching the key's
// id, username (on the key's host, any host when 0), idnumber or email
// (case-insensitive). The key is not checked to set one field: a user
// matching any field set is a match. No match is ENotFound, several are
// EInvalid.
func (d *Directory) FindUser(ctx context.Context, by aggregation.UserKey) (aggregation.UserInfo, error) {
	return find(ctx, d, "FindUser", "user", d.users, func(u aggregation.UserInfo) bool {
		return by.ID != 0 && u.ID == by.ID ||
			by.Username != "" && u.Username == by.Username && (by.Host == 0 || u.HostID == by.Host) ||
			by.IDNumber != "" && u.IDNumber == by.IDNumber ||
			by.Email != "" && strings.EqualFold(u.Email, by.Email)
	})
}

// Users implements aggregation.Directory: the users with those ids that
// exist.
func (d *Directory) Users(ctx context.Context, ids []int64) (map[int64]aggregation.UserInfo, error) {
	return pick(ctx, d, "Users", d.users, ids)
}

// ListUsers implements aggregation.Directory: in id order, the users with
// an id above after, on the filter's host (any when 0), whose username,
// first name, last name, email or idnumber contains the filter's search
// case-insensitively (each field on its own, as the Moodle adapter); at most first of them (none when first ≤ 0).
func (d *Directory) ListUsers(ctx context.Context, f aggregation.UserFilter, after int64, first int) ([]aggregation.UserInfo, error) {
	if err := d.enter(ctx, "ListUsers"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return page(d.users, slices.Collect(maps.Keys(d.users)), after, first, func(u aggregation.UserInfo) bool { return d.listed(u, f) }), nil
}

// listed reports whether ListUsers lists the user for the filter.
func (d *Directory) listed(u aggregation.UserInfo, f aggregation.UserFilter) bool {
	return (f.Host == 0 || u.HostID == f.Host) && containsFold(f.Search, u.Username, u.FirstName, u.LastName, u.Email, u.IDNumber)
}

// FindCourse implements aggregation.Directory: the course matching the
// key's id, shortname or idnumber. The key is not checked to set one
// field: a course matching any field set is a match. No match is
// ENotFound, several are EInvalid.
func (d *Directory) FindCourse(ctx context.Context, by aggregation.CourseKey) (aggregation.CourseInfo, error) {
	return find(ctx, d, "FindCourse", "course", d.courses, func(c aggregation.CourseInfo) bool {
		return by.ID != 0 && c.ID == by.ID ||
			by.ShortName != "" && c.ShortName == by.ShortName ||
			by.IDNumber != "" && c.IDNumber == by.IDNumber
	})
}

// Courses implements aggregation.Directory: the courses with those ids
// that exist.
func (d *Directory) Courses(ctx context.Context, ids []int64) (map[int64]aggregation.CourseInfo, error) {
	return pick(ctx, d, "Courses", d.courses, ids)
}

// Modules implements aggregation.Directory: the course modules with those
// CMIDs that exist.
func (d *Directory) Modules(ctx context.Context, cmids []int64) (map[int64]aggregation.ModuleInfo, error) {
	return pick(ctx, d, "Modules", d.modules, cmids)
}

// Participants implements aggregation.Directory: in id order, the users
// enrolled in the course (see Enrol) with an id above after; at most first
// of them (none when first ≤ 0).
func (d *Directory) Participants(ctx context.Context, courseID, after int64, first int) ([]aggregation.UserInfo, error) {
	if err := d.enter(ctx, "Participants"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return page(d.users, slices.Collect(maps.Keys(d.enrolled[courseID])), after, first, nil), nil
}

// Grades implements aggregation.Directory: the grades set (see SetGrade)
// in the course for those users; users without are absent.
func (d *Directory) Grades(ctx context.Context, courseID int64, userIDs []int64) (map[int64]aggregation.CourseGrade, error) {
	if err := d.enter(ctx, "Grades"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[int64]aggregation.CourseGrade{}
	for _, id := range userIDs {
		if g, ok := d.grades[[2]int64{courseID, id}]; ok {
			out[id] = g
		}
	}
	return out, nil
}

// find is a FindUser or FindCourse call (method) over m, whose entries
// are what: the one entry that matches, ENotFound when none does and
// EInvalid when several do, as the Moodle adapter answers.
func find[V any](ctx context.Context, d *Directory, method, what string, m map[int64]V, match func(V) bool) (V, error) {
	var zero V
	if err := d.enter(ctx, method); err != nil {
		return zero, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var found []V
	for _, id := range slices.Sorted(maps.Keys(m)) {
		if match(m[id]) {
			found = append(found, m[id])
		}
	}
	switch len(found) {
	case 0:
		return zero, aggregation.Errorf(aggregation.ENotFound, "no such %s", what)
	case 1:
		return found[0], nil
	}
	return zero, aggregation.Errorf(aggregation.EInvalid, "%d %ss match", len(found), what)
}

// pick is a Users, Courses or Modules call (method) over m: the entries
// under ids that exist.
func pick[V any](ctx context.Context, d *Directory, method string, m map[int64]V, ids []int64) (map[int64]V, error) {
	if err := d.enter(ctx, method); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[int64]V{}
	for _, id := range ids {
		if v, ok := m[id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

// page returns, in id order, the users of ids that exist, have an id above
// after and satisfy keep (nil: all); at most first of them.
func page(users map[int64]aggregation.UserInfo, ids []int64, after int64, first int, keep func(aggregation.UserInfo) bool) []aggregation.UserInfo {
	var out []aggregation.UserInfo
	slices.Sort(ids)
	for _, id := range ids {
		if len(out) >= first {
			break
		}
		u, ok := users[id]
		if !ok || id <= after || (keep != nil && !keep(u)) {
			continue
		}
		out = append(out, u)
	}
	return out
}
