package mnet

// The use_stats MNET service (docs/protocols.md §4.1–§4.3) with the
// fixes R1–R11 of docs/time-engine.md §7.3: use_stats_rpc_get_stats and use_stats_rpc_get_scores.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Status codes of the use_stats answers.
const (
	StatusTest           = 100 // RPC_TEST
	StatusSuccess        = 200 // RPC_SUCCESS
	StatusFailure        = 500 // RPC_FAILURE
	StatusFailureUser    = 501 // RPC_FAILURE_USER
	StatusFailureData    = 503 // RPC_FAILURE_DATA: a parameter is invalid
	StatusFailureCap     = 510 // RPC_FAILURE_CAPABILITY
	StatusFailureRecord  = 520 // RPC_FAILURE_RECORD: target user or course missing
	UseStatsService      = "use_stats"
	useStatsFile         = "use_stats/rpclib.php/"
	MethodGetStats       = "blocks/" + useStatsFile + "use_stats_rpc_get_stats"
	MethodGetScores      = "blocks/" + useStatsFile + "use_stats_rpc_get_scores"
	capSeeSiteDetails    = "block/use_stats:seesitedetails"
	capSeeCourseDetails  = "block/use_stats:seecoursedetails"
	minCourseMinutes     = 5 // courses under 5 minutes are left out of the message
	minModuleMinutes     = 2 // modules under 2 minutes are left out
	defaultScoreScope    = "notes/global"
	notApplicableDisplay = "N.C."
)

// Stats scopes of use_stats_rpc_get_stats.
const (
	ScopeSite   = 1 // the user's total
	ScopeCourse = 2 // + per course
	ScopeModule = 3 // + per module, laid out as the caller's Layout says
)

// UseStatsSite is what the use_stats service reads from the Moodle site
// besides its users, courses and log.
type UseStatsSite interface {
	// LocalHostID is the id of the site's own mnet_host row.
	LocalHostID(ctx context.Context) (int64, error)
	// MnetHostID returns the id of the registered mnet_host with exactly
	// this wwwroot.
	MnetHostID(ctx context.Context, wwwroot string) (int64, bool, error)
	// HasSystemCapability reports whether the user holds any of caps at
	// system level.
	HasSystemCapability(ctx context.Context, userID int64, caps ...string) (bool, error)
}

// Forwarder sends a use_stats call to another registered host and returns
// its answer (the Client, through the peer registry).
type Forwarder func(ctx context.Context, wwwroot, method string, params []any) (any, error)

// UseStats answers the use_stats RPCs from a Moodle site's database.
type UseStats struct {
	WWWRoot   string // ours, without a trailing slash
	Site      UseStatsSite
	Directory aggregation.Directory
	// QueryService computes the user's time (its Location gives
	// calendar days); the method Service describes the MNET service.
	QueryService *aggregation.Service
	// Policy is the time policy asked of QueryService. Zero: the
	// QueryService's default at each call — the site's own
	// block_use_stats settings when the site has them, else usestats.
	Policy aggregation.Policy
	Now    func() int64 // Unix seconds (default QueryService.Now)
	// Forward reaches other hosts when whereroot names one; nil answers
	// such calls with status 500.
	Forward Forwarder
	Logger  *slog.Logger
}

// Answer is the use_stats answer envelope: JSON {status, errors, message}
// when jsonresponse is true, else the same as an XML-RPC struct.
type Answer struct {
	Status  int      `json:"status"`
	Errors  []string `json:"errors"`
	Message string   `json:"message,omitempty"`
}

func fail(status int, format string, args ...any) Answer {
	return Answer{Status: status, Errors: []string{fmt.Sprintf(format, args...)}}
}

