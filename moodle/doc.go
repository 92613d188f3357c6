// Package moodle is the read-only Bun adapter for a Moodle database
// (PostgreSQL, MariaDB/MySQL or SQLite): log streaming in (timecreated, id)
// order, user, course, module, section and grade lookups, table prefix.
// It converts rows to aggregation types and never writes a Moodle table.
// Built in issue 3.
package moodle
