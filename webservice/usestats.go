package webservice

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/usestats/usestats/aggregation"
)

// The block_use_stats functions (docs/protocols.md §5.4) with the fixes
// W1–W3 of docs/time-engine.md §7.4: every course's activity time is resolved (not only the
// current course's), othertime is the real time in user and system
// contexts carrying the course, lastsession is the end of the last
// session, score is the final course grade, and no value is ever null.

// window returns the period of a call: to = 0 means now.
func (c *callCtx) window(now int64) (aggregation.Window, error) {
	from, to := c.int("from"), c.int("to")
	if to == 0 {
		to = now
	}
	if to < from {
		return aggregation.Window{}, invalidParameterf("to (%d) is before from (%d)", to, from)
	}
	return aggregation.Window{From: from, To: to}, nil
}

// userKey reads uid according to uidsource.
func userKey(source, uid string) (aggregation.UserKey, error) {
	switch source {
	case "id":
		id, ok := canonicalInt(uid)
		if !ok || id <= 0 {
			return aggregation.UserKey{}, invalidParameterf(`uid "%s" is not a user id (uidsource = id)`, echo(uid))
		}
		return aggregation.UserKey{ID: id}, nil
	case "username":
		return aggregation.UserKey{Username: uid}, nil
	case "idnumber":
		return aggregation.UserKey{IDNumber: uid}, nil
	case "email":
		return aggregation.UserKey{Email: uid}, nil
	}
	return aggregation.UserKey{}, invalidParameterf(`Unknown uidsource "%s": expected id, username, idnumber or email`, echo(source))
}

// findCourse resolves cid according to cidsource; no course (cid "" or
// "0", or cidsource "") returns nil.
func (h *Handler) findCourse(ctx context.Context, source, cid string) (*aggregation.CourseInfo, error) {
	if source == "" || cid == "" || cid == "0" {
		return nil, nil
	}
	var key aggregation.CourseKey
	switch source {
	case "id":
		id, ok := canonicalInt(cid)
		if !ok || id <= 0 {
			return nil, invalidParameterf(`cid "%s" is not a course id (cidsource = id)`, echo(cid))
		}
		key.ID = id
	case "idnumber":
		key.IDNumber = cid
	case "shortname":
		key.ShortName = cid
	default:
		return nil, invalidParameterf(`Unknown cidsource "%s": expected id, idnumber or shortname`, echo(source))
	}
	course, err := h.cfg.Directory.FindCourse(ctx, key)
	switch aggregation.ErrorCode(err) {
	case "":
		return &course, nil
	case aggregation.ENotFound:
		return nil, lookupFailure(invalidParameterf(`Course not found: %s = "%s"`, source, echo(cid)))
	case aggregation.EInvalid: // several courses match
		return nil, lookupFailure(invalidParameterf(`Course %s = "%s": %s`, source, echo(cid), truncate(aggregation.ErrorMessage(err), 200)))
	}
	return nil, fmt.Errorf("finding course %s=%q: %w", source, echo(cid), err)
}

// resolveUsers finds the users of one batch, in request order.
func (h *Handler) resolveUsers(ctx context.Context, source string, uids []string) ([]aggregation.UserInfo, error) {
	keys := make([]aggregation.UserKey, len(uids))
	for i, uid := range uids {
		key, err := userKey(source, uid)
		if err != nil {
			return nil, err
		}
		keys[i] = key
	}
	out := make([]aggregation.UserInfo, len(uids))
	if source == "id" {
		ids := make([]int64, len(keys))
		for i, key := range keys {
			ids[i] = key.ID
		}
		found, err := h.cfg.Directory.Users(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("loading users: %w", err)
		}
		for i, id := range ids {
			u, ok := found[id]
			if !ok {
				return nil, lookupFailure(invalidParameterf(`User not found: id = "%s"`, echo(uids[i])))
			}
			out[i] = u
		}
		return out, nil
	}
	for i, key := range keys {
		u, err := h.cfg.Directory.FindUser(ctx, key)
		switch aggregation.ErrorCode(err) {
		case "":
			out[i] = u
		case aggregation.ENotFound:
			return nil, lookupFailure(invalidParameterf(`User not found: %s = "%s"`, source, echo(uids[i])))
		case aggregation.EInvalid:
			return nil, lookupFailure(invalidParameterf(`User %s = "%s": %s`, source, echo(uids[i]), truncate(aggregation.ErrorMessage(err), 200)))
		default:
			return nil, fmt.Errorf("finding user %s=%q: %w", source, echo(uids[i]), err)
		}
	}
	return out, nil
}

