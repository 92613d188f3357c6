package seed

import "database/sql"

// Row is one row of a Moodle table the seed package knows. Every row type
// of this package implements it, by value and by pointer. The `moodle`
// struct tag of each field names the column and carries its XMLDB type
// (docs/moodle-data.md §3): `moodle:"column,type[,nn][,default=value]"`, where type is seq,
// int(N), char(N), text, number(L,D) or float. Fields of NOT NULL columns are
// plain Go values; nullable columns are sql.Null values.
type Row interface {
	// TableName is the logical Moodle table name, without the prefix.
	TableName() string
}

// Some returns a valid (non-NULL) sql.Null holding v, for nullable columns.
func Some[T any](v T) sql.Null[T] { return sql.Null[T]{V: v, Valid: true} }

// Log is a row of logstore_standard_log (docs/moodle-data.md §3.1, §4).
type Log struct {
	ID                int64            `moodle:"id,seq"`
	EventName         string           `moodle:"eventname,char(255),nn"`
	Component         string           `moodle:"component,char(100),nn"`
	Action            string           `moodle:"action,char(100),nn"`
	Target            string           `moodle:"target,char(100),nn"`
	ObjectTable       sql.Null[string] `moodle:"objecttable,char(50)"`
	ObjectID          sql.Null[int64]  `moodle:"objectid,int(10)"`
	CRUD              string           `moodle:"crud,char(1),nn"`
	EduLevel          int64            `moodle:"edulevel,int(1),nn"`
	ContextID         int64            `moodle:"contextid,int(10),nn"`
	ContextLevel      int64            `moodle:"contextlevel,int(10),nn"`
	ContextInstanceID int64            `moodle:"contextinstanceid,int(10),nn"`
	UserID            int64            `moodle:"userid,int(10),nn"`
	CourseID          sql.Null[int64]  `moodle:"courseid,int(10)"`
	RelatedUserID     sql.Null[int64]  `moodle:"relateduserid,int(10)"`
	Anonymous         int64            `moodle:"anonymous,int(1),nn,default=0"`
	Other             sql.Null[string] `moodle:"other,text"`
	TimeCreated       int64            `moodle:"timecreated,int(10),nn"`
	Origin            sql.Null[string] `moodle:"origin,char(10)"`
	IP                sql.Null[string] `moodle:"ip,char(45)"`
	RealUserID        sql.Null[int64]  `moodle:"realuserid,int(10)"`
}

// TableName implements Row.
func (Log) TableName() string { return "logstore_standard_log" }

// User is a row of user (docs/moodle-data.md §3.2).
type User struct {
	ID                int64            `moodle:"id,seq"`
	Auth              string           `moodle:"auth,char(20),nn,default=manual"`
	Confirmed         int64            `moodle:"confirmed,int(1),nn,default=0"`
	PolicyAgreed      int64            `moodle:"policyagreed,int(1),nn,default=0"`
	Deleted           int64            `moodle:"deleted,int(1),nn,default=0"`
	Suspended         int64            `moodle:"suspended,int(1),nn,default=0"`
	MnetHostID        int64            `moodle:"mnethostid,int(10),nn,default=0"`
	Username          string           `moodle:"username,char(100),nn"`
	Password          string           `moodle:"password,char(255),nn"`
	IDNumber          string           `moodle:"idnumber,char(255),nn"`
	FirstName         string           `moodle:"firstname,char(100),nn"`
	LastName          string           `moodle:"lastname,char(100),nn"`
	Email             string           `moodle:"email,char(100),nn"`
	EmailStop         int64            `moodle:"emailstop,int(1),nn,default=0"`
	Phone1            string           `moodle:"phone1,char(20),nn"`
	Phone2            string           `moodle:"phone2,char(20),nn"`
	Institution       string           `moodle:"institution,char(255),nn"`
	Department        string           `moodle:"department,char(255),nn"`
	Address           string           `moodle:"address,char(255),nn"`
	City              string           `moodle:"city,char(120),nn"`
	Country           string           `moodle:"country,char(2),nn"`
	Lang              string           `moodle:"lang,char(30),nn,default=en"`
	CalendarType      string           `moodle:"calendartype,char(30),nn,default=gregorian"`
	Theme             string           `moodle:"theme,char(50),nn"`
	Timezone          string           `moodle:"timezone,char(100),nn,default=99"`
	FirstAccess       int64            `moodle:"firstaccess,int(10),nn,default=0"`
	LastAccess        int64            `moodle:"lastaccess,int(10),nn,default=0"`
	LastLogin         int64            `moodle:"lastlogin,int(10),nn,default=0"`
	CurrentLogin      int64            `moodle:"currentlogin,int(10),nn,default=0"`
	LastIP            string           `moodle:"lastip,char(45),nn"`
	Secret            string           `moodle:"secret,char(15),nn"`
	Picture           int64            `moodle:"picture,int(10),nn,default=0"`
	Description       sql.Null[string] `moodle:"description,text"`
	DescriptionFormat int64            `moodle:"descriptionformat,int(2),nn,default=1"`
	MailFormat        int64            `moodle:"mailformat,int(1),nn,default=1"`
	MailDigest        int64            `moodle:"maildigest,int(1),nn,default=0"`
	MailDisplay       int64            `moodle:"maildisplay,int(2),nn,default=2"`
	AutoSubscribe     int64            `moodle:"autosubscribe,int(1),nn,default=1"`
	TrackForums       int64            `moodle:"trackforums,int(1),nn,default=0"`
	TimeCreated       int64            `moodle:"timecreated,int(10),nn,default=0"`
	TimeModified      int64            `moodle:"timemodified,int(10),nn,default=0"`
	TrustBitmask      int64            `moodle:"trustbitmask,int(10),nn,default=0"`
	ImageAlt          sql.Null[string] `moodle:"imagealt,char(255)"`
	LastNamePhonetic  sql.Null[string] `moodle:"lastnamephonetic,char(255)"`
	FirstNamePhonetic sql.Null[string] `moodle:"firstnamephonetic,char(255)"`
	MiddleName        sql.Null[string] `moodle:"middlename,char(255)"`
	AlternateName     sql.Null[string] `moodle:"alternatename,char(255)"`
	MoodleNetProfile  sql.Null[string] `moodle:"moodlenetprofile,char(255)"`
}

