package aggregation

import (
	"context"
	"time"
)

// CompileKey names one set of compiled rollups: a policy version and the
// time zone its days are cut in. Rollups of another version or zone never
// answer a question.
type CompileKey struct {
	Policy  string // policy name
	Version string // policy version (a digest for custom policies)
	Zone    string // IANA time zone of the days
}

// CompileKeyOf returns the key of the policy's rollups with days in loc
// (nil = UTC).
func CompileKeyOf(p PolicyRef, loc *time.Location) CompileKey {
	if loc == nil {
		loc = time.UTC
	}
	return CompileKey{Policy: p.Name, Version: p.Version, Zone: loc.String()}
}

// String formats the key as name@version/zone.
func (k CompileKey) String() string { return k.Policy + "@" + k.Version + "/" + k.Zone }

// UserRollups is what compiled rollups hold of one user for a run of days.
type UserRollups struct {
	// Horizon: every event of the user before it is compiled, none after
	// (the cells of Horizon's own day hold only its events before Horizon).
	Horizon int64
	// From: the retention rule dropped what came before it (0 = nothing
	// dropped); the log answers for that time.
	From int64
	// Version changes whenever the store rewrites the user's rollups (a
	// compile or a forget); 0 when the user has no compile state, and so
	// no rollups. Equal versions of one key mean equal cells, hours and
	// pieces.
	Version int64
	Cells   []RollupEntry
	Hours   []HourEntry
	Pieces  []SessionPiece
	// NoHours: some of the days were stored without their hourly cells
	// (a store written before hours were kept). Such days would answer
	// hours wrongly, so the user is answered from the log.
	NoHours bool
	// memo: what was built from these days, shared by every question the
	// cache answers with them (nil when not cached).
	memo *rollupMemo
}

// RollupReader reads compiled rollups (the store implements it).
type RollupReader interface {
	// Rollups returns, for each of the users, the daily and hourly cells
	// and the session pieces of the days from..to (inclusive) compiled
	// under key, and the user's horizon; a user without compiled events
	// still gets an entry (with the compile's horizon). ok is false when
	// key has no complete compile: the caller then answers from the log.
	Rollups(ctx context.Context, key CompileKey, userIDs []int64, from, to Day) (users map[int64]*UserRollups, ok bool, err error)
}

// RollupVersionReader is a RollupReader that also tells, without reading
// their days, the users' Horizon, From and Version: what a cache needs to
// know whether the days it holds are still the store's.
type RollupVersionReader interface {
	RollupReader
	// RollupVersions returns UserRollups without cells or pieces for
	// each of the users, from one snapshot of the store; ok as for
	// Rollups.
	RollupVersions(ctx context.Context, key CompileKey, userIDs []int64) (users map[int64]*UserRollups, ok bool, err error)
}

// dayStart returns the start of t's calendar day in loc.
func dayStart(t int64, loc *time.Location) int64 {
	c := newDayClock(loc)
	c.dayOf(t)
	if c.start > c.end { // outside time.Time's range
		return t
	}
	return c.start
}

// nextDay returns the start of the calendar day after t's.
func nextDay(t int64, loc *time.Location) int64 {
	c := newDayClock(loc)
	c.dayOf(t)
	if c.start > c.end {
		return t
	}
	return c.end
}

// dayOf returns t's calendar day in loc.
func dayOf(t int64, loc *time.Location) Day {
	c := newDayClock(loc)
	return c.dayOf(t)
}
