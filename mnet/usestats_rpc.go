package mnet

import (
	"context"
	"strconv"
	"strings"

	"github.com/usestats/usestats/aggregation"
)

// getStats is use_stats_rpc_get_stats(callinguser, targetuser, whereroot,
// statsscope = 1, timefrom = 0, jsonresponse = true).
func (u *UseStats) getStats(ctx context.Context, caller Peer, params []any) (any, error) {
	a := args(params)
	jsonResponse := a.bool(5, true)
	who, deny, err := u.invokeLocalUser(ctx, caller, at(a, 0))
	if err != nil || deny != nil {
		return u.answer(MethodGetStats, deny, err, jsonResponse)
	}
	target, err1 := a.str(1, "")
	whereroot, err2 := a.str(2, "")
	scope, err3 := a.int(3, ScopeSite)
	from, err4 := a.int(4, 0)
	switch {
	case err1 != nil || err2 != nil:
		return fail(StatusFailureData, "targetuser and whereroot must be strings.").encode(jsonResponse)
	case err3 != nil || scope < ScopeSite || scope > ScopeModule:
		return fail(StatusFailureData, "statsscope must be 1 (site), 2 (courses) or 3 (modules).").encode(jsonResponse)
	case err4 != nil || from < 0:
		return fail(StatusFailureData, "timefrom must be a Unix time ≥ 0.").encode(jsonResponse)
	}
	if !u.isHere(whereroot) {
		ans := u.forward(ctx, who, whereroot, MethodGetStats, target, whereroot, scope, from, true)
		return ans.encode(jsonResponse)
	}
	ans, err := u.localStats(ctx, target, int(scope), from, caller.Layout)
	return u.answer(MethodGetStats, ans, err, jsonResponse)
}

func at(a args, i int) any {
	if i < len(a) {
		return a[i]
	}
	return nil
}

// localStats computes the message of docs/protocols.md §4.2 with the main time algorithm
// (R5), escaped values (R8), the real last name (R7) and modules keyed by
// course module (R6), laid out at scope 3 as layout says.
func (u *UseStats) localStats(ctx context.Context, username string, scope int, from int64, layout Layout) (*Answer, error) {
	user, deny, err := u.targetUser(ctx, username)
	if err != nil || deny != nil {
		return deny, err
	}
	now := u.now()
	w := aggregation.Window{From: from, To: now}
	if u.QueryService == nil {
		return nil, aggregation.Errorf(aggregation.EInternal, "mnet: UseStats.QueryService is not set")
	}
	res, err := u.QueryService.User(ctx, user.ID, aggregation.Query{Policy: u.policy(), Window: w, Now: now})
	if err != nil {
		return nil, err
	}
	if res.Total.Events == 0 && res.Total.Elapsed == 0 {
		return &Answer{Status: StatusSuccess, Message: "<USE_STATS><EMPTYSET /></USE_STATS>"}, nil
	}
	msg, err := u.statsMessage(ctx, user, from, res, scope, layout)
	if err != nil {
		return nil, err
	}
	return &Answer{Status: StatusSuccess, Message: msg}, nil
}

// getScores is use_stats_rpc_get_scores(callinguser, targetuser,
// whereroot, scorescope = 'notes/global', courseidfield, courseidentifier,
// jsonresponse = true), working (R10): the user's final course grade.
func (u *UseStats) getScores(ctx context.Context, caller Peer, params []any) (any, error) {
	a := args(params)
	jsonResponse := a.bool(6, true)
	who, deny, err := u.invokeLocalUser(ctx, caller, at(a, 0))
	if err != nil || deny != nil {
		return u.answer(MethodGetScores, deny, err, jsonResponse)
	}
	target, err1 := a.str(1, "")
	whereroot, err2 := a.str(2, "")
	scope, err3 := a.str(3, defaultScoreScope)
	idField, err4 := a.str(4, "")
	ident, err5 := a.str(5, "")
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil {
		return fail(StatusFailureData, "targetuser, whereroot, scorescope, courseidfield and courseidentifier must be strings.").encode(jsonResponse)
	}
	if scope == "" {
		scope = defaultScoreScope
	}
	if !u.isHere(whereroot) {
		return u.forward(ctx, who, whereroot, MethodGetScores, target, whereroot, scope, idField, ident, true).encode(jsonResponse)
	}
	ans, err := u.localScores(ctx, target, scope, idField, ident)
	return u.answer(MethodGetScores, ans, err, jsonResponse)
}

func (u *UseStats) localScores(ctx context.Context, username, scope, idField, ident string) (*Answer, error) {
	if scope != defaultScoreScope {
		a := fail(StatusFailureData, "scorescope %q is not supported (notes/global).", scope)
		return &a, nil
	}
	var key aggregation.CourseKey
	switch idField {
	case "id":
		id, err := strconv.ParseInt(strings.TrimSpace(ident), 10, 64)
		if err != nil || id <= 0 {
			a := fail(StatusFailureRecord, "Unkown course.")
			return &a, nil
		}
		key.ID = id
	case "shortname":
		key.ShortName = ident
	case "idnumber":
		key.IDNumber = ident
	default:
		a := fail(StatusFailureData, "courseidfield must be id, shortname or idnumber.")
		return &a, nil
	}
	if ident == "" {
		a := fail(StatusFailureRecord, "Unkown course.")
		return &a, nil
	}
	course, err := u.Directory.FindCourse(ctx, key)
	if code := aggregation.ErrorCode(err); code == aggregation.ENotFound || code == aggregation.EInvalid {
		a := fail(StatusFailureRecord, "Unkown course.")
		return &a, nil
	} else if err != nil {
		return nil, err
	}
	user, deny, err := u.targetUser(ctx, username)
	if err != nil || deny != nil {
		return deny, err
	}
	grades, err := u.Directory.Grades(ctx, course.ID, []int64{user.ID})
	if err != nil {
		return nil, err
	}
	score := ""
	if g := grades[user.ID].Course; g != nil && g.Value != nil {
		score = strconv.FormatFloat(*g.Value, 'f', -1, 64)
	}
	var b strings.Builder
	b.WriteString("<USER_SCORES>\n")
	record(&b, "USER", "USERNAME", user.Username, "FIRSTNAME", user.FirstName, "LASTNAME", user.LastName)
	b.WriteString("\n</USER>\n<SCORE>" + score + "</SCORE>\n</USER_SCORES>")
	return &Answer{Status: StatusSuccess, Message: b.String()}, nil
}
