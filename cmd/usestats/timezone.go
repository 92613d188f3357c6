package main

import (
	"context"
	"flag"
	"log/slog"
	"time"
	_ "time/tzdata" // a site's zone works on machines without a zoneinfo database

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
)

// zoneFlag is --timezone (env USESTATS_TIMEZONE), declared alike by serve,
// compile and report: the time zone of calendar days, daily series and
// day-aligned windows. Empty, its default, is the Moodle site's zone, so
// that `compile` and `serve` (whose background compiles use the same zone)
// key their rollups alike without being told.
type zoneFlag struct {
	cmd  string // the command, for messages
	fs   *flag.FlagSet
	name string
}

// addZoneFlag declares --timezone on fs; what says what the zone cuts.
func addZoneFlag(fs *flag.FlagSet, cmd, what string) *zoneFlag {
	z := &zoneFlag{cmd: cmd, fs: fs}
	fs.StringVar(&z.name, "timezone", envOr("USESTATS_TIMEZONE", ""),
		what+": an IANA name such as Europe/Paris; empty: the Moodle site's (forcetimezone, else timezone; UTC when it sets none) (env USESTATS_TIMEZONE)")
	return z
}

// origin names where an explicit zone came from.
func (z *zoneFlag) origin() string {
	origin := "USESTATS_TIMEZONE"
	z.fs.Visit(func(f *flag.Flag) {
		if f.Name == "timezone" {
			origin = "--timezone"
		}
	})
	return origin
}

// explicit returns the zone given by flag or environment, nil when none
// was; a name that is no zone is EInvalid naming it and where it came
// from. Commands call it before opening anything.
func (z *zoneFlag) explicit() (*time.Location, error) {
	if z.name == "" {
		return nil, nil
	}
	loc, err := moodle.ParseZone(z.name)
	if err != nil {
		return nil, aggregation.Errorf(aggregation.EInvalid, "%s: %s %q: %s", z.cmd, z.origin(), z.name, aggregation.ErrorMessage(err))
	}
	return loc, nil
}

// resolve settles the zone of the command's days: the explicit one, else
// the site's (moodle.Source.SiteZone), else UTC, which log is told of at
// warning level, as it is of the zone at info level. A site zone that is
// no zone is EInvalid naming the setting and its value.
func (z *zoneFlag) resolve(ctx context.Context, src *moodle.Source, log *slog.Logger) (*time.Location, error) {
	if loc, err := z.explicit(); err != nil {
		return nil, err
	} else if loc != nil {
		log.Info("time zone of calendar days", "zone", loc.String(), "from", z.origin())
		return loc, nil
	}
	site, err := src.SiteZone(ctx)
	switch {
	case aggregation.ErrorCode(err) == aggregation.EInvalid:
		return nil, aggregation.Errorf(aggregation.EInvalid, "%s: the site's time zone: %s; fix it in Moodle or give --timezone (env USESTATS_TIMEZONE)",
			z.cmd, aggregation.ErrorMessage(err))
	case err != nil:
		return nil, err
	case site.Location == nil:
		log.Warn("the site sets no time zone (config timezone empty, absent or 99, the PHP server's zone, which the database does not hold): calendar days in UTC; give --timezone (env USESTATS_TIMEZONE) for another zone",
			"zone", "UTC", "timezone", site.Value)
		return time.UTC, nil
	}
	log.Info("time zone of calendar days", "zone", site.Location.String(), "from", "config "+site.Setting)
	return site.Location, nil
}
