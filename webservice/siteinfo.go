package webservice

import (
	"context"
	"strings"
)

var (
	siteInfoParams = single(
		k("serviceshortnames", multiple(value(paramAlphaNumExt, "service shortname")).dflt([]any{})),
	)
	siteInfoReturns = single(
		k("sitename", value(paramText, "site name")),
		k("username", value(paramRaw, "username")),
		k("firstname", value(paramText, "first name")),
		k("lastname", value(paramText, "last name")),
		k("fullname", value(paramText, "user full name")),
		k("lang", value(paramLang, "current language")),
		k("userid", value(paramInt, "user id")),
		k("siteurl", value(paramRaw, "site url")),
		k("userpictureurl", value(paramURL, "the user profile picture")),
		k("functions", multiple(single(
			k("name", value(paramRaw, "function name")),
			k("version", value(paramText, "the version number of the component to which the function belongs")),
		))),
		k("downloadfiles", value(paramInt, "1 if users are allowed to download files, 0 if not").opt()),
		k("uploadfiles", value(paramInt, "1 if users are allowed to upload files, 0 if not").opt()),
		k("release", value(paramText, "Moodle release number").opt()),
		k("version", value(paramText, "Moodle version number").opt()),
		k("mobilecssurl", value(paramURL, "Mobile custom CSS theme").opt()),
		k("advancedfeatures", multiple(single(
			k("name", value(paramAlphaNumExt, "feature name")),
			k("value", value(paramInt, "feature value")),
		)).opt()),
		k("usercanmanageownfiles", value(paramBool, "whether the user can manage private files").opt()),
		k("userquota", value(paramInt, "user quota (bytes), 0 = unlimited").opt()),
		k("usermaxuploadfilesize", value(paramInt, "largest upload (bytes), -1 = unlimited").opt()),
		k("userhomepage", value(paramInt, "the default home page for the user").opt()),
		k("siteid", value(paramInt, "site course id").opt()),
		k("sitecalendartype", value(paramText, "calendar type set in the site").opt()),
		k("usercalendartype", value(paramText, "calendar type of the user").opt()),
		k("userissiteadmin", value(paramBool, "whether the user is a site admin").opt()),
		k("theme", value(paramText, "current theme").opt()),
		k("policyagreed", value(paramInt, "whether the user accepted the site policy").opt()),
	)
)

// siteInfo is core_webservice_get_site_info: the site, the token's user
// and the functions the token may call.
func (h *Handler) siteInfo(ctx context.Context, c *callCtx) error {
	s := &h.cfg.SiteInfo
	var username, first, last string
	if c.p.UserID > 0 {
		users, err := h.cfg.Directory.Users(ctx, []int64{c.p.UserID})
		if err != nil {
			return err
		}
		u := users[c.p.UserID]
		username, first, last = u.Username, u.FirstName, u.LastName
	}
	lang := c.p.Lang
	if lang == "" {
		lang = s.Lang
	}
	var funcs []any
	for _, name := range h.names {
		if !c.p.allows(name) {
			continue
		}
		version := s.Version
		if h.funcs[name].component == "block_use_stats" {
			version = s.PluginVersion
		}
		funcs = append(funcs, map[string]any{"name": name, "version": version})
	}
	c.write(map[string]any{
		"sitename":              s.SiteName,
		"username":              username,
		"firstname":             first,
		"lastname":              last,
		"fullname":              strings.TrimSpace(first + " " + last),
		"lang":                  lang,
		"userid":                c.p.UserID,
		"siteurl":               s.SiteURL,
		"userpictureurl":        s.UserPictureURL,
		"functions":             funcs,
		"downloadfiles":         int64(0),
		"uploadfiles":           int64(0),
		"release":               s.Release,
		"version":               s.Version,
		"mobilecssurl":          "",
		"advancedfeatures":      []any{map[string]any{"name": "enablewebservices", "value": int64(1)}},
		"usercanmanageownfiles": false,
		"userquota":             int64(0),
		"usermaxuploadfilesize": int64(-1),
		"userhomepage":          int64(1),
		"siteid":                s.SiteID,
		"sitecalendartype":      "gregorian",
		"usercalendartype":      "gregorian",
		"userissiteadmin":       c.p.SiteAdmin,
		"theme":                 s.Theme,
		"policyagreed":          int64(1),
	})
	return nil
}
