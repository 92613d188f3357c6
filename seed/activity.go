package seed

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// Request origins (logstore_standard_log.origin).
const (
	originWeb uint8 = iota
	originWS
	originCLI
)

var originNames = [...]string{originWeb: "web", originWS: "ws", originCLI: "cli"}

// event is one log row before its id and text columns are attached.
type event struct {
	t       int64
	seq     int32 // generation order within the day: the last sort key
	user    int32
	kind    kind
	origin  uint8
	anon    bool
	course  int32 // course index, -1 when the context is not a course
	cm      int32 // course module index, -1 when not a module context
	related int32
	real    int32 // realuserid (login-as)
	ip      ipAddr
	obj     int64 // objectid for objEvent kinds
	a, b    int64 // kind-specific values for `other`
}

// sess is what the rows of one sitting share.
type sess struct {
	origin uint8
	ip     ipAddr
	real   int32
}

// gen simulates the site's activity one day at a time.
type gen struct {
	s                *site
	r                *rand.Rand
	day              int
	dayStart, dayEnd int64
	weekday          int // 0 Sunday … 6 Saturday
	cur, next        []event
	seq              int32
	lambda           float64 // activity intensity (1 = the model's rates)
	nextEdit         int
	loginAs          int
	ids              struct{ attempt, post, discussion, submission, completion, message, assignGrade, scoValue, scoAttempt int64 }
	cron             []cronItem // completions cron computes next night
	posts            []postNote // posts whose notifications cron sends next night
}

type cronItem struct {
	user int32
	enr  int32
	cm   int32
}

type postNote struct {
	author int32
	course int32
}

// Diurnal weights of session starts by hour (UTC), docs/moodle-data.md §7.
var hourWeights = [24]float64{0.6, 0.3, 0.15, 0.1, 0.1, 0.2, 0.6, 1.8, 4, 6, 7, 7, 5.5, 5.5, 6.5, 6.5, 6, 5, 5, 6.5, 7.5, 7, 4.5, 2}

// Activity by weekday, Sunday first: weekends are quieter.
var weekdayFactor = [7]float64{0.55, 1.1, 1, 1, 1, 0.85, 0.45}

// learnerSessionsPerDay is the mean number of sittings of an average
// learner on a weekday at intensity 1.
const learnerSessionsPerDay = 0.75

func newGen(s *site) *gen {
	return &gen{s: s, lambda: 1}
}

// startDay resets the per-day state; rows that spilled past midnight
// yesterday open today's buffer.
func (g *gen) startDay(d int) {
	g.day = d
	g.dayStart = g.s.start + int64(d)*day
	g.dayEnd = g.dayStart + day
	g.weekday = int((g.dayStart/day + 4) % 7) // 1970-01-01 was a Thursday
	g.cur, g.next = g.next, g.cur[:0]
	g.seq = 0
	g.r = rand.New(rand.NewPCG(g.s.opt.Seed, 0xda7a0000+uint64(d)))
}

// simulate generates the day's rows into g.cur (and g.next for sittings
// running past midnight) and sorts g.cur by (time, user, seq).
func (g *gen) simulate() {
	g.cronNight()
	g.edits()
	for i := range g.s.learners {
		g.learnerDay(&g.s.users[firstLearner-1+i])
	}
	for _, id := range g.s.teachers {
		g.teacherDay(&g.s.users[id-1])
	}
	g.adminDay()
	slices.SortFunc(g.cur, func(a, b event) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.user, b.user), cmp.Compare(a.seq, b.seq))
	})
}

// put records a row; rows at or after the end of the activity are dropped.
func (g *gen) put(e event) {
	if e.t >= g.s.end || e.t < g.s.start {
		return
	}
	e.seq = g.seq
	g.seq++
	if e.t < g.dayEnd {
		g.cur = append(g.cur, e)
	} else {
		g.next = append(g.next, e)
	}
}

func (g *gen) ev(k kind, t int64, user int64, ss *sess) event {
	return event{t: t, user: int32(user), kind: k, origin: ss.origin, ip: ss.ip, real: ss.real, course: -1, cm: -1}
}

// ---- random helpers ------------------------------------------------------

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) between(lo, hi int64) int64 { return lo + g.r.Int64N(hi-lo+1) }

