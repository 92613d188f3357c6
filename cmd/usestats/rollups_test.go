package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/dbconn/dbconntest"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
	"github.com/usestats/usestats/store"
)

// rollupSite is a seeded Moodle database with a store to compile into.
type rollupSite struct {
	name   string
	moodle string // Moodle URL
	prefix string
	store  string // store URL
	src    *moodle.Source
	st     *store.Store
	users  []int64
}

// storeURLs returns a fresh SQLite store always and a fresh PostgreSQL
// schema when USESTATS_TEST_POSTGRES is set (mandatory under CI).
func storeURLs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{"sqlite": "sqlite://" + filepath.Join(t.TempDir(), "store.db")}
	if pg := dbconntest.Postgres(t); pg != "" {
		out["postgres"] = pgSchema(t, pg)
	}
	return out
}

// pgSchema returns a URL of a fresh PostgreSQL schema of the test's own.
func pgSchema(t testing.TB, admin string) string { return dbconntest.Schema(t, admin) }

// newRollupSites seeds a small site on every Moodle database and pairs it
// with a store: SQLite with SQLite, the servers with PostgreSQL when set.
func newRollupSites(t *testing.T, users, days int) []*rollupSite {
	t.Helper()
	ctx := context.Background()
	stores := storeURLs(t)
	var out []*rollupSite
	for name, murl := range servers(t) {
		prefix := fmt.Sprintf("ru%05d_", mrand.IntN(100_000))
		db, err := dbconn.Open(ctx, murl, dbconn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := seed.Seed(ctx, db, seed.Options{Seed: 5, Users: users, Days: days, Prefix: prefix}); err != nil {
			t.Fatalf("%s: seed: %v", name, err)
		}
		t.Cleanup(func() { seed.DropSchema(context.Background(), db, prefix); db.Close() })
		surl := stores["sqlite"]
		if name != "sqlite" && stores["postgres"] != "" {
			surl = pgSchema(t, os.Getenv("USESTATS_TEST_POSTGRES"))
		} else if name != "sqlite" {
			surl = "sqlite://" + filepath.Join(t.TempDir(), name+"-store.db")
		}
		s := &rollupSite{name: name, moodle: murl, prefix: prefix, store: surl}
		if s.src, err = moodle.Open(ctx, murl, prefix); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.src.Close() })
		if s.st, err = openStore(ctx, surl); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.st.Close() })
		us, err := s.src.Directory().ListUsers(ctx, aggregation.UserFilter{}, 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			s.users = append(s.users, u.ID)
		}
		out = append(out, s)
	}
	return out
}

