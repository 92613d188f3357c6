package seed

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

const (
	day  = 86400
	week = 7 * day

	guestID      = 1
	adminID      = 2
	firstLearner = 3

	siteWWWRoot = "http://moodle.demo.test"

	gradeNone      = -1 // no grade and no submission
	gradeSubmitted = -2 // submitted, not graded yet
)

// ipAddr is a client address: an IPv4 address, or (six) the low 32 bits of
// an IPv6 address in a residential /32; zero is "none".
type ipAddr struct {
	v   uint32
	six bool
}

func (a ipAddr) String() string {
	if a.six {
		return fmt.Sprintf("2a01:cb%02x:%x:%x::%x", a.v>>24, (a.v>>12)&0xfff, a.v&0xfff, 1+a.v%0xfff)
	}
	return fmt.Sprintf("%d.%d.%d.%d", a.v>>24, (a.v>>16)&0xff, (a.v>>8)&0xff, a.v&0xff)
}

// person is a user of the site and what the log says about them.
type person struct {
	id, ctx         int64
	username        string
	first, last     string
	email, idnumber string
	city, country   string
	department      string
	learner         bool
	engagement      float64 // activity multiplier
	ability         float64 // expected share of the marks
	mobile          bool    // uses the mobile app (origin ws)
	home            ipAddr
	enrols          []int32 // learner: enrolment indexes
	teaches         []int32 // teacher: course indexes
	created         int64
	// From the written log (user.firstaccess, lastaccess, lastlogin, …).
	firstAccess, lastAccess, lastLogin, currentLogin int64
	lastIP                                           ipAddr
}

type category struct {
	id, parent, depth, ctx int64
	path, ctxPath          string
	name, idnumber         string
	sortorder              int64
	courses                int64
	children               int
}

type course struct {
	id, ctx          int64
	ctxPath          string
	cat              int // index in site.cats; -1 for the site course
	short, full, idn string
	start, endDate   int64
	weight           float64 // popularity among learners
	cms              []int32 // indexes in site.cms, in section order
	viewable         []int32 // cms that produce views (not labels)
	sections         []int64 // course_sections ids by section number
	sectionNames     []string
	teacher          int64   // user id
	gradeItem        int64   // course total item
	graded           []int32 // quiz and assign cms
	learners         []int32 // enrolment indexes
	enrolManual      int64
	pending          []pending // assignment submissions awaiting grading
}

// pending is a submitted assignment that the teacher has not graded yet.
type pending struct {
	enrol int32
	cm    int32
	at    int64
}

type courseModule struct {
	id, ctx, instance, section int64
	course                     int32
	mod                        modType
	sectionNum                 int
	name, idnumber             string
	added, deleted             int64 // deleted 0: still there at the end
	gradeItem                  int64
	graded                     int // index in course.graded, -1 if none
	local                      int // index in course.cms
	completion                 int64
	completionView             bool
	due                        int64 // assign due date, quiz close date
	pages                      int   // quiz pages
	anon                       bool  // anonymous feedback
	news                       bool  // announcements forum
	discussions                []int64
}

type enrolment struct {
	user      int64
	course    int32
	ueID      int64
	start     int64
	weight    float64
	done      []uint64 // completion, by cm local index
	grade     []int32  // by graded index: grade × 1e5, gradeNone or gradeSubmitted
	gradeID   []int64  // grade_grades id once a grade exists
	gradeTime []int64
	attempts  []uint8
}

func (e *enrolment) completed(local int) bool { return e.done[local/64]&(1<<(local%64)) != 0 }
func (e *enrolment) complete(local int)       { e.done[local/64] |= 1 << (local % 64) }

// site is the generated population.
type site struct {
	opt        Options
	start, end int64
	users      []person // users[id-1]
	learners   int
	teachers   []int64
	cats       []category
	courses    []course // courses[0] is the site course (id 1)
	cms        []courseModule
	enrols     []enrolment
	instances  [numModTypes]int64
	nextCtx    int64
	nextGrade  int64 // grade_grades ids
	edits      []edit
	roster     *roster // groups, cohorts, enrolment ends (drawn apart)
}

