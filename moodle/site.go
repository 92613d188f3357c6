package moodle

import (
	"context"
	"strings"
)

// SiteSettings is how a Moodle site describes itself
// (core_webservice_get_site_info): the site course's names and the
// release, version and default language of its config. Absent values are
// empty.
type SiteSettings struct {
	ID        int64  // the site course (SITEID, the course of category 0)
	FullName  string // the site's full name
	ShortName string
	Release   string // config release, e.g. "4.5 (Build: 20241007)"
	Version   string // config version, e.g. "2024100700.00"
	Lang      string // config lang, e.g. "en"
}

// SiteSettings reads the site course (the lowest id of category 0) and the
// release, version and lang settings. A missing course or config table is
// an ENotFound error naming it.
func (s *Source) SiteSettings(ctx context.Context) (SiteSettings, error) {
	var out SiteSettings
	var courses []Course
	if err := s.db.NewSelect().Model(&courses).ModelTableExpr(s.tableAs("course", "c")).
		Column("id", "fullname", "shortname").Where("category = 0").OrderExpr("id").Limit(1).Scan(ctx); err != nil {
		return out, s.readErr(ctx, "course", "reading the site course", err)
	}
	if len(courses) == 1 {
		out.ID, out.FullName, out.ShortName = courses[0].ID, courses[0].FullName, courses[0].ShortName
	}
	for _, c := range []struct {
		name string
		to   *string
	}{{"release", &out.Release}, {"version", &out.Version}, {"lang", &out.Lang}} {
		v, _, err := s.Config(ctx, c.name)
		if err != nil {
			return out, err
		}
		*c.to = strings.TrimSpace(v)
	}
	return out, nil
}

// IsSiteAdmin reports whether the user is listed in config siteadmins.
func (s *Source) IsSiteAdmin(ctx context.Context, userID int64) (bool, error) {
	admins, _, err := s.Config(ctx, "siteadmins")
	if err != nil {
		return false, err
	}
	return idListContains(admins, userID), nil
}
