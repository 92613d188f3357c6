package seed

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// DefaultEnd is the default end of the generated activity: 2026-01-01
// 00:00 UTC. A fixed date keeps the data reproducible.
const DefaultEnd = 1767225600

// rowsPerLearnerDay is the measured mean of log rows per learner and day at
// intensity 1, teachers', admin and cron rows included; it sizes the
// default population for Options.MaxRows and the progress bar.
const rowsPerLearnerDay = 11.5

// Options describe the generated site. The same Options produce the same
// rows, byte for byte, on every engine.
type Options struct {
	// Seed selects the site; everything is drawn from PCG streams seeded
	// with it.
	Seed uint64
	// Users is the number of learners (user ids from 3; guest is 1, admin
	// 2). Teachers are added: one per 30 learners, at most one per course.
	// Default 5, or enough learners for MaxRows.
	Users int
	// Courses is the number of courses besides the front page (default
	// max(3, Users/15)).
	Courses int
	// Days of activity (default 90), ending at End.
	Days int
	// End is the Unix time the activity ends (default DefaultEnd).
	End int64
	// MaxRows, when set, is the target and cap of log rows: the activity
	// intensity is scaled to produce about that many (memory stays bounded
	// by one day of rows at any size).
	MaxRows int64
	// Prefix is the table prefix (default DefaultPrefix).
	Prefix string
	// Progress, when set, receives a progress bar of the log rows written.
	Progress io.Writer
	// LogRows, when set, is called after each batch of log rows is
	// written with how many are written so far, one call at a time: the
	// progress of a caller that shows no bar (logs, say).
	LogRows func(written int64)
	// BatchSize is the rows per bulk write (default DefaultBatchSize).
	BatchSize int
	// Reset drops the package's tables with Prefix before Seed creates them.
	Reset bool
}

// Stats describe a generated site.
type Stats struct {
	Users          int   // user rows: guest, admin, learners and teachers
	Learners       int   //
	Teachers       int   //
	Courses        int   // courses besides the front page
	Categories     int   //
	Modules        int   // course modules that exist at the end
	DeletedModules int   // course modules deleted during the activity
	Enrolments     int   // user_enrolments rows
	GradeGrades    int   // grade_grades rows
	LogRows        int64 // logstore_standard_log rows
	From, To       int64 // the activity window [From, To)
	Duration       time.Duration
}