// poisson draws a Poisson count with mean m.
func (g *gen) poisson(m float64) int {
	if m <= 0 {
		return 0
	}
	if m > 30 {
		return max(0, int(math.Round(m+math.Sqrt(m)*g.r.NormFloat64())))
	}
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= g.r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// geometric draws the number of failures before a success of chance p.
func (g *gen) geometric(p float64) int {
	return int(math.Log(1-g.r.Float64()) / math.Log(1-p))
}

// lognormal draws seconds around median with spread sigma, capped.
func (g *gen) lognormal(median, sigma float64, limit int64) int64 {
	return max(1, min(limit, int64(median*math.Exp(sigma*g.r.NormFloat64()))))
}

// gap is the pause between two clicks: usually seconds to minutes, now
// and then a 30–90 minute break (docs/moodle-data.md §7).
func (g *gen) gap() int64 {
	if g.chance(0.025) {
		return g.between(30*60, 90*60)
	}
	return g.lognormal(40, 0.9, 20*60)
}

// startTime draws a sitting start in the day by the diurnal curve.
func (g *gen) startTime() int64 {
	total := 0.0
	for _, w := range hourWeights {
		total += w
	}
	x := g.r.Float64() * total
	h := 0
	for ; h < 23 && x >= hourWeights[h]; h++ {
		x -= hourWeights[h]
	}
	return g.dayStart + int64(h)*3600 + g.r.Int64N(3600)
}

// startTimes draws n sitting starts, in order.
func (g *gen) startTimes(n int) []int64 {
	ts := make([]int64, n)
	for i := range ts {
		ts[i] = g.startTime()
	}
	slices.Sort(ts)
	return ts
}

func (g *gen) campusIP() ipAddr {
	if g.chance(0.5) {
		return ipAddr{v: 193<<24 | 52<<16 | g.r.Uint32N(16)<<8 | (1 + g.r.Uint32N(254))}
	}
	return ipAddr{v: 147<<24 | 210<<16 | g.r.Uint32N(64)<<8 | (1 + g.r.Uint32N(254))}
}

func (g *gen) mobileIP() ipAddr {
	nets := [...]uint32{37<<24 | 160<<16, 80<<24 | 214<<16, 92<<24 | 184<<16, 176<<24 | 128<<16}
	return ipAddr{v: nets[g.r.IntN(len(nets))] | g.r.Uint32N(1<<16-2) + 1}
}

// ---- learners ------------------------------------------------------------

func (g *gen) learnerDay(u *person) {
	if len(u.enrols) == 0 {
		return
	}
	m := g.lambda * learnerSessionsPerDay * u.engagement * weekdayFactor[g.weekday]
	n := g.poisson(m)
	if n == 0 {
		return
	}
	end := int64(0)
	for _, t := range g.startTimes(n) {
		if t < end+20*60 {
			t = end + 20*60 + g.r.Int64N(40*60)
		}
		if t >= g.dayEnd {
			break
		}
		end = g.learnerSession(u, t)
	}
}

// learnerSession generates one sitting and returns its last time.
func (g *gen) learnerSession(u *person, t int64) int64 {
	ss := &sess{origin: originWeb, ip: u.home}
	if u.mobile && g.chance(0.45) {
		ss.origin, ss.ip = originWS, g.mobileIP()
	} else if h := (t % day) / 3600; g.weekday >= 1 && g.weekday <= 5 && h >= 8 && h < 18 && g.chance(0.5) {
		ss.ip = g.campusIP()
	}
	if ss.origin == originWeb {
		if g.chance(0.035) { // a mistyped password, or a mistyped username
			e := g.ev(kLoginFailed, t, u.id, ss)
			e.a, e.b = u.id, 3
			if g.chance(0.25) {
				e.user, e.b = 0, 1
			}
			g.put(e)
			t += g.between(4, 30)
		}
		if g.chance(0.88) {
			g.put(g.ev(kLoggedIn, t, u.id, ss))
			if g.chance(0.8) {
				t += g.between(0, 2)
				g.put(g.ev(kDashboardViewed, t, u.id, ss))
			}
		}
		if g.chance(0.08) { // the front page and its announcements
			t += g.gap()
			e := g.ev(kCourseViewed, t, u.id, ss)
			e.course = 0
			g.put(e)
			if g.chance(0.3) {
				t += g.gap()
				g.modViewed(u.id, 0, t, ss)
			}
		}
	} else {
		e := g.ev(kWSFunctionCalled, t, u.id, ss)
		e.a = 0
		g.put(e)
	}
	visits := 1 + min(g.geometric(0.45), 8)
	ei := g.pickEnrolment(u)
	for v := range visits {
		if v > 0 {
			t += g.gap()
			if g.chance(0.35) {
				ei = g.pickEnrolment(u)
			}
		}
		t = g.visit(u, ei, t, ss)
	}
	if ss.origin == originWeb && g.chance(0.15) {
		t += g.lognormal(20, 0.8, 600)
		e := g.ev(kLoggedOut, t, u.id, ss)
		g.put(e)
	}
	return t
}

func (g *gen) pickEnrolment(u *person) int32 {
	total := 0.0
	for _, ei := range u.enrols {
		total += g.s.enrols[ei].weight
	}
	x := g.r.Float64() * total
	for _, ei := range u.enrols {
		if x < g.s.enrols[ei].weight {
			return ei
		}
		x -= g.s.enrols[ei].weight
	}
	return u.enrols[len(u.enrols)-1]
}

// visit is a stay in one course: the course page then a few activities.
func (g *gen) visit(u *person, ei int32, t int64, ss *sess) int64 {
	en := &g.s.enrols[ei]
	ci := en.course
	c := &g.s.courses[ci]
	if ss.origin == originWS {
		e := g.ev(kWSFunctionCalled, t, u.id, ss)
		e.a = 1
		g.put(e)
	}
	e := g.ev(kCourseViewed, t, u.id, ss)
	e.course = ci
	g.put(e)
	if g.chance(0.1) {
		t += g.between(2, 20)
		sec := g.r.IntN(len(c.sections))
		e := g.ev(kSectionViewed, t, u.id, ss)
		e.course, e.obj, e.a = ci, c.sections[sec], int64(sec)
		g.put(e)
	}
	actions := 1 + min(g.geometric(0.3), 12)
	for range actions {
		t += g.gap()
		x := g.r.Float64()
		switch {
		case x < 0.04:
			e := g.ev(kGradeReportViewed, t, u.id, ss)
			e.course, e.related = ci, int32(u.id)
			g.put(e)
		case x < 0.055:
			k := kForumListViewed
			if g.chance(0.5) {
				k = kQuizListViewed
			}
			e := g.ev(k, t, u.id, ss)
			e.course = ci
			g.put(e)
		case x < 0.07:
			e := g.ev(kUserListViewed, t, u.id, ss)
			e.course = ci
			g.put(e)
		case x < 0.13:
			e := g.ev(kCourseViewed, t, u.id, ss)
			e.course = ci
			g.put(e)
		default:
			if cm := g.pickCM(c, t); cm >= 0 {
				t = g.activity(u, ei, cm, t, ss)
			}
		}
	}
	return t
}

// available says whether a course module exists at time t.
func (m *courseModule) available(t int64) bool {
	return m.added <= t && (m.deleted == 0 || m.deleted > t)
}

// pickCM chooses an activity of the course, mostly of the current weeks.
func (g *gen) pickCM(c *course, t int64) int32 {
	if len(c.viewable) == 0 {
		return -1
	}
	week := int((t-c.start)/week) + 1
	focus := g.chance(0.6)
	found := int32(-1)
	for range 8 {
		i := c.viewable[g.r.IntN(len(c.viewable))]
		m := &g.s.cms[i]
		if !m.available(t) {
			continue
		}
		if !focus || m.sectionNum == 0 || m.sectionNum >= week-1 {
			return i
		}
		found = i
	}
	return found
}

// modViewed logs the module's course_module_viewed row.
func (g *gen) modViewed(user int64, cmi int32, t int64, ss *sess) {
	m := &g.s.cms[cmi]
	e := g.ev(kModViewed+kind(m.mod), t, user, ss)
	e.course, e.cm, e.anon = m.course, cmi, m.anon
	g.put(e)
}

// activity is the use of one course module and its follow-up rows.
func (g *gen) activity(u *person, ei int32, cmi int32, t int64, ss *sess) int64 {
	m := &g.s.cms[cmi]
	en := &g.s.enrols[ei]
	at := func(k kind, t int64) event {
		e := g.ev(k, t, u.id, ss)
		e.course, e.cm = m.course, cmi
		return e
	}
	g.modViewed(u.id, cmi, t, ss)
	if m.completionView && !en.completed(m.local) {
		en.complete(m.local)
		g.completion(u.id, cmi, t, ss)
	}
	switch m.mod {
	case mPage, mResource, mURL:
		t += g.lognormal(120, 0.9, 25*60)
	case mForum:
		for range g.r.IntN(4) {
			if len(m.discussions) == 0 {
				break
			}
			t += g.gap()
			e := at(kDiscussionViewed, t)
			e.obj = m.discussions[g.r.IntN(len(m.discussions))]
			g.put(e)
		}
		if !m.news && g.chance(0.12) {
			t += g.lognormal(240, 0.6, 30*60)
			g.post(u.id, cmi, t, ss, len(m.discussions) == 0 || g.chance(0.3))
		}
	case mAssign:
		e := at(kSubmissionStatusViewed, t)
		e.a = m.instance
		g.put(e)
		gi := m.graded
		if en.grade[gi] == gradeNone && t < m.due+7*day && g.chance(0.3) {
			t += g.gap()
			e := at(kSubmissionFormViewed, t)
			e.related, e.a = int32(u.id), m.instance
			g.put(e)
			t += g.lognormal(600, 0.7, 50*60)
			g.ids.submission++
			e = at(kAssessableSubmitted, t)
			e.obj = g.ids.submission
			g.put(e)
			t += g.between(1, 3)
			e = at(kSubmissionStatusViewed, t)
			e.a = m.instance
			g.put(e)
			en.grade[gi] = gradeSubmitted
			c := &g.s.courses[m.course]
			c.pending = append(c.pending, pending{enrol: ei, cm: cmi, at: t})
		}
	case mQuiz:
		gi := m.graded
		if en.attempts[gi] < 2 && t < m.due && g.chance(0.45) {
			en.attempts[gi]++
			g.ids.attempt++
			id := g.ids.attempt
			t += g.between(5, 30)
			e := at(kAttemptStarted, t)
			e.obj, e.related, e.a = id, int32(u.id), m.instance
			g.put(e)
			for p := range m.pages {
				e := at(kAttemptViewed, t)
				e.obj, e.related, e.a, e.b = id, int32(u.id), m.instance, int64(p)
				g.put(e)
				t += g.lognormal(90, 0.7, 15*60)
			}
			e = at(kAttemptSummaryViewed, t)
			e.obj, e.related, e.a = id, int32(u.id), m.instance
			g.put(e)
			t += g.between(5, 40)
			e = at(kAttemptSubmitted, t)
			e.obj, e.related, e.a = id, int32(u.id), m.instance
			g.put(e)
			frac := min(1, max(0.05, u.ability+0.15*g.r.NormFloat64()))
			grade := int32(math.Round(frac*1000)) * 1000 // out of 10, two decimals, in 1e-5
			if grade > en.grade[gi] {
				en.grade[gi] = grade
			}
			g.graded(u.id, ei, cmi, t, ss, en.grade[gi])
			if !en.completed(m.local) {
				en.complete(m.local)
				g.completion(u.id, cmi, t, ss)
			}
			if g.chance(0.7) {
				t += g.between(2, 10)
				e = at(kAttemptReviewed, t)
				e.obj, e.related, e.a = id, int32(u.id), m.instance
				g.put(e)
				t += g.lognormal(60, 0.8, 10*60)
			}
		}
	case mScorm:
		t += g.between(3, 10)
		g.ids.scoAttempt++
		e := at(kScoLaunched, t)
		e.obj, e.a = m.instance, m.instance
		g.put(e)
		t += g.lognormal(900, 0.5, 50*60)
		for _, k := range [...]kind{kStatusSubmitted, kScorerawSubmitted} {
			g.ids.scoValue++
			e := at(k, t)
			e.obj, e.related, e.a = g.ids.scoValue, int32(u.id), g.ids.scoAttempt
			if k == kScorerawSubmitted {
				e.b = int64(math.Round(100 * min(1, max(0.1, u.ability+0.1*g.r.NormFloat64()))))
			}
			g.put(e)
		}
		if m.completion != 0 && !en.completed(m.local) {
			g.cron = append(g.cron, cronItem{user: int32(u.id), enr: ei, cm: cmi})
		}
	case mFeedback:
		if !en.completed(m.local) && g.chance(0.3) {
			t += g.lognormal(180, 0.5, 20*60)
			e := at(kFeedbackResponseSubmitted, t)
			e.anon, e.a = m.anon, m.instance
			g.ids.completion++
			e.obj = g.ids.completion
			g.put(e)
			en.complete(m.local)
			g.completion(u.id, cmi, t, ss)
		}
	}
	return t
}

// completion logs a course_module_completion_updated row in the same
// second as its cause.
func (g *gen) completion(user int64, cmi int32, t int64, ss *sess) {
	m := &g.s.cms[cmi]
	g.ids.completion++
	e := g.ev(kCompletionUpdated, t, user, ss)
	e.course, e.cm, e.related, e.obj = m.course, cmi, int32(user), g.ids.completion
	g.put(e)
}

// graded logs core's user_graded row (course context) for a new grade.
func (g *gen) graded(actor int64, ei int32, cmi int32, t int64, ss *sess, grade int32) {
	m := &g.s.cms[cmi]
	en := &g.s.enrols[ei]
	gi := m.graded
	if en.gradeID[gi] == 0 {
		en.gradeID[gi] = g.s.nextGrade
		g.s.nextGrade++
	}
	en.gradeTime[gi] = t
	e := g.ev(kUserGraded, t, actor, ss)
	e.course, e.related, e.obj, e.a, e.b = m.course, int32(en.user), en.gradeID[gi], m.gradeItem, int64(grade)
	g.put(e)
}

// post logs a forum post (and the discussion when it starts one): the
// rows share their second, as they do in Moodle.
func (g *gen) post(user int64, cmi int32, t int64, ss *sess, newDiscussion bool) {
	m := &g.s.cms[cmi]
	at := func(k kind) event {
		e := g.ev(k, t, user, ss)
		e.course, e.cm = m.course, cmi
		return e
	}
	var disc int64
	if newDiscussion {
		g.ids.discussion++
		disc = g.ids.discussion
		e := at(kDiscussionCreated)
		e.obj, e.a = disc, m.instance
		g.put(e)
		if len(m.discussions) < 32 {
			m.discussions = append(m.discussions, disc)
		} else {
			m.discussions[g.r.IntN(32)] = disc
		}
	} else {
		disc = m.discussions[g.r.IntN(len(m.discussions))]
	}
	g.ids.post++
	e := at(kPostCreated)
	e.obj, e.a, e.b = g.ids.post, disc, m.instance
	g.put(e)
	e = at(kForumAssessableUploaded)
	e.obj, e.a, e.b = g.ids.post, disc, 0
	if newDiscussion {
		e.b = 1
	}
	g.put(e)
	g.posts = append(g.posts, postNote{author: int32(user), course: m.course})
}

// ---- teachers, admin, cron -----------------------------------------------

// edits logs the teachers' creations and deletions of course modules
// scheduled today.
func (g *gen) edits() {
	s := g.s
	for ; g.nextEdit < len(s.edits) && s.edits[g.nextEdit].at < g.dayEnd; g.nextEdit++ {
		ed := s.edits[g.nextEdit]
		if ed.at < g.dayStart {
			continue
		}
		m := &s.cms[ed.cm]
		c := &s.courses[m.course]
		ss := &sess{origin: originWeb, ip: g.campusIP()}
		e := g.ev(kCourseViewed, max(g.dayStart, ed.at-g.between(20, 300)), c.teacher, ss)
		e.course = m.course
		g.put(e)
		k := kCMCreated
		if ed.del {
			k = kCMDeleted
		}
		e = g.ev(k, ed.at, c.teacher, ss)
		e.course, e.cm = m.course, ed.cm
		g.put(e)
	}
}

func (g *gen) teacherDay(tu *person) {
	m := g.lambda * tu.engagement * 0.8
	if g.weekday == 0 || g.weekday == 6 {
		m *= 0.25
	}
	n := min(g.poisson(m), 3+int(g.lambda))
	end := int64(0)
	for _, t := range g.startTimes(n) {
		if t < end+30*60 {
			t = end + 30*60
		}
		if t >= g.dayEnd {
			break
		}
		end = g.teacherSession(tu, t)
	}
}

func (g *gen) teacherSession(tu *person, t int64) int64 {
	ss := &sess{origin: originWeb, ip: tu.home}
	if g.chance(0.7) {
		ss.ip = g.campusIP()
	}
	g.put(g.ev(kLoggedIn, t, tu.id, ss))
	if g.chance(0.7) {
		t += g.between(0, 2)
		g.put(g.ev(kDashboardViewed, t, tu.id, ss))
	}
	for _, ci := range tu.teaches {
		if len(tu.teaches) > 2 && !g.chance(0.6) {
			continue
		}
		c := &g.s.courses[ci]
		t += g.gap()
		e := g.ev(kCourseViewed, t, tu.id, ss)
		e.course = ci
		g.put(e)
		if g.chance(0.15) {
			t += g.gap()
			e := g.ev(kUserListViewed, t, tu.id, ss)
			e.course = ci
			g.put(e)
		}
		// Grade what was submitted before now.
		graded, keep := 0, c.pending[:0]
		for _, p := range c.pending {
			if p.at >= t || graded >= 12 {
				keep = append(keep, p)
				continue
			}
			if graded == 0 {
				t += g.gap()
				e := g.ev(kGradingTableViewed, t, tu.id, ss)
				e.course, e.cm, e.a = ci, p.cm, g.s.cms[p.cm].instance
				g.put(e)
			}
			graded++
			t += g.lognormal(90, 0.6, 15*60)
			en := &g.s.enrols[p.enrol]
			u := &g.s.users[en.user-1]
			grade := int32(math.Round(100*min(1, max(0.1, u.ability+0.12*g.r.NormFloat64())))) * 100000
			en.grade[g.s.cms[p.cm].graded] = grade
			g.ids.assignGrade++
			e := g.ev(kSubmissionGraded, t, tu.id, ss)
			e.course, e.cm, e.related, e.obj = ci, p.cm, int32(en.user), g.ids.assignGrade
			g.put(e)
			g.graded(tu.id, p.enrol, p.cm, t, ss, grade)
		}
		c.pending = keep
		if news := c.cms[0]; g.chance(0.1) && g.s.cms[news].available(t) { // an announcement
			t += g.lognormal(300, 0.5, 30*60)
			g.post(tu.id, news, t, ss, true)
		}
		if g.chance(0.08) {
			if cmi := g.pickCM(c, t); cmi >= 0 {
				t += g.gap()
				e := g.ev(kCMUpdated, t, tu.id, ss)
				e.course, e.cm = ci, cmi
				g.put(e)
			}
		}
	}
	if g.chance(0.3) {
		t += g.lognormal(30, 0.8, 600)
		g.put(g.ev(kLoggedOut, t, tu.id, ss))
	}
	return t
}

// adminDay: the administrator browses, and now and then logs in as a
// learner to see what they see (rows with realuserid = 2).
func (g *gen) adminDay() {
	s := g.s
	admin := &s.users[adminID-1]
	wf := weekdayFactor[g.weekday]
	n := min(g.poisson(0.6*wf*g.lambda), 2+int(g.lambda))
	for _, t := range g.startTimes(n) {
		ss := &sess{origin: originWeb, ip: admin.home}
		g.put(g.ev(kLoggedIn, t, adminID, ss))
		t += g.between(0, 2)
		g.put(g.ev(kDashboardViewed, t, adminID, ss))
		for range 1 + g.r.IntN(3) {
			ci := int32(1 + g.r.IntN(len(s.courses)-1))
			t += g.gap()
			e := g.ev(kCourseViewed, t, adminID, ss)
			e.course = ci
			g.put(e)
			if c := &s.courses[ci]; len(c.learners) > 0 && g.chance(0.4) {
				t += g.gap()
				e := g.ev(kUserProfileViewed, t, adminID, ss)
				e.course, e.related = ci, int32(s.enrols[c.learners[g.r.IntN(len(c.learners))]].user)
				g.put(e)
			}
		}
		if g.chance(0.5) {
			g.put(g.ev(kLoggedOut, t+g.gap(), adminID, ss))
		}
	}
	p := min(0.8, (0.03+float64(s.learners)/3000)*wf*g.lambda)
	force := g.loginAs == 0 && g.day == s.opt.Days/2
	if force || g.chance(p) {
		g.loginAsSession()
	}
}

func (g *gen) loginAsSession() {
	s := g.s
	target := &s.users[firstLearner-1+g.r.IntN(s.learners)]
	if len(target.enrols) == 0 {
		return
	}
	g.loginAs++
	t := g.dayStart + g.between(9*3600, 17*3600)
	admin := &s.users[adminID-1]
	ss := &sess{origin: originWeb, ip: admin.home}
	ei := target.enrols[g.r.IntN(len(target.enrols))]
	ci := s.enrols[ei].course
	g.put(g.ev(kLoggedIn, t, adminID, ss))
	t += g.gap()
	e := g.ev(kCourseViewed, t, adminID, ss)
	e.course = ci
	g.put(e)
	t += g.gap()
	e = g.ev(kUserListViewed, t, adminID, ss)
	e.course = ci
	g.put(e)
	t += g.gap()
	as := &sess{origin: originWeb, ip: ss.ip, real: adminID}
	e = g.ev(kLoggedInAs, t, target.id, as)
	e.course, e.related = ci, int32(target.id)
	g.put(e)
	t += g.between(1, 5)
	e = g.ev(kCourseViewed, t, target.id, as)
	e.course = ci
	g.put(e)
	for range 1 + g.r.IntN(3) {
		if cmi := g.pickCM(&s.courses[ci], t); cmi >= 0 {
			t += g.gap()
			g.modViewed(target.id, cmi, t, as)
		}
	}
	t += g.gap()
	g.put(g.ev(kLoggedOut, t, target.id, as))
}

// cronNight is the scheduled tasks' work between 02:00 and 03:00 (origin
// cli, no IP): completion the activities reported yesterday, forum
// notifications and assignment due-date reminders.
func (g *gen) cronNight() {
	s := g.s
	ss := &sess{origin: originCLI}
	t := g.dayStart + 2*3600 + g.r.Int64N(1800)
	for _, it := range g.cron {
		en := &s.enrols[it.enr]
		m := &s.cms[it.cm]
		if en.completed(m.local) {
			continue
		}
		en.complete(m.local)
		t += g.r.Int64N(2)
		g.ids.completion++
		e := g.ev(kCompletionUpdated, t, adminID, ss)
		e.course, e.cm, e.related, e.obj = m.course, it.cm, it.user, g.ids.completion
		g.put(e)
	}
	g.cron = g.cron[:0]
	for _, p := range g.posts {
		c := &s.courses[p.course]
		for range min(len(c.learners), 1+g.r.IntN(3)) {
			to := s.enrols[c.learners[g.r.IntN(len(c.learners))]].user
			if int32(to) == p.author {
				continue
			}
			t += g.r.Int64N(2)
			g.ids.message++
			e := g.ev(kMessageSent, t, int64(p.author), ss)
			e.related, e.obj, e.a = int32(to), g.ids.message, s.courses[p.course].id
			g.put(e)
		}
	}
	g.posts = g.posts[:0]
	for ci := 1; ci < len(s.courses); ci++ {
		c := &s.courses[ci]
		for _, cmi := range c.graded {
			m := &s.cms[cmi]
			if m.mod != mAssign || m.due < g.dayStart+day || m.due >= g.dayStart+2*day {
				continue
			}
			for _, ei := range c.learners {
				en := &s.enrols[ei]
				if en.grade[m.graded] != gradeNone {
					continue
				}
				t += g.r.Int64N(2)
				g.ids.message++
				e := g.ev(kMessageSent, t, 0, ss)
				e.related, e.obj, e.a = int32(en.user), g.ids.message, c.id
				g.put(e)
			}
		}
	}
}
