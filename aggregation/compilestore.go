package aggregation

import (
	"context"
	"math"
)

// RowFilter is the part of a policy's event hygiene that a log reader may
// apply itself, in its query: rows it rejects would never enter a
// timeline (the engine drops them), so leaving them out changes no
// answer. A reader may also ignore it and send every row.
type RowFilter struct {
	DropOrigins   []string // origins to leave out (cli, restore)
	DropFailed    bool     // action = 'failed'
	DropLoginAs   bool     // realuserid set (non-zero)
	DropAnonymous bool     // anonymous = 1
	DropGraded    bool     // action = 'graded' and target = 'user'
	// SiteRows says which course-0 rows to keep: SiteAll, SiteLoginLogout
	// (action loggedin, login, loggedout, logout) or SiteNone.
	SiteRows SiteRows
}

// RowFilter returns the rows the policy drops whatever their neighbours.
func (p *Policy) RowFilter() RowFilter {
	return RowFilter{
		DropOrigins:   p.DropOrigins,
		DropFailed:    !p.KeepFailed,
		DropLoginAs:   !p.KeepLoginAs,
		DropAnonymous: !p.KeepAnonymous,
		DropGraded:    p.SkipGraded,
		SiteRows:      p.Site,
	}
}

// LogScanner reads a whole log for compiling rollups (the Moodle adapter
// implements it). Besides reading users' events (UsersLogReader) it scans
// by user range and by log id.
type LogScanner interface {
	UsersLogReader
	// MaxLogID returns the highest log id (0 for an empty log).
	MaxLogID(ctx context.Context) (int64, error)
	// LogIDs returns the log ids in (from, to], ascending.
	LogIDs(ctx context.Context, from, to int64) ([]int64, error)
	// UserBounds returns the lowest and highest user id of the log's rows
	// (0, 0 for an empty log).
	UserBounds(ctx context.Context) (lo, hi int64, err error)
	// ScanUsers calls fn for each event of the users lo ≤ id < hi whose
	// log id is ≤ maxID, in (user, time, id) order, until fn returns false.
	// It may leave out the rows f rejects.
	ScanUsers(ctx context.Context, lo, hi, maxID int64, f RowFilter, fn func(*Event) bool) error
	// NewRows calls fn with the user and time of each row whose id is in
	// (after, upTo] or in extra (ascending), in any order.
	NewRows(ctx context.Context, after, upTo int64, extra []int64, fn func(userID, time int64)) error
	// DeletedUsers returns the ids of the users deleted in the site.
	DeletedUsers(ctx context.Context) ([]int64, error)
}

// CompileState is the progress of one compile key.
type CompileState struct {
	// Complete: every user is compiled up to Horizon (answers may use the
	// rollups).
	Complete bool
	// Horizon: events before it are compiled (for every user once
	// Complete).
	Horizon int64
	// Watermark is the highest log id read; Gaps are the ids at or below
	// it, within the overlap window, that did not exist when it was read
	// (rows that may still commit). The next compile reads both.
	Watermark int64
	Gaps      []int64
	// RetainFrom: cells and pieces before this time were dropped by the
	// retention rule (answers there come from the log); 0 = none dropped.
	RetainFrom int64
	// Run is the fresh compile in progress (zero when none).
	Run CompileRun
}

// CompileRun is a fresh compile of a key, split into shards of users that
// workers claim one at a time.
type CompileRun struct {
	ID        int64 // 0 = no run
	Horizon   int64
	Watermark int64
	Gaps      []int64
}

// Shard is a range of user ids lo ≤ id < hi of a run.
type Shard struct {
	RunID  int64
	Lo, Hi int64
}

// UserState is the compile state of one user under a key.
type UserState struct {
	// CompiledTo: the user's events before min(CompiledTo, the key's
	// horizon) are compiled. The compiler writes math.MaxInt64 (compiled
	// with the key) or, for a user whose rollups were removed, a time
	// before every event (answers come from the log).
	CompiledTo int64
	LastTime   int64 // time of the user's latest event read so far
}

// Forgotten is the state of a user whose rollups were removed (forget,
// or deleted in the site): nothing is compiled, so answers come from the
// log, and nothing is pending.
var Forgotten = UserState{CompiledTo: math.MinInt64 + 1, LastTime: math.MinInt64}

