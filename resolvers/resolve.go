package resolvers

import (
	"context"
	"errors"
	"slices"

	"github.com/vikstrous/dataloadgen"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// The work behind the generated resolver methods (schema.resolvers.go),
// which only call these. Authorization is decided where data is fetched:
// user, users, course and participants check the scopes and hand each User
// its Access; the statistics resolvers obey that Access.

// findUser resolves Query.user. A site:read token sees any user (a missing
// one is NOT_FOUND); other tokens see themselves (user:<id>:self) and the
// participants of their courses (course:<id>:read, limited to those
// courses), and get FORBIDDEN for anyone else, existing or not.
func (r *Resolver) findUser(ctx context.Context, by model.UserBy) (*model.User, error) {
	key, err := userKeyOf(by)
	if err != nil {
		return nil, err
	}
	scopes := scopesOf(ctx)
	narrow := !scopes.CanReadSite()
	// A narrow token must not tell an unknown user from one outside its
	// courses, by the answer or by its time: by id, what it may read is
	// settled before any user lookup, with the same lookups for both;
	// by another key, a user that is not found costs the same lookups as
	// one found outside its courses.
	var acc model.Access
	checked := false
	if key.ID != 0 && narrow {
		if acc, err = r.accessTo(ctx, scopes, key.ID); err != nil {
			return nil, err
		}
		if !acc.Any() {
			return nil, forbidden("this token may not read that user")
		}
		checked = true
	}
	var info aggregation.UserInfo
	if key.ID != 0 {
		var ok bool
		ld := requestOf(ctx).loaders
		info, ok, err = loadNow(ctx, ld.users, ld.fetchUsers, key.ID)
		if err == nil && !ok {
			err = aggregation.Errorf(aggregation.ENotFound, "no user with id %d", key.ID)
		}
	} else {
		info, err = r.cfg.Directory.FindUser(ctx, key)
	}
	if err != nil {
		if hidden(err) && narrow {
			if !checked {
				_, _ = r.accessTo(ctx, scopes, 0) // as for a user outside the courses
			}
			return nil, forbidden("this token may not read that user")
		}
		return nil, err
	}
	if !checked {
		if acc, err = r.accessTo(ctx, scopes, info.ID); err != nil {
			return nil, err
		}
	}
	if !acc.Any() {
		return nil, forbidden("this token may not read that user")
	}
	return userModel(info, acc), nil
}

// hidden reports a lookup failure that would tell a token without
// site:read something about users or courses it may not read (that none,
// or several, match): it gets FORBIDDEN instead.
func hidden(err error) bool {
	code := aggregation.ErrorCode(err)
	return code == aggregation.ENotFound || code == aggregation.EInvalid
}

// accessTo decides what the scopes read of a user found outside a course:
// everything (site:read, the user's own self scope), or the courses of the
// token's course scopes that the user takes part in.
func (r *Resolver) accessTo(ctx context.Context, scopes aggregation.Scopes, userID int64) (model.Access, error) {
	if scopes.CanReadUser(userID) {
		return model.Access{All: true}, nil
	}
	courses, _ := scopes.CourseFilter()
	var acc model.Access
	for _, c := range courses {
		// Participants pages in user id order: the first participant
		// after userID-1 is the user when they take part.
		page, err := r.cfg.Directory.Participants(ctx, c, userID-1, 1)
		if err != nil {
			return acc, err
		}
		if len(page) > 0 && page[0].ID == userID {
			acc.Courses = append(acc.Courses, c)
		}
	}
	return acc, nil
}

// accessInCourse is what the scopes read of a participant listed in a
// course the token reads.
func accessInCourse(scopes aggregation.Scopes, userID, courseID int64) model.Access {
	if scopes.CanReadUser(userID) {
		return model.Access{All: true}
	}
	return model.Access{Courses: []int64{courseID}}
}

// listUsers resolves Query.users: site:read only.
func (r *Resolver) listUsers(ctx context.Context, filter *model.UserFilter, first *int, after *string, orderBy *model.UserOrder, rng *model.TimeRange, pol *model.PolicyInput) (*model.UserConnection, error) {
	if !scopesOf(ctx).CanReadSite() {
		return nil, forbidden("listing users needs the site:read scope")
	}
	f, err := userFilterOf(filter)
	if err != nil {
		return nil, err
	}
	var cohort int64
	if filter != nil && filter.Cohort != nil {
		if cohort = *filter.Cohort; cohort <= 0 {
			return nil, invalid("filter.cohort must be a positive cohort id")
		}
	}
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	if cohort != 0 || (orderBy != nil && (orderBy.Field != model.UserOrderFieldID || orderBy.Direction == model.OrderDirectionDesc)) {
		return r.sortedUsers(ctx, f, cohort, n, after, orderBy, rng, pol)
	}
	from, err := decodeCursor(after, "users", 0)
	if err != nil {
		return nil, err
	}
	total, err := r.cfg.Service.CountUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	conn := &model.UserConnection{Edges: []model.UserEdge{}, PageInfo: &model.PageInfo{}, TotalCount: total}
	if n == 0 {
		return conn, nil
	}
	page, err := r.cfg.Directory.ListUsers(ctx, f, from, n+1)
	if err != nil {
		return nil, err
	}
	conn.PageInfo.HasNextPage = len(page) > n
	page = page[:min(n, len(page))]
	users := requestOf(ctx).loaders.users
	for _, u := range page {
		users.Prime(u.ID, u)
		conn.Edges = append(conn.Edges, model.UserEdge{Cursor: encodeCursor("users", 0, u.ID), Node: userModel(u, model.Access{All: true})})
	}
	if len(page) > 0 {
		end := conn.Edges[len(conn.Edges)-1].Cursor
		conn.PageInfo.EndCursor = &end
	}
	return conn, nil
}

// sortedUsers resolves Query.users for a cohort or another order than
// ascending id: Service.SiteUsers lists, answers and sorts them; the
// cursor is the row's position in that order.
func (r *Resolver) sortedUsers(ctx context.Context, f aggregation.UserFilter, cohort int64, n int, after *string, orderBy *model.UserOrder, rng *model.TimeRange, pol *model.PolicyInput) (*model.UserConnection, error) {
	page := aggregation.Page[aggregation.SiteUserOrder]{Order: aggregation.SiteUserByID, Limit: max(n, 1)}
	if orderBy != nil {
		switch orderBy.Field {
		case model.UserOrderFieldID:
		case model.UserOrderFieldTotal:
			page.Order = aggregation.SiteUserByTotal
		case model.UserOrderFieldLastAccess:
			page.Order = aggregation.SiteUserByLastAccess
		case model.UserOrderFieldName:
			page.Order = aggregation.SiteUserByName
		default:
			return nil, invalid("orderBy.field: unknown %.32q", orderBy.Field)
		}
		page.Desc = orderBy.Direction == model.OrderDirectionDesc
	}
	list := orderedList("users", page.Order.String(), page.Desc)
	off, err := decodeOffset(after, list, cohort)
	if err != nil {
		return nil, err
	}
	page.Offset = off
	q, err := r.statsQuery(ctx, rng, pol, nil)
	if err != nil {
		return nil, err
	}
	total, err := r.cfg.Service.CountSiteUsers(ctx, cohort, f)
	if err != nil {
		return nil, err
	}
	conn := &model.UserConnection{Edges: []model.UserEdge{}, PageInfo: &model.PageInfo{}, TotalCount: total}
	if n == 0 || off >= total {
		return conn, nil
	}
	users := requestOf(ctx).loaders.users
	err = r.cfg.Service.SiteUsers(ctx, r.cfg.Directory, query(q), aggregation.SiteUserFilter{Cohort: cohort, Users: f}, page,
		func(row aggregation.SiteUser) error {
			users.Prime(row.ID, row.UserInfo)
			conn.Edges = append(conn.Edges, model.UserEdge{
				Cursor: encodeCursor(list, cohort, int64(off+len(conn.Edges)+1)),
				Node:   userModel(row.UserInfo, model.Access{All: true}),
			})
			return nil
		})
	if err != nil {
		return nil, err
	}
	conn.PageInfo.HasNextPage = off+len(conn.Edges) < total
	if len(conn.Edges) > 0 {
		end := conn.Edges[len(conn.Edges)-1].Cursor
		conn.PageInfo.EndCursor = &end
	}
	return conn, nil
}

// findCourse resolves Query.course: site:read or the course's read scope.
func (r *Resolver) findCourse(ctx context.Context, by model.CourseBy) (*model.Course, error) {
	key, err := courseKeyOf(by)
	if err != nil {
		return nil, err
	}
	scopes := scopesOf(ctx)
	var info aggregation.CourseInfo
	if key.ID != 0 {
		var ok bool
		ld := requestOf(ctx).loaders
		info, ok, err = loadNow(ctx, ld.courses, ld.fetchCourses, key.ID)
		if err == nil && !ok {
			err = aggregation.Errorf(aggregation.ENotFound, "no course with id %d", key.ID)
		}
	} else {
		info, err = r.cfg.Directory.FindCourse(ctx, key)
	}
	if err != nil {
		if hidden(err) && !scopes.CanReadSite() {
			return nil, forbidden("this token may not read that course")
		}
		return nil, err
	}
	if !scopes.CanReadCourse(info.ID) {
		// A group token reads the course of its groups.
		if _, err := r.viewOf(ctx, info.ID); err != nil {
			if aggregation.ErrorCode(err) == aggregation.EForbidden {
				return nil, forbidden("this token may not read that course")
			}
			return nil, err
		}
	}
	return courseModel(info), nil
}

// prefetch computes the page's statistics in one Service.Users call (its
// log reads batched over the page's users; memoized for the stats
// resolvers), then loads the grades and the activity names they will show
// in one batch each (grades first: their activities' names join the
// batch). Errors are left to the resolvers that read the results.
func (r *Resolver) prefetch(ctx context.Context, courseID int64, page []aggregation.UserInfo, q model.StatsQuery, grades, gradeNames, names bool) {
	ids := make([]int64, len(page))
	for i, u := range page {
		ids[i] = u.ID
	}
	results, _ := r.computeAll(ctx, ids, q)

	ld := requestOf(ctx).loaders
	var cmids []int64
	if grades {
		keys := make([]gradeKey, len(page))
		for i, u := range page {
			keys[i] = gradeKey{courseID, u.ID}
		}
		loaded, _ := ld.grades.LoadAll(ctx, keys)
		if gradeNames {
			for _, g := range loaded {
				for _, m := range g.Modules {
					if m.CMID != 0 {
						cmids = append(cmids, m.CMID)
					}
				}
			}
		}
	}
	if names {
		for _, res := range results {
			if res == nil {
				continue
			}
			if c := res.Course(courseID); c != nil {
				for _, m := range c.Modules {
					cmids = append(cmids, m.CMID)
				}
			}
		}
	}
	slices.Sort(cmids)
	if cmids = slices.Compact(cmids); len(cmids) > 0 {
		_, _ = ld.modules.LoadAll(ctx, cmids)
	}
}

// participantStats resolves Participant.stats: the user's time in the
// course (zero when none).
func (r *Resolver) participantStats(ctx context.Context, p *model.Participant) (*model.CourseStat, error) {
	res, err := r.compute(ctx, p.User.ID, p.Query)
	if err != nil {
		return nil, err
	}
	out := emptyCourseStat(p.InCourse, p.User.ID)
	if c := res.Course(p.InCourse); c != nil {
		out = courseStatModel(c, p.User.ID, p.Query.Scope)
	}
	if err := nameModules(ctx, []model.CourseStat{out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// userStats resolves User.stats within the user's Access. Other hosts,
// when asked, are checked for here and asked by the fields that show
// them (see peers.go).
func (r *Resolver) userStats(ctx context.Context, u *model.User, rng *model.TimeRange, pol *model.PolicyInput, scope *model.StatsScope, hosts []string, allHosts *bool) (*model.UserStats, error) {
	if !u.Access.Any() {
		return nil, forbidden("this token may not read the statistics of user %d", u.ID)
	}
	q, err := r.statsQuery(ctx, rng, pol, scope)
	if err != nil {
		return nil, err
	}
	peers, err := r.peerQuery(ctx, u, q, hosts, allHosts)
	if err != nil {
		return nil, err
	}
	res, err := r.compute(ctx, u.ID, q)
	if err != nil {
		return nil, err
	}
	s := userStatsModel(&model.Computation{UserID: u.ID, StatsQuery: q, Access: u.Access, Result: res})
	s.Peers = peers
	return s, nil
}

// wholeUser returns the computation when its access reads the whole user
// (site level, sessions, explanations), FORBIDDEN otherwise.
func wholeUser(s *model.UserStats, what string) (*model.Computation, error) {
	if !s.Computation.Access.All {
		return nil, forbidden("%s need site:read or the user's own scope; this token reads only some of the user's courses", what)
	}
	return s.Computation, nil
}

// courseStats resolves UserStats.courses: the readable courses, optionally
// only the given ids; none at SITE scope.
func (r *Resolver) courseStats(ctx context.Context, s *model.UserStats, ids []int64) ([]model.CourseStat, error) {
	comp := s.Computation
	out := []model.CourseStat{}
	if comp.Scope == model.StatsScopeSite {
		return out, nil
	}
	for i := range comp.Result.Courses {
		c := &comp.Result.Courses[i]
		if !comp.Access.Allows(c.CourseID) || (ids != nil && !slices.Contains(ids, c.CourseID)) {
			continue
		}
		out = append(out, courseStatModel(c, comp.UserID, comp.Scope))
	}
	if err := nameModules(ctx, out); err != nil {
		return nil, err
	}
	if err := primeCourseFields(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// nameModules fills the names and idnumbers of the courses' modules, in
// one batched lookup. Filling them here rather than in field resolvers
// spares gqlgen a goroutine per module, which cost more than the rest of
// a one-user answer from rollups.
func nameModules(ctx context.Context, cs []model.CourseStat) error {
	var cmids []int64
	for i := range cs {
		for _, m := range cs[i].Modules {
			cmids = append(cmids, m.Cmid)
		}
	}
	if len(cmids) == 0 {
		return nil
	}
	slices.Sort(cmids)
	cmids = slices.Compact(cmids)
	infos, err := moduleInfos(ctx, cmids)
	if err != nil {
		return err
	}
	for i := range cs {
		for j := range cs[i].Modules {
			m := &cs[i].Modules[j]
			if info, ok := infos[m.Cmid]; ok { // absent for a deleted activity
				m.Name, m.Idnumber = &info.Name, &info.IDNumber
			}
		}
	}
	return nil
}

// firstLoadError returns the first error of a LoadAll other than a key
// not found.
func firstLoadError(err error) error {
	var each dataloadgen.ErrorSlice
	if !errors.As(err, &each) {
		return err
	}
	for _, e := range each {
		if e != nil && !errors.Is(e, dataloadgen.ErrNotFound) {
			return e
		}
	}
	return nil
}

// explainLaps resolves UserStats.explain: a window of the laps.
func (r *Resolver) explainLaps(ctx context.Context, s *model.UserStats, limit, offset *int) ([]model.Lap, error) {
	comp, err := wholeUser(s, "explanations")
	if err != nil {
		return nil, err
	}
	n, skip := defaultExplain, 0
	if limit != nil {
		n = *limit
	}
	if offset != nil {
		skip = *offset
	}
	if n < 0 || n > maxExplain {
		return nil, invalid("limit must be between 0 and %d (got %d)", maxExplain, n)
	}
	if skip < 0 {
		return nil, invalid("offset must not be negative (got %d)", skip)
	}
	x, err := r.explain(ctx, comp.UserID, comp.StatsQuery, skip, n)
	if err != nil {
		return nil, err
	}
	laps := x.Laps[:min(n, len(x.Laps))]
	out := make([]model.Lap, len(laps))
	for i := range laps {
		out[i] = lapModel(&laps[i])
	}
	return out, nil
}

// courseOf resolves a course by id through the loader; nil when it no
// longer exists.
func courseOf(ctx context.Context, id int64) (*model.Course, error) {
	ld := requestOf(ctx).loaders
	c, ok, err := loadNow(ctx, ld.courses, ld.fetchCourses, id)
	if err != nil || !ok {
		return nil, err
	}
	return courseModel(c), nil
}

// gradeOf resolves CourseStat.grade through the loader.
func gradeOf(ctx context.Context, s *model.CourseStat) (*model.Score, error) {
	g, ok, err := load(ctx, requestOf(ctx).loaders.grades, gradeKey{s.CourseID, s.OfUser})
	if err != nil || !ok {
		return nil, err
	}
	if g.Course == nil && len(g.Modules) == 0 {
		return nil, nil
	}
	return scoreModel(s.CourseID, g), nil
}

// moduleOf resolves an activity by cmid through the loader; ok is false
// when it no longer exists.
func moduleOf(ctx context.Context, cmid int64) (aggregation.ModuleInfo, bool, error) {
	ld := requestOf(ctx).loaders
	return loadNow(ctx, ld.modules, ld.fetchModules, cmid)
}

// listPolicies resolves Query.policies, the default first, for any token
// that reads through GraphQL: not the web services' ws scope alone.
func (r *Resolver) listPolicies(ctx context.Context) ([]model.Policy, error) {
	s := scopesOf(ctx)
	courses, _ := s.CourseFilter()
	if !s.CanReadSite() && len(courses) == 0 && len(s.SelfUserIDs()) == 0 && len(s.GroupIDs()) == 0 {
		return nil, forbidden("this token reads nothing through GraphQL (the ws scope is for the web services)")
	}
	return policies(r.cfg.Service.Policies())
}

// policies lists the named policies, the default first.
func policies(known *aggregation.Policies) ([]model.Policy, error) {
	names := known.Names()
	out := make([]model.Policy, 0, len(names))
	for _, name := range names {
		p, err := known.Lookup(name)
		if err != nil {
			return nil, err
		}
		out = append(out, *policyModel(p))
	}
	return out, nil
}
