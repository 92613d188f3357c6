// Package moodle is the read-only Bun adapter for a Moodle database
// (PostgreSQL, MariaDB/MySQL or SQLite).
//
// A Source streams a user's log events in (timecreated, id) order with
// keyset paging (bounded memory whatever the table size), scans the whole
// log by id watermark, resolves each module-context row's course module to
// its type and section in batches through a cache, and looks up users,
// courses, modules and grades, site settings (config), MNET hosts and
// system-level capabilities (HasSystemCapability). Table names take a
// configurable prefix (default "mdl_"). The adapter only ever runs SELECT
// statements and, where the engine allows it, opens its connections
// read-only.
package moodle
