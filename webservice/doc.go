// Package webservice serves the Moodle web-service REST functions
// block_use_stats_get_user_stats and friends (json and xml). Built in
// issue 6.
package webservice