// resolve fills the defaults and checks the options.
func (o Options) resolve() (Options, error) {
	if o.Days == 0 {
		o.Days = 90
	}
	if o.End == 0 {
		o.End = DefaultEnd
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	switch {
	case o.Days < 1 || o.Days > 3660:
		return o, aggregation.Errorf(aggregation.EInvalid, "seed: days %d: want 1 to 3660", o.Days)
	case o.Users < 0 || o.Users > 10_000_000:
		return o, aggregation.Errorf(aggregation.EInvalid, "seed: users %d: want 1 to 10,000,000", o.Users)
	case o.Courses < 0 || o.Courses > 1_000_000:
		return o, aggregation.Errorf(aggregation.EInvalid, "seed: courses %d: want 1 to 1,000,000", o.Courses)
	case o.MaxRows < 0:
		return o, aggregation.Errorf(aggregation.EInvalid, "seed: max rows %d: want ≥ 0", o.MaxRows)
	case o.End < int64(o.Days)*day || o.End > math.MaxInt32:
		return o, aggregation.Errorf(aggregation.EInvalid, "seed: end %d: want a Unix time after the %d days of activity and before 2038", o.End, o.Days)
	}
	if err := checkPrefix(o.Prefix); err != nil {
		return o, err
	}
	if o.Users == 0 {
		o.Users = 5
		if o.MaxRows > 0 {
			o.Users = max(5, int(math.Ceil(float64(o.MaxRows)/(rowsPerLearnerDay*float64(o.Days)))))
		}
	}
	if o.Courses == 0 {
		o.Courses = max(3, (o.Users+14)/15)
	}
	return o, nil
}

// Seed creates the schema (dropping it first when opt.Reset) and fills it.
// It creates the indexes after loading the rows, as bulk loads do; the
// result is the schema of CreateSchema.
func Seed(ctx context.Context, db *dbconn.DB, opt Options) (Stats, error) {
	o, err := opt.resolve()
	if err != nil {
		return Stats{}, err
	}
	if o.Reset {
		if err := DropSchema(ctx, db, o.Prefix); err != nil {
			return Stats{}, err
		}
	}
	tables, indexes, err := schemaFor(ctx, db, o.Prefix)
	if err != nil {
		return Stats{}, err
	}
	if err := execDDL(ctx, db, tables); err != nil {
		return Stats{}, err
	}
	st, err := Fill(ctx, db, o)
	if err != nil {
		return st, err
	}
	began := time.Now()
	if len(indexes) > 0 {
		if err := buildIndexes(ctx, db, indexes); err != nil {
			return st, err
		}
	}
	if err := Analyze(ctx, db, o.Prefix); err != nil {
		return st, err
	}
	st.Duration += time.Since(began)
	return st, nil
}

// Fill writes a generated site into existing, empty tables (CreateSchema):
// the population (users, categories, courses, sections, activities,
// contexts, enrolments, gradebook) and an activity log built day by day,
// each day's rows ordered by (time, user) and numbered in that order, so
// ids follow time across users as on a real site.
func Fill(ctx context.Context, db *dbconn.DB, opt Options) (Stats, error) {
	began := time.Now()
	o, err := opt.resolve()
	if err != nil {
		return Stats{}, err
	}
	s := newSite(o)
	w := NewWriter(db, o.Prefix)
	defer w.Close() // stops the writer goroutines when a step fails before Flush
	w.SetBatchSize(o.BatchSize)
	var bar *progressbar.ProgressBar
	if o.Progress != nil {
		estimate := o.MaxRows
		if estimate == 0 {
			estimate = int64(rowsPerLearnerDay * float64(o.Users*o.Days))
		}
		bar = progressbar.NewOptions64(estimate,
			progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("log rows"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(250*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(o.Progress) }),
		)
	}
	if bar != nil || o.LogRows != nil {
		var written int64 // the calls come one at a time
		w.OnWrite(func(table string, rows int) {
			if table != "logstore_standard_log" {
				return
			}
			written += int64(rows)
			if bar != nil {
				_ = bar.Add(rows)
			}
			if o.LogRows != nil {
				o.LogRows(written)
			}
		})
	}
	if err := s.writePopulation(ctx, w); err != nil {
		return Stats{}, err
	}
	if bar != nil {
		// The bar's clock starts with the log. Left alone it would start
		// at its first render, when the first batch is already written:
		// that batch over a few microseconds made the first rate read
		// billions of rows a second.
		bar.StartWithoutRender()
	}
	rows, err := s.writeLog(ctx, w)
	if err != nil {
		return Stats{}, err
	}
	if err := s.writeUsers(ctx, w); err != nil {
		return Stats{}, err
	}
	grades, err := s.writeGrades(ctx, w)
	if err != nil {
		return Stats{}, err
	}
	if err := w.Flush(ctx); err != nil {
		return Stats{}, err
	}
	if bar != nil {
		bar.ChangeMax64(rows)
		_ = bar.Finish()
	}
	st := Stats{
		Users: len(s.users), Learners: s.learners, Teachers: len(s.teachers), Courses: len(s.courses) - 1,
		Categories: len(s.cats), Enrolments: int(w.Written("user_enrolments")), GradeGrades: grades,
		LogRows: rows, From: s.start, To: s.end, Duration: time.Since(began),
	}
	for i := range s.cms {
		if s.cms[i].deleted != 0 {
			st.DeletedModules++
		} else {
			st.Modules++
		}
	}
	return st, nil
}

// writeLog simulates and writes the activity, one day at a time.
func (s *site) writeLog(ctx context.Context, w *Writer) (int64, error) {
	g := newGen(s)
	o := s.opt
	if o.MaxRows > 0 {
		g.lambda = float64(o.MaxRows) / (rowsPerLearnerDay * float64(o.Users*o.Days))
	}
	var (
		total     int64
		lambdaSum float64
		row       Log
		other     []byte
	)
	for d := range o.Days {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("seed: %w", err)
		}
		g.startDay(d)
		g.simulate()
		evs := g.cur
		if o.MaxRows > 0 && total+int64(len(evs)) > o.MaxRows {
			evs = evs[:o.MaxRows-total]
		}
		for i := range evs {
			total++
			other = s.materialize(&evs[i], total, &row, other[:0])
			if err := w.addLog(ctx, &row); err != nil {
				return total, err
			}
		}
		if o.MaxRows > 0 {
			if total >= o.MaxRows {
				break
			}
			// Steer the intensity so the remaining days land on MaxRows.
			lambdaSum += g.lambda
			if left := o.Days - d - 1; left > 0 && total > 0 {
				perLambda := float64(total) / lambdaSum
				want := float64(o.MaxRows-total) / (float64(left) * perLambda)
				g.lambda = min(max(want, g.lambda/4), g.lambda*4)
			}
		}
	}
	return total, nil
}

