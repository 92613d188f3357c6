package resolvers

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/model"
)

// The analytics over many learners: course lists, participant lists
// sorted and filtered by time, course and group aggregates and their
// series. Every number comes from the query service (Service.ListCourses,
// CourseParticipants, CourseGroups); these resolvers check access, read
// arguments and convert.
//
// Access: site:read and course:<id>:read read a whole course. A
// group:<id>:read token reads a course only through its groups: its
// participant lists and aggregates are narrowed to the members of its
// groups in that course, and its group lists to those groups.

// listCourses resolves Query.courses: site:read only.
func (r *Resolver) listCourses(ctx context.Context, filter *model.CourseFilter, orderBy *model.CourseOrder, first *int, after *string) (*model.CourseConnection, error) {
	if !scopesOf(ctx).CanReadSite() {
		return nil, forbidden("listing courses needs the site:read scope; a narrower token reads its courses with course(by:)")
	}
	f, err := courseFilterOf(filter)
	if err != nil {
		return nil, err
	}
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	off, err := decodeOffset(after, "courses", 0)
	if err != nil {
		return nil, err
	}
	page := aggregation.Page[aggregation.CourseOrder]{Offset: off, Limit: max(n, 1)}
	if orderBy != nil {
		if page.Order, err = courseOrderOf(orderBy.Field); err != nil {
			return nil, err
		}
		page.Desc = orderBy.Direction == model.OrderDirectionDesc
	}
	cs, total, err := r.cfg.Service.ListCourses(ctx, f, page)
	if err != nil {
		return nil, err
	}
	cs = cs[:min(n, len(cs))]
	conn := &model.CourseConnection{Edges: []model.CourseEdge{}, PageInfo: &model.PageInfo{}, TotalCount: total}
	courses := requestOf(ctx).loaders.courses
	for i, c := range cs {
		courses.Prime(c.ID, c)
		conn.Edges = append(conn.Edges, model.CourseEdge{Cursor: encodeCursor("courses", 0, int64(off+i+1)), Node: courseModel(c)})
	}
	conn.PageInfo.HasNextPage = off+len(cs) < total
	if len(conn.Edges) > 0 {
		end := conn.Edges[len(conn.Edges)-1].Cursor
		conn.PageInfo.EndCursor = &end
	}
	return conn, nil
}

// courseView is what the request's token reads of a course: all of it,
// or only the members of some of its groups (groups ascending).
type courseView struct {
	all    bool
	groups []int64
}

// viewOf returns the token's view of a course, or FORBIDDEN when it reads
// nothing of it.
func (r *Resolver) viewOf(ctx context.Context, courseID int64) (courseView, error) {
	scopes := scopesOf(ctx)
	if scopes.CanReadCourse(courseID) {
		return courseView{all: true}, nil
	}
	if mine := scopes.GroupIDs(); len(mine) > 0 {
		gs, err := r.courseGroups(ctx, courseID)
		if err != nil {
			return courseView{}, err
		}
		var v courseView
		for _, g := range gs {
			if _, ok := slices.BinarySearch(mine, g.ID); ok {
				v.groups = append(v.groups, g.ID)
			}
		}
		slices.Sort(v.groups)
		if len(v.groups) > 0 {
			return v, nil
		}
	}
	return courseView{}, forbidden("reading course %d needs site:read, course:%d:read or the read scope of one of its groups", courseID, courseID)
}

// narrow restricts a filter to what the view reads; ok is false when
// nothing is left (the filter asks only for groups outside the view).
func (v courseView) narrow(f aggregation.ParticipantFilter) (aggregation.ParticipantFilter, bool) {
	if v.all {
		return f, true
	}
	if _, ok := slices.BinarySearch(v.groups, f.InGroup); f.InGroup != 0 && !ok {
		return f, false
	}
	if len(f.Groups) == 0 {
		f.Groups = v.groups
		return f, true
	}
	var kept []int64
	for _, g := range f.Groups {
		if _, ok := slices.BinarySearch(v.groups, g); ok {
			kept = append(kept, g)
		}
	}
	f.Groups = kept
	return f, len(kept) > 0
}

// courseGroups returns a course's groups, read once per request.
func (r *Resolver) courseGroups(ctx context.Context, courseID int64) ([]aggregation.GroupInfo, error) {
	gs, _, err := load(ctx, requestOf(ctx).loaders.groups, courseID)
	return gs, err
}

// participantList is one participant list asked for: a course, the
// groups it is narrowed to (Group.members) and the arguments.
type participantList struct {
	course   *model.Course
	group    int64 // 0: the whole course
	first    *int
	after    *string
	rng      *model.TimeRange
	pol      *model.PolicyInput
	scope    *model.StatsScope
	orderBy  *model.ParticipantOrder
	filter   *model.ParticipantFilter
	cursorOf string
}

