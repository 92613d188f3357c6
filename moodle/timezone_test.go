package moodle_test

import (
	"context"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones, on machines without a zoneinfo database

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/seed"
)

// ParseZone takes IANA names and Moodle's legacy offsets, the same
// instant getting the offset Moodle gives it; anything else is EInvalid.
func TestParseZone(t *testing.T) {
	july := time.Date(2025, 7, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in, name string
		offset   int // seconds east of UTC on 1 July 2025
	}{
		{"Europe/Paris", "Europe/Paris", 7200},
		{"UTC", "UTC", 0},
		{"America/New_York", "America/New_York", -4 * 3600},
		{"0", "Etc/GMT", 0},
		{"1", "Etc/GMT-1", 3600},
		{"-5.0", "Etc/GMT+5", -5 * 3600},
		{"+14", "Etc/GMT-14", 14 * 3600},
		{"-12", "Etc/GMT+12", -12 * 3600},
		{"-3.5", "Etc/GMT+3", -3 * 3600}, // Moodle drops the half hour here
		{"5.5", "Asia/Kolkata", 19800},
		{"9.5", "Australia/Darwin", 34200},
		{"UTC+2", "Etc/GMT-2", 7200},
		{"UTC-09", "Etc/GMT+9", -9 * 3600},
		{"GMT-10", "Etc/GMT+10", -10 * 3600},
	} {
		loc, err := moodle.ParseZone(c.in)
		if err != nil {
			t.Errorf("ParseZone(%q): %v", c.in, err)
			continue
		}
		if _, off := july.In(loc).Zone(); loc.String() != c.name || off != c.offset {
			t.Errorf("ParseZone(%q) = %s at %+d s, want %s at %+d s", c.in, loc, off, c.name, c.offset)
		}
	}
	for _, in := range []string{"", "Local", "Mars/Olympus", "15", "-13", "UTC+15", "NaN", "1e3", "Inf",
		"../../etc/passwd", "Romance Standard Time", " Europe/Paris"} {
		if loc, err := moodle.ParseZone(in); aggregation.ErrorCode(err) != aggregation.EInvalid {
			t.Errorf("ParseZone(%q) = %v, %v: want EInvalid", in, loc, err)
		}
	}
}

// SiteZone reads forcetimezone, else timezone, 99 and empty naming no
// zone, on every engine; a bad stored zone is EInvalid naming the setting
// and its value.
func TestSiteZone(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db, prefix, cleanup := newSchema(t, e.url) // db rewrites config, src reads it
			defer cleanup()
			src, err := moodle.Open(ctx, e.url, prefix)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			for _, c := range []struct {
				config           [][2]string
				zone, setting    string // zone "": no Location
				value, errorText string
			}{
				{config: nil},
				{config: [][2]string{{"timezone", "99"}, {"forcetimezone", "99"}}, value: "99"},
				{config: [][2]string{{"timezone", ""}}},
				{config: [][2]string{{"timezone", "99.0"}}, value: "99.0"},
				{config: [][2]string{{"timezone", "Europe/London"}, {"forcetimezone", "99"}}, zone: "Europe/London", setting: "timezone", value: "Europe/London"},
				{config: [][2]string{{"timezone", "Europe/London"}, {"forcetimezone", "Europe/Paris"}}, zone: "Europe/Paris", setting: "forcetimezone", value: "Europe/Paris"},
				{config: [][2]string{{"forcetimezone", "Europe/Paris"}}, zone: "Europe/Paris", setting: "forcetimezone", value: "Europe/Paris"},
				{config: [][2]string{{"timezone", " Asia/Tokyo\n"}, {"forcetimezone", ""}}, zone: "Asia/Tokyo", setting: "timezone", value: "Asia/Tokyo"},
				{config: [][2]string{{"timezone", "5.5"}}, zone: "Asia/Kolkata", setting: "timezone", value: "5.5"},
				{config: [][2]string{{"Timezone", "Asia/Tokyo"}}}, // names compare byte for byte, also on MariaDB
				{config: [][2]string{{"timezone", "Europe/London"}, {"forcetimezone", "Mars/Olympus"}}, errorText: `config forcetimezone = "Mars/Olympus"`},
				{config: [][2]string{{"timezone", "Local"}}, errorText: `config timezone = "Local"`},
				{config: [][2]string{{"timezone", "-13"}}, errorText: `config timezone = "-13"`},
			} {
				if _, err := db.ExecContext(ctx, "DELETE FROM "+prefix+"config"); err != nil {
					t.Fatal(err)
				}
				w := seed.NewWriter(db, prefix)
				for i, kv := range c.config {
					if err := w.Add(ctx, seed.Config{ID: int64(i + 1), Name: kv[0], Value: kv[1]}); err != nil {
						t.Fatal(err)
					}
				}
				if err := w.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				z, err := src.SiteZone(ctx)
				if c.errorText != "" {
					if aggregation.ErrorCode(err) != aggregation.EInvalid || !strings.Contains(err.Error(), c.errorText) {
						t.Errorf("%q: %+v, %v: want EInvalid saying %s", c.config, z, err, c.errorText)
					}
					continue
				}
				zone := ""
				if z.Location != nil {
					zone = z.Location.String()
				}
				if err != nil || zone != c.zone || z.Setting != c.setting || z.Value != c.value {
					t.Errorf("%q: zone %q from %q = %q, %v; want %q from %q = %q", c.config, zone, z.Setting, z.Value, err, c.zone, c.setting, c.value)
				}
			}
		})
	}
}