// TableName implements Row.
func (User) TableName() string { return "user" }

// Course is a row of course (docs/moodle-data.md §3.3, Moodle 4.5 columns).
type Course struct {
	ID                       int64            `moodle:"id,seq"`
	Category                 int64            `moodle:"category,int(10),nn,default=0"`
	SortOrder                int64            `moodle:"sortorder,int(10),nn,default=0"`
	FullName                 string           `moodle:"fullname,char(254),nn"`
	ShortName                string           `moodle:"shortname,char(255),nn"`
	IDNumber                 string           `moodle:"idnumber,char(100),nn"`
	Summary                  sql.Null[string] `moodle:"summary,text"`
	SummaryFormat            int64            `moodle:"summaryformat,int(2),nn,default=0"`
	Format                   string           `moodle:"format,char(21),nn,default=topics"`
	ShowGrades               int64            `moodle:"showgrades,int(2),nn,default=1"`
	NewsItems                int64            `moodle:"newsitems,int(5),nn,default=1"`
	StartDate                int64            `moodle:"startdate,int(10),nn,default=0"`
	EndDate                  int64            `moodle:"enddate,int(10),nn,default=0"`
	RelativeDatesMode        int64            `moodle:"relativedatesmode,int(1),nn,default=0"`
	Marker                   int64            `moodle:"marker,int(10),nn,default=0"`
	MaxBytes                 int64            `moodle:"maxbytes,int(10),nn,default=0"`
	LegacyFiles              int64            `moodle:"legacyfiles,int(4),nn,default=0"`
	ShowReports              int64            `moodle:"showreports,int(4),nn,default=0"`
	Visible                  int64            `moodle:"visible,int(1),nn,default=1"`
	VisibleOld               int64            `moodle:"visibleold,int(1),nn,default=1"`
	DownloadContent          sql.Null[int64]  `moodle:"downloadcontent,int(1)"`
	GroupMode                int64            `moodle:"groupmode,int(4),nn,default=0"`
	GroupModeForce           int64            `moodle:"groupmodeforce,int(4),nn,default=0"`
	DefaultGroupingID        int64            `moodle:"defaultgroupingid,int(10),nn,default=0"`
	Lang                     string           `moodle:"lang,char(30),nn"`
	CalendarType             string           `moodle:"calendartype,char(30),nn"`
	Theme                    string           `moodle:"theme,char(50),nn"`
	TimeCreated              int64            `moodle:"timecreated,int(10),nn,default=0"`
	TimeModified             int64            `moodle:"timemodified,int(10),nn,default=0"`
	Requested                int64            `moodle:"requested,int(1),nn,default=0"`
	EnableCompletion         int64            `moodle:"enablecompletion,int(1),nn,default=0"`
	CompletionNotify         int64            `moodle:"completionnotify,int(1),nn,default=0"`
	CacheRev                 int64            `moodle:"cacherev,int(10),nn,default=0"`
	OriginalCourseID         sql.Null[int64]  `moodle:"originalcourseid,int(10)"`
	ShowActivityDates        int64            `moodle:"showactivitydates,int(1),nn,default=0"`
	ShowCompletionConditions sql.Null[int64]  `moodle:"showcompletionconditions,int(1)"`
	PDFExportFont            sql.Null[string] `moodle:"pdfexportfont,char(50)"`
}