func (a Answer) encode(jsonResponse bool) (any, error) {
	if a.Errors == nil {
		a.Errors = []string{}
	}
	if !jsonResponse {
		errs := make([]any, len(a.Errors))
		for i, e := range a.Errors {
			errs[i] = e
		}
		s := Struct{{"status", int64(a.Status)}, {"errors", errs}}
		if a.Message != "" {
			s = append(s, Member{"message", a.Message})
		}
		return s, nil
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return nil, err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// Methods returns the published methods under both spellings Moodle peers
// use, blocks/… and block/….
func (u *UseStats) Methods() map[string]Method {
	return map[string]Method{
		MethodGetStats: u.getStats,
		"block/" + useStatsFile + "use_stats_rpc_get_stats": u.getStats,
		MethodGetScores: u.getScores,
		"block/" + useStatsFile + "use_stats_rpc_get_scores": u.getScores,
	}
}

// Service returns the use_stats service for Server.Services.
func (u *UseStats) Service() Service {
	var ms []string
	for m := range u.Methods() {
		ms = append(ms, m)
	}
	return Service{Name: UseStatsService, APIVersion: "1", Methods: ms, Subscribe: u.Forward != nil}
}

// Docs documents the methods for system/methodSignature and methodHelp.
func (u *UseStats) Docs() map[string]MethodDoc {
	caller := Param{"callinguser", "array", "the calling user: username, remoteuserhostroot, remotehostroot"}
	target := Param{"targetuser", "string", "username of the user whose time is asked"}
	where := Param{"whereroot", "string", "host to compute on; empty for this one"}
	jsonr := Param{"jsonresponse", "boolean", "answer as a JSON string (default) or a struct"}
	ret := Param{Type: "string", Description: "JSON {status, errors, message}; message is the XML report"}
	stats := MethodDoc{
		Help: "Time spent by one user (minutes) on the site, per course (scope 2) and per activity (scope 3), from timefrom to now.",
		Params: []Param{caller, target, where, {"statsscope", "int", "1 site, 2 courses, 3 modules"},
			{"timefrom", "int", "start of the period, Unix time"}, jsonr},
		Return: ret,
	}
	scores := MethodDoc{
		Help: "Final course grade of one user.",
		Params: []Param{caller, target, where, {"scorescope", "string", "notes/global"},
			{"courseidfield", "string", "id, shortname or idnumber"}, {"courseidentifier", "string", "the course"}, jsonr},
		Return: ret,
	}
	out := map[string]MethodDoc{}
	for m := range u.Methods() {
		if strings.HasSuffix(m, "get_stats") {
			out[m] = stats
		} else {
			out[m] = scores
		}
	}
	return out
}

func (u *UseStats) log() *slog.Logger {
	if u.Logger != nil {
		return u.Logger
	}
	return slog.Default()
}

func (u *UseStats) now() int64 {
	switch {
	case u.Now != nil:
		return u.Now()
	case u.QueryService != nil:
		return u.QueryService.Now()
	}
	return time.Now().Unix()
}

// args reads positional parameters leniently: a missing one is its
// default, numbers may arrive as strings (Moodle forwards the scope as a
// string).
type args []any

func (a args) str(i int, def string) (string, error) {
	if i >= len(a) || a[i] == nil {
		return def, nil
	}
	return AsString(a[i])
}

func (a args) int(i int, def int64) (int64, error) {
	if i >= len(a) || a[i] == nil {
		return def, nil
	}
	if s, ok := a[i].(string); ok && strings.TrimSpace(s) == "" {
		return def, nil
	}
	return AsInt(a[i])
}

func (a args) bool(i int, def bool) bool {
	if i >= len(a) || a[i] == nil {
		return def
	}
	switch v := a[i].(type) {
	case bool:
		return v
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "", "0", "false", "no", "off":
			return v == "" && def
		}
		return true
	}
	n, err := AsInt(a[i])
	if err != nil {
		return def
	}
	return n != 0
}

// localUser is the calling user once identified on this site.
type localUser struct {
	id       int64
	username string
	userHost string // remoteuserhostroot
}

// invokeLocalUser identifies the calling user (reference
// use_stats_invoke_local_user with R1, R2): callinguser names a user of
// host remoteuserhostroot calling through remotehostroot, which must be the
// authenticated MNET caller; that user must have a local account and one
// of the use_stats capabilities at system level.
func (u *UseStats) invokeLocalUser(ctx context.Context, caller Peer, v any) (localUser, *Answer, error) {
	m, err := AsStruct(v)
	if err != nil {
		a := fail(StatusFailureUser, "Bad client user format.")
		return localUser{}, &a, nil
	}
	get := func(k string) (string, bool) {
		x, ok := m[k]
		if !ok {
			return "", false
		}
		s, err := AsString(x)
		return s, err == nil
	}
	username, ok1 := get("username")
	userHost, ok2 := get("remoteuserhostroot")
	callHost, ok3 := get("remotehostroot")
	if !ok1 || !ok2 || !ok3 {
		a := fail(StatusFailureUser, "Bad client user format.")
		return localUser{}, &a, nil
	}
	if strings.TrimSpace(username) == "" {
		a := fail(StatusFailureUser, "Empty username.")
		return localUser{}, &a, nil
	}
	if _, ok, err := u.Site.MnetHostID(ctx, callHost); err != nil {
		return localUser{}, nil, err
	} else if !ok {
		a := fail(StatusFailure, "Calling host is not registered. Check MNET configuration")
		return localUser{}, &a, nil
	}
	if strings.TrimSuffix(callHost, "/") != strings.TrimSuffix(caller.WWWRoot, "/") {
		a := fail(StatusFailureUser, "Calling host %s is not the host that signed the request.", callHost)
		return localUser{}, &a, nil
	}
	hostID, ok, err := u.Site.MnetHostID(ctx, userHost)
	if err != nil {
		return localUser{}, nil, err
	}
	if !ok {
		a := fail(StatusFailureUser, "Calling user's host is not registered. Check MNET configuration")
		return localUser{}, &a, nil
	}
	user, err := u.Directory.FindUser(ctx, aggregation.UserKey{Username: username, Host: hostID})
	if aggregation.ErrorCode(err) == aggregation.ENotFound {
		a := fail(StatusFailureUser, "Calling user has no local account. Register remote user first")
		return localUser{}, &a, nil
	}
	if err != nil {
		return localUser{}, nil, err
	}
	can, err := u.Site.HasSystemCapability(ctx, user.ID, capSeeSiteDetails, capSeeCourseDetails)
	if err != nil {
		return localUser{}, nil, err
	}
	if !can {
		a := fail(StatusFailureCap, "Local user's identity has no capability to run")
		return localUser{}, &a, nil
	}
	return localUser{id: user.ID, username: user.Username, userHost: userHost}, nil, nil
}

// targetUser finds the user whose data is asked (R11): the local account
// with that username first, else the only account with it on any host.
func (u *UseStats) targetUser(ctx context.Context, username string) (aggregation.UserInfo, *Answer, error) {
	if strings.TrimSpace(username) == "" {
		a := fail(StatusFailureRecord, "Target user does not exist.")
		return aggregation.UserInfo{}, &a, nil
	}
	local, err := u.Site.LocalHostID(ctx)
	if err != nil {
		return aggregation.UserInfo{}, nil, err
	}
	user, err := u.Directory.FindUser(ctx, aggregation.UserKey{Username: username, Host: local})
	if aggregation.ErrorCode(err) == aggregation.ENotFound {
		user, err = u.Directory.FindUser(ctx, aggregation.UserKey{Username: username})
	}
	switch aggregation.ErrorCode(err) {
	case "":
		return user, nil, nil
	case aggregation.ENotFound:
		a := fail(StatusFailureRecord, "Target user does not exist.")
		return user, &a, nil
	case aggregation.EInvalid:
		a := fail(StatusFailureRecord, "Target user is ambiguous: %s", aggregation.ErrorMessage(err))
		return user, &a, nil
	}
	return user, nil, err
}

// isHere reports whether whereroot designates this host.
func (u *UseStats) isHere(whereroot string) bool {
	w := strings.TrimSuffix(strings.TrimSpace(whereroot), "/")
	return w == "" || w == strings.TrimSuffix(u.WWWRoot, "/")
}

// answer encodes a, logging internal errors instead of leaking them. An
// outage is returned, for the server to answer as Moodle does when its
// database fails under block_use_stats (a fault, not a status).
func (u *UseStats) answer(method string, a *Answer, err error, jsonResponse bool) (any, error) {
	if err != nil {
		if outageFault(err) != nil {
			return nil, err
		}
		if aggregation.ErrorCode(err) == aggregation.EInternal {
			u.log().Error("mnet: use_stats failed", "method", method, "err", err)
			return Answer{Status: StatusFailure, Errors: []string{"Internal error."}}.encode(jsonResponse)
		}
		return fail(StatusFailure, "%s", aggregation.ErrorMessage(err)).encode(jsonResponse)
	}
	return a.encode(jsonResponse)
}

// forward relays a call to whereroot (docs/protocols.md §4.4, R9).
func (u *UseStats) forward(ctx context.Context, who localUser, whereroot, method string, rest ...any) Answer {
	if u.Forward == nil {
		return fail(StatusFailure, "REMOTE : forwarding to other hosts is not enabled here")
	}
	caller := Struct{{"username", who.username}, {"remoteuserhostroot", who.userHost}, {"remotehostroot", u.WWWRoot}}
	params := append([]any{caller}, rest...)
	v, err := u.Forward(ctx, strings.TrimSuffix(strings.TrimSpace(whereroot), "/"), method, params)
	if err != nil {
		return fail(StatusFailure, "REMOTE : %v", err)
	}
	remote, err := DecodeAnswer(v)
	if err != nil {
		return fail(StatusFailure, "REMOTE : %v", err)
	}
	switch remote.Status {
	case StatusTest:
		return Answer{Status: StatusSuccess, Message: "Remote Test Point : " + remote.Message}
	case StatusSuccess:
		return Answer{Status: StatusSuccess, Message: remote.Message}
	}
	return Answer{Status: StatusFailure, Errors: append([]string{"Remote application error : "}, remote.Errors...)}
}

// DecodeAnswer reads a use_stats answer: the JSON string or the struct.
func DecodeAnswer(v any) (Answer, error) {
	var a Answer
	var raw struct {
		Status     json.Number     `json:"status"`
		Errors     json.RawMessage `json:"errors"`
		Message    string          `json:"message"`
		TestStatus string          `json:"teststatus"`
	}
	switch x := v.(type) {
	case string:
		if err := json.Unmarshal([]byte(x), &raw); err != nil {
			return a, fmt.Errorf("the answer is not use_stats JSON: %w", err)
		}
	default:
		m, err := AsStruct(v)
		if err != nil {
			return a, errors.New("the answer is neither a JSON string nor a struct")
		}
		b, err := json.Marshal(toJSONable(m))
		if err != nil {
			return a, err
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return a, err
		}
	}
	n, err := raw.Status.Int64()
	if err != nil {
		return a, fmt.Errorf("the answer has no numeric status")
	}
	a.Status, a.Message = int(n), raw.Message
	if a.Status == StatusTest {
		a.Message = raw.TestStatus
	}
	a.Errors = flattenErrors(raw.Errors)
	return a, nil
}

// toJSONable turns decoded XML-RPC values into encoding/json input.
func toJSONable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = toJSONable(e)
		}
		return out
	case Struct:
		out := map[string]any{}
		for _, m := range x {
			out[m.Name] = toJSONable(m.Value)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSONable(e)
		}
		return out
	case []byte:
		return string(x)
	}
	return v
}

// flattenErrors keeps the strings of a (possibly nested) errors value: the
// reference starts it with an empty array (R4).
func flattenErrors(raw json.RawMessage) []string {
	out := []string{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if x != "" {
				out = append(out, x)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	var v any
	if len(raw) > 0 && json.Unmarshal(raw, &v) == nil {
		walk(v)
	}
	return out
}

// policy is the policy of a call: the configured one, else the query
// service's default (read at each call: the site's settings may change).
func (u *UseStats) policy() aggregation.Policy {
	if u.Policy.Name != "" {
		return u.Policy
	}
	return u.QueryService.Policies().Default()
}