// participants resolves Course.participants.
func (r *Resolver) participants(ctx context.Context, course *model.Course, first *int, after *string, rng *model.TimeRange, pol *model.PolicyInput, scope *model.StatsScope, orderBy *model.ParticipantOrder, filter *model.ParticipantFilter) (*model.ParticipantConnection, error) {
	return r.participantPage(ctx, participantList{course: course, first: first, after: after, rng: rng, pol: pol, scope: scope,
		orderBy: orderBy, filter: filter, cursorOf: "participants"})
}

// participantPage answers a participant list: the service sorts, filters
// and pages the members and answers their time (every member's only when
// the order or filter needs it); the page's answers are kept for the
// stats fields, and its grades and activity names fetched in one batch
// each.
func (r *Resolver) participantPage(ctx context.Context, l participantList) (*model.ParticipantConnection, error) {
	view, err := r.viewOf(ctx, l.course.ID)
	if err != nil {
		return nil, err
	}
	n, err := pageSize(l.first)
	if err != nil {
		return nil, err
	}
	scopeID := l.course.ID
	if l.group != 0 {
		scopeID = l.group
	}
	page := aggregation.Page[aggregation.ParticipantOrder]{Order: aggregation.ParticipantByID}
	if l.orderBy != nil {
		if page.Order, err = participantOrderOf(l.orderBy.Field); err != nil {
			return nil, err
		}
		page.Desc = l.orderBy.Direction == model.OrderDirectionDesc
	}
	// A cursor names a position in one order: another order refuses it.
	list := orderedList(l.cursorOf, page.Order.String(), page.Desc)
	off, err := decodeOffset(l.after, list, scopeID)
	if err != nil {
		return nil, err
	}
	q, err := r.statsQuery(ctx, l.rng, l.pol, l.scope)
	if err != nil {
		return nil, err
	}
	f, err := r.participantFilterOf(l.filter)
	if err != nil {
		return nil, err
	}
	f.InGroup = l.group
	f, ok := view.narrow(f)
	if !ok {
		return emptyParticipants(), nil
	}
	page.Offset, page.Limit = off, max(n, 1)
	pp, err := r.cfg.Service.CourseParticipants(ctx, l.course.ID, query(q), f, page, false)
	if err != nil {
		return nil, err
	}
	rows := pp.Rows[:min(n, len(pp.Rows))]
	conn := emptyParticipants()
	conn.TotalCount = pp.TotalCount
	conn.PageInfo.HasNextPage = off+len(rows) < pp.TotalCount
	rq := requestOf(ctx)
	rq.loaders.courses.Prime(l.course.ID, courseInfo(l.course))
	scopes := scopesOf(ctx)
	users := make([]aggregation.UserInfo, len(rows))
	for i, row := range rows {
		users[i] = row.UserInfo
		rq.loaders.users.Prime(row.ID, row.UserInfo)
		if row.Result != nil {
			rq.prime(row.ID, q, row.Result)
		}
		conn.Edges = append(conn.Edges, model.ParticipantEdge{
			Cursor: encodeCursor(list, scopeID, int64(off+i+1)),
			Node: &model.Participant{
				User:     userModel(row.UserInfo, accessInCourse(scopes, row.ID, l.course.ID)),
				InCourse: l.course.ID,
				Query:    q,
				Member:   row.Member,
			},
		})
	}
	if len(conn.Edges) > 0 {
		end := conn.Edges[len(conn.Edges)-1].Cursor
		conn.PageInfo.EndCursor = &end
	}
	if graphql.FieldRequested(ctx, "edges.node.stats") {
		r.prefetch(ctx, l.course.ID, users, q,
			graphql.FieldRequested(ctx, "edges.node.stats.grade"),
			graphql.FieldRequested(ctx, "edges.node.stats.grade.modules.name"),
			q.Scope == model.StatsScopeModule && graphql.AnyFieldRequested(ctx,
				"edges.node.stats.modules.name", "edges.node.stats.modules.idnumber"))
	}
	return conn, nil
}

func emptyParticipants() *model.ParticipantConnection {
	return &model.ParticipantConnection{Edges: []model.ParticipantEdge{}, PageInfo: &model.PageInfo{}}
}

