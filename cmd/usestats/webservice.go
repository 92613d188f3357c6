package main

// Web-service wiring: which tokens the REST endpoint accepts.

import (
	"context"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/store"
	"github.com/usestats/usestats/webservice"
)

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
	t, ok, err := a.src.ExternalToken(ctx, token)
	if err != nil {
		return webservice.Principal{}, err
	}
	switch {
	case !ok || t.TokenType != moodle.TokenPermanent:
		return webservice.Principal{}, aggregation.Errorf(aggregation.EUnauthenticated, "Invalid token - token not found")
	case t.Expired(now):
		return webservice.Principal{}, aggregation.Errorf(aggregation.EForbidden, "Invalid token - token expired - check validuntil time for the token")
	case !moodle.CheckIPRestriction(t.IPRestriction, ip):
		return webservice.Principal{}, aggregation.Errorf(aggregation.EForbidden, "Invalid service - IP:%s is not supported", ip)
	case !t.ServiceEnabled:
		return webservice.Principal{}, aggregation.Errorf(aggregation.EForbidden, "Web service is not available (it doesn't exist or might be disabled)")
	}
	can, err := a.src.HasSystemCapability(ctx, t.UserID, capExport)
	if err != nil {
		return webservice.Principal{}, err
	}
	if !can {
		return webservice.Principal{}, aggregation.Errorf(aggregation.EForbidden, "Access control exception: the token's user lacks %s", capExport)
	}
	p := webservice.Principal{UserID: t.UserID, Functions: []string{}}
	if p.Scopes, err = aggregation.ParseScopes("site:read"); err != nil {
		return webservice.Principal{}, err
	}
	for _, f := range wsFunctions {
		has, err := a.src.ServiceHasFunction(ctx, t.ServiceID, f)
		if err != nil {
			return webservice.Principal{}, err
		}
		if has {
			p.Functions = append(p.Functions, f)
		}
	}
	return p, nil
}
