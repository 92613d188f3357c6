package moodle

import (
	"database/sql"
	"fmt"
	"strconv"

	"github.com/uptrace/bun"
)

// The models carry the logical table name; every query sets the physical
// name (prefix + table) with ModelTableExpr. Only the columns usestats reads
// are mapped. Integers are int64 (Moodle flags may hold dates); nullable
// columns use sql.Null types; grades (number(10,5)) are float64.

// LogRow is a row of logstore_standard_log (the columns the engine uses;
// `other` is never selected).
type LogRow struct {
	bun.BaseModel `bun:"table:logstore_standard_log,alias:l"`

	ID                int64          `bun:"id,pk"`
	EventName         string         `bun:"eventname"`
	Component         string         `bun:"component"`
	Action            string         `bun:"action"`
	Target            string         `bun:"target"`
	CRUD              string         `bun:"crud"`
	EduLevel          int64          `bun:"edulevel"`
	ContextID         int64          `bun:"contextid"`
	ContextLevel      int64          `bun:"contextlevel"`
	ContextInstanceID int64          `bun:"contextinstanceid"`
	UserID            int64          `bun:"userid"`
	CourseID          sql.NullInt64  `bun:"courseid"`
	RelatedUserID     sql.NullInt64  `bun:"relateduserid"`
	Anonymous         int64          `bun:"anonymous"`
	TimeCreated       int64          `bun:"timecreated"`
	Origin            sql.NullString `bun:"origin"`
	IP                sql.NullString `bun:"ip"`
	RealUserID        sql.NullInt64  `bun:"realuserid"`
}

// User is a row of user.
type User struct {
	bun.BaseModel `bun:"table:user,alias:u"`

	ID          int64  `bun:"id,pk"`
	Auth        string `bun:"auth"`
	Confirmed   int64  `bun:"confirmed"`
	Deleted     int64  `bun:"deleted"`
	Suspended   int64  `bun:"suspended"`
	MnetHostID  int64  `bun:"mnethostid"`
	Username    string `bun:"username"`
	IDNumber    string `bun:"idnumber"`
	FirstName   string `bun:"firstname"`
	LastName    string `bun:"lastname"`
	Email       string `bun:"email"`
	Institution string `bun:"institution"`
	Department  string `bun:"department"`
	FirstAccess int64  `bun:"firstaccess"`
	LastAccess  int64  `bun:"lastaccess"`
	LastLogin   int64  `bun:"lastlogin"`
}

// Course is a row of course.
type Course struct {
	bun.BaseModel `bun:"table:course,alias:c"`

	ID        int64  `bun:"id,pk"`
	Category  int64  `bun:"category"`
	FullName  string `bun:"fullname"`
	ShortName string `bun:"shortname"`
	IDNumber  string `bun:"idnumber"`
	Format    string `bun:"format"`
	StartDate int64  `bun:"startdate"`
	EndDate   int64  `bun:"enddate"`
	Visible   int64  `bun:"visible"`
}

// CourseCategory is a row of course_categories.
type CourseCategory struct {
	bun.BaseModel `bun:"table:course_categories,alias:cc"`

	ID       int64          `bun:"id,pk"`
	Name     string         `bun:"name"`
	IDNumber sql.NullString `bun:"idnumber"`
	Parent   int64          `bun:"parent"`
	Path     string         `bun:"path"`
	Depth    int64          `bun:"depth"`
}

// CourseModule is a row of course_modules.
type CourseModule struct {
	bun.BaseModel `bun:"table:course_modules,alias:cm"`

	ID                 int64          `bun:"id,pk"`
	Course             int64          `bun:"course"`
	Module             int64          `bun:"module"`
	Instance           int64          `bun:"instance"`
	Section            int64          `bun:"section"`
	IDNumber           sql.NullString `bun:"idnumber"`
	Visible            int64          `bun:"visible"`
	DeletionInProgress int64          `bun:"deletioninprogress"`
}

// CourseSection is a row of course_sections.
type CourseSection struct {
	bun.BaseModel `bun:"table:course_sections,alias:cs"`

	ID      int64          `bun:"id,pk"`
	Course  int64          `bun:"course"`
	Section int64          `bun:"section"`
	Name    sql.NullString `bun:"name"`
	Visible int64          `bun:"visible"`
}

// Module is a row of modules (the installed activity types).
type Module struct {
	bun.BaseModel `bun:"table:modules,alias:m"`

	ID      int64  `bun:"id,pk"`
	Name    string `bun:"name"`
	Visible int64  `bun:"visible"`
}

// Context is a row of context.
type Context struct {
	bun.BaseModel `bun:"table:context,alias:ctx"`

	ID           int64          `bun:"id,pk"`
	ContextLevel int64          `bun:"contextlevel"`
	InstanceID   int64          `bun:"instanceid"`
	Path         sql.NullString `bun:"path"`
	Depth        int64          `bun:"depth"`
}