// TableName implements Row.
func (Course) TableName() string { return "course" }

// CourseCategory is a row of course_categories (docs/moodle-data.md §3.4).
type CourseCategory struct {
	ID                int64            `moodle:"id,seq"`
	Name              string           `moodle:"name,char(255),nn"`
	IDNumber          sql.Null[string] `moodle:"idnumber,char(100)"`
	Description       sql.Null[string] `moodle:"description,text"`
	DescriptionFormat int64            `moodle:"descriptionformat,int(2),nn,default=0"`
	Parent            int64            `moodle:"parent,int(10),nn,default=0"`
	SortOrder         int64            `moodle:"sortorder,int(10),nn,default=0"`
	CourseCount       int64            `moodle:"coursecount,int(10),nn,default=0"`
	Visible           int64            `moodle:"visible,int(1),nn,default=1"`
	VisibleOld        int64            `moodle:"visibleold,int(1),nn,default=1"`
	TimeModified      int64            `moodle:"timemodified,int(10),nn,default=0"`
	Depth             int64            `moodle:"depth,int(10),nn,default=0"`
	Path              string           `moodle:"path,char(255),nn"`
	Theme             sql.Null[string] `moodle:"theme,char(50)"`
}

// TableName implements Row.
func (CourseCategory) TableName() string { return "course_categories" }

// CourseModule is a row of course_modules (docs/moodle-data.md §3.5); ID is the cmid.
type CourseModule struct {
	ID                        int64            `moodle:"id,seq"`
	Course                    int64            `moodle:"course,int(10),nn,default=0"`
	Module                    int64            `moodle:"module,int(10),nn,default=0"`
	Instance                  int64            `moodle:"instance,int(10),nn,default=0"`
	Section                   int64            `moodle:"section,int(10),nn,default=0"`
	IDNumber                  sql.Null[string] `moodle:"idnumber,char(100)"`
	Added                     int64            `moodle:"added,int(10),nn,default=0"`
	Score                     int64            `moodle:"score,int(4),nn,default=0"`
	Indent                    int64            `moodle:"indent,int(5),nn,default=0"`
	Visible                   int64            `moodle:"visible,int(1),nn,default=1"`
	VisibleOnCoursePage       int64            `moodle:"visibleoncoursepage,int(1),nn,default=1"`
	VisibleOld                int64            `moodle:"visibleold,int(1),nn,default=1"`
	GroupMode                 int64            `moodle:"groupmode,int(4),nn,default=0"`
	GroupingID                int64            `moodle:"groupingid,int(10),nn,default=0"`
	Completion                int64            `moodle:"completion,int(1),nn,default=0"`
	CompletionGradeItemNumber sql.Null[int64]  `moodle:"completiongradeitemnumber,int(10)"`
	CompletionView            int64            `moodle:"completionview,int(1),nn,default=0"`
	CompletionExpected        int64            `moodle:"completionexpected,int(10),nn,default=0"`
	CompletionPassGrade       int64            `moodle:"completionpassgrade,int(1),nn,default=0"`
	ShowDescription           int64            `moodle:"showdescription,int(1),nn,default=0"`
	Availability              sql.Null[string] `moodle:"availability,text"`
	DeletionInProgress        int64            `moodle:"deletioninprogress,int(1),nn,default=0"`
	DownloadContent           sql.Null[int64]  `moodle:"downloadcontent,int(1),default=1"`
	Lang                      sql.Null[string] `moodle:"lang,char(30)"`
}

// TableName implements Row.
func (CourseModule) TableName() string { return "course_modules" }

