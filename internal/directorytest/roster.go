package directorytest

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/usestats/usestats/aggregation"
)

// The Directory is also an aggregation.Roster: the course catalogue of
// AddCourses, members from Enrol with the roles, groups and enrolment
// dates the setters below give them, and cohorts. Its calls are counted
// and faulted like the Directory's, under the Roster method's name.

var _ aggregation.Roster = (*Directory)(nil)

// roster is the Directory's membership data.
type roster struct {
	roles      map[[2]int64][]aggregation.RoleInfo // (course, user) → roles
	enrolments map[[2]int64]aggregation.Enrolment  // (course, user); default: active, no dates
	groups     map[int64]aggregation.GroupInfo
	inGroup    map[int64]map[int64]bool // group → user ids
	cohorts    map[int64]aggregation.CohortInfo
	inCohort   map[int64]map[int64]bool    // cohort → user ids
	visits     map[int64]map[int64][]int64 // course → user → times of log rows
}

func newRoster() roster {
	return roster{
		roles: map[[2]int64][]aggregation.RoleInfo{}, enrolments: map[[2]int64]aggregation.Enrolment{},
		groups: map[int64]aggregation.GroupInfo{}, inGroup: map[int64]map[int64]bool{},
		cohorts: map[int64]aggregation.CohortInfo{}, inCohort: map[int64]map[int64]bool{},
		visits: map[int64]map[int64][]int64{},
	}
}

// SetRoles sets the user's roles in the course, in the order given.
func (d *Directory) SetRoles(courseID, userID int64, roles ...aggregation.RoleInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roster.roles[[2]int64{courseID, userID}] = slices.Clone(roles)
}

// SetEnrolment sets what the user's enrolments in the course say (an
// enrolled user without one is active, without dates).
func (d *Directory) SetEnrolment(courseID, userID int64, e aggregation.Enrolment) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roster.enrolments[[2]int64{courseID, userID}] = e
}

// AddGroups adds groups (of the course each names), replacing any with
// the same id.
func (d *Directory) AddGroups(groups ...aggregation.GroupInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, g := range groups {
		d.roster.groups[g.ID] = g
	}
}

// AddToGroup makes the users members of the group.
func (d *Directory) AddToGroup(groupID int64, userIDs ...int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	addTo(d.roster.inGroup, groupID, userIDs)
}

// AddVisits records log rows of the user in the course at those times,
// for CourseVisitors.
func (d *Directory) AddVisits(courseID, userID int64, times ...int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.roster.visits[courseID] == nil {
		d.roster.visits[courseID] = map[int64][]int64{}
	}
	d.roster.visits[courseID][userID] = append(d.roster.visits[courseID][userID], times...)
}

// AddCohorts adds cohorts, replacing any with the same id.
func (d *Directory) AddCohorts(cohorts ...aggregation.CohortInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range cohorts {
		d.roster.cohorts[c.ID] = c
	}
}

// AddToCohort makes the users members of the cohort.
func (d *Directory) AddToCohort(cohortID int64, userIDs ...int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	addTo(d.roster.inCohort, cohortID, userIDs)
}

func addTo(m map[int64]map[int64]bool, key int64, ids []int64) {
	if m[key] == nil {
		m[key] = map[int64]bool{}
	}
	for _, id := range ids {
		m[key][id] = true
	}
}

// ListCourses implements aggregation.Roster over the courses added, the
// front page (id 1) excluded.
func (d *Directory) ListCourses(ctx context.Context, f aggregation.CourseFilter, p aggregation.Page[aggregation.CourseOrder]) ([]aggregation.CourseInfo, int, error) {
	if err := d.enter(ctx, "ListCourses"); err != nil {
		return nil, 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var kept []aggregation.CourseInfo
	for _, c := range d.courses {
		if c.ID == aggregation.FrontPageCourseID || (f.Category != 0 && c.Category != f.Category) ||
			(f.Visible != nil && c.Visible != *f.Visible) ||
			(f.Search != "" && !containsFold(f.Search, c.FullName, c.ShortName, c.IDNumber)) {
			continue
		}
		kept = append(kept, c)
	}
	slices.SortFunc(kept, func(a, b aggregation.CourseInfo) int {
		c := cmp.Compare(a.ID, b.ID)
		switch p.Order {
		case aggregation.CourseByFullName:
			c = cmp.Compare(strings.ToLower(a.FullName), strings.ToLower(b.FullName))
		case aggregation.CourseByShortName:
			c = cmp.Compare(strings.ToLower(a.ShortName), strings.ToLower(b.ShortName))
		case aggregation.CourseByStart:
			c = cmp.Compare(a.StartDate, b.StartDate)
		}
		if p.Desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.ID, b.ID))
	})
	return window(kept, p.Offset, p.Limit), len(kept), nil
}