// edit is a teacher's change to a course module at a fixed time.
type edit struct {
	at  int64
	cm  int32
	del bool
}

// newSite builds the population of a resolved Options.
func newSite(opt Options) *site {
	r := rand.New(rand.NewPCG(opt.Seed, 0x5eed5eed))
	s := &site{opt: opt, end: opt.End, start: opt.End - int64(opt.Days)*day, nextCtx: 1}
	s.nextCtx = 3 // 1 system, 2 site course
	s.buildCategories(r)
	s.buildUsers(r)
	s.buildCourses(r)
	s.buildEnrolments(r)
	s.nextGrade = 1
	slices.SortFunc(s.edits, func(a, b edit) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.cm, b.cm)) })
	s.roster = s.planRoster()
	return s
}

func (s *site) ctxID() int64 {
	id := s.nextCtx
	s.nextCtx++
	return id
}

func (s *site) buildCategories(r *rand.Rand) {
	nCat := max(2, (s.opt.Courses+5)/6)
	top := min(len(faculties), max(1, (nCat+2)/3))
	for i := range top {
		f := faculties[i]
		id := int64(i + 1)
		ctx := s.ctxID()
		s.cats = append(s.cats, category{id: id, depth: 1, ctx: ctx, path: "/" + itoa(id), ctxPath: "/1/" + itoa(ctx),
			name: f.name, idnumber: f.code, sortorder: int64(i+1) * 10000})
	}
	for i := top; i < nCat; i++ {
		p := (i - top) % top
		parent := &s.cats[p]
		sub := subCategories[parent.children%len(subCategories)]
		parent.children++
		id := int64(i + 1)
		ctx := s.ctxID()
		s.cats = append(s.cats, category{id: id, parent: parent.id, depth: 2, ctx: ctx,
			path: parent.path + "/" + itoa(id), ctxPath: parent.ctxPath + "/" + itoa(ctx),
			name: sub.name, idnumber: parent.idnumber + "-" + sub.code, sortorder: parent.sortorder + int64(parent.children)*100})
	}
}

func (s *site) buildUsers(r *rand.Rand) {
	L := s.opt.Users
	T := min(s.opt.Courses, 1+(L-1)/30)
	s.learners = L
	n := 2 + L + T
	s.users = make([]person, n)
	created := s.start - 120*day
	s.users[0] = person{id: guestID, username: "guest", first: "Guest user", last: " ", email: "root@localhost", created: 0}
	s.users[1] = person{id: adminID, username: "admin", first: "Admin", last: "User", email: "admin@demo.test", created: created - 200*day,
		city: "Paris", country: "FR", home: ipAddr{v: 0xC1300000 | r.Uint32N(1<<16)}, engagement: 1}
	for i := 2; i < n; i++ {
		p := &s.users[i]
		p.id = int64(i + 1)
		p.first = firstNames[r.IntN(len(firstNames))]
		p.last = lastNames[r.IntN(len(lastNames))]
		pl := places[r.IntN(len(places))]
		p.city, p.country = pl.city, pl.country
		p.created = created + r.Int64N(90*day)
		p.home = residentialIP(r)
		k := i - 1 // learner k = 1, 2, …
		if i < 2+L {
			p.learner = true
			p.username = fmt.Sprintf("learner%04d", k)
			p.email = fmt.Sprintf("%s.%s%d@student.demo.test", asciiFold(p.first), asciiFold(p.last), k)
			p.idnumber = fmt.Sprintf("S%07d", 2500000+k)
			p.engagement = math.Exp(0.6*r.NormFloat64() - 0.18)
			p.ability = 0.45 + 0.5*r.Float64()
			p.mobile = k%4 == 2 || r.Float64() < 0.15
		} else {
			t := i - 1 - L
			p.username = fmt.Sprintf("teacher%03d", t)
			p.email = fmt.Sprintf("%s.%s@demo.test", asciiFold(p.first), asciiFold(p.last))
			p.idnumber = fmt.Sprintf("T%05d", 10000+t)
			p.engagement = 0.8 + 0.4*r.Float64()
			s.teachers = append(s.teachers, p.id)
		}
		p.department = faculties[r.IntN(len(faculties))].name
	}
	for i := range s.users {
		s.users[i].ctx = s.ctxID()
	}
}

