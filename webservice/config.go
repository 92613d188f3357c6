package webservice

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Path is where Moodle serves REST web services; mount the Handler there
// so that clients only change the host name.
const Path = "/webservice/rest/server.php"

// Principal is who a token stands for.
type Principal struct {
	// UserID is the Moodle user the token belongs to (external_tokens.userid);
	// core_webservice_get_site_info describes this user. 0 for a token that
	// is not tied to a user.
	UserID int64
	// Scopes are what the token may read: ws and site:read read every
	// user (a Moodle token whose user holds block/use_stats:export is
	// given ws); user:<id>:self reads that user everywhere;
	// course:<id>:read reads the participants of that course in that
	// course only (block_use_stats_get_users_course_stats). With no scope
	// at all the block_use_stats functions answer
	// required_capability_exception before looking anything up;
	// core_webservice_get_site_info still works.
	Scopes aggregation.Scopes
	// Functions restricts the callable functions to this list (the
	// functions of the token's external service); nil allows every
	// function the Handler serves.
	Functions []string
	// Lang is the user's language for site info ("" = SiteInfo.Lang).
	Lang string
	// SiteAdmin tells site info that the user is a site administrator.
	SiteAdmin bool
	// RestrictedContext is set for a Moodle token bound to a context
	// other than the system context: the block_use_stats functions, which
	// run in the system context, answer restricted_context_exception, as
	// Moodle's validate_context does; site info still works.
	RestrictedContext bool
}

// allows reports whether the principal may call the function.
func (p *Principal) allows(name string) bool {
	if p.Functions == nil {
		return true
	}
	for _, f := range p.Functions {
		if f == name {
			return true
		}
	}
	return false
}

// SiteInfo is the site description of core_webservice_get_site_info.
type SiteInfo struct {
	SiteName string // site full name
	SiteURL  string // wwwroot, without a trailing slash
	Release  string // e.g. "4.5 (Build: 20241007)"
	Version  string // core version, e.g. "2024100700"; also the version of core functions
	// PluginVersion is the block_use_stats version reported for its
	// functions (default "2017090600", the first version with web services).
	PluginVersion string
	Lang          string // default "en"
	Theme         string // default "boost"
	// UserPictureURL is the user's picture; default the theme's default
	// user picture under SiteURL.
	UserPictureURL string
	// SiteID is the front-page course id (default 1).
	SiteID int64
}

// Config configures a Handler.
type Config struct {
	// Authenticate resolves a wstoken seen from remoteIP. Its errors are
	// answered as Moodle does: an aggregation error with code
	// EUnauthenticated (unknown token) → moodle_exception invalidtoken;
	// EForbidden (expired token, IP restriction, …) →
	// webservice_access_exception accessexception with the error's message
	// as debuginfo; EUnavailable → dml_connection_exception; any other
	// error → a generic exception (details only logged). An *Exception is
	// written as it is. It is called for every request, with "" when the
	// request has no token. Required.
	Authenticate func(ctx context.Context, token, remoteIP string) (Principal, error)
	// Directory knows the site's users, courses and grades. Required.
	Directory aggregation.Directory
	// Service computes the users' time: it reads a batch's log in
	// shares of its one bounded pool (Workers log queries at once for the
	// whole process, each over a share of the batch's users when its log
	// reads several users in one pass) and recovers panics, which fail
	// the call with Moodle's generic exception. Required.
	Service *aggregation.Service
	// Policy is the time policy asked of the Service. Zero (the default):
	// the Service's default policy at each call — the site's own
	// block_use_stats settings when the site has them, else usestats.
	Policy aggregation.Policy
	// Now returns the current Unix time (default Service.Now).
	Now func() int64
	// SiteInfo describes the site for core_webservice_get_site_info.
	SiteInfo SiteInfo
	// MaxUsers is the largest number of users one bulk call may ask for
	// (default 1000); beyond it the call fails with an
	// invalid_parameter_exception before any work.
	MaxUsers int
	// BatchSize is how many users a bulk call resolves and grades at once
	// (default 100).
	BatchSize int
	// Timeout is the deadline of one call, database included (default 2
	// minutes). A call that runs out of time answers a
	// moodle_exception (generalexceptionmessage) saying so.
	Timeout time.Duration
	// AuthTimeout bounds the token lookup of a call, within Timeout
	// (default 10 s): it is one short read of the token store or of
	// Moodle's external_tokens, so a store that hangs answers
	// dml_read_exception after this, not after the whole call's deadline.
	AuthTimeout time.Duration
	// Limits bound the size of requests.
	Limits Limits
	// HideDebugInfo leaves debuginfo out of errors, like a Moodle site
	// whose debugging level is below NORMAL.
	HideDebugInfo bool
	// RemoteIP returns the client address given to Authenticate (default:
	// the host part of Request.RemoteAddr). Set it behind a reverse proxy.
	RemoteIP func(*http.Request) string
	// Logger receives internal errors (default slog.Default()).
	Logger *slog.Logger
	// Observe, when set, is told of every call once it is answered: the
	// function (a served function's name, else "unknown") and the
	// outcome (Outcome*). Every answer is HTTP 200, so this is how the
	// failures can be counted.
	Observe func(r *http.Request, function, outcome string)
}