// wsFunctions are the web-service functions the mobile app calls.
var wsFunctions = [...]string{"core_webservice_get_site_info", "core_course_get_contents"}

// materialize turns an event into a log row with id; other is a scratch
// buffer for the `other` JSON, returned for reuse. It also records the
// user's first/last access and logins for the user table.
func (s *site) materialize(e *event, id int64, r *Log, other []byte) []byte {
	cl := classOf(e.kind)
	*r = Log{
		ID: id, EventName: cl.name, Component: cl.component, Action: cl.action, Target: cl.target,
		CRUD: cl.crud, EduLevel: cl.edulevel, ContextLevel: cl.ctxlevel, UserID: int64(e.user), TimeCreated: e.t,
		Origin: Some(originNames[e.origin]),
	}
	var course *course
	var cm *courseModule
	if e.cm >= 0 {
		cm = &s.cms[e.cm]
		course = &s.courses[cm.course]
	} else if e.course >= 0 {
		course = &s.courses[e.course]
	}
	related := int64(e.related)
	switch cl.ctxlevel {
	case 10:
		r.ContextID, r.ContextInstanceID, r.CourseID = 1, 0, Some[int64](0)
	case 30:
		owner := int64(e.user)
		if e.kind == kUserProfileViewed {
			owner = related
		}
		if related == 0 {
			related = owner // events in a user context relate to its owner
		}
		r.ContextID, r.ContextInstanceID, r.CourseID = s.users[owner-1].ctx, owner, Some[int64](0)
	case 50:
		r.ContextID, r.ContextInstanceID, r.CourseID = course.ctx, course.id, Some(course.id)
	case 70:
		r.ContextID, r.ContextInstanceID, r.CourseID = cm.ctx, cm.id, Some(course.id)
	}
	if related != 0 {
		r.RelatedUserID = Some(related)
	}
	if e.real != 0 {
		r.RealUserID = Some(int64(e.real))
	}
	if e.anon {
		r.Anonymous = 1
	}
	if cl.objtable != "" {
		r.ObjectTable = Some(cl.objtable)
		var obj int64
		switch cl.obj {
		case objUser:
			obj = int64(e.user)
		case objRelated:
			obj = related
		case objInstance:
			obj = cm.instance
		case objCM:
			obj = cm.id
		case objCourse:
			obj = course.id
		case objEvent:
			obj = e.obj
		}
		r.ObjectID = Some(obj)
	}
	if e.origin != originCLI {
		r.IP = Some(e.ip.String())
	}
	other = s.appendOther(other, e, cm, course)
	r.Other = Some(string(other))

	if e.user > 0 && e.origin != originCLI && e.real == 0 && e.kind != kLoginFailed {
		u := &s.users[e.user-1]
		if u.firstAccess == 0 {
			u.firstAccess = e.t
		}
		u.lastAccess = e.t
		if e.kind == kLoggedIn {
			u.lastLogin, u.currentLogin, u.lastIP = u.currentLogin, e.t, e.ip
		}
	}
	return other
}