// target is a user whose statistics a call returns, with how much of
// them the principal may see.
type target struct {
	aggregation.UserInfo
	// courseOnly limits the answer to the call's course: the principal
	// reads the user only as a participant of a course it reads, so it
	// sees the sessions that touched that course and that course's times,
	// not the user's time elsewhere (sitecoursetime is 0).
	courseOnly bool
}

// checkAccess allows a user's statistics to a principal that exports
// every user (ws or site:read). Narrower principals: without a course, the
// user's own scope reads the user; a call about a course (which answers
// the course's names) needs the user to take part in it, and then the
// user's own scope reads everything and a scope on the course reads what
// happened in the course. Every refusal is the same concealed answer, so
// the answer does not tell what exists (the work done before a refusal
// still depends on how far the lookups got).
func (h *Handler) checkAccess(ctx context.Context, p *Principal, u aggregation.UserInfo, course *aggregation.CourseInfo) (target, error) {
	if p.Scopes.CanExport() {
		return target{UserInfo: u}, nil
	}
	refused := func() (target, error) {
		return target{}, lookupFailure(noPermission(fmt.Sprintf("The token may not read the statistics of user %d here.", u.ID)))
	}
	self := p.Scopes.CanReadUser(u.ID)
	switch {
	case course == nil && self:
		return target{UserInfo: u}, nil
	case course == nil, !self && !p.Scopes.CanReadCourse(course.ID):
		return refused()
	}
	ps, err := h.cfg.Directory.Participants(ctx, course.ID, u.ID-1, 1)
	if err != nil {
		return target{}, fmt.Errorf("checking participation: %w", err)
	}
	if len(ps) != 1 || ps[0].ID != u.ID {
		return refused()
	}
	return target{UserInfo: u, courseOnly: !self}, nil
}

// computeAll computes each target's time, in the targets' order, with
// one Service.Users call: the Service reads the batch's distinct users in
// shares of its pool and turns a panic into an EInternal error (Moodle's
// generic exception), so a bad row fails the call, not the process.
func (h *Handler) computeAll(ctx context.Context, ts []target, w aggregation.Window, now int64) ([]*aggregation.Result, error) {
	rs := make([]*aggregation.Result, len(ts))
	if len(ts) == 0 {
		return rs, nil
	}
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	all, err := h.cfg.Service.Users(ctx, ids, aggregation.Query{Policy: h.policy(), Window: w, Now: now})
	if err != nil {
		return nil, fmt.Errorf("computing %d users: %w", len(ids), err)
	}
	for i, t := range ts {
		if rs[i] = all[t.ID]; rs[i] == nil {
			return nil, fmt.Errorf("computing users: no result for user %d", t.ID)
		}
	}
	return rs, nil
}

// policy is the policy of a call: the configured one, else the Service's
// default (read at each call: the site's settings may change).
func (h *Handler) policy() aggregation.Policy {
	if h.cfg.Policy.Name != "" {
		return h.cfg.Policy
	}
	return h.cfg.Service.Policies().Default()
}

func userValue(u aggregation.UserInfo) map[string]any {
	return map[string]any{"id": u.ID, "idnumber": u.IDNumber, "username": u.Username}
}