// ModuleInstance is the part every activity table (mdl_page, mdl_quiz, …)
// shares.
type ModuleInstance struct {
	bun.BaseModel `bun:"table:page,alias:mi"`

	ID     int64  `bun:"id,pk"`
	Course int64  `bun:"course"`
	Name   string `bun:"name"`
}

// GradeItem is a row of grade_items.
type GradeItem struct {
	bun.BaseModel `bun:"table:grade_items,alias:gi"`

	ID           int64          `bun:"id,pk"`
	CourseID     sql.NullInt64  `bun:"courseid"`
	ItemName     sql.NullString `bun:"itemname"`
	ItemType     string         `bun:"itemtype"`
	ItemModule   sql.NullString `bun:"itemmodule"`
	ItemInstance sql.NullInt64  `bun:"iteminstance"`
	ItemNumber   sql.NullInt64  `bun:"itemnumber"`
	GradeMax     Number         `bun:"grademax"`
	GradeMin     Number         `bun:"grademin"`
	GradePass    Number         `bun:"gradepass"`
}

// GradeGrade is a row of grade_grades.
type GradeGrade struct {
	bun.BaseModel `bun:"table:grade_grades,alias:gg"`

	ID         int64           `bun:"id,pk"`
	ItemID     int64           `bun:"itemid"`
	UserID     int64           `bun:"userid"`
	RawGrade   sql.NullFloat64 `bun:"rawgrade"`
	FinalGrade sql.NullFloat64 `bun:"finalgrade"`
}

// Enrol is a row of enrol (an enrolment instance of a course).
type Enrol struct {
	bun.BaseModel `bun:"table:enrol,alias:e"`

	ID             int64         `bun:"id,pk"`
	Enrol          string        `bun:"enrol"`
	Status         int64         `bun:"status"`
	CourseID       int64         `bun:"courseid"`
	EnrolStartDate sql.NullInt64 `bun:"enrolstartdate"`
	EnrolEndDate   sql.NullInt64 `bun:"enrolenddate"`
}

// UserEnrolment is a row of user_enrolments.
type UserEnrolment struct {
	bun.BaseModel `bun:"table:user_enrolments,alias:ue"`

	ID        int64 `bun:"id,pk"`
	Status    int64 `bun:"status"`
	EnrolID   int64 `bun:"enrolid"`
	UserID    int64 `bun:"userid"`
	TimeStart int64 `bun:"timestart"`
	TimeEnd   int64 `bun:"timeend"`
}

// MnetHost is a row of mnet_host. PublicKey is the host's certificate
// (PEM), valid until PublicKeyExpires (Unix seconds).
type MnetHost struct {
	bun.BaseModel `bun:"table:mnet_host,alias:mh"`

	ID               int64  `bun:"id,pk"`
	Deleted          int64  `bun:"deleted"`
	WWWRoot          string `bun:"wwwroot"`
	IPAddress        string `bun:"ip_address"`
	Name             string `bun:"name"`
	PublicKey        string `bun:"public_key"`
	PublicKeyExpires int64  `bun:"public_key_expires"`
	ApplicationID    int64  `bun:"applicationid"`
}

// ConfigSetting is a row of config (a site setting, $CFG->name).
type ConfigSetting struct {
	bun.BaseModel `bun:"table:config,alias:cfg"`

	ID    int64  `bun:"id,pk"`
	Name  string `bun:"name"`
	Value string `bun:"value"`
}

// RoleCapability is a row of role_capabilities (the columns the
// capability check reads).
type RoleCapability struct {
	bun.BaseModel `bun:"table:role_capabilities,alias:rc"`

	ID         int64  `bun:"id,pk"`
	ContextID  int64  `bun:"contextid"`
	RoleID     int64  `bun:"roleid"`
	Capability string `bun:"capability"`
	Permission int64  `bun:"permission"`
}

// Number is a NOT NULL number(10,5) column. Engines return it as a decimal
// string (PostgreSQL NUMERIC, MySQL DECIMAL), a float or an integer
// (SQLite stores 100.00000 as 100); Number scans all of them.
type Number float64

// Scan implements sql.Scanner.
func (n *Number) Scan(v any) error {
	switch x := v.(type) {
	case float64:
		*n = Number(x)
	case int64:
		*n = Number(x)
	case []byte:
		return n.parse(string(x))
	case string:
		return n.parse(x)
	case nil:
		*n = 0
	default:
		return fmt.Errorf("number: cannot scan %T", v)
	}
	return nil
}

func (n *Number) parse(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("number: %w", err)
	}
	*n = Number(f)
	return nil
}