// appendOther writes the event's `other` column as Moodle's JSON.
func (s *site) appendOther(b []byte, e *event, cm *courseModule, c *course) []byte {
	num := func(b []byte, key string, v int64) []byte {
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		return strconv.AppendInt(b, v, 10)
	}
	str := func(b []byte, key, v string) []byte {
		b = append(b, '"')
		b = append(b, key...)
		b = append(b, '"', ':')
		return strconv.AppendQuote(b, v) // names are printable: Go quoting is JSON here
	}
	user := func(id int64) *person { return &s.users[id-1] }
	switch e.kind {
	case kLoggedIn:
		b = str(append(b, '{'), "username", user(int64(e.user)).username)
		return append(b, '}')
	case kLoggedOut:
		b = append(b, `{"sessionid":"`...)
		h := uint64(e.user)<<32 ^ uint64(e.t) ^ s.opt.Seed
		for range 26 {
			h ^= h >> 31
			h *= 0x9e3779b97f4a7c15
			b = append(b, "0123456789abcdefghijklmnopqrstuv"[h>>59])
		}
		return append(b, `"}`...)
	case kLoginFailed:
		name := user(e.a).username
		if e.user == 0 {
			name = name[:len(name)-1] // a username that does not exist
		}
		b = str(append(b, '{'), "username", name)
		b = num(append(b, ','), "reason", e.b)
		return append(b, '}')
	case kLoggedInAs:
		a, t := user(adminID), user(int64(e.user))
		b = str(append(b, '{'), "originalusername", a.first+" "+a.last)
		b = str(append(b, ','), "loggedinasusername", t.first+" "+t.last)
		return append(b, '}')
	case kSectionViewed:
		b = num(append(b, '{'), "sectionnum", e.a)
		return append(b, '}')
	case kUserProfileViewed:
		b = num(append(b, '{'), "courseid", c.id)
		b = str(append(b, ','), "courseshortname", c.short)
		b = str(append(b, ','), "coursefullname", c.full)
		return append(b, '}')
	case kCompletionUpdated:
		b = num(append(b, '{'), "relateduserid", int64(e.related))
		b = append(b, `,"overrideby":null,"completionstate":1}`...)
		return b
	case kUserGraded:
		b = num(append(b, '{'), "itemid", e.a)
		b = append(b, `,"overridden":false,"finalgrade":`...)
		b = strconv.AppendFloat(b, float64(e.b)/1e5, 'f', -1, 64)
		return append(b, '}')
	case kCMCreated, kCMUpdated, kCMDeleted:
		b = str(append(b, '{'), "modulename", moduleInfo[cm.mod].name)
		b = num(append(b, ','), "instanceid", cm.instance)
		if e.kind != kCMDeleted {
			b = str(append(b, ','), "name", cm.name)
		}
		return append(b, '}')
	case kMessageSent:
		b = num(append(b, '{'), "messageid", e.obj)
		b = num(append(b, ','), "courseid", e.a)
		return append(b, '}')
	case kWSFunctionCalled:
		b = str(append(b, '{'), "function", wsFunctions[e.a])
		return append(b, '}')
	case kDiscussionCreated:
		b = num(append(b, '{'), "forumid", e.a)
		return append(b, '}')
	case kPostCreated:
		b = num(append(b, '{'), "discussionid", e.a)
		b = num(append(b, ','), "forumid", e.b)
		return append(b, `,"forumtype":"general"}`...)
	case kForumAssessableUploaded:
		b = num(append(b, '{'), "discussionid", e.a)
		from := "forum_add_post"
		if e.b == 1 {
			from = "forum_add_discussion"
		}
		b = str(append(b, ','), "triggeredfrom", from)
		b = str(append(b, ','), "content", "<p>"+topics[int(e.obj)%len(topics)]+": here is what I found in this week's reading.</p>")
		return append(b, `,"pathnamehashes":[]}`...)
	case kAttemptStarted, kAttemptSummaryViewed, kAttemptReviewed:
		b = num(append(b, '{'), "quizid", e.a)
		return append(b, '}')
	case kAttemptViewed:
		b = num(append(b, '{'), "quizid", e.a)
		b = num(append(b, ','), "page", e.b)
		return append(b, '}')
	case kAttemptSubmitted:
		b = num(append(b, '{'), "submitterid", int64(e.user))
		b = num(append(b, ','), "quizid", e.a)
		return append(b, '}')
	case kSubmissionStatusViewed, kSubmissionFormViewed:
		b = num(append(b, '{'), "assignid", e.a)
		return append(b, '}')
	case kGradingTableViewed:
		b = num(append(b, '{'), "assignid", e.a)
		return append(b, '}')
	case kAssessableSubmitted:
		return append(b, `{"submission_editable":false}`...)
	case kScoLaunched:
		b = append(b, `{"loadedcontent":"index.html",`...)
		b = num(b, "instanceid", e.a)
		return append(b, '}')
	case kStatusSubmitted:
		b = num(append(b, '{'), "attemptid", e.a)
		return append(b, `,"cmielement":"cmi.core.lesson_status","cmivalue":"completed"}`...)
	case kScorerawSubmitted:
		b = num(append(b, '{'), "attemptid", e.a)
		b = append(b, `,"cmielement":"cmi.core.score.raw","cmivalue":"`...)
		b = strconv.AppendInt(b, e.b, 10)
		return append(b, `"}`...)
	case kFeedbackResponseSubmitted:
		b = append(b, `{"anonymous":`...)
		b = strconv.AppendBool(b, e.anon)
		b = num(append(b, ','), "cmid", cm.id)
		b = num(append(b, ','), "instanceid", cm.instance)
		return append(b, '}')
	}
	return append(b, "null"...)
}

