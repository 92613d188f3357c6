package moodle_test

import (
	"context"
	"strings"
	"testing"

	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// Capabilities of the access fixture.
const (
	capSee     = "block/use_stats:seesitedetails"
	capSum     = "block/use_stats:sum"
	capDefault = "block/use_stats:default"
	capCourse  = "block/use_stats:course"
	capGuest   = "block/use_stats:guest"
)

func accessUser(id int64, username string) seed.User {
	u := seed.Defaults[seed.User]()
	u.ID, u.Username, u.MnetHostID, u.Confirmed = id, username, 3, 1
	return u
}

// fillAccess is a site whose system context is 11 (context 1 is a course
// context, to catch a hard-coded id), with users:
//
//	1 guest, 2 and 5 site admins, 20 manager, 21 manager and prohibited,
//	22 prevent + allow (twice assigned the allowing role), 23 prevent +
//	allow + allow, 24 no system role, 25 the siteguest, 26 deleted (a site
//	admin and a manager), 27 roles in course contexts only.
func fillAccess(ctx context.Context, w *seed.Writer) error {
	var rows []seed.Row
	for _, u := range []struct {
		id   int64
		name string
	}{{1, "guest"}, {2, "admin"}, {5, "admin2"}, {20, "mgr"}, {21, "both"}, {22, "sum0"}, {23, "sum1"},
		{24, "plain"}, {25, "visitor"}, {26, "gone"}, {27, "courseonly"}} {
		r := accessUser(u.id, u.name)
		if u.id == 26 {
			r.Deleted = 1
		}
		rows = append(rows, r)
	}
	for i, c := range [][2]string{
		{"mnet_localhost_id", "3"}, {"siteadmins", "2, 5,26"}, {"siteguest", "25"},
		{"defaultuserroleid", "7"}, {"guestroleid", "6"},
	} {
		rows = append(rows, seed.Config{ID: int64(i + 1), Name: c[0], Value: c[1]})
	}
	rows = append(rows,
		seed.Context{ID: 1, ContextLevel: 50, InstanceID: 9, Path: seed.Some("/11/1"), Depth: 2},
		seed.Context{ID: 11, ContextLevel: 10, Path: seed.Some("/11"), Depth: 1},
		seed.Context{ID: 12, ContextLevel: 50, InstanceID: 5, Path: seed.Some("/11/12"), Depth: 2})
	for i, p := range []struct {
		ctx, role  int64
		capability string
		permission int64
	}{
		{11, 1, capSee, moodle.CapAllow}, {11, 10, capSee, moodle.CapProhibit},
		{11, 11, capSum, moodle.CapPrevent}, {11, 12, capSum, moodle.CapAllow}, {11, 13, capSum, moodle.CapAllow},
		{11, 7, capDefault, moodle.CapAllow}, {11, 6, capGuest, moodle.CapAllow},
		{12, 5, capSee, moodle.CapAllow}, {1, 1, capCourse, moodle.CapAllow}, {1, 7, capCourse, moodle.CapAllow},
	} {
		rows = append(rows, seed.RoleCapability{ID: int64(i + 1), ContextID: p.ctx, RoleID: p.role,
			Capability: p.capability, Permission: p.permission})
	}
	for i, a := range []struct {
		user, role, ctx int64
		component       string
	}{
		{20, 1, 11, ""}, {21, 1, 11, ""}, {21, 10, 11, ""}, {22, 11, 11, ""}, {22, 12, 11, ""}, {22, 12, 11, "auth_x"},
		{23, 11, 11, ""}, {23, 12, 11, ""}, {23, 13, 11, ""}, {26, 1, 11, ""}, {27, 5, 12, ""}, {27, 1, 1, ""},
	} {
		rows = append(rows, seed.RoleAssignment{ID: int64(i + 1), RoleID: a.role, ContextID: a.ctx, UserID: a.user, Component: a.component})
	}
	for _, h := range []struct {
		id, deleted   int64
		wwwroot, name string
	}{{3, 0, "http://moodle.test", "Local"}, {4, 0, "http://peer.test", "Peer"}, {5, 1, "http://old.test", "Old"}, {6, 0, "", "All Hosts"}} {
		r := seed.Defaults[seed.MnetHost]()
		r.ID, r.Deleted, r.WWWRoot, r.Name, r.IPAddress = h.id, h.deleted, h.wwwroot, h.name, "192.0.2.1"
		r.PublicKey, r.PublicKeyExpires = "-----BEGIN CERTIFICATE-----\n"+h.name+"\n", 1800000000
		rows = append(rows, r)
	}
	return w.Add(ctx, rows...)
}

func TestAccess(t *testing.T) {
	forEachEngine(t, fillAccess, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		if v, ok, err := src.Config(ctx, "siteadmins"); err != nil || !ok || v != "2, 5,26" {
			t.Errorf("Config(siteadmins) = %q, %v, %v", v, ok, err)
		}
		for _, name := range []string{"SITEADMINS", "siteadmins ", "nope", ""} {
			if v, ok, err := src.Config(ctx, name); err != nil || ok || v != "" {
				t.Errorf("Config(%q) = %q, %v, %v: want absent", name, v, ok, err)
			}
		}
		if id, err := src.LocalHostID(ctx); err != nil || id != 3 {
			t.Errorf("LocalHostID = %d, %v", id, err)
		}
		h, ok, err := src.MnetHostByWWWRoot(ctx, "http://peer.test")
		if err != nil || !ok || h.ID != 4 || h.Name != "Peer" || h.IPAddress != "192.0.2.1" ||
			!strings.HasSuffix(h.PublicKey, "Peer\n") || h.PublicKeyExpires != 1800000000 || h.ApplicationID != 1 {
			t.Errorf("MnetHostByWWWRoot(peer) = %+v, %v, %v", h, ok, err)
		}
		if h, ok, err := src.MnetHostByWWWRoot(ctx, "http://moodle.test"); err != nil || !ok || h.ID != 3 {
			t.Errorf("MnetHostByWWWRoot(local) = %+v, %v, %v", h, ok, err)
		}
		for _, root := range []string{"http://unknown.test", "http://old.test", "HTTP://PEER.TEST", "http://peer.test/", ""} {
			if h, ok, err := src.MnetHostByWWWRoot(ctx, root); err != nil || ok {
				t.Errorf("MnetHostByWWWRoot(%q) = %+v, %v, %v: want unknown", root, h, ok, err)
			}
		}
		for _, c := range []struct {
			what string
			user int64
			caps []string
			want bool
		}{
			{"site admin", 2, []string{"any/thing:at_all"}, true},
			{"second site admin (spaces in the list)", 5, []string{capSee}, true},
			{"allow via a system role", 20, []string{capSee}, true},
			{"any of several", 20, []string{capSum, capSee}, true},
			{"none of several", 20, []string{capSum, "other:cap"}, false},
			{"capability names are exact", 20, []string{strings.ToUpper(capSee)}, false},
			{"prohibit beats allow", 21, []string{capSee}, false},
			{"prevent + allow = 0 (a role twice assigned counts once)", 22, []string{capSum}, false},
			{"prevent + allow + allow > 0", 23, []string{capSum}, true},
			{"default user role", 24, []string{capDefault}, true},
			{"no system role", 24, []string{capSee, capSum}, false},
			{"username guest excluded from the default role", 1, []string{capDefault}, false},
			{"siteguest excluded from the default role", 25, []string{capDefault}, false},
			{"username guest has the guest role", 1, []string{capGuest}, true},
			{"siteguest has the guest role", 25, []string{capGuest}, true},
			{"others do not have the guest role", 24, []string{capGuest}, false},
			{"deleted user, even a site admin with a role", 26, []string{capSee}, false},
			{"missing user", 404, []string{capDefault}, false},
			{"no user", 0, []string{capDefault}, false},
			{"no capability", 2, nil, false},
			{"course-context roles do not count", 27, []string{capSee}, false},
			{"context 1 is not the system context here", 27, []string{capCourse}, false},
			{"default role at context 1 does not count", 24, []string{capCourse}, false},
		} {
			got, err := src.HasSystemCapability(ctx, c.user, c.caps...)
			if err != nil || got != c.want {
				t.Errorf("%s: HasSystemCapability(%d, %q) = %v, %v; want %v", c.what, c.user, c.caps, got, err, c.want)
			}
		}
	})
}