// residentialIP draws a home address: IPv4 in consumer ranges, or IPv6.
func residentialIP(r *rand.Rand) ipAddr {
	if r.Float64() < 0.12 {
		return ipAddr{v: r.Uint32(), six: true}
	}
	firsts := [...]uint32{2, 5, 31, 37, 46, 62, 77, 78, 79, 80, 81, 82, 83, 86, 88, 90, 91, 92, 109, 176, 178, 185, 188, 212, 213, 217}
	return ipAddr{v: firsts[r.IntN(len(firsts))]<<24 | r.Uint32N(1<<24-2) + 1}
}

// modWeights is the activity mix of docs/moodle-data.md §7 (labels produce no views).
var modWeights = [numModTypes]float64{
	mResource: 35, mPage: 12, mURL: 10, mLabel: 10, mForum: 8, mAssign: 12, mQuiz: 9, mScorm: 4,
}

func pickMod(r *rand.Rand) modType {
	total := 0.0
	for _, w := range modWeights {
		total += w
	}
	x := r.Float64() * total
	for m, w := range modWeights {
		if x < w {
			return modType(m)
		}
		x -= w
	}
	return mResource
}

func (s *site) buildCourses(r *rand.Rand) {
	// The site course (front page) with its announcements forum.
	site := course{id: 1, ctx: 2, ctxPath: "/1/2", cat: -1, short: "demo", full: "Demo University", start: s.start - 400*day,
		sectionNames: []string{"", ""}}
	s.courses = append(s.courses, site)
	s.addCM(r, 0, 0, mForum, "Site announcements", s.courses[0].start)
	s.cms[0].news = true

	var leaves []int
	for i, c := range s.cats {
		if c.children == 0 {
			leaves = append(leaves, i)
		}
	}
	perm := r.Perm(len(subjects))
	count := map[string]int{}
	for i := range s.opt.Courses {
		subj := subjects[perm[i%len(subjects)]]
		count[subj.code]++
		k := count[subj.code]
		full := subj.name
		if k > 1 {
			full += " " + roman(k)
		}
		short := fmt.Sprintf("%s%d", subj.code, 100*(1+(k-1)%3)+1+(k-1)/3)
		cat := leaves[r.IntN(len(leaves))]
		s.cats[cat].courses++
		start := (s.start-int64(r.IntN(28))*day)/day*day + 8*3600
		nsec := 6 + r.IntN(7)
		c := course{id: int64(len(s.courses) + 1), cat: cat, short: short, full: full, idn: "2025-" + short,
			start: start, endDate: start + int64(nsec+2)*week, weight: 1 / (1 + 0.3*float64(i)) * (0.5 + r.Float64())}
		c.ctx = s.ctxID()
		c.ctxPath = s.cats[cat].ctxPath + "/" + itoa(c.ctx)
		c.teacher = s.teachers[i%len(s.teachers)]
		s.courses = append(s.courses, c)
		ci := int32(len(s.courses) - 1)
		s.users[c.teacher-1].teaches = append(s.users[c.teacher-1].teaches, ci)
		s.buildCourseContent(r, ci, nsec)
	}
}

