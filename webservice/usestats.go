package webservice

import (
	"context"
	"fmt"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/usestats/usestats/aggregation"
)

// The block_use_stats functions (usestats-reference §7.3) with the fixes
// W1–W3 of §8: every course's activity time is resolved (not only the
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
			return aggregation.UserKey{}, invalidParameterf(`uid "%s" is not a user id (uidsource = id)`, uid)
		}
		return aggregation.UserKey{ID: id}, nil
	case "username":
		return aggregation.UserKey{Username: uid}, nil
	case "idnumber":
		return aggregation.UserKey{IDNumber: uid}, nil
	case "email":
		return aggregation.UserKey{Email: uid}, nil
	}
	return aggregation.UserKey{}, invalidParameterf(`Unknown uidsource "%s": expected id, username, idnumber or email`, source)
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
			return nil, invalidParameterf(`cid "%s" is not a course id (cidsource = id)`, cid)
		}
		key.ID = id
	case "idnumber":
		key.IDNumber = cid
	case "shortname":
		key.ShortName = cid
	default:
		return nil, invalidParameterf(`Unknown cidsource "%s": expected id, idnumber or shortname`, source)
	}
	course, err := h.cfg.Directory.FindCourse(ctx, key)
	switch aggregation.ErrorCode(err) {
	case "":
		return &course, nil
	case aggregation.ENotFound:
		return nil, invalidParameterf(`Course not found: %s = "%s"`, source, cid)
	}
	return nil, fmt.Errorf("finding course %s=%q: %w", source, cid, err)
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
				return nil, invalidParameterf(`User not found: id = "%s"`, uids[i])
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
			return nil, invalidParameterf(`User not found: %s = "%s"`, source, uids[i])
		case aggregation.EInvalid:
			return nil, invalidParameterf(`User %s = "%s": %s`, source, uids[i], aggregation.ErrorMessage(err))
		default:
			return nil, fmt.Errorf("finding user %s=%q: %w", source, uids[i], err)
		}
	}
	return out, nil
}

// checkAccess allows a user's statistics to a principal that exports
// every user (ws or site:read), that reads the user (the user's own
// scope) or, when the call is about one course, that reads the course and
// the user takes part in it.
func (h *Handler) checkAccess(ctx context.Context, p *Principal, u aggregation.UserInfo, course *aggregation.CourseInfo) error {
	if p.Scopes.CanExport() || p.Scopes.CanReadUser(u.ID) {
		return nil
	}
	if course != nil && p.Scopes.CanReadCourse(course.ID) {
		ps, err := h.cfg.Directory.Participants(ctx, course.ID, u.ID-1, 1)
		if err != nil {
			return fmt.Errorf("checking participation: %w", err)
		}
		if len(ps) == 1 && ps[0].ID == u.ID {
			return nil
		}
		return noPermission(fmt.Sprintf("User %d is not a participant of course %d.", u.ID, course.ID))
	}
	return noPermission(fmt.Sprintf("The token may not read the statistics of user %d.", u.ID))
}

// parallel calls fn(ctx, i) for i in [0, n) on up to Workers goroutines
// and returns the first error; the others are then cancelled.
func (h *Handler) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.cfg.Workers)
	for i := range n {
		g.Go(func() error { return fn(gctx, i) })
	}
	return g.Wait()
}