// compare answers every user from the rollups and from the log for a few
// windows, under the policy, and fails on the first difference.
func (s *rollupSite) compare(t *testing.T, p aggregation.Policy, loc *time.Location, now int64, r *mrand.Rand, what string) {
	t.Helper()
	ctx := context.Background()
	clock := func() int64 { return now }
	live, err := aggregation.NewService(aggregation.ServiceConfig{Logs: s.src, Location: loc, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	fromRollups, _ := aggregation.NewService(aggregation.ServiceConfig{Logs: s.src, Rollups: s.st, Location: loc, Now: clock})
	end := int64(seed.DefaultEnd)
	day := func(t int64) int64 {
		y, m, d := time.Unix(t, 0).In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc).Unix()
	}
	// Window bounds on event times: a head or tail cut off by a second
	// shows.
	var times []int64
	_ = s.src.UsersEvents(ctx, s.users, end-60*86400, end, func(ev *aggregation.Event) bool {
		times = append(times, ev.Time)
		return true
	})
	slices.Sort(times)
	a := end - 40*86400 + r.Int64N(30*86400)
	b := a + r.Int64N(20*86400)
	if len(times) > 0 {
		a = times[r.IntN(len(times))]
		b = max(a, times[r.IntN(len(times))])
	}
	windows := []aggregation.Window{
		aggregation.AllTime,
		{From: day(a), To: day(b+86400) - 1},
		{From: a, To: b},
		{From: day(a), To: now},
		{From: a, To: now + 3600},
	}
	d, sources, err := rolluptest.Compare(ctx, live, fromRollups, s.users, p, windows)
	if err != nil {
		t.Fatal(err)
	}
	if d != "" {
		t.Fatalf("%s %s: %s", s.name, what, d)
	}
	if sources[aggregation.SourceRollups]+sources[aggregation.SourceMixed] == 0 {
		t.Fatalf("%s %s: no answer came from the rollups (%v)", s.name, what, sources)
	}
}

// appendRows writes n new log rows copied from existing ones of the given
// users: most at now, some backdated (late rows, an old time under a new
// id).
func (s *rollupSite) appendRows(t *testing.T, users []int64, n int, now int64, r *mrand.Rand) {
	t.Helper()
	ctx := context.Background()
	db, err := dbconn.Open(ctx, s.moodle, dbconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	table := bun.Ident(s.prefix + "logstore_standard_log")
	var maxID int64
	if err := db.NewRaw("SELECT MAX(id) FROM ?", table).Scan(ctx, &maxID); err != nil {
		t.Fatal(err)
	}
	cols := "eventname, component, action, target, objecttable, objectid, crud, edulevel, contextid, contextlevel, contextinstanceid, userid, courseid, relateduserid, anonymous, other, origin, ip, realuserid"
	for i := range n {
		u := users[r.IntN(len(users))]
		var srcID int64
		if err := db.NewRaw("SELECT id FROM ? WHERE userid = ? ORDER BY id LIMIT 1 OFFSET ?", table, u, r.IntN(50)).Scan(ctx, &srcID); err != nil {
			continue
		}
		at := now - 300 + int64(i)*7
		if r.IntN(4) == 0 {
			at = int64(seed.DefaultEnd) - r.Int64N(20*86400) // a late row
		}
		maxID++
		q := fmt.Sprintf("INSERT INTO %s (id, timecreated, %s) SELECT %d, %d, %s FROM %s WHERE id = %d",
			s.prefix+"logstore_standard_log", cols, maxID, at, cols, s.prefix+"logstore_standard_log", srcID)
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: appending a row: %v", s.name, err)
		}
	}
}

// Rollups compiled from a real Moodle database (every engine) into a real
// store answer every user and window exactly as the log does: after a
// fresh compile, after new and backdated rows, and after a user is deleted.
func TestRollupsEqualLiveOnEveryDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds databases")
	}
	ctx := context.Background()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		loc = time.FixedZone("CET", 3600)
	}
	for _, s := range newRollupSites(t, 12, 40) {
		t.Run(s.name, func(t *testing.T) {
			r := mrand.New(mrand.NewPCG(11, 12))
			for _, name := range []string{"usestats", "dedication", "canvas"} {
				p, _ := aggregation.Preset(name)
				now := time.Now().Unix()
				c := &aggregation.Compiler{Logs: s.src, Store: s.st, Policy: p, Location: loc, Now: func() int64 { return now }, Shards: 5}
				if _, err := c.Run(ctx); err != nil {
					t.Fatalf("%s: fresh compile: %v", name, err)
				}
				s.compare(t, p, loc, now, r, name+" fresh")
			}
			p, _ := aggregation.Preset("usestats")
			now := time.Now().Unix() + 60
			s.appendRows(t, s.users[:4], 30, now, r)
			c := &aggregation.Compiler{Logs: s.src, Store: s.st, Policy: p, Location: loc, Now: func() int64 { return now + 7200 }}
			if _, err := c.Run(ctx); err != nil {
				t.Fatalf("incremental compile: %v", err)
			}
			s.compare(t, p, loc, now+7200, r, "after new and late rows")
			db, err := dbconn.Open(ctx, s.moodle, dbconn.Options{})
			if err != nil {
				t.Fatal(err)
			}
			gone := s.users[1]
			if _, err := db.ExecContext(ctx, "UPDATE ? SET deleted = 1 WHERE id = ?", bun.Ident(s.prefix+"user"), gone); err != nil {
				t.Fatal(err)
			}
			db.Close()
			stats, err := c.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Forgotten != 1 {
				t.Fatalf("the deleted user was not forgotten: %+v", stats)
			}
			key, _ := c.Key()
			got, _, err := s.st.Rollups(ctx, key, []int64{gone}, -1<<40, 1<<40)
			if err != nil || len(got[gone].Cells) != 0 || len(got[gone].Pieces) != 0 {
				t.Fatalf("the deleted user keeps rollups: %v %+v", err, got[gone])
			}
			s.compare(t, p, loc, now+7200, r, "after a user was deleted")
		})
	}
}

