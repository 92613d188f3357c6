package seed

// kind is an event class the generator emits.
type kind uint8

// objFrom says where a row's objectid comes from.
type objFrom uint8

const (
	objNone     objFrom = iota // objecttable and objectid NULL
	objUser                    // the acting user
	objRelated                 // the related user
	objInstance                // the course module's instance id
	objCM                      // the cmid
	objCourse                  // the course id
	objEvent                   // event.obj (attempt, post, submission … ids)
)

// eventClass is one row of the docs/moodle-data.md §4.7 catalogue.
type eventClass struct {
	name, component, target, action string
	crud                            string
	edulevel                        int64
	ctxlevel                        int64
	objtable                        string // "" = NULL; "*" = the module's instance table
	obj                             objFrom
}

const (
	kLoggedIn kind = iota
	kLoggedOut
	kLoginFailed
	kLoggedInAs
	kDashboardViewed
	kCourseViewed
	kSectionViewed
	kUserListViewed
	kUserProfileViewed
	kGradeReportViewed
	kCompletionUpdated
	kUserGraded
	kCMCreated
	kCMUpdated
	kCMDeleted
	kMessageSent
	kWSFunctionCalled
	kForumListViewed
	kQuizListViewed
	kDiscussionViewed
	kDiscussionCreated
	kPostCreated
	kForumAssessableUploaded
	kAttemptStarted
	kAttemptViewed
	kAttemptSummaryViewed
	kAttemptSubmitted
	kAttemptReviewed
	kSubmissionStatusViewed
	kSubmissionFormViewed
	kAssessableSubmitted
	kSubmissionGraded
	kGradingTableViewed
	kScoLaunched
	kStatusSubmitted
	kScorerawSubmitted
	kFeedbackResponseSubmitted
	kModViewed // + modType: \mod_<name>\event\course_module_viewed
)

// classOf returns the catalogue entry of a kind.
func classOf(k kind) *eventClass {
	if k >= kModViewed {
		return &modViewedClasses[k-kModViewed]
	}
	return &eventClasses[k]
}

var eventClasses = [kModViewed]eventClass{
	kLoggedIn:                  {`\core\event\user_loggedin`, "core", "user", "loggedin", "r", 0, 10, "user", objUser},
	kLoggedOut:                 {`\core\event\user_loggedout`, "core", "user", "loggedout", "r", 0, 10, "user", objUser},
	kLoginFailed:               {`\core\event\user_login_failed`, "core", "user_login", "failed", "r", 0, 10, "", objNone},
	kLoggedInAs:                {`\core\event\user_loggedinas`, "core", "user", "loggedinas", "r", 0, 50, "user", objUser},
	kDashboardViewed:           {`\core\event\dashboard_viewed`, "core", "dashboard", "viewed", "r", 0, 30, "", objNone},
	kCourseViewed:              {`\core\event\course_viewed`, "core", "course", "viewed", "r", 2, 50, "", objNone},
	kSectionViewed:             {`\core\event\section_viewed`, "core", "section", "viewed", "r", 2, 50, "course_sections", objEvent},
	kUserListViewed:            {`\core\event\user_list_viewed`, "core", "user_list", "viewed", "r", 0, 50, "course", objCourse},
	kUserProfileViewed:         {`\core\event\user_profile_viewed`, "core", "user_profile", "viewed", "r", 0, 50, "user", objRelated},
	kGradeReportViewed:         {`\gradereport_user\event\grade_report_viewed`, "gradereport_user", "grade_report", "viewed", "r", 2, 50, "", objNone},
	kCompletionUpdated:         {`\core\event\course_module_completion_updated`, "core", "course_module_completion", "updated", "u", 2, 70, "course_modules_completion", objEvent},
	kUserGraded:                {`\core\event\user_graded`, "core", "user", "graded", "u", 1, 50, "grade_grades", objEvent},
	kCMCreated:                 {`\core\event\course_module_created`, "core", "course_module", "created", "c", 1, 70, "course_modules", objCM},
	kCMUpdated:                 {`\core\event\course_module_updated`, "core", "course_module", "updated", "u", 1, 70, "course_modules", objCM},
	kCMDeleted:                 {`\core\event\course_module_deleted`, "core", "course_module", "deleted", "d", 1, 70, "course_modules", objCM},
	kMessageSent:               {`\core\event\message_sent`, "core", "message", "sent", "c", 0, 10, "", objNone},
	kWSFunctionCalled:          {`\core\event\webservice_function_called`, "core", "webservice_function", "called", "r", 0, 10, "", objNone},
	kForumListViewed:           {`\mod_forum\event\course_module_instance_list_viewed`, "mod_forum", "course_module_instance_list", "viewed", "r", 0, 50, "", objNone},
	kQuizListViewed:            {`\mod_quiz\event\course_module_instance_list_viewed`, "mod_quiz", "course_module_instance_list", "viewed", "r", 0, 50, "", objNone},
	kDiscussionViewed:          {`\mod_forum\event\discussion_viewed`, "mod_forum", "discussion", "viewed", "r", 2, 70, "forum_discussions", objEvent},
	kDiscussionCreated:         {`\mod_forum\event\discussion_created`, "mod_forum", "discussion", "created", "c", 2, 70, "forum_discussions", objEvent},
	kPostCreated:               {`\mod_forum\event\post_created`, "mod_forum", "post", "created", "c", 2, 70, "forum_posts", objEvent},
	kForumAssessableUploaded:   {`\mod_forum\event\assessable_uploaded`, "mod_forum", "assessable", "uploaded", "c", 2, 70, "forum_posts", objEvent},
	kAttemptStarted:            {`\mod_quiz\event\attempt_started`, "mod_quiz", "attempt", "started", "c", 2, 70, "quiz_attempts", objEvent},
	kAttemptViewed:             {`\mod_quiz\event\attempt_viewed`, "mod_quiz", "attempt", "viewed", "r", 2, 70, "quiz_attempts", objEvent},
	kAttemptSummaryViewed:      {`\mod_quiz\event\attempt_summary_viewed`, "mod_quiz", "attempt_summary", "viewed", "r", 1, 70, "quiz_attempts", objEvent},
	kAttemptSubmitted:          {`\mod_quiz\event\attempt_submitted`, "mod_quiz", "attempt", "submitted", "u", 2, 70, "quiz_attempts", objEvent},
	kAttemptReviewed:           {`\mod_quiz\event\attempt_reviewed`, "mod_quiz", "attempt", "reviewed", "r", 1, 70, "quiz_attempts", objEvent},
	kSubmissionStatusViewed:    {`\mod_assign\event\submission_status_viewed`, "mod_assign", "submission_status", "viewed", "r", 0, 70, "", objNone},
	kSubmissionFormViewed:      {`\mod_assign\event\submission_form_viewed`, "mod_assign", "submission_form", "viewed", "r", 0, 70, "", objNone},
	kAssessableSubmitted:       {`\mod_assign\event\assessable_submitted`, "mod_assign", "assessable", "submitted", "u", 2, 70, "assign_submission", objEvent},
	kSubmissionGraded:          {`\mod_assign\event\submission_graded`, "mod_assign", "submission", "graded", "u", 1, 70, "assign_grades", objEvent},
	kGradingTableViewed:        {`\mod_assign\event\grading_table_viewed`, "mod_assign", "grading_table", "viewed", "r", 1, 70, "", objNone},
	kScoLaunched:               {`\mod_scorm\event\sco_launched`, "mod_scorm", "sco", "launched", "r", 2, 70, "scorm_scoes", objEvent},
	kStatusSubmitted:           {`\mod_scorm\event\status_submitted`, "mod_scorm", "status", "submitted", "u", 2, 70, "scorm_scoes_value", objEvent},
	kScorerawSubmitted:         {`\mod_scorm\event\scoreraw_submitted`, "mod_scorm", "scoreraw", "submitted", "u", 2, 70, "scorm_scoes_value", objEvent},
	kFeedbackResponseSubmitted: {`\mod_feedback\event\response_submitted`, "mod_feedback", "response", "submitted", "c", 2, 70, "feedback_completed", objEvent},
}

