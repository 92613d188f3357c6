package seed

// The SCORM tracking tables (docs/moodle-data.md §3.19). Moodle 4.3 and later keep a
// learner's SCORM data in scorm_attempt, scorm_element and
// scorm_scoes_value; Moodle 4.2 and earlier kept it in scorm_scoes_track,
// which the 4.3 upgrade copies and drops. The schema has both layouts so
// a test can write either (a real site has one of them); the generated
// site writes no tracking rows.

// ScormScoe is a row of scorm_scoes: one SCO (or asset) of a package.
type ScormScoe struct {
	ID           int64  `moodle:"id,seq"`
	Scorm        int64  `moodle:"scorm,int(10),nn,default=0"`
	Manifest     string `moodle:"manifest,char(255),nn"`
	Organization string `moodle:"organization,char(255),nn"`
	Parent       string `moodle:"parent,char(255),nn"`
	Identifier   string `moodle:"identifier,char(255),nn"`
	Launch       string `moodle:"launch,text,nn"`
	ScormType    string `moodle:"scormtype,char(5),nn"`
	Title        string `moodle:"title,char(255),nn"`
	SortOrder    int64  `moodle:"sortorder,int(10),nn,default=0"`
}

// TableName implements Row.
func (ScormScoe) TableName() string { return "scorm_scoes" }

// ScormAttempt is a row of scorm_attempt (Moodle ≥ 4.3): one attempt of a
// user at a SCORM activity.
type ScormAttempt struct {
	ID      int64 `moodle:"id,seq"`
	UserID  int64 `moodle:"userid,int(10),nn"`
	ScormID int64 `moodle:"scormid,int(10),nn"`
	Attempt int64 `moodle:"attempt,int(10),nn,default=1"`
}

// TableName implements Row.
func (ScormAttempt) TableName() string { return "scorm_attempt" }

// ScormElement is a row of scorm_element (Moodle ≥ 4.3): the name of one
// data model element, such as cmi.core.total_time.
type ScormElement struct {
	ID      int64  `moodle:"id,seq"`
	Element string `moodle:"element,char(255),nn"`
}

// TableName implements Row.
func (ScormElement) TableName() string { return "scorm_element" }

// ScormScoesValue is a row of scorm_scoes_value (Moodle ≥ 4.3): the value
// an attempt's SCO last wrote for an element.
type ScormScoesValue struct {
	ID           int64  `moodle:"id,seq"`
	ScoID        int64  `moodle:"scoid,int(10),nn"`
	AttemptID    int64  `moodle:"attemptid,int(10),nn"`
	ElementID    int64  `moodle:"elementid,int(10),nn"`
	Value        string `moodle:"value,text,nn"`
	TimeModified int64  `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (ScormScoesValue) TableName() string { return "scorm_scoes_value" }

// ScormScoesTrack is a row of scorm_scoes_track (Moodle ≤ 4.2): one
// element's value for a user's attempt at a SCO.
type ScormScoesTrack struct {
	ID           int64  `moodle:"id,seq"`
	UserID       int64  `moodle:"userid,int(10),nn,default=0"`
	ScormID      int64  `moodle:"scormid,int(10),nn,default=0"`
	ScoID        int64  `moodle:"scoid,int(10),nn,default=0"`
	Attempt      int64  `moodle:"attempt,int(10),nn,default=1"`
	Element      string `moodle:"element,char(255),nn"`
	Value        string `moodle:"value,text,nn"`
	TimeModified int64  `moodle:"timemodified,int(10),nn,default=0"`
}

// TableName implements Row.
func (ScormScoesTrack) TableName() string { return "scorm_scoes_track" }
