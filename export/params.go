package export

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/usestats/usestats/aggregation"
)

// ParamError is a bad export parameter: its name (as in the query
// string) and what is wrong, never more than a short prefix of the value.
// errors.As reads it as an *aggregation.Error with code EInvalid.
type ParamError struct {
	Param   string
	Message string
}

// Error implements error.
func (e *ParamError) Error() string { return "parameter " + e.Param + ": " + e.Message }

// As gives an EInvalid *aggregation.Error to errors.As.
func (e *ParamError) As(target any) bool {
	p, ok := target.(**aggregation.Error)
	if ok {
		*p = &aggregation.Error{Code: aggregation.EInvalid, Message: e.Error()}
	}
	return ok
}

func bad(param, format string, args ...any) *ParamError {
	return &ParamError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// maxItems bounds the groups and roles one export filters by, as
// GraphQL's participant filter.
const maxItems = 100

// The parameters each kind takes; group and role may repeat.
var (
	commonParams = []string{"from", "to", "policy", "orderBy", "minTotal", "maxTotal", "inactiveSince"}
	courseParams = append(slices.Clone(commonParams), "group", "role")
	userParams   = append(slices.Clone(commonParams), "cohort")
	repeatable   = []string{"group", "role"}
)

// orders maps orderBy values to an order and a direction.
var orders = map[string]struct {
	o    Order
	desc bool
}{
	"id_asc": {ByID, false}, "total_desc": {ByTotal, true}, "total_asc": {ByTotal, false},
	"last_access_desc": {ByLastAccess, true}, "last_access_asc": {ByLastAccess, false},
	"name_asc": {ByName, false}, "name_desc": {ByName, true},
	"grade_desc": {ByGrade, true}, "grade_asc": {ByGrade, false},
}

// Parse reads an export's parameters (the HTTP query string; the command
// line passes its flags under the same names) into a Request:
//
//   - from, to: Unix seconds, YYYY-MM-DD (a day in the service's time
//     zone: from its first second, to its last) or RFC 3339; default
//     from the epoch to now;
//   - policy: a policy name (default: the default policy);
//   - orderBy: id_asc (default), total_desc, total_asc,
//     last_access_desc, last_access_asc, name_asc, name_desc, and for
//     participants grade_desc, grade_asc;
//   - minTotal, maxTotal: seconds, inclusive; inactiveSince: a time as
//     from;
//   - participants: group (a group id) and role (a role short name),
//     each repeatable; users: cohort (a cohort id).
//
// Anything else, a repeated single parameter or a bad value is a
// *ParamError naming the parameter.
func (e *Exporter) Parse(kind Kind, courseID int64, format Format, v url.Values) (Request, error) {
	req := Request{Kind: kind, CourseID: courseID, Format: format}
	known := userParams
	if kind == Participants {
		known = courseParams
	}
	for _, name := range slices.Sorted(maps.Keys(v)) {
		if !slices.Contains(known, name) {
			what := "unknown parameter"
			if slices.Contains(courseParams, name) || slices.Contains(userParams, name) {
				what = "not a parameter of this export"
			}
			return req, bad(name, "%s (known: %s)", what, strings.Join(known, ", "))
		}
		if len(v[name]) > 1 && !slices.Contains(repeatable, name) {
			return req, bad(name, "given %d times, at most once", len(v[name]))
		}
	}
	now := e.cfg.Now()
	w := aggregation.Window{From: 0, To: now}
	var err error
	if s := v.Get("from"); s != "" {
		if w.From, err = e.placeParam("from", s, false); err != nil {
			return req, err
		}
	}
	if s := v.Get("to"); s != "" {
		if w.To, err = e.placeParam("to", s, true); err != nil {
			return req, err
		}
	}
	if w.To < w.From {
		return req, bad("to", "%d is before from (%d)", w.To, w.From)
	}
	policies := e.cfg.Service.Policies()
	p, err := policies.Lookup(v.Get("policy"))
	if err != nil {
		return req, bad("policy", "unknown policy %s (known: %s)", quote(v.Get("policy")), strings.Join(policies.Names(), ", "))
	}
	req.Query = aggregation.Query{Policy: p, Window: w, Now: now}

	if s := v.Get("orderBy"); s != "" {
		o, ok := orders[s]
		if !ok || (o.o == ByGrade && kind != Participants) {
			names := []string{"id_asc", "total_desc", "total_asc", "last_access_desc", "last_access_asc", "name_asc", "name_desc"}
			if kind == Participants {
				names = append(names, "grade_desc", "grade_asc")
			}
			return req, bad("orderBy", "want one of %s, got %s", strings.Join(names, ", "), quote(s))
		}
		req.Order, req.Desc = o.o, o.desc
	}
	minTotal, err := seconds(v, "minTotal")
	if err != nil {
		return req, err
	}
	maxTotal, err := seconds(v, "maxTotal")
	if err != nil {
		return req, err
	}
	if minTotal != nil && maxTotal != nil && *maxTotal < *minTotal {
		return req, bad("maxTotal", "%d s is below minTotal (%d s)", *maxTotal, *minTotal)
	}
	var inactive *int64
	if s := v.Get("inactiveSince"); s != "" {
		t, err := e.placeParam("inactiveSince", s, false)
		if err != nil {
			return req, err
		}
		inactive = &t
	}
	if kind == Users {
		req.Users = aggregation.SiteUserFilter{MinTotal: minTotal, MaxTotal: maxTotal, InactiveSince: inactive}
		if s := v.Get("cohort"); s != "" {
			if req.Users.Cohort, err = positive("cohort", s); err != nil {
				return req, err
			}
		}
		return req, nil
	}
	f := aggregation.ParticipantFilter{MinTotal: minTotal, MaxTotal: maxTotal, InactiveSince: inactive}
	if len(v["group"]) > maxItems || len(v["role"]) > maxItems {
		return req, bad("group", "group and role list at most %d items each", maxItems)
	}
	for _, s := range v["group"] {
		id, err := positive("group", s)
		if err != nil {
			return req, err
		}
		if !slices.Contains(f.Groups, id) {
			f.Groups = append(f.Groups, id)
		}
	}
	for _, s := range v["role"] {
		if s == "" || len(s) > 100 || strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			return req, bad("role", "want a role short name, got %s", quote(s))
		}
		if !slices.Contains(f.Roles, s) {
			f.Roles = append(f.Roles, s)
		}
	}
	req.Participants = f
	return req, nil
}

var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// placeParam reads a time: Unix seconds, a calendar day in the service's
// zone (its first second, or its last when end is set) or RFC 3339.
func (e *Exporter) placeParam(param, s string, end bool) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if dateOnly.MatchString(s) {
		if d, err := time.ParseInLocation(time.DateOnly, s, e.cfg.Service.Location()); err == nil {
			if end {
				return d.AddDate(0, 0, 1).Unix() - 1, nil
			}
			return d.Unix(), nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Unix(), nil
	}
	return 0, bad(param, "want Unix seconds, YYYY-MM-DD or RFC 3339, got %s", quote(s))
}

// seconds reads an optional non-negative number of seconds.
func seconds(v url.Values, param string) (*int64, error) {
	s := v.Get(param)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, bad(param, "want a non-negative number of seconds, got %s", quote(s))
	}
	return &n, nil
}

// positive reads a positive id.
func positive(param, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, bad(param, "want a positive id, got %s", quote(s))
	}
	return n, nil
}