// sessionsValue summarises the sessions: count, first start, last end,
// shortest, longest and rounded mean elapsed time; all 0 without sessions.
func sessionsValue(ss []aggregation.Session) map[string]any {
	var first, last, lo, hi, total int64
	for i, s := range ss {
		if i == 0 {
			first, lo, hi = s.Start, s.Elapsed, s.Elapsed
		}
		first, last = min(first, s.Start), max(last, s.End)
		lo, hi = min(lo, s.Elapsed), max(hi, s.Elapsed)
		total += s.Elapsed
	}
	var mean int64
	if n := int64(len(ss)); n > 0 {
		mean = (total + n/2) / n
	}
	return map[string]any{
		"sessions": int64(len(ss)), "firstsession": first, "lastsession": last,
		"sessionmin": lo, "sessionmax": hi, "meansession": mean,
	}
}

// sessionsIn returns the sessions that touched the course.
func sessionsIn(ss []aggregation.Session, courseID int64) []aggregation.Session {
	var out []aggregation.Session
	for _, s := range ss {
		if slices.Contains(s.Courses, courseID) {
			out = append(out, s)
		}
	}
	return out
}

// courseSessions returns the start of the first and the end of the last
// session that touched the course (0, 0 when none did).
func courseSessions(ss []aggregation.Session, courseID int64) (first, last int64) {
	for i := range ss { // no copy: a course page asks this of every learner
		s := &ss[i]
		if !slices.Contains(s.Courses, courseID) {
			continue
		}
		if first == 0 || s.Start < first {
			first = s.Start
		}
		last = max(last, s.End)
	}
	return first, last
}

// courseTimes fills the time fields of a course entry. sitecoursetime is
// the time at course level on the front page, as coursetime is for the
// course (the reference's course[SITEID]); 0 when the principal sees only
// the course.
func (h *Handler) courseTimes(res *aggregation.Result, info aggregation.CourseInfo, courseOnly bool) map[string]any {
	m := map[string]any{
		"id": info.ID, "idnumber": info.IDNumber, "shortname": info.ShortName, "fullname": info.FullName,
		"activitytime": int64(0), "coursetime": int64(0), "coursetotal": int64(0), "othertime": int64(0),
		"sitecoursetime": int64(0),
	}
	if cs := res.Course(info.ID); cs != nil {
		m["activitytime"] = cs.Activities.Elapsed
		m["coursetime"] = cs.CourseLevel.Elapsed
		m["coursetotal"] = cs.Total.Elapsed
		m["othertime"] = cs.Other.Elapsed
	}
	if site := res.Course(h.cfg.SiteInfo.SiteID); site != nil && !courseOnly {
		m["sitecoursetime"] = site.CourseLevel.Elapsed
	}
	return m
}

// scoreText is the final grade as Moodle stores it (5 decimals), or "-".
func scoreText(g aggregation.CourseGrade, ok bool) string {
	if !ok || g.Course == nil || g.Course.Value == nil {
		return "-"
	}
	return strconv.FormatFloat(*g.Course.Value, 'f', 5, 64)
}

// reportedCourses lists the courses of a get_user(s)_stats element: every
// course with time (W1) but the front page, or only the requested course.
func (h *Handler) reportedCourses(res *aggregation.Result, course *aggregation.CourseInfo) []int64 {
	var ids []int64
	for _, cs := range res.Courses {
		switch {
		case cs.CourseID == aggregation.SiteCourseID, cs.CourseID == h.cfg.SiteInfo.SiteID:
		case course != nil && cs.CourseID != course.ID:
		default:
			ids = append(ids, cs.CourseID)
		}
	}
	return ids
}

// gradeKey is a (course, user) pair.
type gradeKey struct{ course, user int64 }

