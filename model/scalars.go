package model

import (
	"encoding/json"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/usestats/usestats/aggregation"
)

// MarshalID writes a Moodle id as a GraphQL ID (a JSON string).
func MarshalID(id int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.Quote(strconv.FormatInt(id, 10)))
	})
}

// UnmarshalID reads a GraphQL ID (a string or an integer) as a Moodle id:
// a non-negative decimal integer. Anything else is an EInvalid error.
func UnmarshalID(v any) (int64, error) {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s = string(v)
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case int32:
		s = strconv.FormatInt(int64(v), 10)
	default:
		return 0, aggregation.Errorf(aggregation.EInvalid, "an ID must be a non-negative integer, not %s", describe(v))
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, aggregation.Errorf(aggregation.EInvalid, "an ID must be a non-negative integer, not %q", s)
	}
	return id, nil
}

// Time is a point in time. Output is integer Unix seconds. Input may also be
// a calendar date, which only the caller can place (in the site's time zone,
// at the first or the last second of the day): Date then holds it and Unix
// is the UTC midnight of that date.
type Time struct {
	Unix int64
	Date string // "YYYY-MM-DD" when the input was a calendar date
}

// Unix returns the output value of a Unix time.
func Unix(sec int64) Time { return Time{Unix: sec} }

// UnixPtr returns a Time for sec, or nil when sec is 0 (no access).
func UnixPtr(sec int64, ok bool) *Time {
	if !ok {
		return nil
	}
	return &Time{Unix: sec}
}

// MarshalGQL writes the time as integer Unix seconds.
func (t Time) MarshalGQL(w io.Writer) {
	io.WriteString(w, strconv.FormatInt(t.Unix, 10))
}

var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// UnmarshalGQL reads Unix seconds (an integer or a numeric string), an RFC
// 3339 time or a YYYY-MM-DD date. Anything else is an EInvalid error.
func (t *Time) UnmarshalGQL(v any) error {
	bad := func(what string) error {
		return aggregation.Errorf(aggregation.EInvalid, "bad time %s: want Unix seconds, YYYY-MM-DD or RFC 3339", what)
	}
	switch v := v.(type) {
	case string:
		s := strings.TrimSpace(v)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			*t = Time{Unix: n}
			return nil
		}
		if dateOnly.MatchString(s) {
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return bad(strconv.Quote(v))
			}
			*t = Time{Unix: d.Unix(), Date: s}
			return nil
		}
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return bad(strconv.Quote(v))
		}
		*t = Time{Unix: ts.Unix()}
		return nil
	default:
		n, ok := integer(v)
		if !ok {
			return bad(describe(v))
		}
		*t = Time{Unix: n}
		return nil
	}
}

// MarshalDuration writes a duration as integer seconds.
func MarshalDuration(sec int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		io.WriteString(w, strconv.FormatInt(sec, 10))
	})
}

// UnmarshalDuration reads integer seconds (a number or a numeric string) or
// a Go duration string of whole seconds ("90m", "1h30m"). Anything else is
// an EInvalid error.
func UnmarshalDuration(v any) (int64, error) {
	bad := func(what string) (int64, error) {
		return 0, aggregation.Errorf(aggregation.EInvalid, "bad duration %s: want integer seconds or a duration such as \"90m\"", what)
	}
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d%time.Second != 0 {
			return bad(strconv.Quote(s))
		}
		return int64(d / time.Second), nil
	}
	n, ok := integer(v)
	if !ok {
		return bad(describe(v))
	}
	return n, nil
}

// integer reads a whole number from a decoded GraphQL value.
func integer(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case float64:
		if v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// describe names a decoded value for an error message without echoing large
// inputs.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return string(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return "a value of this type"
}
