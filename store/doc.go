// Package store is the Bun adapter for usestats' own tables: API tokens,
// MNET peers and keys, compiled rollups and watermarks, with embedded
// migrations. Built with issues 4 and 5.
package store