// courseAggregate resolves Course.stats and Group.stats (group ≠ 0): the
// course summed up over the participants the filter keeps, within the
// token's view.
func (r *Resolver) courseAggregate(ctx context.Context, courseID, group int64, rng *model.TimeRange, pol *model.PolicyInput, filter *model.ParticipantFilter) (*model.CourseAggregate, error) {
	view, err := r.viewOf(ctx, courseID)
	if err != nil {
		return nil, err
	}
	q, err := r.statsQuery(ctx, rng, pol, nil)
	if err != nil {
		return nil, err
	}
	f, err := r.participantFilterOf(filter)
	if err != nil {
		return nil, err
	}
	out := &model.CourseAggregate{Population: model.PopulationEnrolled, Modules: []model.ModuleAggregate{}, Sections: []model.SectionAggregate{}, Query: q}
	if f.IncludeUnenrolled {
		out.Population = model.PopulationEnrolledAndUnenrolled
	}
	f.InGroup = group
	f, ok := view.narrow(f)
	if !ok {
		return out, nil
	}
	// Every kept member (Limit 0), with the aggregate and their answers
	// for the series.
	pp, err := r.cfg.Service.CourseParticipants(ctx, courseID, query(q), f,
		aggregation.Page[aggregation.ParticipantOrder]{Order: aggregation.ParticipantByID}, true)
	if err != nil {
		return nil, err
	}
	for _, row := range pp.Rows {
		if row.Result == nil {
			continue
		}
		if c := row.Result.Course(courseID); c != nil {
			if len(c.Days) > 0 {
				out.Days = append(out.Days, c.Days)
			}
			if len(c.Hours) > 0 {
				out.Hours = append(out.Hours, c.Hours)
			}
		}
	}
	a := pp.Aggregate
	out.Learners, out.ActiveLearners = a.Population, a.ActiveLearners
	out.Total, out.Events = a.Total.Elapsed, int(a.Total.Events)
	out.Mean, out.Median, out.P90 = int64(a.Mean+0.5), a.Median, a.P90
	out.FirstAccess, out.LastAccess = firstLast(a.Total)
	var cmids []int64
	for _, m := range a.Modules {
		ma := model.ModuleAggregate{Cmid: m.CMID, Type: m.Type, Elapsed: m.Elapsed, Events: int(m.Events), Learners: m.Learners}
		if m.SectionID != 0 {
			ma.Section = &m.SectionID
		}
		out.Modules = append(out.Modules, ma)
		cmids = append(cmids, m.CMID)
	}
	for _, s := range a.Sections {
		out.Sections = append(out.Sections, model.SectionAggregate{ID: s.SectionID, Elapsed: s.Elapsed, Events: int(s.Events), Learners: s.Learners})
	}
	if len(cmids) > 0 && graphql.FieldRequested(ctx, "modules.name") {
		names, err := requestOf(ctx).loaders.modules.LoadAll(ctx, cmids)
		if err := firstLoadError(err); err != nil {
			return nil, err
		}
		for i := range out.Modules {
			if info := names[i]; info.CMID != 0 {
				name := info.Name
				out.Modules[i].Name = &name
			}
		}
	}
	return out, nil
}

// aggregateSeries resolves CourseAggregate.series.
func (r *Resolver) aggregateSeries(a *model.CourseAggregate, granularity *model.Granularity, timezone *string) ([]model.SeriesPoint, error) {
	return r.series(timeLists{days: a.Days, hours: a.Hours}, a.Query, granularity, timezone)
}

// aggregateHeatmap resolves CourseAggregate.heatmap.
func (r *Resolver) aggregateHeatmap(a *model.CourseAggregate, timezone *string) ([]model.HeatCell, error) {
	return r.heatmap(a.Hours, timezone)
}

// timeLists are a population's days and hours, one list per member.
type timeLists struct {
	days  [][]aggregation.DayStat
	hours [][]aggregation.HourStat
}

// series builds a series (see Granularity in the schema): DAY, WEEK and
// MONTH in the service's zone from the days, for the query's window
// when it has a start; HOUR and other zones from the hours.
func (r *Resolver) series(t timeLists, q model.StatsQuery, granularity *model.Granularity, timezone *string) ([]model.SeriesPoint, error) {
	g := model.GranularityDay
	if granularity != nil {
		if !granularity.IsValid() {
			return nil, invalid("series: unknown granularity %.16q", *granularity)
		}
		g = *granularity
	}
	loc, err := r.zoneOf(timezone)
	if err != nil {
		return nil, err
	}
	if g == model.GranularityHour || loc != r.cfg.Service.Location() {
		period := map[model.Granularity]aggregation.Period{model.GranularityHour: aggregation.PeriodHour,
			model.GranularityDay: aggregation.PeriodDay, model.GranularityWeek: aggregation.PeriodWeek,
			model.GranularityMonth: aggregation.PeriodMonth}[g]
		pts, err := aggregation.SeriesOfHours(t.hours, period, loc)
		if err != nil {
			return nil, err
		}
		return seriesModel(len(pts), func(i int) aggregation.SeriesPoint { return aggregation.SeriesPoint(pts[i]) }), nil
	}
	dg := map[model.Granularity]aggregation.Granularity{model.GranularityDay: aggregation.GranularityDay,
		model.GranularityWeek: aggregation.GranularityWeek, model.GranularityMonth: aggregation.GranularityMonth}[g]
	var pts []aggregation.SeriesPoint
	if q.Window.From == 0 {
		pts, err = aggregation.Series(t.days, dg, loc)
	} else {
		pts, err = aggregation.SeriesBetween(t.days, dg, loc, q.Window.From, q.Window.To+1)
	}
	if err != nil {
		return nil, err
	}
	return seriesModel(len(pts), func(i int) aggregation.SeriesPoint { return pts[i] }), nil
}

