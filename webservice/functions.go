package webservice

import "context"

// The served function names.
const (
	FuncSiteInfo         = "core_webservice_get_site_info"
	FuncUserStats        = "block_use_stats_get_user_stats"
	FuncUsersStats       = "block_use_stats_get_users_stats"
	FuncUsersCourseStats = "block_use_stats_get_users_course_stats"
)

// function is one external function: its parameter and return
// descriptions and its implementation.
type function struct {
	name      string
	component string // "core" or "block_use_stats": decides the reported version
	params    *desc
	returns   *desc
	run       func(ctx context.Context, c *callCtx) error
}

// callCtx is one running call: the principal, the validated arguments and
// the encoder the result is written to.
type callCtx struct {
	h    *Handler
	p    Principal
	args map[string]any
	fn   *function
	enc  *encoder
}

func (c *callCtx) str(name string) string {
	s, _ := c.args[name].(string)
	return s
}

func (c *callCtx) int(name string) int64 {
	n, _ := c.args[name].(int64)
	return n
}

// flag reads score: INT in get_user_stats, BOOL elsewhere (W3: one
// meaning, any non-zero or true asks for the score).
func (c *callCtx) flag(name string) bool {
	switch v := c.args[name].(type) {
	case bool:
		return v
	case int64:
		return v != 0
	}
	return false
}

// write encodes the whole return value.
func (c *callCtx) write(v any) { c.enc.value(c.fn.returns, v) }

// listWriter streams the elements of a multiple-structure return value.
type listWriter struct {
	enc *encoder
	d   *desc
	n   int
}

// list starts streaming the (multiple structure) return value.
func (c *callCtx) list() *listWriter {
	if c.enc.format == formatJSON {
		c.enc.buf.WriteByte('[')
	} else {
		c.enc.buf.WriteString("<MULTIPLE>\n")
	}
	return &listWriter{enc: c.enc, d: c.fn.returns.elem}
}

func (l *listWriter) add(v any) {
	if l.enc.format == formatJSON && l.n > 0 {
		l.enc.buf.WriteByte(',')
	}
	l.n++
	l.enc.value(l.d, v)
}

func (l *listWriter) close() {
	if l.enc.format == formatJSON {
		l.enc.buf.WriteByte(']')
	} else {
		l.enc.buf.WriteString("</MULTIPLE>\n")
	}
}

// Parameter and return descriptions (docs/protocols.md §5.4).
var (
	userDesc = single(
		k("id", value(paramInt, "user id")),
		k("idnumber", value(paramText, "user idnumber")),
		k("username", value(paramText, "username")),
	)
	queryDesc = single(
		k("from", value(paramInt, "start of the period")),
		k("to", value(paramInt, "end of the period")),
	)
	sessionsDesc = single(
		k("sessions", value(paramInt, "number of sessions").opt()),
		k("firstsession", value(paramInt, "start of the first session").opt()),
		k("lastsession", value(paramInt, "end of the last session").opt()),
		k("sessionmin", value(paramInt, "shortest session, seconds").opt()),
		k("sessionmax", value(paramInt, "longest session, seconds").opt()),
		k("meansession", value(paramInt, "mean session, seconds").opt()),
	)
	courseTimes = []key{
		k("id", value(paramInt, "course id")),
		k("idnumber", value(paramText, "course idnumber")),
		k("shortname", value(paramText, "course shortname")),
		k("fullname", value(paramText, "course fullname")),
		k("activitytime", value(paramInt, "time in activities")),
		k("coursetime", value(paramInt, "time at course level")),
		k("coursetotal", value(paramInt, "total time in the course")),
		k("othertime", value(paramInt, "other time carrying the course")),
		k("sitecoursetime", value(paramInt, "time on the site course")),
	}
	scoreKey       = k("score", value(paramText, "final course grade, or -").opt())
	courseStatDesc = single(append(append([]key{}, courseTimes...), scoreKey)...)
	userStatsDesc  = single(
		k("user", userDesc),
		k("query", queryDesc),
		k("sessions", sessionsDesc.opt()),
		k("courses", multiple(courseStatDesc).opt()),
	)
	courseDataDesc = single(append(append([]key{}, courseTimes...),
		k("firstsession", value(paramInt, "start of the first session in the course").opt()),
		k("lastsession", value(paramInt, "end of the last session in the course").opt()),
		scoreKey)...)
	userCourseStatsDesc = single(k("user", userDesc), k("coursedata", courseDataDesc))

	commonParams = []key{
		k("cidsource", value(paramAlpha, "id, idnumber or shortname").dflt("idnumber")),
		k("cid", value(paramText, "course identifier").dflt("0")),
		k("from", value(paramInt, "start of the period").dflt(int64(0))),
		k("to", value(paramInt, "end of the period; 0 = now").dflt(int64(0))),
	}
	userStatsParams = single(append(append([]key{
		k("uidsource", value(paramAlpha, "id, username, idnumber or email")),
		k("uid", value(paramText, "user identifier")),
	}, commonParams...), k("score", value(paramInt, "return the course score").dflt(int64(1))))...)
	usersParams = single(append(append([]key{
		k("uidsource", value(paramAlpha, "id, username, idnumber or email")),
		k("uids", multiple(value(paramText, "user identifier"))),
	}, commonParams...), k("score", value(paramBool, "return the course score").dflt(true)))...)
)

// register builds the function table.
func (h *Handler) register() {
	fns := []*function{
		{name: FuncSiteInfo, component: "core", params: siteInfoParams, returns: siteInfoReturns, run: h.siteInfo},
		{name: FuncUserStats, component: "block_use_stats", params: userStatsParams, returns: userStatsDesc, run: h.getUserStats},
		{name: FuncUsersStats, component: "block_use_stats", params: usersParams, returns: multiple(userStatsDesc), run: h.getUsersStats},
		{name: FuncUsersCourseStats, component: "block_use_stats", params: usersParams, returns: multiple(userCourseStatsDesc), run: h.getUsersCourseStats},
	}
	h.funcs = make(map[string]*function, len(fns))
	for _, f := range fns {
		h.funcs[f.name] = f
		h.names = append(h.names, f.name)
	}
}