// With none of the settings, the local host is 1 and nobody is a site
// admin or has the default role.
func TestAccessDefaults(t *testing.T) {
	fill := func(ctx context.Context, w *seed.Writer) error {
		return w.Add(ctx, accessUser(2, "admin"), accessUser(24, "plain"),
			seed.Context{ID: 1, ContextLevel: 10, Path: seed.Some("/1"), Depth: 1},
			seed.RoleCapability{ID: 1, ContextID: 1, RoleID: 7, Capability: capDefault, Permission: moodle.CapAllow})
	}
	forEachEngine(t, fill, func(t *testing.T, src *moodle.Source) {
		ctx := context.Background()
		if id, err := src.LocalHostID(ctx); err != nil || id != 1 {
			t.Errorf("LocalHostID = %d, %v; want the default 1", id, err)
		}
		if v, ok, err := src.Config(ctx, "siteadmins"); err != nil || ok {
			t.Errorf("Config(siteadmins) = %q, %v, %v", v, ok, err)
		}
		for _, u := range []int64{2, 24} {
			if got, err := src.HasSystemCapability(ctx, u, capDefault, capSee); err != nil || got {
				t.Errorf("HasSystemCapability(%d) = %v, %v; want false", u, got, err)
			}
		}
		if h, ok, err := src.MnetHostByWWWRoot(ctx, "http://moodle.test"); err != nil || ok {
			t.Errorf("MnetHostByWWWRoot in an empty table = %+v, %v, %v", h, ok, err)
		}
	})
}