// CourseMembers implements aggregation.Roster: the users enrolled in the
// course (Enrol) that exist, in id order.
func (d *Directory) CourseMembers(ctx context.Context, courseID int64) ([]aggregation.Member, error) {
	if err := d.enter(ctx, "CourseMembers"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []aggregation.Member
	for _, id := range slices.Sorted(maps.Keys(d.enrolled[courseID])) {
		u, ok := d.users[id]
		if !ok {
			continue
		}
		key := [2]int64{courseID, id}
		e, ok := d.roster.enrolments[key]
		if !ok {
			e = aggregation.Enrolment{Active: true}
		}
		m := aggregation.Member{UserInfo: u, Roles: slices.Clone(d.roster.roles[key]), Enrolment: e}
		for _, g := range d.roster.groups {
			if g.CourseID == courseID && d.roster.inGroup[g.ID][id] {
				m.Groups = append(m.Groups, g.ID)
			}
		}
		slices.Sort(m.Groups)
		out = append(out, m)
	}
	return out, nil
}

// CourseVisitors implements aggregation.Roster: the users that exist with
// a visit (AddVisits) in the course from..to, in id order.
func (d *Directory) CourseVisitors(ctx context.Context, courseID, from, to int64) ([]aggregation.UserInfo, error) {
	if err := d.enter(ctx, "CourseVisitors"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []int64
	for id, times := range d.roster.visits[courseID] {
		if slices.ContainsFunc(times, func(t int64) bool { return t >= from && t <= to }) {
			ids = append(ids, id)
		}
	}
	return page(d.users, ids, 0, len(d.users), nil), nil
}

// CountUsers implements aggregation.Roster: how many users ListUsers
// lists for the filter.
func (d *Directory) CountUsers(ctx context.Context, f aggregation.UserFilter) (int, error) {
	if err := d.enter(ctx, "CountUsers"); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(page(d.users, slices.Collect(maps.Keys(d.users)), 0, len(d.users), func(u aggregation.UserInfo) bool { return d.listed(u, f) })), nil
}

// CourseGroups implements aggregation.Roster: the course's groups by
// name, then id.
func (d *Directory) CourseGroups(ctx context.Context, courseID int64) ([]aggregation.GroupInfo, error) {
	if err := d.enter(ctx, "CourseGroups"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []aggregation.GroupInfo
	for _, g := range d.roster.groups {
		if g.CourseID == courseID {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b aggregation.GroupInfo) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// FindGroups implements aggregation.Roster: the groups added with those
// ids, in id order, without their groupings.
func (d *Directory) FindGroups(ctx context.Context, ids []int64) ([]aggregation.GroupInfo, error) {
	if err := d.enter(ctx, "FindGroups"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []aggregation.GroupInfo
	for _, g := range d.roster.groups {
		if slices.Contains(ids, g.ID) {
			g.Groupings = nil
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b aggregation.GroupInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// ListCohorts implements aggregation.Roster over the cohorts added.
func (d *Directory) ListCohorts(ctx context.Context, f aggregation.CohortFilter, p aggregation.Page[aggregation.CohortOrder]) ([]aggregation.CohortInfo, int, error) {
	if err := d.enter(ctx, "ListCohorts"); err != nil {
		return nil, 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var kept []aggregation.CohortInfo
	for _, c := range d.roster.cohorts {
		if (f.Visible != nil && c.Visible != *f.Visible) || (f.Search != "" && !containsFold(f.Search, c.Name, c.IDNumber)) {
			continue
		}
		kept = append(kept, c)
	}
	slices.SortFunc(kept, func(a, b aggregation.CohortInfo) int {
		c := cmp.Compare(a.ID, b.ID)
		if p.Order == aggregation.CohortByName {
			c = cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		}
		if p.Desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.ID, b.ID))
	})
	return window(kept, p.Offset, p.Limit), len(kept), nil
}

// FindCohort implements aggregation.Roster.
func (d *Directory) FindCohort(ctx context.Context, by aggregation.CohortKey) (aggregation.CohortInfo, error) {
	return find(ctx, d, "FindCohort", "cohort", d.roster.cohorts, func(c aggregation.CohortInfo) bool {
		return (by.ID != 0 && c.ID == by.ID) || (by.IDNumber != "" && c.IDNumber == by.IDNumber)
	})
}

// CohortMembers implements aggregation.Roster: the cohort's members that
// exist, in id order.
func (d *Directory) CohortMembers(ctx context.Context, cohortID int64) ([]aggregation.UserInfo, error) {
	if err := d.enter(ctx, "CohortMembers"); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return page(d.users, slices.Collect(maps.Keys(d.roster.inCohort[cohortID])), 0, len(d.users), nil), nil
}

// containsFold reports whether one of the fields holds sub, ignoring case.
func containsFold(sub string, fields ...string) bool {
	sub = strings.ToLower(sub)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), sub) {
			return true
		}
	}
	return false
}

// window returns limit items after the first offset (limit 0: all).
func window[T any](items []T, offset, limit int) []T {
	lo := min(max(offset, 0), len(items))
	hi := len(items)
	if limit > 0 {
		hi = min(hi, lo+limit)
	}
	return items[lo:hi]
}
