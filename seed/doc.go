// Package seed writes a Moodle-shaped database filled with a realistic,
// deterministic population and activity log, for the demo, the tests and
// the benchmarks.
//
// # Schema
//
// CreateSchema creates, with a configurable prefix (DefaultPrefix "mdl_"),
// the tables the service reads — logstore_standard_log, user, course,
// course_categories, course_modules, course_sections, modules, context,
// grade_items, grade_grades, enrol, user_enrolments, mnet_host, config,
// role, role_assignments, role_capabilities, groups, groups_members,
// groupings, groupings_groups, cohort, cohort_members and the instance tables page,
// resource, quiz, forum, assign, url, scorm, label and feedback, the SCORM
// tracking tables scorm_scoes, scorm_attempt, scorm_element and
// scorm_scoes_value (Moodle ≥ 4.3) and scorm_scoes_track (≤ 4.2; both
// layouts, so tests can write either), and the web-service tables external_services, external_services_functions and
// external_tokens — with each engine's real column types, NOT NULL and defaults
// (docs/moodle-data.md §2, §3) and Moodle's indexes, named by Moodle's rule
// (mdl_logsstanlog_tim_ix …). It refuses to touch existing tables;
// DropSchema removes them.
//
// # Rows and the Writer
//
// Every table has a row type (Log, User, Course, …) whose fields are the
// Moodle columns; the `moodle` struct tags are the single description of
// the schema. Defaults[T] returns a row holding Moodle's column defaults and
// Some wraps a value of a nullable column. A Writer bulk-loads rows (COPY on
// PostgreSQL, batched multi-row INSERTs elsewhere), which is also the way to
// hand-build a fixture:
//
//	w := seed.NewWriter(db, "mdl_")
//	r := seed.Log{ID: 1, EventName: `\core\event\user_loggedin`, Component: "core", Action: "loggedin",
//		Target: "user", CRUD: "r", ContextID: 1, ContextLevel: 10, UserID: 3, CourseID: seed.Some[int64](0),
//		TimeCreated: 1700000000, Origin: seed.Some("web")}
//	err := w.Add(ctx, r)
//	…
//	err = w.Flush(ctx)
//
// # Generated site
//
// Fill (and Seed: CreateSchema + Fill) draws a site from Options.Seed:
// guest (user 1), admin (2), learners from id 3 (learner0001, …) and
// teachers; the mnet_host rows of an install (1 local, 2 "All Hosts");
// the settings of an install in config (mnet_localhost_id 1,
// mnet_all_hosts_id 2, siteguest 1, siteadmins "2", guestroleid 6,
// defaultuserroleid 7, release SiteRelease, version SiteVersion, lang en,
// timezone SiteTimezone, forcetimezone 99); the eight standard roles (ids 1..8: manager,
// coursecreator, editingteacher, teacher, student, guest, user,
// frontpage); one role_capabilities row letting the manager role see the
// site details (block/use_stats:seesitedetails, CAP_ALLOW, system context
// 1); one web service (external_services 1: name and shortname "usestats",
// enabled, not restricted to listed users, no required capability) listing
// block_use_stats_get_user_stats, block_use_stats_get_users_stats,
// block_use_stats_get_users_course_stats and core_webservice_get_site_info,
// with no token; categories, the front page (course 1) and courses with sections,
// activities of the nine types, contexts with their paths, manual
// enrolments with their course role assignments (editingteacher for the
// teacher, student for the learners; about a third of the learners'
// enrolments end four weeks after the course and the activity, a few are
// suspended) and a gradebook; in each course 2 to 4 groups ("Tutorial
// group A", …: most learners in one, some in none, a few in two) and a
// grouping of all but the last; five cohorts (two intakes sharing the
// learners, hidden exchange students, the teaching staff in the system
// context, and the learners of the first faculty's courses in its
// category context). The log is simulated day by day: logins (and
// failed ones), dashboards, course and activity views, quiz attempts graded
// in the same second, forum posts, assignment submissions graded later by
// the teacher, anonymous feedback, mobile-app (ws) sittings, cron (cli)
// rows, an administrator logged in as a learner, activities deleted after
// being used, multi-course sittings, night and weekend lulls. Each day's
// rows are sorted by (time, user) and numbered in that order, so only one
// day is ever held in memory, whatever the size (Options.MaxRows scales the
// activity up to 10⁸ rows and more).
//
// # Determinism
//
// The data depend only on the Options (Seed, sizes, End — a fixed date by
// default, never the clock): every random draw comes from PCG streams
// seeded with Options.Seed (one for the population, one per simulated day)
// and is consumed in a fixed order (the roster has a stream of its own,
// so it changes no other draw); no map iteration, goroutine or engine
// feature decides a value. Grades are decimals with at most 5 places,
// written so that each engine stores the same number. The same Options thus
// give byte-identical tables on PostgreSQL, MariaDB/MySQL and SQLite, which
// the tests check by hashing every table.
package seed