// MinDay comes before every day: a UserCompile with FromDay MinDay
// replaces all of the user's days.
const MinDay = minDay

// ErrStateMoved is returned by CompileStore.Advance when another pass
// moved the key's state first.
var ErrStateMoved = &Error{Code: EUnavailable, Message: "another compile moved the rollups' state first"}

// UserCompile replaces what a key holds of one user from a day on.
type UserCompile struct {
	UserID  int64
	FromDay Day // cells, hours and pieces on days ≥ FromDay are replaced (minDay: all)
	Cells   []RollupEntry
	Hours   []HourEntry // hourly cells, each on the site day of its events
	Pieces  []SessionPiece
	State   UserState
}

// CompileStore is where compiled rollups and their progress live (the
// store implements it). Writes are atomic: a crash leaves either the whole
// write or none of it.
type CompileStore interface {
	RollupReader
	// CompileState returns key's state (the zero state for a new key).
	CompileState(ctx context.Context, key CompileKey) (CompileState, error)
	// BeginRun starts a fresh compile of key with run's horizon, watermark
	// and gaps, split into shards, unless a run is in progress: then it
	// returns that run unchanged (a worker joining it); or unless the key
	// is complete (another worker finished the run meanwhile): then it
	// returns the zero run and changes nothing.
	BeginRun(ctx context.Context, key CompileKey, run CompileRun, shards []Shard) (CompileRun, error)
	// ClaimShard hands one shard of the run that is neither done nor
	// claimed to the caller (ok is false when none is left). Everything
	// written through the claim commits with its Done, or not at all: a
	// worker that dies mid-shard leaves the shard claimable again, with
	// nothing of it written.
	ClaimShard(ctx context.Context, key CompileKey, runID int64) (c ShardClaim, ok bool, err error)
	// FinishRun marks key complete with the run's horizon, watermark and
	// gaps once every shard is done; finished is false while some are not.
	FinishRun(ctx context.Context, key CompileKey, runID int64) (finished bool, err error)
	// UserStates returns the state of the users that have one.
	UserStates(ctx context.Context, key CompileKey, userIDs []int64) (map[int64]UserState, error)
	// PendingUsers returns the users whose latest event is at or after
	// since (events read but not compiled yet: LastTime ≥ since).
	PendingUsers(ctx context.Context, key CompileKey, since int64) ([]int64, error)
	// SessionKeys returns, for each (user, log id) asked, the Key of the
	// session whose piece has that LastID, when there is one.
	SessionKeys(ctx context.Context, key CompileKey, refs [][2]int64) (map[[2]int64]int64, error)
	// WriteUsers replaces, for each user, the cells, hours and pieces on
	// days ≥ FromDay and saves the user's state, in one transaction; with next
	// non-nil the key's state becomes *next in it too. A user whose state
	// is Forgotten is left alone unless FromDay is MinDay (a forget that
	// came after the writer read the user's state wins).
	WriteUsers(ctx context.Context, key CompileKey, users []UserCompile, next *CompileState) error
	// Advance is WriteUsers that also moves the key's state from from to
	// next, only if the key's state is still from (complete, horizon,
	// watermark, no run): otherwise it writes nothing and returns
	// ErrStateMoved (another worker's pass came first).
	Advance(ctx context.Context, key CompileKey, users []UserCompile, from, next CompileState) error
	// ForgetUsers removes every key's rollups (cells, hours, pieces) of
	// the users and gives them the Forgotten state under every key, in one
	// transaction.
	ForgetUsers(ctx context.Context, userIDs []int64) error
	// Retain drops key's cells, hours and pieces of days before the day of
	// t and records t as RetainFrom.
	Retain(ctx context.Context, key CompileKey, t int64) error
	// Keys lists the compiled keys; DropKey removes one key's rollups and
	// state (an outdated policy version).
	Keys(ctx context.Context) ([]CompileKey, error)
	DropKey(ctx context.Context, key CompileKey) error
}

// ShardClaim is a shard held by one worker (see CompileStore.ClaimShard).
type ShardClaim interface {
	Shard() Shard
	// Write replaces the users' rollups and state (as WriteUsers), inside
	// the claim's transaction.
	Write(ctx context.Context, users []UserCompile) error
	// Done commits what was written and marks the shard done.
	Done(ctx context.Context) error
	// Abort drops what was written and frees the shard.
	Abort() error
}
