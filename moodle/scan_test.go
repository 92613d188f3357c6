package moodle_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// scanSite is a generated site (a few learners over three weeks) plus
// rows at every edge of the engine's filter, interleaved with the
// learners' own activity: actions in other cases or padded, login-as with
// realuserid 0 and set, anonymous rows, user_graded and other graded rows,
// NULL and 0 courses, NULL, empty, upper-case and padded origins, NULL,
// empty and escaped addresses, deleted course modules.
type scanSite struct {
	src     *moodle.Source
	db      *dbconn.DB
	prefix  string
	deleted int64 // a deleted user added to the site
}

const (
	scanDays    = 21
	scanEnd     = seed.DefaultEnd
	scanStart   = scanEnd - scanDays*86400
	edgeFirstID = 10_000_000
)

func withScanSite(t *testing.T, f func(t *testing.T, s scanSite)) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) { withScanSiteOn(t, e, f) })
	}
}

// withScanSiteOn is withScanSite on one engine.
func withScanSiteOn(t *testing.T, e engine, f func(t *testing.T, s scanSite)) {
	ctx := context.Background()
	db, prefix, cleanup := newSchema(t, e.url)
	defer cleanup()
	if _, err := seed.Fill(ctx, db, seed.Options{Seed: 7, Users: 6, Days: scanDays, Prefix: prefix}); err != nil {
		t.Fatal(err)
	}
	var cm, course int64
	if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT id, course FROM %scourse_modules ORDER BY id LIMIT 1", prefix)).Scan(&cm, &course); err != nil {
		t.Fatal(err)
	}
	w := seed.NewWriter(db, prefix)
	if err := w.Add(ctx, edgeRows(cm, course)...); err != nil {
		t.Fatal(err)
	}
	gone := seed.Defaults[seed.User]()
	gone.ID, gone.Username, gone.Deleted, gone.MnetHostID = 9000, "gone9000", 1, 1
	if err := w.Add(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	src, err := moodle.Open(ctx, e.url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	f(t, scanSite{src: src, db: db, prefix: prefix, deleted: gone.ID})
}

// edgeRows returns the edge rows (ids from edgeFirstID) of learners 3 to 6.
func edgeRows(cm, course int64) []seed.Row {
	rng := rand.New(rand.NewPCG(1, 2))
	type edge struct {
		action, target string
		course         sql.Null[int64]
		origin, ip     sql.Null[string]
		realUser       sql.Null[int64]
		anonymous      int64
		module         int64 // a cmid: a module-context row
	}
	c, site := seed.Some(course), seed.Some(int64(0))
	web, ip := seed.Some("web"), seed.Some("192.0.2.9")
	edges := []edge{
		{action: "failed", target: "user_login", course: site, origin: web, ip: ip},
		{action: "FAILED", target: "user_login", course: site, origin: web, ip: ip},
		{action: "failed ", target: "user_login", course: c, origin: web, ip: ip},
		{action: "viewed", target: "course", course: c, origin: web, ip: ip, realUser: seed.Some(int64(2))},
		{action: "viewed", target: "course", course: c, origin: web, ip: ip, realUser: seed.Some(int64(0))},
		{action: "viewed", target: "course_module", course: c, origin: web, ip: ip, module: cm, anonymous: 1},
		{action: "graded", target: "user", course: c, origin: web, ip: ip},
		{action: "graded", target: "User", course: c, origin: web, ip: ip},
		{action: "graded", target: "submission", course: c, origin: web, ip: ip, module: cm},
		{action: "Graded", target: "user", course: c, origin: web, ip: ip},
		{action: "viewed", target: "dashboard", origin: web, ip: ip},
		{action: "loggedin", target: "user", origin: web, ip: ip},
		{action: "loggedout", target: "user", course: site, origin: web, ip: ip},
		{action: "logout", target: "user", course: site, origin: web, ip: ip},
		{action: "login", target: "user", course: site, origin: web, ip: ip},
		{action: "LoggedIn", target: "user", course: site, origin: web, ip: ip},
		{action: "loggedin ", target: "user", course: site, origin: web, ip: ip},
		{action: "viewed", target: "dashboard", course: site, origin: web, ip: ip},
		{action: "viewed", target: "course", course: c, ip: ip},
		{action: "viewed", target: "course", course: c, origin: seed.Some(""), ip: ip},
		{action: "viewed", target: "course", course: c, origin: seed.Some("CLI"), ip: ip},
		{action: "viewed", target: "course", course: c, origin: seed.Some("cli"), ip: ip},
		{action: "viewed", target: "course", course: c, origin: seed.Some("cli "), ip: ip},
		{action: "viewed", target: "course", course: c, origin: seed.Some("restore"), ip: ip},
		{action: "viewed", target: "course_module", course: c, origin: web, module: cm},
		{action: "viewed", target: "course_module", course: c, origin: web, ip: seed.Some(""), module: cm},
		{action: "viewed", target: "course_module", course: c, origin: web, ip: seed.Some("10.0.0.1\tx\\y\nz"), module: cm},
		{action: "viewed", target: "course_module", course: c, origin: web, ip: seed.Some("2001:db8::1"), module: 999_999},
		{action: "viewed", target: "course", course: seed.Some(int64(999)), origin: web, ip: ip},
	}
	var rows []seed.Row
	id := int64(edgeFirstID)
	for user := int64(3); user <= 6; user++ {
		for round := 0; round < 3; round++ {
			for _, e := range edges {
				r := seed.Defaults[seed.Log]()
				r.ID, r.UserID = id, user
				id++
				r.TimeCreated = scanStart + rng.Int64N(scanDays*86400)
				r.EventName, r.Component, r.Action, r.Target = `\core\event\edge`, "core", e.action, e.target
				r.CRUD, r.EduLevel = "r", 2
				r.CourseID, r.Origin, r.IP, r.RealUserID, r.Anonymous = e.course, e.origin, e.ip, e.realUser, e.anonymous
				switch {
				case e.module != 0:
					r.ContextID, r.ContextLevel, r.ContextInstanceID = 5000+e.module, aggregation.ContextModule, e.module
				case e.course.Valid && e.course.V != 0:
					r.ContextID, r.ContextLevel, r.ContextInstanceID = 4000+e.course.V, aggregation.ContextCourse, e.course.V
				default:
					r.ContextID, r.ContextLevel, r.ContextInstanceID = 1, aggregation.ContextSystem, 0
				}
				rows = append(rows, r)
			}
		}
	}
	return rows
}

// scanPolicies are every preset and variants of the default that keep or
// drop each category of rows the filter knows.
func scanPolicies(t *testing.T) []aggregation.Policy {
	var out []aggregation.Policy
	for _, name := range aggregation.PresetNames() {
		p, err := aggregation.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	variant := func(name string, change func(p *aggregation.Policy)) {
		p, _ := aggregation.Preset(aggregation.DefaultPolicy)
		p.Name = name
		change(&p)
		out = append(out, p)
	}
	variant("keep failed", func(p *aggregation.Policy) { p.KeepFailed = true })
	variant("keep login-as", func(p *aggregation.Policy) { p.KeepLoginAs = true })
	variant("keep anonymous", func(p *aggregation.Policy) { p.KeepAnonymous = true })
	variant("site all", func(p *aggregation.Policy) { p.Site = aggregation.SiteAll })
	variant("site none", func(p *aggregation.Policy) { p.Site = aggregation.SiteNone })
	variant("graded counted", func(p *aggregation.Policy) { p.SkipGraded = false })
	variant("odd origins", func(p *aggregation.Policy) { p.DropOrigins = []string{"", "CLI", "cli "} })
	variant("keep all", func(p *aggregation.Policy) {
		p.KeepFailed, p.KeepLoginAs, p.KeepAnonymous, p.SkipGraded = true, true, true, false
		p.Site, p.DropOrigins = aggregation.SiteAll, nil
	})
	variant("keep all, per course, logout", func(p *aggregation.Policy) {
		p.KeepFailed, p.KeepLoginAs, p.KeepAnonymous = true, true, true
		p.Site, p.Timeline, p.Logout, p.SplitOnLogin = aggregation.SiteAll, aggregation.PerCourse, true, true
	})
	return out
}

// byUser groups events by user.
func byUser(evs []aggregation.Event) map[int64][]aggregation.Event {
	out := map[int64][]aggregation.Event{}
	for _, ev := range evs {
		out[ev.UserID] = append(out[ev.UserID], ev)
	}
	return out
}

// results computes every user's result from its events.
func results(t *testing.T, users []int64, evs map[int64][]aggregation.Event, p aggregation.Policy, w aggregation.Window, now int64) map[int64]*aggregation.Result {
	out := map[int64]*aggregation.Result{}
	for _, u := range users {
		acc := aggregation.NewAccumulator(nil)
		np, err := aggregation.Run(p, w, now, evs[u], acc)
		if err != nil {
			t.Fatal(err)
		}
		out[u] = acc.Result(u, np, w)
	}
	return out
}

// The events ScanUsers reads — filtered by the database, narrow, rebuilt
// from a kind code — give every user exactly the result the full rows of
// UsersEvents give, for every preset and for variants keeping or dropping
// each category of rows, in full and partial windows; the rows it leaves
// out are exactly the rows the engine drops; the events it gives agree with the full
// rows on every field the engine reads. On PostgreSQL the COPY path and
// the database/sql path give the same events.
func TestScanUsersEquivalence(t *testing.T) {
	withScanSite(t, func(t *testing.T, s scanSite) {
		ctx := context.Background()
		src := s.src
		maxID, err := src.MaxLogID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi, err := src.UserBounds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var users []int64
		for u := lo; u <= hi; u++ {
			users = append(users, u)
		}
		var full []aggregation.Event
		if err := src.UsersEvents(ctx, users, 0, 1<<62, func(ev *aggregation.Event) bool { full = append(full, *ev); return true }); err != nil {
			t.Fatal(err)
		}
		fullByID := map[int64]*aggregation.Event{}
		for i := range full {
			fullByID[full[i].ID] = &full[i]
		}
		fullByUser := byUser(full)
		if n := len(fullByUser[3]); n < 100 {
			t.Fatalf("user 3 has %d events: the site is too small to test anything", n)
		}
		windows := []aggregation.Window{
			{From: scanStart - 86400, To: scanEnd + 86400},
			{From: scanStart + 5*86400 + 3600, To: scanStart + 9*86400 - 7200},
			{From: scanStart + 10*86400, To: scanStart + 10*86400 + 5*3600},
		}
		now := int64(scanEnd + 2*86400)
		for _, p := range scanPolicies(t) {
			var scanned []aggregation.Event
			if err := src.ScanUsers(ctx, lo, hi+1, maxID, p.RowFilter(), func(ev *aggregation.Event) bool {
				scanned = append(scanned, *ev)
				return true
			}); err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			checkScanned(t, p, full, fullByID, scanned)
			if s.db.Kind == dbconn.Postgres {
				prev := moodle.ScanWithoutCopy(src, true)
				var viaSQL []aggregation.Event
				err := src.ScanUsers(ctx, lo, hi+1, maxID, p.RowFilter(), func(ev *aggregation.Event) bool { viaSQL = append(viaSQL, *ev); return true })
				moodle.ScanWithoutCopy(src, prev)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(viaSQL, scanned) {
					t.Errorf("%s: COPY and database/sql read different events (%d, %d)", p.Name, len(scanned), len(viaSQL))
				}
			}
			scannedByUser := byUser(scanned)
			for _, w := range windows {
				want := results(t, users, fullByUser, p, w, now)
				got := results(t, users, scannedByUser, p, w, now)
				for _, u := range users {
					if !reflect.DeepEqual(got[u], want[u]) {
						t.Errorf("%s, window %d–%d, user %d: from ScanUsers %+v, %d sessions; from UsersEvents %+v, %d sessions",
							p.Name, w.From, w.To, u, got[u].Total, len(got[u].Sessions), want[u].Total, len(want[u].Sessions))
					}
				}
			}
		}
	})
}

// checkScanned checks the events ScanUsers gave under p against the full
// rows: (user, time, id) order; each agrees with its full row on what the
// engine reads; the rows left out are exactly those the engine drops (a
// lone event explained as dropped or stepped over).
func checkScanned(t *testing.T, p aggregation.Policy, full []aggregation.Event, fullByID map[int64]*aggregation.Event, scanned []aggregation.Event) {
	t.Helper()
	kept := map[int64]bool{}
	for i := range scanned {
		ev := &scanned[i]
		if i > 0 {
			prev := &scanned[i-1]
			if ev.UserID < prev.UserID || ev.UserID == prev.UserID && !prev.Before(ev) {
				t.Fatalf("%s: event %d (user %d, t=%d) after event %d (user %d, t=%d)", p.Name, ev.ID, ev.UserID, ev.Time, prev.ID, prev.UserID, prev.Time)
			}
		}
		f := fullByID[ev.ID]
		if f == nil {
			t.Fatalf("%s: ScanUsers read event %d, which UsersEvents did not", p.Name, ev.ID)
		}
		kept[ev.ID] = true
		if engineView(ev) != engineView(f) {
			t.Errorf("%s: event %d\nScanUsers   %+v\nUsersEvents %+v", p.Name, ev.ID, engineView(ev), engineView(f))
		}
	}
	w := aggregation.Window{From: 0, To: 1 << 62}
	left := 0
	for i := range full {
		ev := &full[i]
		x, err := aggregation.Explain(p, w, ev.Time+1, []aggregation.Event{*ev})
		if err != nil {
			t.Fatal(err)
		}
		dropped := len(x.Laps) == 1 && (x.Laps[0].Reason == aggregation.ReasonDropped || x.Laps[0].Reason == aggregation.ReasonGraded)
		switch {
		case !kept[ev.ID] && !dropped:
			t.Errorf("%s: ScanUsers left out event %+v, which the engine keeps (%+v)", p.Name, *ev, x.Laps)
		case kept[ev.ID] && dropped:
			t.Errorf("%s: ScanUsers read event %+v, which the engine drops: the query should have (%+v)", p.Name, *ev, x.Laps)
		}
		if !kept[ev.ID] {
			left++
		}
	}
	t.Logf("%s: %d events, %d left out", p.Name, len(scanned), left)
}

// eventView is what the engine and the accumulator read of an event.
type eventView struct {
	ID, Time, UserID, CourseID, ContextInstanceID, CMID, SectionID, RealUserID int64
	ContextLevel                                                               int32
	ModuleType, Origin, IP                                                     string
	Anonymous, Login, Logout, Failed, Graded                                   bool
}

func engineView(ev *aggregation.Event) eventView {
	return eventView{
		ID: ev.ID, Time: ev.Time, UserID: ev.UserID, CourseID: ev.CourseID, ContextInstanceID: ev.ContextInstanceID,
		CMID: ev.CMID, SectionID: ev.SectionID, RealUserID: ev.RealUserID, ContextLevel: ev.ContextLevel,
		ModuleType: ev.ModuleType, Origin: ev.Origin, IP: ev.IP, Anonymous: ev.Anonymous,
		Login:  ev.Action == "loggedin" || ev.Action == "login",
		Logout: ev.Action == "loggedout" || ev.Action == "logout",
		Failed: ev.Action == "failed",
		Graded: ev.Action == "graded" && ev.Target == "user",
	}
}

// ScanUsers keeps to its user range and log id bound, stops when asked
// (and the Source keeps working), and ends with the context; the other
// LogScanner methods answer from the same site.
func TestLogScanner(t *testing.T) {
	withScanSite(t, func(t *testing.T, s scanSite) {
		ctx := context.Background()
		src := s.src
		if s.db.Kind == dbconn.Postgres {
			native, err := moodle.ScanCopyNative(ctx, src)
			if err != nil || !native {
				t.Errorf("the PostgreSQL pool's connections cannot COPY (%v): ScanUsers would use database/sql", err)
			}
		}
		var ids []int64
		if err := s.db.NewSelect().Column("id").TableExpr(s.prefix+"logstore_standard_log").OrderExpr("id").Scan(ctx, &ids); err != nil {
			t.Fatal(err)
		}
		maxID, err := src.MaxLogID(ctx)
		if err != nil || maxID != ids[len(ids)-1] {
			t.Fatalf("MaxLogID = %d, %v; want %d", maxID, err, ids[len(ids)-1])
		}
		mid := ids[len(ids)/2]
		got, err := src.LogIDs(ctx, mid-40, mid+60)
		var want []int64
		for _, id := range ids {
			if id > mid-40 && id <= mid+60 {
				want = append(want, id)
			}
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("LogIDs(%d, %d) = %v, %v; want %v", mid-40, mid+60, got, err, want)
		}
		if got, err := src.LogIDs(ctx, maxID, maxID+100); err != nil || len(got) != 0 {
			t.Errorf("LogIDs past the end = %v, %v", got, err)
		}
		var wantDeleted []int64
		if err := s.db.NewSelect().Column("id").TableExpr(s.prefix+"user").Where("deleted <> 0").OrderExpr("id").Scan(ctx, &wantDeleted); err != nil {
			t.Fatal(err)
		}
		if del, err := src.DeletedUsers(ctx); err != nil || !slices.Equal(del, wantDeleted) || !slices.Contains(del, s.deleted) {
			t.Errorf("DeletedUsers = %v, %v; want %v", del, err, wantDeleted)
		}

		// Every row of users 4 and 5 up to mid, and nothing else.
		var rows []struct {
			ID     int64 `bun:"id"`
			UserID int64 `bun:"userid"`
			Time   int64 `bun:"timecreated"`
		}
		if err := s.db.NewSelect().ColumnExpr("id, userid, timecreated").TableExpr(s.prefix+"logstore_standard_log").OrderExpr("id").Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		wantLo, wantHi := rows[0].UserID, rows[0].UserID
		for _, r := range rows {
			wantLo, wantHi = min(wantLo, r.UserID), max(wantHi, r.UserID)
		}
		lo, hi, err := src.UserBounds(ctx)
		if err != nil || lo != wantLo || hi != wantHi {
			t.Errorf("UserBounds = %d, %d, %v; want %d, %d", lo, hi, err, wantLo, wantHi)
		}
		all := aggregation.RowFilter{SiteRows: aggregation.SiteAll}
		var wantIDs, gotIDs []int64
		for _, r := range rows {
			if r.UserID >= 4 && r.UserID < 6 && r.ID <= mid {
				wantIDs = append(wantIDs, r.ID)
			}
		}
		if err := src.ScanUsers(ctx, 4, 6, mid, all, func(ev *aggregation.Event) bool { gotIDs = append(gotIDs, ev.ID); return true }); err != nil {
			t.Fatal(err)
		}
		slices.Sort(gotIDs)
		if !slices.Equal(gotIDs, wantIDs) {
			t.Errorf("ScanUsers(4, 6, %d) read %d rows, want %d", mid, len(gotIDs), len(wantIDs))
		}
		if err := src.ScanUsers(ctx, 6, 6, maxID, all, func(*aggregation.Event) bool { t.Error("an event of an empty range"); return false }); err != nil {
			t.Error(err)
		}

		// Stopping early, several times, leaves the pool working.
		for range 6 {
			n := 0
			if err := src.ScanUsers(ctx, lo, hi+1, maxID, all, func(*aggregation.Event) bool { n++; return n < 5 }); err != nil || n != 5 {
				t.Fatalf("stopping after 5 events read %d, %v", n, err)
			}
		}
		n := 0
		if err := src.ScanUsers(ctx, lo, hi+1, maxID, all, func(*aggregation.Event) bool { n++; return true }); err != nil || n != len(rows) {
			t.Errorf("after early stops, a full scan read %d rows, %v; want %d", n, err, len(rows))
		}
		cctx, cancel := context.WithCancel(ctx)
		n = 0
		err = src.ScanUsers(cctx, lo, hi+1, maxID, all, func(*aggregation.Event) bool {
			if n++; n == 3 {
				cancel()
			}
			return true
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled scan: %d events, err = %v", n, err)
		}
		cancel()
		if _, err := src.MaxLogID(ctx); err != nil {
			t.Errorf("after a cancelled scan: %v", err)
		}

		// NewRows: the range (after, upTo] and the extra ids, each row once.
		after, upTo := ids[10], ids[20]
		extra := []int64{ids[3], ids[15], ids[3], ids[len(ids)-1], maxID + 5}
		byID := map[int64][2]int64{}
		for _, r := range rows {
			byID[r.ID] = [2]int64{r.UserID, r.Time}
		}
		var wantNew [][2]int64
		for _, id := range ids {
			if id > after && id <= upTo || id == ids[3] || id == ids[len(ids)-1] {
				wantNew = append(wantNew, byID[id])
			}
		}
		var gotNew [][2]int64
		if err := src.NewRows(ctx, after, upTo, extra, func(u, tm int64) { gotNew = append(gotNew, [2]int64{u, tm}) }); err != nil {
			t.Fatal(err)
		}
		cmp := func(a, b [2]int64) int {
			if a[0] != b[0] {
				return int(a[0] - b[0])
			}
			return int(a[1] - b[1])
		}
		slices.SortFunc(gotNew, cmp)
		slices.SortFunc(wantNew, cmp)
		if !slices.Equal(gotNew, wantNew) {
			t.Errorf("NewRows(%d, %d, %v) = %v\nwant %v", after, upTo, extra, gotNew, wantNew)
		}
		var many []int64
		for i := range 2500 {
			many = append(many, ids[i%len(ids)])
		}
		count := 0
		if err := src.NewRows(ctx, 0, 0, many, func(int64, int64) { count++ }); err != nil || count != min(2500, len(ids)) {
			t.Errorf("NewRows with %d extra ids: %d rows, %v", len(many), count, err)
		}
	})
}
