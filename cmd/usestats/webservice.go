package main

// Web-service wiring: which tokens the REST endpoint accepts.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/store"
	"github.com/usestats/usestats/webservice"
)

// wsConfig is the web-service part of serve's configuration.
type wsConfig struct {
	moodleTokens bool           // also accept the site's external_tokens
	maxUsers     int            // most users in one bulk call
	workers      int            // deprecated alias of serve's --workers (0: not given)
	timeout      time.Duration  // deadline of one call
	debugInfo    bool           // send debuginfo with errors
	proxies      string         // reverse proxies whose X-Forwarded-For is believed
	trusted      trustedProxies // proxies, parsed by check
}

// addFlags declares the --ws-* flags, defaulted from USESTATS_WS_*.
func (c *wsConfig) addFlags(fs *flag.FlagSet, env *envDefaults) {
	fs.BoolVar(&c.moodleTokens, "ws-moodle-tokens", env.bool("USESTATS_WS_MOODLE_TOKENS", false),
		"also accept the Moodle site's own web-service tokens (external_tokens) (env USESTATS_WS_MOODLE_TOKENS)")
	fs.IntVar(&c.maxUsers, "ws-max-users", env.int("USESTATS_WS_MAX_USERS", 1000),
		"most users one bulk web-service call may ask for (env USESTATS_WS_MAX_USERS)")
	fs.IntVar(&c.workers, "ws-workers", env.int("USESTATS_WS_WORKERS", 0),
		"deprecated: use --workers, the one pool of log queries of the whole process (env USESTATS_WS_WORKERS)")
	fs.DurationVar(&c.timeout, "ws-timeout", env.duration("USESTATS_WS_TIMEOUT", 2*time.Minute),
		"deadline of one web-service call, database included (env USESTATS_WS_TIMEOUT)")
	fs.BoolVar(&c.debugInfo, "ws-debuginfo", env.bool("USESTATS_WS_DEBUGINFO", true),
		"send debuginfo (what was wrong) with web-service errors, as a Moodle site with debugging on (env USESTATS_WS_DEBUGINFO)")
	fs.StringVar(&c.proxies, "ws-trusted-proxies", envOr("USESTATS_WS_TRUSTED_PROXIES", ""),
		"comma-separated addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For gives the client address for token IP restrictions (env USESTATS_WS_TRUSTED_PROXIES)")
}

// check refuses values that cannot work.
func (c *wsConfig) check() error {
	if c.maxUsers < 1 || c.timeout <= 0 {
		return aggregation.Errorf(aggregation.EInvalid, "serve: --ws-max-users and --ws-timeout must be positive")
	}
	var err error
	c.trusted, err = parseTrustedProxies(c.proxies)
	return err
}

// wsDeps is what the web-service endpoint is built from.
type wsDeps struct {
	st      *store.Store
	src     *moodle.Source
	svc     *aggregation.Service  // computes the time
	dir     aggregation.Directory // finds users (nil: the Moodle source's)
	log     *slog.Logger
	wwwroot string
}

// newWSHandler builds the REST endpoint; the site's name, release,
// version and language come from the Moodle database, as Moodle's
// core_webservice_get_site_info gives them.
func newWSHandler(ctx context.Context, c wsConfig, d wsDeps) (*webservice.Handler, error) {
	site, err := d.src.SiteSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("serve: reading the site's settings: %w", err)
	}
	info := webservice.SiteInfo{SiteName: site.FullName, SiteURL: d.wwwroot, Release: site.Release,
		Version: site.Version, Lang: site.Lang, SiteID: site.ID}
	if info.SiteName == "" {
		info.SiteName = "usestats"
	}
	dir := d.dir
	if dir == nil {
		dir = d.src.Directory()
	}
	return webservice.New(webservice.Config{
		Authenticate:  wsAuth{st: d.st, src: d.src, moodleTokens: c.moodleTokens, now: time.Now}.authenticate,
		Directory:     dir,
		Service:       d.svc,
		Now:           func() int64 { return time.Now().Unix() },
		SiteInfo:      info,
		MaxUsers:      c.maxUsers,
		Timeout:       c.timeout,
		HideDebugInfo: !c.debugInfo,
		RemoteIP:      c.trusted.remoteIP,
		Logger:        d.log,
		Observe:       observeCall("ws"),
	})
}

// capExport is the capability a Moodle token's user needs (block_use_stats).
const capExport = "block/use_stats:export"

// wsFunctions are the functions a Moodle service may list for us.
var wsFunctions = []string{
	"block_use_stats_get_user_stats",
	"block_use_stats_get_users_stats",
	"block_use_stats_get_users_course_stats",
	"core_webservice_get_site_info",
}

// wsAuth authenticates web-service tokens: ours ("ust_…", any scopes),
// and, when moodleTokens, the site's own external_tokens.
type wsAuth struct {
	st           *store.Store
	src          *moodle.Source
	moodleTokens bool
	now          func() time.Time
}

func (a wsAuth) authenticate(ctx context.Context, token, ip string) (webservice.Principal, error) {
	now := a.now().Unix()
	if strings.HasPrefix(token, "ust_") || !a.moodleTokens {
		tok, err := a.st.Authenticate(ctx, token, now)
		if err != nil {
			return webservice.Principal{}, err
		}
		return webservice.Principal{Scopes: tok.Scopes}, nil
	}
	acc, err := a.src.AuthenticateWSToken(ctx, token, ip, now, wsFunctions)
	if r, ok := errors.AsType[*moodle.WSRefusal](err); ok {
		return webservice.Principal{}, &webservice.Exception{Class: r.Class, ErrorCode: r.ErrorCode, Message: r.Message, DebugInfo: r.DebugInfo}
	}
	if err != nil {
		return webservice.Principal{}, err
	}
	p := webservice.Principal{UserID: acc.User.ID, Functions: acc.Functions, RestrictedContext: !acc.SystemContext}
	if p.SiteAdmin, err = a.src.IsSiteAdmin(ctx, acc.User.ID); err != nil {
		return webservice.Principal{}, err
	}
	// block_use_stats' functions require block/use_stats:export; without
	// it the token still calls core_webservice_get_site_info, and the
	// statistics functions answer required_capability_exception.
	can, err := a.src.HasSystemCapability(ctx, acc.User.ID, capExport)
	if err != nil {
		return webservice.Principal{}, err
	}
	if can {
		if p.Scopes, err = aggregation.NewScopes(aggregation.WSScope()); err != nil {
			return webservice.Principal{}, err
		}
	}
	return p, nil
}