// An older or partial schema without the access tables gives ENotFound
// errors naming the table.
func TestAccessMissingTables(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := newSchema(t, e.url)
			defer cleanup()
			w := seed.NewWriter(db, prefix)
			if err := w.Add(ctx, accessUser(2, "admin"), accessUser(24, "plain"),
				seed.Config{ID: 1, Name: "siteadmins", Value: "2"},
				seed.Context{ID: 1, ContextLevel: 10, Path: seed.Some("/1"), Depth: 1}); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			drop := func(table string) {
				t.Helper()
				if _, err := db.DB.DB.ExecContext(ctx, "DROP TABLE "+prefix+table); err != nil {
					t.Fatal(err)
				}
			}
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			wantMissing := missingTable(t, prefix)
			drop("role_assignments")
			drop("role_capabilities")
			if ok, err := src.HasSystemCapability(ctx, 2, capSee); err != nil || !ok {
				t.Errorf("site admin without role tables = %v, %v", ok, err)
			}
			_, err = src.HasSystemCapability(ctx, 24, capSee)
			wantMissing("HasSystemCapability without role_assignments", err, "role_assignments")
			drop("config")
			_, _, err = src.Config(ctx, "siteadmins")
			wantMissing("Config", err, "config")
			_, err = src.LocalHostID(ctx)
			wantMissing("LocalHostID", err, "config")
			_, err = src.HasSystemCapability(ctx, 24, capSee)
			wantMissing("HasSystemCapability without config", err, "config")
			if ok, err := src.HasSystemCapability(ctx, 404, capSee); err != nil || ok {
				t.Errorf("missing user = %v, %v", ok, err)
			}
			drop("mnet_host")
			_, _, err = src.MnetHostByWWWRoot(ctx, "http://peer.test")
			wantMissing("MnetHostByWWWRoot", err, "mnet_host")
		})
	}
}

// The generated site answers like a fresh install: the local host of
// mnet_localhost_id, the admin (user 2) as site admin, the manager role
// allowed to see the site details.
func TestAccessSeededSite(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := newSchema(t, e.url)
			defer cleanup()
			if _, err := seed.Fill(ctx, db, seed.Options{Seed: 1, Users: 3, Days: 2, Prefix: prefix}); err != nil {
				t.Fatal(err)
			}
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			local, err := src.LocalHostID(ctx)
			if err != nil || local != 1 {
				t.Fatalf("LocalHostID = %d, %v", local, err)
			}
			if h, ok, err := src.MnetHostByWWWRoot(ctx, "http://moodle.demo.test"); err != nil || !ok || h.ID != local {
				t.Errorf("the local host = %+v, %v, %v", h, ok, err)
			}
			admin, err := src.FindUser(ctx, moodle.UserByID, "2", 0)
			if err != nil || admin.Username != "admin" || admin.MnetHostID != local {
				t.Errorf("user 2 = %+v, %v", admin, err)
			}
			for _, c := range []struct {
				user int64
				want bool
			}{{2, true}, {1, false}, {3, false}} {
				if got, err := src.HasSystemCapability(ctx, c.user, capSee); err != nil || got != c.want {
					t.Errorf("HasSystemCapability(%d, %s) = %v, %v; want %v", c.user, capSee, got, err, c.want)
				}
			}
			// A manager at the system context gets it through role 1.
			if _, err := db.DB.DB.ExecContext(ctx, "INSERT INTO "+prefix+"role_assignments (roleid, contextid, userid, component) VALUES (1, 1, 3, '')"); err != nil {
				t.Fatal(err)
			}
			if got, err := src.HasSystemCapability(ctx, 3, capSee); err != nil || !got {
				t.Errorf("user 3 made manager: %v, %v", got, err)
			}
			// How the site describes itself (core_webservice_get_site_info).
			want := moodle.SiteSettings{ID: 1, FullName: "Demo University", ShortName: "demo",
				Release: seed.SiteRelease, Version: seed.SiteVersion, Lang: "en"}
			if got, err := src.SiteSettings(ctx); err != nil || got != want {
				t.Errorf("SiteSettings() = %+v, %v; want %+v", got, err, want)
			}
			for id, want := range map[int64]bool{2: true, 3: false, 1: false} {
				if got, err := src.IsSiteAdmin(ctx, id); err != nil || got != want {
					t.Errorf("IsSiteAdmin(%d) = %v, %v", id, got, err)
				}
			}
		})
	}
}