// writeUsers writes the user table, with what the log says about each
// user's accesses.
func (s *site) writeUsers(ctx context.Context, w *Writer) error {
	for i := range s.users {
		p := &s.users[i]
		u := Defaults[User]()
		u.ID, u.Username, u.FirstName, u.LastName, u.Email = p.id, p.username, p.first, p.last, p.email
		u.MnetHostID, u.Confirmed, u.IDNumber = localHostID, 1, p.idnumber
		u.City, u.Country, u.TimeCreated, u.TimeModified = p.city, p.country, p.created, p.created
		u.FirstAccess, u.LastAccess, u.LastLogin, u.CurrentLogin = p.firstAccess, p.lastAccess, p.lastLogin, p.currentLogin
		if p.lastIP.v != 0 {
			u.LastIP = p.lastIP.String()
		}
		u.Password = fakeHash(s.opt.Seed, p.id)
		u.Description = Some("")
		switch {
		case p.id == guestID:
			u.Auth, u.Description, u.Password = "manual", Some("This user is a special user that allows read-only access to some courses."), fakeHash(0, 1)
			u.MailFormat, u.MailDisplay = 1, 2
		case p.id == adminID:
			u.Institution, u.Department = "Demo University", "IT services"
		default:
			u.Institution, u.Department = "Demo University", p.department
			if p.learner {
				u.Phone1 = fmt.Sprintf("+33 6 %02d %02d %02d %02d", p.id%100, p.id/100%100, p.id*7%100, p.id*13%100)
			}
		}
		if err := w.add(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// fakeHash is a bcrypt-shaped password hash (not a real one).
func fakeHash(seed uint64, id int64) string {
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("$2y$10$")
	h := seed ^ uint64(id)*0x9e3779b97f4a7c15
	for range 53 {
		h ^= h >> 29
		h *= 0xbf58476d1ce4e5b9
		b = append(b, alphabet[h>>58])
	}
	return string(b)
}

// writeGrades writes grade_grades: the activity grades the log produced
// (NULL for submissions not graded yet) and every learner's course total
// (NULL when nothing is graded).
func (s *site) writeGrades(ctx context.Context, w *Writer) (int, error) {
	n := 0
	add := func(g GradeGrade) error {
		n++
		return w.add(ctx, g)
	}
	for ei := range s.enrols {
		en := &s.enrols[ei]
		c := &s.courses[en.course]
		sum, count := 0.0, 0
		for gi, cmi := range c.graded {
			m := &s.cms[cmi]
			if en.grade[gi] == gradeNone {
				continue
			}
			gg := Defaults[GradeGrade]()
			gg.ItemID, gg.UserID = m.gradeItem, en.user
			gg.RawGradeMax, gg.AggregationStatus = 100, "used"
			if m.mod == mQuiz {
				gg.RawGradeMax = 10
			}
			if en.grade[gi] == gradeSubmitted {
				gg.ID = s.nextGrade
				s.nextGrade++
				gg.AggregationStatus = "novalue"
			} else {
				v := float64(en.grade[gi]) / 1e5
				gg.ID = en.gradeID[gi]
				gg.RawGrade, gg.FinalGrade = Some(v), Some(v)
				gg.TimeCreated, gg.TimeModified = Some(en.gradeTime[gi]), Some(en.gradeTime[gi])
				gg.UserModified = Some(en.user)
				if m.mod == mAssign {
					gg.UserModified = Some(c.teacher)
				}
				sum += v / gg.RawGradeMax
				count++
			}
			if err := add(gg); err != nil {
				return n, err
			}
		}
		total := Defaults[GradeGrade]()
		total.ID, total.ItemID, total.UserID = s.nextGrade, c.gradeItem, en.user
		s.nextGrade++
		if count > 0 {
			total.FinalGrade = Some(math.Round(sum/float64(count)*100*1e5) / 1e5)
			total.AggregationStatus = "used"
		}
		if err := add(total); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Analyze gathers optimizer statistics for the prefix's tables, as a live
// site's autovacuum / InnoDB persistent statistics would: without them the
// engines pick poor plans for freshly loaded tables.
func Analyze(ctx context.Context, db *dbconn.DB, prefix string) error {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	for _, t := range Tables(prefix) {
		stmt := "ANALYZE " + quote(db.Kind, t)
		if db.Kind == dbconn.MySQL {
			stmt = "ANALYZE TABLE " + quote(db.Kind, t)
		}
		if _, err := db.DB.DB.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("seed: analyze %s: %w", t, err)
		}
	}
	return nil
}
