package moodle

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// SiteZone is the time zone a Moodle site's calendar days are in, as its
// config holds it.
type SiteZone struct {
	// Location is the zone; nil when the site names none (timezone absent,
	// empty or 99: Moodle then uses the PHP server's default zone, which
	// the database does not hold).
	Location *time.Location
	// Setting is the config name the zone came from: "forcetimezone" or
	// "timezone"; "" when the site names none.
	Setting string
	// Value is the stored value, trimmed: the one the zone was read from,
	// or with no Setting the timezone value that names none.
	Value string
}

// SiteZone reads the site's time zone as Moodle picks the zone of its
// pages: config forcetimezone when it names a zone (99 or empty: users'
// zones are not forced), else config timezone (99 or empty: the server's
// default, returned as no Location). A value that ParseZone refuses is an
// EInvalid error naming the setting and the value, where Moodle would
// quietly fall back to another zone.
func (s *Source) SiteZone(ctx context.Context) (SiteZone, error) {
	forced, err := s.zoneSetting(ctx, "forcetimezone")
	if err != nil || forced.Location != nil {
		return forced, err
	}
	return s.zoneSetting(ctx, "timezone")
}

// zoneSetting reads one zone setting; no Location when it names none.
func (s *Source) zoneSetting(ctx context.Context, name string) (SiteZone, error) {
	v, _, err := s.Config(ctx, name)
	if err != nil {
		return SiteZone{}, err
	}
	v = strings.TrimSpace(v)
	if v == "" || v == "99" || (decimal.MatchString(v) && mustFloat(v) == 99) {
		return SiteZone{Value: v}, nil
	}
	loc, err := ParseZone(v)
	if err != nil {
		return SiteZone{}, aggregation.Errorf(aggregation.EInvalid, "config %s = %q: %s", name, v, aggregation.ErrorMessage(err))
	}
	return SiteZone{Location: loc, Setting: name, Value: v}, nil
}

var (
	// decimal is a legacy zone given as hours east of UTC.
	decimal = regexp.MustCompile(`^[+-]?\d{1,3}(?:\.\d{1,4})?$`)
	// legacyOffset is a legacy "UTC+N" or "GMT-N" zone.
	legacyOffset = regexp.MustCompile(`^(?:UTC|GMT)[+-]\d{1,2}$`)
	// legacyHalfHours are the cities Moodle maps its legacy half-hour
	// offsets to.
	legacyHalfHours = map[string]string{"4.5": "Asia/Kabul", "5.5": "Asia/Kolkata", "6.5": "Asia/Yangon", "9.5": "Australia/Darwin"}
)

// ParseZone reads a zone as a Moodle site stores it: an IANA name
// ("Europe/Paris", "UTC"), or one of the legacy forms Moodle still maps
// for sites set up before Moodle 2.9: hours east of UTC ("1", "-5.0"; a
// fraction is dropped except 4.5, 5.5, 6.5 and 9.5, which become a city of
// that offset) or "UTC+N" / "GMT-N", whole hours from -12 to +14 becoming
// the fixed Etc/GMT zones. Anything else, "Local" (this machine's zone)
// included, is an EInvalid error.
func ParseZone(v string) (*time.Location, error) {
	if city, ok := legacyHalfHours[v]; ok {
		return loadZone(city)
	}
	var hours int
	switch {
	case decimal.MatchString(v):
		hours = int(mustFloat(v)) // truncated toward zero, as Moodle does
	case legacyOffset.MatchString(v):
		hours, _ = strconv.Atoi(v[3:]) // a sign and one or two digits
	case v == "Local" || v == "":
		return nil, aggregation.Errorf(aggregation.EInvalid, "not a time zone name (want an IANA name such as Europe/Paris)")
	default:
		return loadZone(v)
	}
	if hours < -12 || hours > 14 {
		return nil, aggregation.Errorf(aggregation.EInvalid, "an offset of %d hours is no time zone (want -12 to 14)", hours)
	}
	switch {
	case hours > 0:
		return loadZone("Etc/GMT-" + strconv.Itoa(hours)) // IANA's Etc names count hours west
	case hours < 0:
		return loadZone("Etc/GMT+" + strconv.Itoa(-hours))
	}
	return loadZone("Etc/GMT")
}

// loadZone loads an IANA zone; an unknown one is EInvalid.
func loadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, aggregation.Errorf(aggregation.EInvalid, "unknown time zone (want an IANA name such as Europe/Paris)")
	}
	return loc, nil
}

// mustFloat reads a string that matched decimal.
func mustFloat(v string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	return f
}