// storeDump reads everything a store holds for a key through its reader,
// for comparing two stores.
func storeDump(t *testing.T, st *store.Store, key aggregation.CompileKey, users []int64) string {
	t.Helper()
	got, ok, err := st.Rollups(context.Background(), key, users, -1<<40, 1<<40)
	if err != nil || !ok {
		t.Fatalf("reading %s: ok=%t %v", key, ok, err)
	}
	var b strings.Builder
	for _, u := range users {
		r := got[u]
		cells := slices.Clone(r.Cells)
		slices.SortFunc(cells, func(a, b aggregation.RollupEntry) int {
			return strings.Compare(fmt.Sprint(a.Key), fmt.Sprint(b.Key))
		})
		for _, c := range cells {
			fmt.Fprintf(&b, "%+v %+v\n", c.Key, c.Cell)
		}
		pieces := slices.Clone(r.Pieces)
		slices.SortFunc(pieces, func(a, b aggregation.SessionPiece) int {
			return strings.Compare(fmt.Sprint(a.Key, a.Day), fmt.Sprint(b.Key, b.Day))
		})
		for _, p := range pieces {
			fmt.Fprintf(&b, "%+v\n", p)
		}
	}
	states, err := st.UserStates(context.Background(), key, users)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if s, ok := states[u]; ok {
			fmt.Fprintf(&b, "user %d last %d compiled %d\n", u, s.LastTime, s.CompiledTo)
		}
	}
	return b.String()
}

// report --store and report --live print the same JSON, but for source,
// for every user of a seeded site, on every Moodle engine.
func TestReportStoreEqualsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds databases")
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, s := range newRollupSites(t, 15, 30) {
		t.Run(s.name, func(t *testing.T) {
			if _, stderr, code := usestats(t, "compile", "--moodle", s.moodle, "--prefix", s.prefix, "--store", s.store); code != 0 {
				t.Fatalf("compile exited %d: %s", code, stderr)
			}
			sources := map[string]int{}
			for _, u := range s.users {
				id := strconv.FormatInt(u, 10)
				args := []string{"report", "--moodle", s.moodle, "--prefix", s.prefix, "--user", id, "--now", now}
				stored, stderr, code := usestats(t, append(args, "--store", s.store)...)
				if code != 0 {
					t.Fatalf("report --store exited %d: %s", code, stderr)
				}
				live, stderr, code := usestats(t, append(args, "--live")...)
				if code != 0 {
					t.Fatalf("report --live exited %d: %s", code, stderr)
				}
				src := sourceRE.FindStringSubmatch(stored)
				if src == nil || !strings.Contains(live, `"source": "LIVE"`) {
					t.Fatalf("user %d: no source in the reports:\n%s\n%s", u, stored, live)
				}
				sources[src[1]]++
				if a, b := sourceRE.ReplaceAllString(stored, ""), sourceRE.ReplaceAllString(live, ""); a != b {
					t.Fatalf("user %d: report --store and --live differ: %s", u, firstDiff(a, b))
				}
			}
			if sources["LIVE"] == len(s.users) {
				t.Fatalf("no report came from the rollups: %v", sources)
			}
		})
	}
}

var sourceRE = regexp.MustCompile(`"source": "(\w+)",?`)