func roman(k int) string {
	return [...]string{"", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"}[min(k, 9)] + strings.Repeat("+", max(0, k-9))
}

// buildCourseContent creates the sections and activities of a course.
func (s *site) buildCourseContent(r *rand.Rand, ci int32, nsec int) {
	c := &s.courses[ci]
	c.sectionNames = make([]string, nsec+1)
	for sec := 1; sec <= nsec; sec++ {
		c.sectionNames[sec] = fmt.Sprintf("Week %d: %s", sec, topics[r.IntN(len(topics))])
	}
	latest := s.end - 3*day
	addedAt := func(sec int) int64 {
		if sec == 0 {
			return c.start - 14*day - r.Int64N(7*day)
		}
		return min(c.start+int64(sec-1)*week-2*day+r.Int64N(36*3600), latest-r.Int64N(day))
	}
	news := s.addCM(r, ci, 0, mForum, "Announcements", addedAt(0))
	s.cms[news].news = true
	if r.Float64() < 0.5 {
		s.addCM(r, ci, 0, mForum, "General discussion", addedAt(0))
	}
	if r.Float64() < 0.3 {
		s.addCM(r, ci, 0, mLabel, "Welcome to "+c.full, addedAt(0))
	}
	for sec := 1; sec <= nsec; sec++ {
		var mods []modType
		if sec == 1 {
			mods = append(mods, mResource, mQuiz, mAssign)
		}
		for range 2 + r.IntN(5) {
			mods = append(mods, pickMod(r))
		}
		if sec == nsec {
			mods = append(mods, mFeedback)
		}
		for _, m := range mods {
			s.addCM(r, ci, sec, m, "", addedAt(sec))
		}
	}
	// Deleted activities: views were logged, then a teacher deleted them.
	span := s.end - s.start
	var cands []int32
	for _, i := range c.cms {
		m := &s.cms[i]
		deletable := m.mod == mResource || m.mod == mPage || m.mod == mURL || m.mod == mScorm || m.mod == mLabel || (m.mod == mForum && !m.news)
		if deletable && m.sectionNum > 0 && m.added < s.start+span/3 {
			cands = append(cands, i)
		}
	}
	r.Shuffle(len(cands), func(a, b int) { cands[a], cands[b] = cands[b], cands[a] })
	for _, i := range cands[:min(len(cands), 1+len(c.cms)/25)] {
		m := &s.cms[i]
		at := s.start + span/2 + r.Int64N(span*2/5)
		if at > m.added+3600 {
			m.deleted = at
			s.edits = append(s.edits, edit{at: at, cm: i, del: true})
		}
	}
	for _, i := range c.cms {
		if s.cms[i].mod != mLabel { // deleted ones stay viewable until deleted
			c.viewable = append(c.viewable, i)
		}
	}
}

// addCM creates one course module and its instance.
func (s *site) addCM(r *rand.Rand, ci int32, sec int, m modType, name string, added int64) int32 {
	c := &s.courses[ci]
	s.instances[m]++
	idx := int32(len(s.cms))
	cm := courseModule{
		id: int64(idx) + 1, ctx: s.ctxID(), instance: s.instances[m], course: ci, mod: m, sectionNum: sec,
		added: added, graded: -1, local: len(c.cms),
	}
	n := 0
	for _, j := range c.cms {
		if s.cms[j].mod == m {
			n++
		}
	}
	n++
	topic := topics[r.IntN(len(topics))]
	if name == "" {
		switch m {
		case mResource:
			name = [...]string{fmt.Sprintf("Lecture slides, week %d", sec), fmt.Sprintf("Reading: %s", topic), fmt.Sprintf("Lab handout %d", n)}[r.IntN(3)]
		case mPage:
			name = fmt.Sprintf("Week %d reading", sec)
			if n > 1 {
				name = fmt.Sprintf("Week %d notes: %s", sec, topic)
			}
		case mURL:
			name = [...]string{"Video: " + topic, "External reading: " + topic, "Podcast: " + topic}[r.IntN(3)]
		case mLabel:
			name = fmt.Sprintf("Week %d overview", sec)
		case mForum:
			name = fmt.Sprintf("Week %d discussion", sec)
		case mAssign:
			name = fmt.Sprintf("Assignment %d: %s", n, topic)
		case mQuiz:
			name = fmt.Sprintf("Quiz %d: %s", n, topic)
		case mScorm:
			name = "Interactive module: " + topic
		case mFeedback:
			name = "Course feedback"
		}
	}
	cm.name = name
	cm.idnumber = fmt.Sprintf("%s-%s%d", c.short, strings.ToUpper(moduleInfo[m].name[:1])+moduleInfo[m].name[1:3], s.instances[m])
	if ci == 0 {
		cm.idnumber = ""
	}
	switch m {
	case mResource, mPage, mURL:
		if r.Float64() < 0.7 {
			cm.completion, cm.completionView = 2, true
		}
	case mScorm:
		cm.completion = 2 // from the SCO's status, computed by cron
	case mQuiz, mAssign:
		cm.completion = 2
		cm.graded = len(c.graded)
		c.graded = append(c.graded, idx)
		if m == mQuiz {
			cm.pages = 1 + r.IntN(5)
			cm.due = (added/day+21)*day + day - 60
		} else {
			cm.due = (added/day+14)*day + day - 60
		}
	case mFeedback:
		cm.anon = r.Float64() < 0.8
		cm.completion = 1
	case mForum:
		cm.completion = 0
	}
	s.cms = append(s.cms, cm)
	c.cms = append(c.cms, idx)
	if added >= s.start && added < s.end && ci > 0 {
		s.edits = append(s.edits, edit{at: added, cm: idx})
	}
	return idx
}

func (s *site) buildEnrolments(r *rand.Rand) {
	courses := s.courses[1:]
	weights := make([]float64, len(courses))
	for _, u := range s.users[2 : 2+s.learners] {
		k := min(len(courses), 2+r.IntN(5))
		for i, c := range courses {
			weights[i] = c.weight
		}
		var chosen []int32
		for range k {
			total := 0.0
			for _, w := range weights {
				total += w
			}
			x := r.Float64() * total
			j := 0
			for ; j < len(weights)-1 && x >= weights[j]; j++ {
				x -= weights[j]
			}
			if weights[j] == 0 { // rounding: take the first still free
				j = slices.IndexFunc(weights, func(w float64) bool { return w > 0 })
			}
			weights[j] = 0
			chosen = append(chosen, int32(j+1))
		}
		slices.Sort(chosen)
		for _, ci := range chosen {
			c := &s.courses[ci]
			ncm, ng := len(c.cms), len(c.graded)
			e := enrolment{
				user: u.id, course: ci, start: min(c.start, s.start) - r.Int64N(10*day),
				weight: math.Exp(0.7 * r.NormFloat64()),
				done:   make([]uint64, (ncm+63)/64),
				grade:  make([]int32, ng), gradeID: make([]int64, ng), gradeTime: make([]int64, ng), attempts: make([]uint8, ng),
			}
			for g := range e.grade {
				e.grade[g] = gradeNone
			}
			idx := int32(len(s.enrols))
			s.enrols = append(s.enrols, e)
			c.learners = append(c.learners, idx)
			s.users[u.id-1].enrols = append(s.users[u.id-1].enrols, idx)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// ---- population rows ------------------------------------------------------

// writePopulation writes every table but user, grade_grades and the log,
// which depend on the activity and are written after it.
func (s *site) writePopulation(ctx context.Context, w *Writer) error {
	add := func(r Row) error { return w.add(ctx, r) }
	t0 := s.users[1].created
	local := Defaults[MnetHost]()
	local.ID, local.WWWRoot, local.IPAddress, local.Name = localHostID, siteWWWRoot, "127.0.0.1", "Demo University"
	local.PublicKey = "-----BEGIN CERTIFICATE-----\nMIIDemo\n-----END CERTIFICATE-----\n"
	local.PublicKeyExpires = s.end + 365*day
	all := Defaults[MnetHost]()
	all.ID, all.Name = allHostsID, "All Hosts"
	if err := w.Add(ctx, local, all); err != nil {
		return err
	}
	if err := s.writeAccess(ctx, w); err != nil {
		return err
	}
	if err := writeWebService(ctx, w, t0); err != nil {
		return err
	}
	for m, info := range moduleInfo {
		mod := Defaults[Module]()
		mod.ID, mod.Name = info.id, info.name
		if modType(m) == mScorm {
			mod.Cron = 300
		}
		if err := add(mod); err != nil {
			return err
		}
	}
	// Contexts: system, site course, categories, users, then courses with
	// their modules (deleted modules leave gaps in the ids).
	ctxRow := func(id, level, inst int64, path string) error {
		return add(Context{ID: id, ContextLevel: level, InstanceID: inst, Path: Some(path), Depth: int64(strings.Count(path, "/"))})
	}
	if err := ctxRow(systemContextID, 10, 0, "/1"); err != nil {
		return err
	}
	if err := ctxRow(2, 50, 1, "/1/2"); err != nil {
		return err
	}
	for _, c := range s.cats {
		row := Defaults[CourseCategory]()
		row.ID, row.Name, row.IDNumber, row.Parent, row.SortOrder = c.id, c.name, Some(c.idnumber), c.parent, c.sortorder
		row.CourseCount, row.Depth, row.Path, row.TimeModified = c.courses, c.depth, c.path, t0
		row.Description = Some("<p>" + c.name + "</p>")
		if err := add(row); err != nil {
			return err
		}
		if err := ctxRow(c.ctx, 40, c.id, c.ctxPath); err != nil {
			return err
		}
	}
	for _, u := range s.users {
		if err := ctxRow(u.ctx, 30, u.id, "/1/"+itoa(u.ctx)); err != nil {
			return err
		}
	}
	secID := int64(0)
	for ci := range s.courses {
		c := &s.courses[ci]
		row := Defaults[Course]()
		row.ID, row.FullName, row.ShortName, row.IDNumber = c.id, c.full, c.short, c.idn
		row.StartDate, row.EndDate, row.TimeCreated, row.TimeModified = c.start, c.endDate, c.start-30*day, c.start-7*day
		row.EnableCompletion, row.ShowActivityDates, row.CacheRev = 1, 1, c.start
		row.Summary, row.SummaryFormat = Some("<p>"+c.full+": lectures, readings, quizzes and assignments.</p>"), 1
		if ci == 0 {
			row.Format, row.Category, row.Summary, row.EnableCompletion, row.NewsItems = "site", 0, Some(""), 0, 3
			row.IDNumber, row.EndDate = "", 0
		} else {
			row.Category = s.cats[c.cat].id
			row.SortOrder = s.cats[c.cat].sortorder + int64(ci)
			row.NewsItems = 5
			if err := ctxRow(c.ctx, 50, c.id, c.ctxPath); err != nil {
				return err
			}
		}
		if err := add(row); err != nil {
			return err
		}
		// Sections, with the live modules in their sequence.
		seqs := make([][]string, len(c.sectionNames))
		for _, i := range c.cms {
			if m := &s.cms[i]; m.deleted == 0 {
				seqs[m.sectionNum] = append(seqs[m.sectionNum], itoa(m.id))
			}
		}
		c.sections = make([]int64, len(c.sectionNames))
		for sec, name := range c.sectionNames {
			secID++
			c.sections[sec] = secID
			row := Defaults[CourseSection]()
			row.ID, row.Course, row.Section, row.TimeModified = secID, c.id, int64(sec), c.start
			if name != "" {
				row.Name = Some(name)
			}
			row.Summary, row.Sequence = Some(""), Some(strings.Join(seqs[sec], ","))
			if err := add(row); err != nil {
				return err
			}
		}
		for _, i := range c.cms {
			s.cms[i].section = c.sections[s.cms[i].sectionNum]
		}
	}
	if err := s.writeModules(ctx, w); err != nil {
		return err
	}
	if err := s.writeEnrolAndItems(ctx, w); err != nil {
		return err
	}
	return s.writeRoster(ctx, w)
}

// writeModules writes course_modules, their contexts and instance rows.
func (s *site) writeModules(ctx context.Context, w *Writer) error {
	for i := range s.cms {
		m := &s.cms[i]
		if m.deleted != 0 {
			continue
		}
		c := &s.courses[m.course]
		row := Defaults[CourseModule]()
		row.ID, row.Course, row.Module, row.Instance, row.Section = m.id, c.id, moduleInfo[m.mod].id, m.instance, m.section
		row.Added, row.Completion = m.added, m.completion
		if m.idnumber != "" {
			row.IDNumber = Some(m.idnumber)
		} else {
			row.IDNumber = Some("")
		}
		if m.completionView {
			row.CompletionView = 1
		}
		if m.graded >= 0 {
			row.CompletionGradeItemNumber = Some[int64](0)
		}
		if m.mod == mLabel {
			row.ShowDescription = 0
		}
		if err := w.add(ctx, row); err != nil {
			return err
		}
		if err := w.add(ctx, Context{ID: m.ctx, ContextLevel: 70, InstanceID: m.id, Path: Some(c.ctxPath + "/" + itoa(m.ctx)),
			Depth: int64(strings.Count(c.ctxPath, "/") + 1)}); err != nil {
			return err
		}
		if err := w.add(ctx, s.instanceRow(m)); err != nil {
			return err
		}
	}
	return nil
}

// instanceRow is the module's own row (mdl_<modname>).
func (s *site) instanceRow(m *courseModule) Row {
	c := &s.courses[m.course]
	intro := Some("<p>" + m.name + "</p>")
	switch m.mod {
	case mPage:
		r := Defaults[Page]()
		r.ID, r.Course, r.Name, r.Intro, r.IntroFormat, r.TimeModified = m.instance, c.id, m.name, intro, 1, m.added
		r.Content, r.ContentFormat, r.Display, r.Revision = Some("<h3>"+m.name+"</h3><p>Read this before the seminar.</p>"), 1, 5, 1
		r.DisplayOptions = Some(`a:2:{s:10:"printintro";s:1:"0";s:17:"printlastmodified";s:1:"1";}`)
		return r
	case mResource:
		r := Defaults[Resource]()
		r.ID, r.Course, r.Name, r.Intro, r.IntroFormat, r.TimeModified = m.instance, c.id, m.name, intro, 1, m.added
		r.Display, r.Revision = 0, 1
		r.DisplayOptions = Some(`a:1:{s:10:"printintro";i:1;}`)
		return r
	case mQuiz:
		r := Defaults[Quiz]()
		r.ID, r.Course, r.Name, r.Intro, r.IntroFormat = m.instance, c.id, m.name, intro, 1
		r.TimeOpen, r.TimeClose, r.TimeCreated, r.TimeModified = m.added, m.due, m.added, m.added
		r.PreferredBehaviour, r.Attempts, r.SumGrades, r.Grade = "deferredfeedback", 2, float64(5*m.pages), 10
		return r
	case mForum:
		r := Defaults[Forum]()
		r.ID, r.Course, r.Name, r.Intro, r.IntroFormat, r.TimeModified = m.instance, c.id, m.name, intro, 1, m.added
		if m.news {
			r.Type, r.Intro = "news", Some("General news and announcements")
		}
		return r
	case mAssign:
		r := Defaults[Assign]()
		r.ID, r.Course, r.Name, r.Intro, r.IntroFormat, r.TimeModified = m.instance, c.id, m.name, intro, 1, m.added
		r.DueDate, r.AllowSubmissionsFromDate, r.CutoffDate, r.GradingDueDate = m.due, m.added, m.due+7*day, m.due+14*day
		r.Grade, r.MaxAttempts = 100, -1
		return r
	case mURL:
		r := Defaults[URL]()
		r.ID, r.Course, r.Name, r.Intro, r.IntroFormat, r.TimeModified = m.instance, c.id, m.name, intro, 1, m.added
		r.ExternalURL, r.Display = fmt.Sprintf("https://media.demo.test/%s/%d", strings.ToLower(c.short), m.instance), 0
		r.DisplayOptions = Some(`a:1:{s:10:"printintro";i:1;}`)
		return r
	case mScorm:
		r := Defaults[Scorm]()
		r.ID, r.Course, r.Name, r.Intro, r.IntroFormat, r.TimeModified = m.instance, c.id, m.name, intro, 1, m.added
		r.Reference, r.Version, r.MaxGrade, r.GradeMethod = fmt.Sprintf("module%d.zip", m.instance), "SCORM_1.2", 100, 1
		return r
	case mFeedback:
		r := Defaults[Feedback]()
		r.ID, r.Course, r.Name, r.Intro, r.IntroFormat, r.TimeModified = m.instance, c.id, m.name, intro, 1, m.added
		r.Anonymous, r.MultipleSubmit, r.CompletionSubmit = 2, 0, 1
		if m.anon {
			r.Anonymous = 1
		}
		return r
	default: // label
		r := Defaults[Label]()
		r.ID, r.Course, r.Name, r.IntroFormat, r.TimeModified = m.instance, c.id, m.name, 1, m.added
		r.Intro = Some("<h4>" + m.name + "</h4>")
		return r
	}
}

// writeEnrolAndItems writes enrol, user_enrolments and grade_items.
func (s *site) writeEnrolAndItems(ctx context.Context, w *Writer) error {
	enrolID, ueID, itemID := int64(0), int64(0), int64(0)
	for ci := 1; ci < len(s.courses); ci++ {
		c := &s.courses[ci]
		for k, plugin := range [...]string{"manual", "guest", "self"} {
			enrolID++
			row := Defaults[Enrol]()
			row.ID, row.Enrol, row.CourseID, row.SortOrder = enrolID, plugin, c.id, int64(k)
			row.TimeCreated, row.TimeModified = c.start-30*day, c.start-30*day
			switch plugin {
			case "manual":
				c.enrolManual = enrolID
				row.RoleID = Some[int64](roleStudent)
				row.ExpiryThreshold = Some[int64](day)
			case "guest":
				row.Status, row.RoleID = 1, Some[int64](0)
				row.Password = Some("")
			case "self":
				row.Status, row.RoleID = 1, Some[int64](roleStudent)
				row.CustomInt1, row.CustomInt2, row.CustomInt3 = Some[int64](0), Some[int64](0), Some[int64](0)
				row.CustomInt4, row.CustomInt5, row.CustomInt6 = Some[int64](1), Some[int64](0), Some[int64](1)
			}
			if err := w.add(ctx, row); err != nil {
				return err
			}
		}
		// The teacher's own enrolment first, then the learners', each with
		// the role the manual enrolment assigns in the course context
		// (editing teacher, student): role_assignments ids follow
		// user_enrolments ids.
		ueID++
		if err := w.add(ctx, UserEnrolment{ID: ueID, EnrolID: c.enrolManual, UserID: c.teacher, TimeStart: c.start - 30*day,
			ModifierID: adminID, TimeCreated: c.start - 30*day, TimeModified: c.start - 30*day}); err != nil {
			return err
		}
		if err := w.add(ctx, RoleAssignment{ID: ueID, RoleID: roleEditingTeacher, ContextID: c.ctx, UserID: c.teacher,
			TimeModified: c.start - 30*day, ModifierID: adminID}); err != nil {
			return err
		}
		for _, ei := range c.learners {
			e := &s.enrols[ei]
			ueID++
			e.ueID = ueID
			if err := w.add(ctx, s.learnerEnrolment(ei, c.enrolManual, c.teacher)); err != nil {
				return err
			}
			if err := w.add(ctx, RoleAssignment{ID: ueID, RoleID: roleStudent, ContextID: c.ctx, UserID: e.user,
				TimeModified: e.start, ModifierID: c.teacher}); err != nil {
				return err
			}
		}
		// Gradebook: the course total, then each graded activity.
		itemID++
		c.gradeItem = itemID
		total := Defaults[GradeItem]()
		total.ID, total.CourseID, total.ItemType, total.ItemInstance = itemID, Some(c.id), "course", Some(int64(ci))
		total.SortOrder, total.TimeCreated, total.TimeModified = 1, Some(c.start-30*day), Some(c.start-30*day)
		if err := w.add(ctx, total); err != nil {
			return err
		}
		for k, i := range c.graded {
			m := &s.cms[i]
			itemID++
			m.gradeItem = itemID
			gi := Defaults[GradeItem]()
			gi.ID, gi.CourseID, gi.CategoryID, gi.ItemName = itemID, Some(c.id), Some(int64(ci)), Some(m.name)
			gi.ItemType, gi.ItemModule, gi.ItemInstance, gi.ItemNumber = "mod", Some(moduleInfo[m.mod].name), Some(m.instance), Some[int64](0)
			gi.IDNumber = Some(m.idnumber)
			gi.GradeMax, gi.GradePass = 100, 50
			if m.mod == mQuiz {
				gi.GradeMax, gi.GradePass = 10, 5
			}
			gi.SortOrder, gi.TimeCreated, gi.TimeModified = int64(k+2), Some(m.added), Some(m.added)
			if err := w.add(ctx, gi); err != nil {
				return err
			}
		}
	}
	return nil
}