// loadGrades reads the final course grades of the users, one query per
// course: users[c] lists the users asked about in course c.
func (h *Handler) loadGrades(ctx context.Context, users map[int64][]int64) (map[gradeKey]aggregation.CourseGrade, error) {
	out := map[gradeKey]aggregation.CourseGrade{}
	for _, c := range slices.Sorted(maps.Keys(users)) {
		gs, err := h.cfg.Directory.Grades(ctx, c, users[c])
		if err != nil {
			return nil, fmt.Errorf("loading grades of course %d: %w", c, err)
		}
		for u, g := range gs {
			out[gradeKey{c, u}] = g
		}
	}
	return out, nil
}

// userStatsBatch builds the get_user_stats / get_users_stats elements of
// a batch: times computed in parallel, then the batch's courses and
// grades loaded once for all its users.
func (h *Handler) userStatsBatch(ctx context.Context, ts []target, course *aggregation.CourseInfo, w aggregation.Window, now int64, score bool) ([]map[string]any, error) {
	rs, err := h.computeAll(ctx, ts, w, now)
	if err != nil {
		return nil, err
	}
	ids := make([][]int64, len(ts))
	inCourse := map[int64][]int64{} // course → users with time there
	for i, res := range rs {
		ids[i] = h.reportedCourses(res, course)
		for _, c := range ids[i] {
			inCourse[c] = append(inCourse[c], ts[i].ID)
		}
	}
	infos := map[int64]aggregation.CourseInfo{}
	if len(inCourse) > 0 {
		if infos, err = h.cfg.Directory.Courses(ctx, slices.Sorted(maps.Keys(inCourse))); err != nil {
			return nil, fmt.Errorf("loading courses: %w", err)
		}
	}
	var grades map[gradeKey]aggregation.CourseGrade
	if score && len(inCourse) > 0 {
		if grades, err = h.loadGrades(ctx, inCourse); err != nil {
			return nil, err
		}
	}
	out := make([]map[string]any, len(ts))
	for i, t := range ts {
		courses := []any{}
		for _, id := range ids[i] {
			info, ok := infos[id]
			if !ok {
				continue // deleted course
			}
			m := h.courseTimes(rs[i], info, t.courseOnly)
			if score {
				g, ok := grades[gradeKey{id, t.ID}]
				m["score"] = scoreText(g, ok)
			}
			courses = append(courses, m)
		}
		sessions := rs[i].Sessions
		if t.courseOnly {
			sessions = sessionsIn(sessions, course.ID)
		}
		out[i] = map[string]any{
			"user":     userValue(t.UserInfo),
			"query":    map[string]any{"from": w.From, "to": w.To},
			"sessions": sessionsValue(sessions),
			"courses":  courses,
		}
	}
	return out, nil
}

// getUserStats is block_use_stats_get_user_stats.
func (h *Handler) getUserStats(ctx context.Context, c *callCtx) error {
	// Everything that needs no lookup first: a narrow principal learns
	// nothing from which of its mistakes is reported.
	now := h.cfg.Now()
	w, err := c.window(now)
	if err != nil {
		return err
	}
	source, uid := c.str("uidsource"), c.str("uid")
	if _, err := userKey(source, uid); err != nil {
		return err
	}
	course, err := h.findCourse(ctx, c.str("cidsource"), c.str("cid"))
	if err != nil {
		return err
	}
	users, err := h.resolveUsers(ctx, source, []string{uid})
	if err != nil {
		return err
	}
	t, err := h.checkAccess(ctx, &c.p, users[0], course)
	if err != nil {
		return err
	}
	vs, err := h.userStatsBatch(ctx, []target{t}, course, w, now, c.flag("score"))
	if err != nil {
		return err
	}
	c.write(vs[0])
	return nil
}

// bulkArgs are the checked arguments of a bulk call.
type bulkArgs struct {
	source string
	uids   []string
	course *aggregation.CourseInfo
	w      aggregation.Window
	now    int64
}

