// Package webservice serves Moodle's REST web-service protocol at
// /webservice/rest/server.php for the functions
// block_use_stats_get_user_stats, block_use_stats_get_users_stats,
// block_use_stats_get_users_course_stats and
// core_webservice_get_site_info, so that a client written against Moodle's
// documentation (an ERP, the moodle-client npm package, PHP
// http_build_query + curl) only changes the host name.
//
// Wire behaviour (docs/protocols.md §5):
//   - GET and POST (application/x-www-form-urlencoded or
//     multipart/form-data), $_GET merged with $_POST at the top level,
//     POST winning; parameters use PHP bracket syntax (uids[0]=3,
//     uids[]=3, a[b][c]=x), parsed by a bounded parser (see Limits);
//   - wstoken, wsfunction, moodlewsrestformat (xml by default, json when
//     asked) and the moodlewssetting* variables are reserved;
//   - authentication, function lookup, access, parameter validation and
//     execution happen in Moodle's order, and parameters are validated
//     like external_api::validate_parameters (missing and unexpected keys,
//     PARAM_INT/BOOL/ALPHA/TEXT cleaning);
//   - every answer is HTTP 200: the JSON value or the
//     RESPONSE/SINGLE/MULTIPLE/KEY/VALUE XML document on success, and
//     {exception, errorcode, message[, debuginfo]} or
//     <EXCEPTION class="…"> on error.
//
// The time figures come from the aggregation core (one user at a time,
// bulk calls in batches) with the fixes W1–W3 of docs/time-engine.md §7.4.
package webservice