// CourseSection is a row of course_sections (docs/moodle-data.md §3.6).
type CourseSection struct {
	ID            int64            `moodle:"id,seq"`
	Course        int64            `moodle:"course,int(10),nn,default=0"`
	Section       int64            `moodle:"section,int(10),nn,default=0"`
	Name          sql.Null[string] `moodle:"name,char(1333)"`
	Summary       sql.Null[string] `moodle:"summary,text"`
	SummaryFormat int64            `moodle:"summaryformat,int(2),nn,default=0"`
	Sequence      sql.Null[string] `moodle:"sequence,text"`
	Visible       int64            `moodle:"visible,int(1),nn,default=1"`
	Availability  sql.Null[string] `moodle:"availability,text"`
	Component     sql.Null[string] `moodle:"component,char(100)"`
	ItemID        sql.Null[int64]  `moodle:"itemid,int(10)"`
	TimeModified  int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (CourseSection) TableName() string { return "course_sections" }

// Module is a row of modules (docs/moodle-data.md §3.7): one installed activity type.
type Module struct {
	ID       int64  `moodle:"id,seq"`
	Name     string `moodle:"name,char(20),nn"`
	Cron     int64  `moodle:"cron,int(10),nn,default=0"`
	LastCron int64  `moodle:"lastcron,int(10),nn,default=0"`
	Search   string `moodle:"search,char(255),nn"`
	Visible  int64  `moodle:"visible,int(1),nn,default=1"`
}

// TableName implements Row.
func (Module) TableName() string { return "modules" }

// Context is a row of context (docs/moodle-data.md §3.8, §5).
type Context struct {
	ID           int64            `moodle:"id,seq"`
	ContextLevel int64            `moodle:"contextlevel,int(10),nn,default=0"`
	InstanceID   int64            `moodle:"instanceid,int(10),nn,default=0"`
	Path         sql.Null[string] `moodle:"path,char(255)"`
	Depth        int64            `moodle:"depth,int(2),nn,default=0"`
	Locked       int64            `moodle:"locked,int(2),nn,default=0"`
}

// TableName implements Row.
func (Context) TableName() string { return "context" }

// GradeItem is a row of grade_items (docs/moodle-data.md §3.9, §6.1).
type GradeItem struct {
	ID               int64            `moodle:"id,seq"`
	CourseID         sql.Null[int64]  `moodle:"courseid,int(10)"`
	CategoryID       sql.Null[int64]  `moodle:"categoryid,int(10)"`
	ItemName         sql.Null[string] `moodle:"itemname,char(1333)"`
	ItemType         string           `moodle:"itemtype,char(30),nn"`
	ItemModule       sql.Null[string] `moodle:"itemmodule,char(30)"`
	ItemInstance     sql.Null[int64]  `moodle:"iteminstance,int(10)"`
	ItemNumber       sql.Null[int64]  `moodle:"itemnumber,int(10)"`
	ItemInfo         sql.Null[string] `moodle:"iteminfo,text"`
	IDNumber         sql.Null[string] `moodle:"idnumber,char(255)"`
	Calculation      sql.Null[string] `moodle:"calculation,text"`
	GradeType        int64            `moodle:"gradetype,int(4),nn,default=1"`
	GradeMax         float64          `moodle:"grademax,number(10,5),nn,default=100"`
	GradeMin         float64          `moodle:"grademin,number(10,5),nn,default=0"`
	ScaleID          sql.Null[int64]  `moodle:"scaleid,int(10)"`
	OutcomeID        sql.Null[int64]  `moodle:"outcomeid,int(10)"`
	GradePass        float64          `moodle:"gradepass,number(10,5),nn,default=0"`
	MultFactor       float64          `moodle:"multfactor,number(10,5),nn,default=1.0"`
	PlusFactor       float64          `moodle:"plusfactor,number(10,5),nn,default=0"`
	AggregationCoef  float64          `moodle:"aggregationcoef,number(10,5),nn,default=0"`
	AggregationCoef2 float64          `moodle:"aggregationcoef2,number(10,5),nn,default=0"`
	SortOrder        int64            `moodle:"sortorder,int(10),nn,default=0"`
	Display          int64            `moodle:"display,int(10),nn,default=0"`
	Decimals         sql.Null[int64]  `moodle:"decimals,int(1)"`
	Hidden           int64            `moodle:"hidden,int(10),nn,default=0"`
	Locked           int64            `moodle:"locked,int(10),nn,default=0"`
	LockTime         int64            `moodle:"locktime,int(10),nn,default=0"`
	NeedsUpdate      int64            `moodle:"needsupdate,int(10),nn,default=0"`
	WeightOverride   int64            `moodle:"weightoverride,int(1),nn,default=0"`
	TimeCreated      sql.Null[int64]  `moodle:"timecreated,int(10)"`
	TimeModified     sql.Null[int64]  `moodle:"timemodified,int(10)"`
}

// TableName implements Row.
func (GradeItem) TableName() string { return "grade_items" }

// GradeGrade is a row of grade_grades (docs/moodle-data.md §3.10, §6.2).
type GradeGrade struct {
	ID                int64             `moodle:"id,seq"`
	ItemID            int64             `moodle:"itemid,int(10),nn"`
	UserID            int64             `moodle:"userid,int(10),nn"`
	RawGrade          sql.Null[float64] `moodle:"rawgrade,number(10,5)"`
	RawGradeMax       float64           `moodle:"rawgrademax,number(10,5),nn,default=100"`
	RawGradeMin       float64           `moodle:"rawgrademin,number(10,5),nn,default=0"`
	RawScaleID        sql.Null[int64]   `moodle:"rawscaleid,int(10)"`
	UserModified      sql.Null[int64]   `moodle:"usermodified,int(10)"`
	FinalGrade        sql.Null[float64] `moodle:"finalgrade,number(10,5)"`
	Hidden            int64             `moodle:"hidden,int(10),nn,default=0"`
	Locked            int64             `moodle:"locked,int(10),nn,default=0"`
	LockTime          int64             `moodle:"locktime,int(10),nn,default=0"`
	Exported          int64             `moodle:"exported,int(10),nn,default=0"`
	Overridden        int64             `moodle:"overridden,int(10),nn,default=0"`
	Excluded          int64             `moodle:"excluded,int(10),nn,default=0"`
	Feedback          sql.Null[string]  `moodle:"feedback,text"`
	FeedbackFormat    int64             `moodle:"feedbackformat,int(10),nn,default=0"`
	Information       sql.Null[string]  `moodle:"information,text"`
	InformationFormat int64             `moodle:"informationformat,int(10),nn,default=0"`
	TimeCreated       sql.Null[int64]   `moodle:"timecreated,int(10)"`
	TimeModified      sql.Null[int64]   `moodle:"timemodified,int(10)"`
	AggregationStatus string            `moodle:"aggregationstatus,char(10),nn,default=unknown"`
	AggregationWeight sql.Null[float64] `moodle:"aggregationweight,number(10,5)"`
}

// TableName implements Row.
func (GradeGrade) TableName() string { return "grade_grades" }

// Enrol is a row of enrol: an enrolment instance of a course (docs/moodle-data.md §3.11).
type Enrol struct {
	ID              int64             `moodle:"id,seq"`
	Enrol           string            `moodle:"enrol,char(20),nn"`
	Status          int64             `moodle:"status,int(10),nn,default=0"`
	CourseID        int64             `moodle:"courseid,int(10),nn"`
	SortOrder       int64             `moodle:"sortorder,int(10),nn,default=0"`
	Name            sql.Null[string]  `moodle:"name,char(255)"`
	EnrolPeriod     sql.Null[int64]   `moodle:"enrolperiod,int(10),default=0"`
	EnrolStartDate  sql.Null[int64]   `moodle:"enrolstartdate,int(10),default=0"`
	EnrolEndDate    sql.Null[int64]   `moodle:"enrolenddate,int(10),default=0"`
	ExpiryNotify    sql.Null[int64]   `moodle:"expirynotify,int(1),default=0"`
	ExpiryThreshold sql.Null[int64]   `moodle:"expirythreshold,int(10),default=0"`
	NotifyAll       sql.Null[int64]   `moodle:"notifyall,int(1),default=0"`
	Password        sql.Null[string]  `moodle:"password,char(50)"`
	Cost            sql.Null[string]  `moodle:"cost,char(20)"`
	Currency        sql.Null[string]  `moodle:"currency,char(3)"`
	RoleID          sql.Null[int64]   `moodle:"roleid,int(10),default=0"`
	CustomInt1      sql.Null[int64]   `moodle:"customint1,int(10)"`
	CustomInt2      sql.Null[int64]   `moodle:"customint2,int(10)"`
	CustomInt3      sql.Null[int64]   `moodle:"customint3,int(10)"`
	CustomInt4      sql.Null[int64]   `moodle:"customint4,int(10)"`
	CustomInt5      sql.Null[int64]   `moodle:"customint5,int(10)"`
	CustomInt6      sql.Null[int64]   `moodle:"customint6,int(10)"`
	CustomInt7      sql.Null[int64]   `moodle:"customint7,int(10)"`
	CustomInt8      sql.Null[int64]   `moodle:"customint8,int(10)"`
	CustomChar1     sql.Null[string]  `moodle:"customchar1,char(255)"`
	CustomChar2     sql.Null[string]  `moodle:"customchar2,char(255)"`
	CustomChar3     sql.Null[string]  `moodle:"customchar3,char(1333)"`
	CustomDec1      sql.Null[float64] `moodle:"customdec1,number(12,7)"`
	CustomDec2      sql.Null[float64] `moodle:"customdec2,number(12,7)"`
	CustomText1     sql.Null[string]  `moodle:"customtext1,text"`
	CustomText2     sql.Null[string]  `moodle:"customtext2,text"`
	CustomText3     sql.Null[string]  `moodle:"customtext3,text"`
	CustomText4     sql.Null[string]  `moodle:"customtext4,text"`
	TimeCreated     int64             `moodle:"timecreated,int(10),nn,default=0"`
	TimeModified    int64             `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (Enrol) TableName() string { return "enrol" }

// UserEnrolment is a row of user_enrolments (docs/moodle-data.md §3.12).
type UserEnrolment struct {
	ID           int64 `moodle:"id,seq"`
	Status       int64 `moodle:"status,int(10),nn,default=0"`
	EnrolID      int64 `moodle:"enrolid,int(10),nn"`
	UserID       int64 `moodle:"userid,int(10),nn"`
	TimeStart    int64 `moodle:"timestart,int(10),nn,default=0"`
	TimeEnd      int64 `moodle:"timeend,int(10),nn,default=2147483647"`
	ModifierID   int64 `moodle:"modifierid,int(10),nn,default=0"`
	TimeCreated  int64 `moodle:"timecreated,int(10),nn,default=0"`
	TimeModified int64 `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (UserEnrolment) TableName() string { return "user_enrolments" }

// MnetHost is a row of mnet_host (docs/moodle-data.md §3.16).
type MnetHost struct {
	ID               int64            `moodle:"id,seq"`
	Deleted          int64            `moodle:"deleted,int(1),nn,default=0"`
	WWWRoot          string           `moodle:"wwwroot,char(255),nn"`
	IPAddress        string           `moodle:"ip_address,char(45),nn"`
	Name             string           `moodle:"name,char(80),nn"`
	PublicKey        string           `moodle:"public_key,text,nn"`
	PublicKeyExpires int64            `moodle:"public_key_expires,int(10),nn,default=0"`
	Transport        int64            `moodle:"transport,int(2),nn,default=0"`
	PortNo           int64            `moodle:"portno,int(5),nn,default=0"`
	LastConnectTime  int64            `moodle:"last_connect_time,int(10),nn,default=0"`
	LastLogID        int64            `moodle:"last_log_id,int(10),nn,default=0"`
	ForceTheme       int64            `moodle:"force_theme,int(1),nn,default=0"`
	Theme            sql.Null[string] `moodle:"theme,char(100)"`
	ApplicationID    int64            `moodle:"applicationid,int(10),nn,default=1"`
	SSLVerification  int64            `moodle:"sslverification,int(1),nn,default=0"`
}

// TableName implements Row.
func (MnetHost) TableName() string { return "mnet_host" }

// Page is a row of page, the instance table of mod_page (docs/moodle-data.md §3.20).
type Page struct {
	ID              int64            `moodle:"id,seq"`
	Course          int64            `moodle:"course,int(10),nn,default=0"`
	Name            string           `moodle:"name,char(1333),nn"`
	Intro           sql.Null[string] `moodle:"intro,text"`
	IntroFormat     int64            `moodle:"introformat,int(4),nn,default=0"`
	Content         sql.Null[string] `moodle:"content,text"`
	ContentFormat   int64            `moodle:"contentformat,int(4),nn,default=0"`
	LegacyFiles     int64            `moodle:"legacyfiles,int(4),nn,default=0"`
	LegacyFilesLast sql.Null[int64]  `moodle:"legacyfileslast,int(10)"`
	Display         int64            `moodle:"display,int(4),nn,default=0"`
	DisplayOptions  sql.Null[string] `moodle:"displayoptions,text"`
	Revision        int64            `moodle:"revision,int(10),nn,default=0"`
	TimeModified    int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (Page) TableName() string { return "page" }

// Resource is a row of resource, the instance table of mod_resource.
type Resource struct {
	ID              int64            `moodle:"id,seq"`
	Course          int64            `moodle:"course,int(10),nn,default=0"`
	Name            string           `moodle:"name,char(1333),nn"`
	Intro           sql.Null[string] `moodle:"intro,text"`
	IntroFormat     int64            `moodle:"introformat,int(4),nn,default=0"`
	ToBeMigrated    int64            `moodle:"tobemigrated,int(4),nn,default=0"`
	LegacyFiles     int64            `moodle:"legacyfiles,int(4),nn,default=0"`
	LegacyFilesLast sql.Null[int64]  `moodle:"legacyfileslast,int(10)"`
	Display         int64            `moodle:"display,int(4),nn,default=0"`
	DisplayOptions  sql.Null[string] `moodle:"displayoptions,text"`
	FilterFiles     int64            `moodle:"filterfiles,int(4),nn,default=0"`
	Revision        int64            `moodle:"revision,int(10),nn,default=0"`
	TimeModified    int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (Resource) TableName() string { return "resource" }

// Quiz is a row of quiz, the instance table of mod_quiz (the columns of
// docs/moodle-data.md §3.20; the review bit fields are left out).
type Quiz struct {
	ID                          int64            `moodle:"id,seq"`
	Course                      int64            `moodle:"course,int(10),nn,default=0"`
	Name                        string           `moodle:"name,char(1333),nn"`
	Intro                       sql.Null[string] `moodle:"intro,text"`
	IntroFormat                 int64            `moodle:"introformat,int(4),nn,default=0"`
	TimeOpen                    int64            `moodle:"timeopen,int(10),nn,default=0"`
	TimeClose                   int64            `moodle:"timeclose,int(10),nn,default=0"`
	TimeLimit                   int64            `moodle:"timelimit,int(10),nn,default=0"`
	OverdueHandling             string           `moodle:"overduehandling,char(16),nn,default=autoabandon"`
	GracePeriod                 int64            `moodle:"graceperiod,int(10),nn,default=0"`
	PreferredBehaviour          string           `moodle:"preferredbehaviour,char(32),nn"`
	Attempts                    int64            `moodle:"attempts,int(6),nn,default=0"`
	GradeMethod                 int64            `moodle:"grademethod,int(4),nn,default=1"`
	SumGrades                   float64          `moodle:"sumgrades,number(10,5),nn,default=0"`
	Grade                       float64          `moodle:"grade,number(10,5),nn,default=0"`
	TimeCreated                 int64            `moodle:"timecreated,int(10),nn,default=0"`
	TimeModified                int64            `moodle:"timemodified,int(10),nn,default=0"`
	Password                    string           `moodle:"password,char(255),nn"`
	Subnet                      string           `moodle:"subnet,char(255),nn"`
	BrowserSecurity             string           `moodle:"browsersecurity,char(32),nn"`
	CompletionAttemptsExhausted sql.Null[int64]  `moodle:"completionattemptsexhausted,int(1),default=0"`
	CompletionMinAttempts       int64            `moodle:"completionminattempts,int(10),nn,default=0"`
	AllowOfflineAttempts        sql.Null[int64]  `moodle:"allowofflineattempts,int(1),default=0"`
}

// TableName implements Row.
func (Quiz) TableName() string { return "quiz" }

// Forum is a row of forum, the instance table of mod_forum.
type Forum struct {
	ID           int64            `moodle:"id,seq"`
	Course       int64            `moodle:"course,int(10),nn,default=0"`
	Type         string           `moodle:"type,char(20),nn,default=general"`
	Name         string           `moodle:"name,char(1333),nn"`
	Intro        sql.Null[string] `moodle:"intro,text"`
	IntroFormat  int64            `moodle:"introformat,int(4),nn,default=0"`
	Assessed     int64            `moodle:"assessed,int(10),nn,default=0"`
	Scale        int64            `moodle:"scale,int(10),nn,default=0"`
	GradeForum   int64            `moodle:"grade_forum,int(10),nn,default=0"`
	TimeModified int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (Forum) TableName() string { return "forum" }

// Assign is a row of assign, the instance table of mod_assign.
type Assign struct {
	ID                       int64            `moodle:"id,seq"`
	Course                   int64            `moodle:"course,int(10),nn,default=0"`
	Name                     string           `moodle:"name,char(1333),nn"`
	Intro                    sql.Null[string] `moodle:"intro,text"`
	IntroFormat              int64            `moodle:"introformat,int(4),nn,default=0"`
	DueDate                  int64            `moodle:"duedate,int(10),nn,default=0"`
	AllowSubmissionsFromDate int64            `moodle:"allowsubmissionsfromdate,int(10),nn,default=0"`
	CutoffDate               int64            `moodle:"cutoffdate,int(10),nn,default=0"`
	GradingDueDate           int64            `moodle:"gradingduedate,int(10),nn,default=0"`
	Grade                    int64            `moodle:"grade,int(10),nn,default=0"`
	TeamSubmission           int64            `moodle:"teamsubmission,int(2),nn,default=0"`
	AttemptReopenMethod      string           `moodle:"attemptreopenmethod,char(10),nn,default=untilpass"`
	MaxAttempts              int64            `moodle:"maxattempts,int(6),nn,default=1"`
	MarkingWorkflow          int64            `moodle:"markingworkflow,int(2),nn,default=0"`
	TimeLimit                int64            `moodle:"timelimit,int(10),nn,default=0"`
	TimeModified             int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (Assign) TableName() string { return "assign" }

// URL is a row of url, the instance table of mod_url.
type URL struct {
	ID             int64            `moodle:"id,seq"`
	Course         int64            `moodle:"course,int(10),nn,default=0"`
	Name           string           `moodle:"name,char(1333),nn"`
	Intro          sql.Null[string] `moodle:"intro,text"`
	IntroFormat    int64            `moodle:"introformat,int(4),nn,default=0"`
	ExternalURL    string           `moodle:"externalurl,text,nn"`
	Display        int64            `moodle:"display,int(4),nn,default=0"`
	DisplayOptions sql.Null[string] `moodle:"displayoptions,text"`
	Parameters     sql.Null[string] `moodle:"parameters,text"`
	TimeModified   int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (URL) TableName() string { return "url" }

// Scorm is a row of scorm, the instance table of mod_scorm (docs/moodle-data.md §3.19).
type Scorm struct {
	ID           int64            `moodle:"id,seq"`
	Course       int64            `moodle:"course,int(10),nn,default=0"`
	Name         string           `moodle:"name,char(1333),nn"`
	ScormType    string           `moodle:"scormtype,char(50),nn,default=local"`
	Reference    string           `moodle:"reference,char(255),nn"`
	Intro        sql.Null[string] `moodle:"intro,text"`
	IntroFormat  int64            `moodle:"introformat,int(4),nn,default=0"`
	Version      string           `moodle:"version,char(9),nn"`
	MaxGrade     float64          `moodle:"maxgrade,float,nn,default=0"`
	GradeMethod  int64            `moodle:"grademethod,int(2),nn,default=0"`
	WhatGrade    int64            `moodle:"whatgrade,int(10),nn,default=0"`
	MaxAttempt   int64            `moodle:"maxattempt,int(10),nn,default=1"`
	TimeOpen     int64            `moodle:"timeopen,int(10),nn,default=0"`
	TimeClose    int64            `moodle:"timeclose,int(10),nn,default=0"`
	TimeModified int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (Scorm) TableName() string { return "scorm" }

// Label is a row of label, the instance table of mod_label (labels are
// text on the course page: they produce no views).
type Label struct {
	ID           int64            `moodle:"id,seq"`
	Course       int64            `moodle:"course,int(10),nn,default=0"`
	Name         string           `moodle:"name,char(1333),nn"`
	Intro        sql.Null[string] `moodle:"intro,text"`
	IntroFormat  int64            `moodle:"introformat,int(4),nn,default=0"`
	TimeModified int64            `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (Label) TableName() string { return "label" }

// Feedback is a row of feedback, the instance table of mod_feedback. An
// anonymous feedback (Anonymous = 1) logs its views and responses with
// logstore_standard_log.anonymous = 1 (docs/moodle-data.md §4.4).
type Feedback struct {
	ID               int64            `moodle:"id,seq"`
	Course           int64            `moodle:"course,int(10),nn,default=0"`
	Name             string           `moodle:"name,char(1333),nn"`
	Intro            sql.Null[string] `moodle:"intro,text"`
	IntroFormat      int64            `moodle:"introformat,int(4),nn,default=0"`
	Anonymous        int64            `moodle:"anonymous,int(1),nn,default=1"`
	MultipleSubmit   int64            `moodle:"multiple_submit,int(1),nn,default=1"`
	TimeOpen         int64            `moodle:"timeopen,int(10),nn,default=0"`
	TimeClose        int64            `moodle:"timeclose,int(10),nn,default=0"`
	TimeModified     int64            `moodle:"timemodified,int(10),nn,default=0"`
	CompletionSubmit int64            `moodle:"completionsubmit,int(1),nn,default=0"`
}

// TableName implements Row.
func (Feedback) TableName() string { return "feedback" }