// bulkArgs checks the arguments of a bulk call: the period, the number of
// uids and each uid's form before any lookup, then the course.
func (h *Handler) bulkArgs(ctx context.Context, c *callCtx) (bulkArgs, error) {
	a := bulkArgs{source: c.str("uidsource"), now: h.cfg.Now()}
	var err error
	if a.w, err = c.window(a.now); err != nil {
		return a, err
	}
	list, _ := c.args["uids"].([]any)
	if len(list) > h.cfg.MaxUsers {
		return a, invalidParameterf("uids => Too many users: %d requested, at most %d per call. Split the list into several calls.", len(list), h.cfg.MaxUsers)
	}
	a.uids = make([]string, len(list))
	for i, v := range list {
		a.uids[i], _ = v.(string)
		if _, err := userKey(a.source, a.uids[i]); err != nil {
			return a, err
		}
	}
	if _, err := userKey(a.source, "1"); err != nil {
		return a, err // an unknown uidsource with no uids
	}
	a.course, err = h.findCourse(ctx, c.str("cidsource"), c.str("cid"))
	return a, err
}

// eachBatch resolves and authorises the users in batches of BatchSize and
// calls fn with each batch, so only one batch is held at a time.
func (h *Handler) eachBatch(ctx context.Context, c *callCtx, a bulkArgs, fn func([]target) error) error {
	for start := 0; start < len(a.uids); start += h.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			return aggregation.Errorf(aggregation.EUnavailable, "request cancelled: %v", err)
		}
		end := min(start+h.cfg.BatchSize, len(a.uids))
		users, err := h.resolveUsers(ctx, a.source, a.uids[start:end])
		if err != nil {
			return err
		}
		ts := make([]target, len(users))
		for i, u := range users {
			if ts[i], err = h.checkAccess(ctx, &c.p, u, a.course); err != nil {
				return err
			}
		}
		if err := fn(ts); err != nil {
			return err
		}
	}
	return nil
}

// getUsersStats is block_use_stats_get_users_stats: get_user_stats for
// each uid, streamed batch by batch.
func (h *Handler) getUsersStats(ctx context.Context, c *callCtx) error {
	a, err := h.bulkArgs(ctx, c)
	if err != nil {
		return err
	}
	score := c.flag("score")
	out := c.list()
	err = h.eachBatch(ctx, c, a, func(ts []target) error {
		vals, err := h.userStatsBatch(ctx, ts, a.course, a.w, a.now, score)
		if err != nil {
			return err
		}
		for _, v := range vals {
			out.add(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	out.close()
	return nil
}

// getUsersCourseStats is block_use_stats_get_users_course_stats: each
// user's time in one course, with grades loaded once per batch.
func (h *Handler) getUsersCourseStats(ctx context.Context, c *callCtx) error {
	a, err := h.bulkArgs(ctx, c)
	if err != nil {
		return err
	}
	course := a.course
	if course == nil {
		return invalidParameter("A course is required: give cidsource (id, idnumber or shortname) and cid.")
	}
	score := c.flag("score")
	out := c.list()
	err = h.eachBatch(ctx, c, a, func(ts []target) error {
		rs, err := h.computeAll(ctx, ts, a.w, a.now)
		if err != nil {
			return err
		}
		var grades map[gradeKey]aggregation.CourseGrade
		if score {
			ids := make([]int64, len(ts))
			for i, t := range ts {
				ids[i] = t.ID
			}
			if grades, err = h.loadGrades(ctx, map[int64][]int64{course.ID: ids}); err != nil {
				return err
			}
		}
		for i, t := range ts {
			cd := h.courseTimes(rs[i], *course, t.courseOnly)
			cd["firstsession"], cd["lastsession"] = courseSessions(rs[i].Sessions, course.ID)
			if score {
				g, ok := grades[gradeKey{course.ID, t.ID}]
				cd["score"] = scoreText(g, ok)
			}
			out.add(map[string]any{"user": userValue(t.UserInfo), "coursedata": cd})
		}
		return nil
	})
	if err != nil {
		return err
	}
	out.close()
	return nil
}