// seriesModel converts the n points at(i) of a series.
func seriesModel(n int, at func(i int) aggregation.SeriesPoint) []model.SeriesPoint {
	out := make([]model.SeriesPoint, n)
	for i := range out {
		p := at(i)
		out[i] = model.SeriesPoint{Start: model.Unix(p.Start), Elapsed: p.Elapsed, Events: int(p.Events)}
	}
	return out
}

// heatmap builds a weekday × hour heat map of the hours in the zone.
func (r *Resolver) heatmap(hours [][]aggregation.HourStat, timezone *string) ([]model.HeatCell, error) {
	loc, err := r.zoneOf(timezone)
	if err != nil {
		return nil, err
	}
	cells := aggregation.HeatmapOfHours(hours, loc)
	out := make([]model.HeatCell, len(cells))
	for i, c := range cells {
		out[i] = model.HeatCell{Weekday: c.Weekday, Hour: c.Hour, Elapsed: c.Elapsed, Events: int(c.Events)}
	}
	return out, nil
}

// zoneOf reads a timezone argument: the service's zone when absent or
// empty, else an IANA name (BAD_USER_INPUT when unknown).
func (r *Resolver) zoneOf(timezone *string) (*time.Location, error) {
	loc := r.cfg.Service.Location()
	if timezone == nil || *timezone == "" || *timezone == loc.String() {
		return loc, nil
	}
	if len(*timezone) > 64 || strings.ContainsAny(*timezone, "\x00") {
		return nil, invalid("timezone: not an IANA time zone name")
	}
	z, err := time.LoadLocation(*timezone)
	if err != nil {
		return nil, invalid("timezone: unknown time zone %.64q (want an IANA name such as Europe/Paris)", *timezone)
	}
	return z, nil
}

// groupsOfCourse resolves Course.groups within the token's view.
func (r *Resolver) groupsOfCourse(ctx context.Context, course *model.Course) ([]model.Group, error) {
	view, err := r.viewOf(ctx, course.ID)
	if err != nil {
		return nil, err
	}
	gs, err := r.courseGroups(ctx, course.ID)
	if err != nil {
		return nil, err
	}
	out := []model.Group{}
	for _, g := range gs {
		if _, ok := slices.BinarySearch(view.groups, g.ID); view.all || ok {
			out = append(out, groupModel(g))
		}
	}
	return out, nil
}

// participantGroups resolves Participant.groups: the participant's groups
// within the token's view, in the course's group order.
func (r *Resolver) participantGroups(ctx context.Context, p *model.Participant) ([]model.Group, error) {
	out := []model.Group{}
	if len(p.Member.Groups) == 0 {
		return out, nil
	}
	view, err := r.viewOf(ctx, p.InCourse)
	if err != nil {
		return nil, err
	}
	gs, err := r.courseGroups(ctx, p.InCourse)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if _, mine := slices.BinarySearch(p.Member.Groups, g.ID); !mine {
			continue
		}
		if _, ok := slices.BinarySearch(view.groups, g.ID); view.all || ok {
			out = append(out, groupModel(g))
		}
	}
	return out, nil
}

func groupModel(g aggregation.GroupInfo) model.Group {
	m := model.Group{ID: g.ID, CourseID: g.CourseID, Name: g.Name, Idnumber: g.IDNumber, Groupings: []model.Grouping{}}
	for _, gg := range g.Groupings {
		m.Groupings = append(m.Groupings, model.Grouping{ID: gg.ID, Name: gg.Name})
	}
	return m
}

func rolesModel(m aggregation.Member) []model.Role {
	out := make([]model.Role, len(m.Roles))
	for i, r := range m.Roles {
		out[i] = model.Role{ID: r.ID, Shortname: r.ShortName, Name: r.Name}
	}
	return out
}

func enrolmentModel(m aggregation.Member) *model.Enrolment {
	e := m.Enrolment
	return &model.Enrolment{Start: model.UnixPtr(e.Start, e.Start != 0), End: model.UnixPtr(e.End, e.End != 0), Active: e.Active}
}

// orderedList names the cursors of a list in one order.
func orderedList(list, order string, desc bool) string {
	list += "-by-" + strings.ToLower(order)
	if desc {
		list += "-desc"
	}
	return list
}
