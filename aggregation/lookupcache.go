package aggregation

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/usestats/usestats/internal/ttlcache"
)

// Under load the same user is asked about again and again, and each
// question would read the same short rows: the user's compile state in
// the store and the SCORM values of its activities. ServiceConfig.CacheTTL
// lets the service keep those for a few seconds; the log's events are
// read on every question all the same. An entry asked for after half its
// TTL is read again in the background (refresh-ahead), so a user asked
// about every few seconds is never held up by its entries expiring, and
// none is used longer than the TTL after it was read.

// refreshReads is the most look-up caches' reads a Service or a
// CachedDirectory runs in the background at once.
const refreshReads = 4

// newRefresher returns the background reads of caches kept for ttl (nil
// for a ttl of 0): each gets the TTL, after which its answer is of no use.
func newRefresher(ttl time.Duration) *ttlcache.Refresher {
	if ttl <= 0 {
		return nil
	}
	return ttlcache.NewRefresher(refreshReads, ttl)
}

// Bounds of the look-up caches, so that they hold a few MB at most: the
// compile-state and user caches hold entries of about 200 bytes; the
// SCORM cache reads of at most scormCacheValues values (about 100 bytes
// each). A window that ends now is a new read every second, so under
// load the SCORM cache is mostly entries that will not be asked again.
const (
	lookupCacheEntries = 20_000
	scormCacheEntries  = 1_000
	scormCacheValues   = 256
)

// versionKey is one user's compile state under one key.
type versionKey struct {
	key  CompileKey
	user int64
}

// versionCache keeps users' compile states (UserRollups without days) as
// RollupVersions read them; nil keeps nothing.
type versionCache = ttlcache.Cache[versionKey, UserRollups]

// newVersionCache returns a cache for ttl on the clock now (nil for a
// ttl of 0).
func newVersionCache(ttl time.Duration, now func() time.Time) *versionCache {
	if ttl <= 0 {
		return nil
	}
	return ttlcache.New[versionKey, UserRollups](ttl, lookupCacheEntries, now)
}

// versions returns the users' compile states: those read within the TTL
// from the cache, the others from vr (remembered). ok is false when the
// key has no complete compile. The cached states due for a refresh are
// read again on rf, in one read.
func versions(ctx context.Context, vc *versionCache, rf *ttlcache.Refresher, vr RollupVersionReader, key CompileKey, ids []int64) (map[int64]*UserRollups, bool, error) {
	if vc == nil {
		return vr.RollupVersions(ctx, key, ids)
	}
	out := make(map[int64]*UserRollups, len(ids))
	var missing, due []int64
	for _, id := range ids {
		v, ok, refresh := vc.Lookup(versionKey{key, id})
		switch {
		case !ok:
			missing = append(missing, id)
			continue
		case refresh:
			due = append(due, id)
		}
		out[id] = &v
	}
	if len(due) > 0 {
		rf.Go(ctx, func(ctx context.Context) {
			got, ok, err := vr.RollupVersions(ctx, key, due)
			if err != nil {
				return // they expire at their TTL
			}
			keepVersions(vc, key, due, got, ok)
		})
	}
	if len(missing) == 0 {
		return out, true, nil
	}
	got, ok, err := vr.RollupVersions(ctx, key, missing)
	if err != nil || !ok {
		return nil, ok, err
	}
	keepVersions(vc, key, missing, got, ok)
	for id, v := range got {
		out[id] = v
	}
	return out, true, nil
}

// keepVersions files what RollupVersions answered for ids: a user it did
// not answer, or every user when the key is no longer complete, is
// dropped.
func keepVersions(vc *versionCache, key CompileKey, ids []int64, got map[int64]*UserRollups, complete bool) {
	for _, id := range ids {
		if v := got[id]; complete && v != nil {
			vc.Put(versionKey{key, id}, *v)
		} else {
			vc.Delete(versionKey{key, id})
		}
	}
}

// scormCacheUsers is the most users a kept SCORM read may be for: the
// cache is for the questions about one learner that dashboards repeat,
// and a bulk read's values could hold megabytes for the TTL.
const scormCacheUsers = 8

// scormCache keeps the SCORM values read for one set of users (at most
// scormCacheUsers), activities and window; nil keeps nothing.
type scormCache = ttlcache.Cache[string, []ScormValue]

// newScormCache returns a cache for ttl on the clock now (nil for a ttl
// of 0).
func newScormCache(ttl time.Duration, now func() time.Time) *scormCache {
	if ttl <= 0 {
		return nil
	}
	return ttlcache.New[string, []ScormValue](ttl, scormCacheEntries, now)
}

// scormKey names a SCORM read: its sorted users and activities and its
// window.
func scormKey(users, cmids []int64, from, to int64) string {
	b := make([]byte, 0, 8*(len(users)+len(cmids))+48)
	for _, id := range users {
		b = strconv.AppendInt(b, id, 36)
		b = append(b, ',')
	}
	b = append(b, '|')
	for _, id := range cmids {
		b = strconv.AppendInt(b, id, 36)
		b = append(b, ',')
	}
	b = append(b, '|')
	b = strconv.AppendInt(b, from, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, to, 10)
	return string(b)
}

// cachedScorm returns the values read for the key within the TTL, and
// whether the caller should read them again in the background; the slice
// is shared: callers copy what they change.
func cachedScorm(c *scormCache, key string) (values []ScormValue, ok, due bool) {
	v, ok, due := c.Lookup(key)
	return slices.Clip(v), ok, due
}

// CachedDirectory is a Directory that keeps the users FindUser found for
// a TTL: the edges look the asked-about user up on every request. Users
// not found are asked again every time; the other look-ups pass through.
type CachedDirectory struct {
	Directory
	users   *ttlcache.Cache[UserKey, UserInfo]
	refresh *ttlcache.Refresher
}

// NewCachedDirectory returns d with FindUser's answers kept for ttl on
// the clock now (nil = time.Now); a ttl of 0 keeps nothing. A user asked
// for after half the TTL is looked up again in the background.
func NewCachedDirectory(d Directory, ttl time.Duration, now func() time.Time) *CachedDirectory {
	return &CachedDirectory{Directory: d, users: ttlcache.New[UserKey, UserInfo](ttl, lookupCacheEntries, now), refresh: newRefresher(ttl)}
}

// WaitRefreshes waits until the background look-ups started so far have
// ended.
func (c *CachedDirectory) WaitRefreshes() { c.refresh.Wait() }

// FindUser implements Directory.
func (c *CachedDirectory) FindUser(ctx context.Context, by UserKey) (UserInfo, error) {
	return ttlcache.Fetch(ctx, c.users, c.refresh, by, func(ctx context.Context) (UserInfo, error) {
		return c.Directory.FindUser(ctx, by)
	}, func(err error) bool { return ErrorCode(err) == ENotFound })
}