// compute runs the time algorithm for one user and window.
func (h *Handler) compute(ctx context.Context, userID int64, w aggregation.Window, now int64) (*aggregation.Result, error) {
	acc := aggregation.NewAccumulator(h.cfg.Location)
	p, err := aggregation.ComputeUser(ctx, h.cfg.Logs, userID, h.cfg.Policy, w, now, acc)
	if err != nil {
		return nil, fmt.Errorf("computing user %d: %w", userID, err)
	}
	return acc.Result(userID, p, w), nil
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

// courseSessions returns the start of the first and the end of the last
// session that touched the course (0, 0 when none did).
func courseSessions(ss []aggregation.Session, courseID int64) (first, last int64) {
	for _, s := range ss {
		for _, c := range s.Courses {
			if c == courseID {
				if first == 0 || s.Start < first {
					first = s.Start
				}
				last = max(last, s.End)
				break
			}
		}
	}
	return first, last
}

// courseTimes fills the time fields of a course entry.
func (h *Handler) courseTimes(res *aggregation.Result, info aggregation.CourseInfo) map[string]any {
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
	if site := res.Course(h.cfg.SiteInfo.SiteID); site != nil {
		m["sitecoursetime"] = site.Total.Elapsed
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

// userStats builds one element of get_user_stats / get_users_stats:
// every course with time (W1), or only the requested course.
func (h *Handler) userStats(ctx context.Context, u aggregation.UserInfo, course *aggregation.CourseInfo, w aggregation.Window, now int64, score bool) (map[string]any, error) {
	res, err := h.compute(ctx, u.ID, w, now)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, cs := range res.Courses {
		switch {
		case cs.CourseID == aggregation.SiteCourseID, cs.CourseID == h.cfg.SiteInfo.SiteID:
		case course != nil && cs.CourseID != course.ID:
		default:
			ids = append(ids, cs.CourseID)
		}
	}
	infos := map[int64]aggregation.CourseInfo{}
	if len(ids) > 0 {
		if infos, err = h.cfg.Directory.Courses(ctx, ids); err != nil {
			return nil, fmt.Errorf("loading courses: %w", err)
		}
	}
	courses := []any{}
	for _, id := range ids {
		info, ok := infos[id]
		if !ok {
			continue // deleted course
		}
		m := h.courseTimes(res, info)
		if score {
			g, err := h.cfg.Directory.Grades(ctx, id, []int64{u.ID})
			if err != nil {
				return nil, fmt.Errorf("loading grades: %w", err)
			}
			cg, ok := g[u.ID]
			m["score"] = scoreText(cg, ok)
		}
		courses = append(courses, m)
	}
	return map[string]any{
		"user":     userValue(u),
		"query":    map[string]any{"from": w.From, "to": w.To},
		"sessions": sessionsValue(res.Sessions),
		"courses":  courses,
	}, nil
}

// getUserStats is block_use_stats_get_user_stats.
func (h *Handler) getUserStats(ctx context.Context, c *callCtx) error {
	source := c.str("uidsource")
	course, err := h.findCourse(ctx, c.str("cidsource"), c.str("cid"))
	if err != nil {
		return err
	}
	users, err := h.resolveUsers(ctx, source, []string{c.str("uid")})
	if err != nil {
		return err
	}
	if err := h.checkAccess(ctx, &c.p, users[0], course); err != nil {
		return err
	}
	now := h.cfg.Now()
	w, err := c.window(now)
	if err != nil {
		return err
	}
	v, err := h.userStats(ctx, users[0], course, w, now, c.flag("score"))
	if err != nil {
		return err
	}
	c.write(v)
	return nil
}

// uids returns the uids argument, refusing more than MaxUsers.
func (h *Handler) uids(c *callCtx) ([]string, error) {
	list, _ := c.args["uids"].([]any)
	if len(list) > h.cfg.MaxUsers {
		return nil, invalidParameterf("uids => Too many users: %d requested, at most %d per call. Split the list into several calls.", len(list), h.cfg.MaxUsers)
	}
	out := make([]string, len(list))
	for i, v := range list {
		out[i], _ = v.(string)
	}
	return out, nil
}

// eachBatch resolves and authorises the users in batches of BatchSize and
// calls fn with each batch, so only one batch is held at a time.
func (h *Handler) eachBatch(ctx context.Context, c *callCtx, course *aggregation.CourseInfo, fn func([]aggregation.UserInfo) error) error {
	uids, err := h.uids(c)
	if err != nil {
		return err
	}
	source := c.str("uidsource")
	if _, err := userKey(source, "1"); err != nil && source != "id" {
		return err
	}
	for start := 0; start < len(uids); start += h.cfg.BatchSize {
		if err := ctx.Err(); err != nil {
			return aggregation.Errorf(aggregation.EUnavailable, "request cancelled: %v", err)
		}
		end := min(start+h.cfg.BatchSize, len(uids))
		users, err := h.resolveUsers(ctx, source, uids[start:end])
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := h.checkAccess(ctx, &c.p, u, course); err != nil {
				return err
			}
		}
		if err := fn(users); err != nil {
			return err
		}
	}
	return nil
}

// getUsersStats is block_use_stats_get_users_stats: get_user_stats for
// each uid, streamed batch by batch.
func (h *Handler) getUsersStats(ctx context.Context, c *callCtx) error {
	course, err := h.findCourse(ctx, c.str("cidsource"), c.str("cid"))
	if err != nil {
		return err
	}
	now := h.cfg.Now()
	w, err := c.window(now)
	if err != nil {
		return err
	}
	score := c.flag("score")
	out := c.list()
	err = h.eachBatch(ctx, c, course, func(users []aggregation.UserInfo) error {
		vals := make([]map[string]any, len(users))
		err := h.parallel(ctx, len(users), func(ctx context.Context, i int) (err error) {
			vals[i], err = h.userStats(ctx, users[i], course, w, now, score)
			return err
		})
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
	course, err := h.findCourse(ctx, c.str("cidsource"), c.str("cid"))
	if err != nil {
		return err
	}
	if course == nil {
		return invalidParameter("A course is required: give cidsource (id, idnumber or shortname) and cid.")
	}
	now := h.cfg.Now()
	w, err := c.window(now)
	if err != nil {
		return err
	}
	score := c.flag("score")
	out := c.list()
	err = h.eachBatch(ctx, c, course, func(users []aggregation.UserInfo) error {
		var grades map[int64]aggregation.CourseGrade
		if score {
			ids := make([]int64, len(users))
			for i, u := range users {
				ids[i] = u.ID
			}
			var err error
			if grades, err = h.cfg.Directory.Grades(ctx, course.ID, ids); err != nil {
				return fmt.Errorf("loading grades: %w", err)
			}
		}
		vals := make([]map[string]any, len(users))
		err := h.parallel(ctx, len(users), func(ctx context.Context, i int) error {
			u := users[i]
			res, err := h.compute(ctx, u.ID, w, now)
			if err != nil {
				return err
			}
			cd := h.courseTimes(res, *course)
			cd["firstsession"], cd["lastsession"] = courseSessions(res.Sessions, course.ID)
			if score {
				g, ok := grades[u.ID]
				cd["score"] = scoreText(g, ok)
			}
			vals[i] = map[string]any{"user": userValue(u), "coursedata": cd}
			return nil
		})
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
