// Package aggregation is the usestats time engine: it turns one user's
// ordered Moodle log events into time spent, attributed to the site, a
// course (course level, activities, other), a section and a course module,
// plus sessions and additive daily and hourly rollups.
//
// The package is pure and imports only the standard library. It never reads
// a clock or a database: callers push events in (time, id) order into an
// Engine, flush it with an injected "now", and read the result from a Sink
// such as an Accumulator (result tree and rollups) or an Explainer (the lap
// of every event, for "why is this number?").
//
// Every counted event receives exactly one Lap and is attributed to exactly
// one place, so every total in a Result is a sum of laps and the totals
// always add up: course total = course level + activities + other,
// Σ sections = activities, Σ courses + site = user total = Σ hours, and the
// sessions' elapsed time equals the user total.
//
// Policies are values (Policy), not code paths. The default policy
// "usestats" reproduces the block_use_stats reference with its defects
// fixed; the presets "dedication", "attendanceregister", "canvas", "edx5"
// and "edx30" reproduce the peers' rules so a site can compare and migrate.
package aggregation
