package seed

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Group is a row of groups: a group of a course's participants (Moodle
// 4.5 columns).
type Group struct {
	ID                int64            `moodle:"id,seq"`
	CourseID          int64            `moodle:"courseid,int(10),nn"`
	IDNumber          string           `moodle:"idnumber,char(100),nn"`
	Name              string           `moodle:"name,char(254),nn"`
	Description       sql.Null[string] `moodle:"description,text"`
	DescriptionFormat int64            `moodle:"descriptionformat,int(2),nn,default=0"`
	EnrolmentKey      sql.Null[string] `moodle:"enrolmentkey,char(50)"`
	Picture           int64            `moodle:"picture,int(10),nn,default=0"`
	Visibility        int64            `moodle:"visibility,int(1),nn,default=0"`
	Participation     int64            `moodle:"participation,int(1),nn,default=1"`
	TimeCreated       int64            `moodle:"timecreated,int(10),nn,default=0"`
	TimeModified      int64            `moodle:"timemodified,int(10),nn,default=0"`
	EnableMessaging   int64            `moodle:"enablemessaging,int(1),nn,default=0"`
}

// TableName implements Row.
func (Group) TableName() string { return "groups" }

// Grouping is a row of groupings: a named set of a course's groups.
type Grouping struct {
	ID                int64            `moodle:"id,seq"`
	CourseID          int64            `moodle:"courseid,int(10),nn,default=0"`
	Name              string           `moodle:"name,char(255),nn"`
	IDNumber          string           `moodle:"idnumber,char(100),nn"`
	Description       sql.Null[string] `moodle:"description,text"`
	DescriptionFormat int64            `moodle:"descriptionformat,int(2),nn,default=0"`
	ConfigData        sql.Null[string] `moodle:"configdata,text"`
	TimeCreated       int64            `moodle:"timecreated,int(10),nn,default=0"`
	TimeModified      int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (Grouping) TableName() string { return "groupings" }

// GroupMember is a row of groups_members: a user in a group. Component is
// "" for a membership added by hand.
type GroupMember struct {
	ID        int64  `moodle:"id,seq"`
	GroupID   int64  `moodle:"groupid,int(10),nn,default=0"`
	UserID    int64  `moodle:"userid,int(10),nn,default=0"`
	TimeAdded int64  `moodle:"timeadded,int(10),nn,default=0"`
	Component string `moodle:"component,char(100),nn"`
	ItemID    int64  `moodle:"itemid,int(10),nn,default=0"`
}

// TableName implements Row.
func (GroupMember) TableName() string { return "groups_members" }

// GroupingGroup is a row of groupings_groups: a group in a grouping.
type GroupingGroup struct {
	ID         int64 `moodle:"id,seq"`
	GroupingID int64 `moodle:"groupingid,int(10),nn,default=0"`
	GroupID    int64 `moodle:"groupid,int(10),nn,default=0"`
	TimeAdded  int64 `moodle:"timeadded,int(10),nn,default=0"`
}

// TableName implements Row.
func (GroupingGroup) TableName() string { return "groupings_groups" }

// Cohort is a row of cohort: a site-wide group of users, in the system
// context or a category's.
type Cohort struct {
	ID                int64            `moodle:"id,seq"`
	ContextID         int64            `moodle:"contextid,int(10),nn"`
	Name              string           `moodle:"name,char(254),nn"`
	IDNumber          sql.Null[string] `moodle:"idnumber,char(100)"`
	Description       sql.Null[string] `moodle:"description,text"`
	DescriptionFormat int64            `moodle:"descriptionformat,int(2),nn"`
	Visible           int64            `moodle:"visible,int(1),nn,default=1"`
	Component         string           `moodle:"component,char(100),nn"`
	TimeCreated       int64            `moodle:"timecreated,int(10),nn"`
	TimeModified      int64            `moodle:"timemodified,int(10),nn"`
	Theme             sql.Null[string] `moodle:"theme,char(50)"`
}

// TableName implements Row.
func (Cohort) TableName() string { return "cohort" }

// CohortMember is a row of cohort_members: a user in a cohort.
type CohortMember struct {
	ID        int64 `moodle:"id,seq"`
	CohortID  int64 `moodle:"cohortid,int(10),nn,default=0"`
	UserID    int64 `moodle:"userid,int(10),nn,default=0"`
	TimeAdded int64 `moodle:"timeadded,int(10),nn,default=0"`
}

// TableName implements Row.
func (CohortMember) TableName() string { return "cohort_members" }

// rosterSalt seeds the stream the roster is drawn from, apart from the
// population's and the days': adding the roster changed no other draw,
// so the log and every time computed from it stay as they were.
const rosterSalt = 0x726f73746572 // "roster"

// roster is who belongs where beyond the enrolments themselves: the
// enrolments' end dates and suspensions, the courses' groups and
// groupings, and the site's cohorts.
type roster struct {
	end       []int64 // by enrolment index: user_enrolments.timeend (0: none)
	suspended []bool  // by enrolment index: user_enrolments.status 1
	groups    []rosterGroup
	groupings []rosterGrouping
	cohorts   []rosterCohort
}

type rosterGroup struct {
	course      int32 // index in site.courses
	name, idn   string
	created     int64
	members     []int32 // enrolment indexes, in enrolment order
	memberSince []int64
}

type rosterGrouping struct {
	course    int32
	name, idn string
	created   int64
	groups    []int // indexes in roster.groups
}

type rosterCohort struct {
	ctx       int64
	name, idn string
	visible   bool
	created   int64
	users     []int64 // ascending
}

// Shares of the roster's draws.
const (
	shareWithEnd       = 0.35 // learner enrolments with an end date
	shareSuspended     = 0.05 // learner enrolments suspended
	shareNoGroup       = 0.12 // learners in none of their course's groups
	shareTwoGroups     = 0.08 // learners in two groups
	shareExchange      = 0.10 // learners in the (hidden) exchange cohort
	enrolmentEndMargin = 28 * day
)

// planRoster draws the roster from its own stream. It reads the built
// population and changes nothing in it.
func (s *site) planRoster() *roster {
	r := rand.New(rand.NewPCG(s.opt.Seed, rosterSalt))
	ro := &roster{end: make([]int64, len(s.enrols)), suspended: make([]bool, len(s.enrols))}
	anySuspended := false
	for ei := range s.enrols {
		c := &s.courses[s.enrols[ei].course]
		if r.Float64() < shareWithEnd {
			// Ends after the course and after the simulated activity: no
			// logged row falls after the end of its enrolment.
			ro.end[ei] = (max(c.endDate, s.end)+enrolmentEndMargin)/day*day + day - 1
		}
		if r.Float64() < shareSuspended {
			ro.suspended[ei], anySuspended = true, true
		}
	}
	if !anySuspended && len(s.enrols) >= 3 {
		ro.suspended[r.IntN(len(s.enrols))] = true
	}
	for ci := 1; ci < len(s.courses); ci++ {
		s.planGroups(r, ro, int32(ci))
	}
	s.planCohorts(r, ro)
	return ro
}

// planGroups gives a course 2 to 4 groups, most learners in one of them,
// some in none, a few in two, and a grouping of all groups but the last
// (the first alone when there are two).
func (s *site) planGroups(r *rand.Rand, ro *roster, ci int32) {
	c := &s.courses[ci]
	n := 2 + r.IntN(3)
	created := c.start - 14*day
	first := len(ro.groups)
	for k := range n {
		letter := string(rune('A' + k))
		ro.groups = append(ro.groups, rosterGroup{course: ci, name: "Tutorial group " + letter,
			idn: c.short + "-TUT" + letter, created: created})
	}
	join := func(g int, ei int32) {
		grp := &ro.groups[first+g]
		grp.members = append(grp.members, ei)
		grp.memberSince = append(grp.memberSince, max(s.enrols[ei].start, grp.created))
	}
	for _, ei := range c.learners {
		x := r.Float64()
		if x < shareNoGroup {
			continue
		}
		g := r.IntN(n)
		join(g, ei)
		if x >= 1-shareTwoGroups {
			join((g+1+r.IntN(n-1))%n, ei)
		}
	}
	gp := rosterGrouping{course: ci, name: "Seminar groups", idn: c.short + "-SEM", created: created}
	for k := range max(1, n-1) {
		gp.groups = append(gp.groups, first+k)
	}
	ro.groupings = append(ro.groupings, gp)
}

// planCohorts makes the site's cohorts: two intakes sharing the learners,
// a hidden cohort of exchange students, the teaching staff, and one
// cohort in the first faculty's category context with the learners of
// its courses.
func (s *site) planCohorts(r *rand.Rand, ro *roster) {
	created := s.users[adminID-1].created + day
	intake24 := rosterCohort{ctx: systemContextID, name: "Intake 2024", idn: "INTAKE-2024", visible: true, created: created}
	intake25 := rosterCohort{ctx: systemContextID, name: "Intake 2025", idn: "INTAKE-2025", visible: true, created: created}
	exchange := rosterCohort{ctx: systemContextID, name: "Exchange students", idn: "EXCHANGE", created: created}
	staff := rosterCohort{ctx: systemContextID, name: "Teaching staff", idn: "STAFF", visible: true, created: created}
	fac := &s.cats[0]
	faculty := rosterCohort{ctx: fac.ctx, name: fac.name + " students", idn: fac.idnumber + "-STUDENTS", visible: true, created: created}
	inFaculty := func(c *course) bool { return strings.HasPrefix(s.cats[c.cat].path+"/", fac.path+"/") }
	for i := range s.users {
		u := &s.users[i]
		if !u.learner {
			if slices.Contains(s.teachers, u.id) {
				staff.users = append(staff.users, u.id)
			}
			continue
		}
		if r.Float64() < 0.5 {
			intake24.users = append(intake24.users, u.id)
		} else {
			intake25.users = append(intake25.users, u.id)
		}
		if r.Float64() < shareExchange {
			exchange.users = append(exchange.users, u.id)
		}
		for _, ei := range u.enrols {
			if inFaculty(&s.courses[s.enrols[ei].course]) {
				faculty.users = append(faculty.users, u.id)
				break
			}
		}
	}
	ro.cohorts = append(ro.cohorts, intake24, intake25, exchange, staff, faculty)
}

// learnerEnrolment is the user_enrolments row of a learner's enrolment,
// with the roster's end date and suspension.
func (s *site) learnerEnrolment(ei int32, enrolID, modifier int64) UserEnrolment {
	e := &s.enrols[ei]
	ue := UserEnrolment{ID: e.ueID, EnrolID: enrolID, UserID: e.user, TimeStart: e.start, TimeEnd: s.roster.end[ei],
		ModifierID: modifier, TimeCreated: e.start, TimeModified: e.start}
	if s.roster.suspended[ei] {
		ue.Status = 1
	}
	return ue
}

// writeRoster writes groups, groups_members, groupings, groupings_groups,
// cohort and cohort_members.
func (s *site) writeRoster(ctx context.Context, w *Writer) error {
	ro := s.roster
	memberID := int64(0)
	for gi := range ro.groups {
		g := &ro.groups[gi]
		row := Defaults[Group]()
		row.ID, row.CourseID, row.IDNumber, row.Name = int64(gi+1), s.courses[g.course].id, g.idn, g.name
		row.Description, row.DescriptionFormat, row.EnrolmentKey = Some("<p>"+g.name+"</p>"), 1, Some("")
		row.TimeCreated, row.TimeModified = g.created, g.created
		if err := w.add(ctx, row); err != nil {
			return err
		}
		for k, ei := range g.members {
			memberID++
			if err := w.add(ctx, GroupMember{ID: memberID, GroupID: row.ID, UserID: s.enrols[ei].user, TimeAdded: g.memberSince[k]}); err != nil {
				return err
			}
		}
	}
	linkID := int64(0)
	for gpi := range ro.groupings {
		gp := &ro.groupings[gpi]
		row := Defaults[Grouping]()
		row.ID, row.CourseID, row.Name, row.IDNumber = int64(gpi+1), s.courses[gp.course].id, gp.name, gp.idn
		row.Description, row.DescriptionFormat = Some(""), 1
		row.TimeCreated, row.TimeModified = gp.created, gp.created
		if err := w.add(ctx, row); err != nil {
			return err
		}
		for _, gi := range gp.groups {
			linkID++
			if err := w.add(ctx, GroupingGroup{ID: linkID, GroupingID: row.ID, GroupID: int64(gi + 1), TimeAdded: gp.created}); err != nil {
				return err
			}
		}
	}
	memberID = 0
	for ci := range ro.cohorts {
		co := &ro.cohorts[ci]
		row := Cohort{ID: int64(ci + 1), ContextID: co.ctx, Name: co.name, IDNumber: Some(co.idn),
			Description: Some(fmt.Sprintf("<p>%s</p>", co.name)), DescriptionFormat: 1,
			TimeCreated: co.created, TimeModified: co.created}
		if co.visible {
			row.Visible = 1
		}
		if err := w.add(ctx, row); err != nil {
			return err
		}
		for _, uid := range co.users {
			memberID++
			if err := w.add(ctx, CohortMember{ID: memberID, CohortID: row.ID, UserID: uid,
				TimeAdded: max(co.created, s.users[uid-1].created)}); err != nil {
				return err
			}
		}
	}
	return nil
}