// Outcomes given to Config.Observe.
const (
	OutcomeOK              = "ok"
	OutcomeUserError       = "user_error"      // bad parameters, unknown function, request too large
	OutcomeUnauthenticated = "unauthenticated" // no or unknown token
	OutcomeForbidden       = "forbidden"       // the token may not do or read that
	OutcomeUnavailable     = "unavailable"     // a database or store down or hung (dml exceptions)
	OutcomeTimeout         = "timeout"         // past Config.Timeout, or the client went away
	OutcomeInternal        = "internal"        // a bug or unexpected failure
)

// outcome is the Observe outcome of an answer.
func outcome(ex *Exception) string {
	if ex == nil {
		return OutcomeOK
	}
	switch ex.ErrorCode {
	case "invalidtoken":
		return OutcomeUnauthenticated
	case "accessexception", "nopermissions", "restrictedcontextexception":
		return OutcomeForbidden
	case "invalidparameter", "invalidrecord":
		return OutcomeUserError
	case "dbconnectionfailed", "dmlreadexception":
		return OutcomeUnavailable
	}
	return OutcomeInternal
}

// Handler serves Moodle's REST web-service protocol for the
// block_use_stats functions and core_webservice_get_site_info. It is safe
// for concurrent use.
type Handler struct {
	cfg   Config
	funcs map[string]*function
	names []string // served function names, in documentation order
}

// New returns a Handler for cfg. It fails when a required field is
// missing or the policy is invalid.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Authenticate == nil:
		return nil, errors.New("webservice: Config.Authenticate is required")
	case cfg.Directory == nil:
		return nil, errors.New("webservice: Config.Directory is required")
	case cfg.Service == nil:
		return nil, errors.New("webservice: Config.Service is required")
	}
	if cfg.Policy.Name != "" || cfg.Policy.Threshold != 0 {
		p, err := cfg.Policy.Normalize()
		if err != nil {
			return nil, errors.Join(errors.New("webservice: invalid policy"), err)
		}
		cfg.Policy = p
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Service.Now
	}
	if cfg.MaxUsers <= 0 {
		cfg.MaxUsers = 1000
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RemoteIP == nil {
		cfg.RemoteIP = remoteAddrIP
	}
	cfg.Limits = cfg.Limits.withDefaults()
	s := &cfg.SiteInfo
	if s.PluginVersion == "" {
		s.PluginVersion = "2017090600"
	}
	if s.Lang == "" {
		s.Lang = "en"
	}
	if s.Theme == "" {
		s.Theme = "boost"
	}
	if s.SiteID == 0 {
		s.SiteID = 1
	}
	if s.UserPictureURL == "" {
		s.UserPictureURL = s.SiteURL + "/theme/image.php/" + s.Theme + "/core/1/u/f1"
	}
	h := &Handler{cfg: cfg}
	h.register()
	return h, nil
}

// Functions returns the names of the functions the Handler serves.
func (h *Handler) Functions() []string { return append([]string(nil), h.names...) }

func remoteAddrIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