// modViewedClasses are the \mod_<name>\event\course_module_viewed classes,
// indexed by modType (labels have none: this entry is never emitted).
var modViewedClasses = [numModTypes]eventClass{
	mAssign:   {`\mod_assign\event\course_module_viewed`, "mod_assign", "course_module", "viewed", "r", 2, 70, "assign", objInstance},
	mFeedback: {`\mod_feedback\event\course_module_viewed`, "mod_feedback", "course_module", "viewed", "r", 2, 70, "feedback", objInstance},
	mForum:    {`\mod_forum\event\course_module_viewed`, "mod_forum", "course_module", "viewed", "r", 2, 70, "forum", objInstance},
	mLabel:    {`\mod_label\event\course_module_viewed`, "mod_label", "course_module", "viewed", "r", 2, 70, "label", objInstance},
	mPage:     {`\mod_page\event\course_module_viewed`, "mod_page", "course_module", "viewed", "r", 2, 70, "page", objInstance},
	mQuiz:     {`\mod_quiz\event\course_module_viewed`, "mod_quiz", "course_module", "viewed", "r", 2, 70, "quiz", objInstance},
	mResource: {`\mod_resource\event\course_module_viewed`, "mod_resource", "course_module", "viewed", "r", 2, 70, "resource", objInstance},
	mScorm:    {`\mod_scorm\event\course_module_viewed`, "mod_scorm", "course_module", "viewed", "r", 2, 70, "scorm", objInstance},
	mURL:      {`\mod_url\event\course_module_viewed`, "mod_url", "course_module", "viewed", "r", 2, 70, "url", objInstance},
}

// modType is an activity module of the generated site.
type modType uint8

const (
	mAssign modType = iota
	mFeedback
	mForum
	mLabel
	mPage
	mQuiz
	mResource
	mScorm
	mURL
	numModTypes
)

// moduleInfo is a modules row: ids as on a Moodle 4.x install, where
// modules are installed in alphabetical order of the full plugin list.
var moduleInfo = [numModTypes]struct {
	name string
	id   int64
}{
	mAssign: {"assign", 1}, mFeedback: {"feedback", 7}, mForum: {"forum", 9}, mLabel: {"label", 13},
	mPage: {"page", 16}, mQuiz: {"quiz", 17}, mResource: {"resource", 18}, mScorm: {"scorm", 19}, mURL: {"url", 21},
}
