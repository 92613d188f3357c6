package webservice

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// paramType is a Moodle PARAM_* type; its value is the constant's string,
// which Moodle quotes in validation messages.
type paramType string

// The PARAM_* types the functions use.
const (
	paramInt         paramType = "int"
	paramBool        paramType = "bool"
	paramAlpha       paramType = "alpha"
	paramAlphaNumExt paramType = "alphanumext"
	paramText        paramType = "text"
	paramRaw         paramType = "raw"
	paramURL         paramType = "url"
	paramLang        paramType = "lang"
)

// requirement is VALUE_REQUIRED, VALUE_OPTIONAL or VALUE_DEFAULT.
type requirement uint8

const (
	required requirement = iota
	optional
	withDefault
)

// descKind says whether a description is a scalar, a single structure or
// a multiple structure.
type descKind uint8

const (
	kindValue descKind = iota
	kindSingle
	kindMultiple
)

// desc describes a parameter or return value (external_value,
// external_single_structure, external_multiple_structure).
type desc struct {
	kind descKind
	typ  paramType // kindValue
	req  requirement
	def  any    // the default of a withDefault value: int64, bool, string or []any
	keys []key  // kindSingle, in declaration order
	elem *desc  // kindMultiple
	text string // description, for documentation only
}

// key is one named member of a single structure.
type key struct {
	name string
	d    *desc
}

func value(t paramType, text string) *desc { return &desc{kind: kindValue, typ: t, text: text} }

func single(keys ...key) *desc { return &desc{kind: kindSingle, keys: keys} }

func multiple(elem *desc) *desc { return &desc{kind: kindMultiple, elem: elem} }

func (d *desc) opt() *desc { c := *d; c.req = optional; return &c }

func (d *desc) dflt(v any) *desc { c := *d; c.req, c.def = withDefault, v; return &c }

func k(name string, d *desc) key { return key{name: name, d: d} }

// validate checks and cleans request variables against a parameter
// description like external_api::validate_parameters and returns
// map[string]any for single structures, []any for multiple ones and
// int64, bool or string for values.
func validate(d *desc, n *pnode) (any, *Exception) {
	switch d.kind {
	case kindSingle:
		if n == nil || n.arr == nil {
			return nil, invalidParameter("Only arrays accepted. The bad value is: '" + echo(nodeString(n)) + "'")
		}
		out := make(map[string]any, len(d.keys))
		seen := make(map[string]bool, len(d.keys))
		for _, kd := range d.keys {
			seen[kd.name] = true
			child := n.arr.get(kd.name)
			if child == nil {
				switch kd.d.req {
				case required:
					return nil, invalidParameter("Missing required key in single structure: " + echo(kd.name))
				case withDefault:
					out[kd.name] = kd.d.def
				}
				continue
			}
			v, err := validate(kd.d, child)
			if err != nil {
				return nil, wrapKey(kd.name, err)
			}
			out[kd.name] = v
		}
		var extra []string
		for _, name := range n.arr.keys {
			if !seen[name] {
				extra = append(extra, name)
			}
		}
		if len(extra) > 0 {
			return nil, invalidParameter("Unexpected keys (" + joinKeys(extra) + ") detected in parameter array.")
		}
		return out, nil
	case kindMultiple:
		if n == nil || n.arr == nil {
			return nil, invalidParameter("Only arrays accepted. The bad value is: '" + echo(nodeString(n)) + "'")
		}
		out := make([]any, 0, n.arr.len())
		for _, name := range n.arr.keys {
			v, err := validate(d.elem, n.arr.get(name))
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	if n != nil && n.arr != nil {
		return nil, invalidParameter("Scalar type expected, array or object received.")
	}
	s := nodeString(n)
	if d.typ == paramBool && (s == "0" || s == "1") {
		return s == "1", nil
	}
	v, ok := cleanParam(s, d.typ)
	if !ok {
		return nil, invalidParameter(`Invalid external api parameter: the value is "` + echo(s) +
			`", the server was expecting "` + string(d.typ) + `" type`)
	}
	return v, nil
}

func nodeString(n *pnode) string {
	if n == nil {
		return ""
	}
	if n.arr != nil {
		return "Array"
	}
	return n.str
}

// cleanParam applies clean_param and the identity test of validate_param:
// a value is accepted only when cleaning leaves it unchanged. It returns
// the typed value.
func cleanParam(s string, t paramType) (any, bool) {
	switch t {
	case paramInt:
		// (int) of the string must print back as the same string.
		n, ok := canonicalInt(s)
		if !ok || (s == "-0") {
			return nil, false
		}
		return n, true
	case paramBool:
		// Only "0" and "1" survive clean_param unchanged (handled above).
		return nil, false
	case paramAlpha:
		return s, onlyBytes(s, func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' })
	case paramAlphaNumExt:
		return s, onlyBytes(s, func(c byte) bool {
			return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
		})
	case paramText:
		return s, textIsClean(s)
	case paramLang:
		return s, onlyBytes(s, func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' })
	}
	return s, utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func onlyBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// textIsClean reports whether PARAM_TEXT cleaning (fix_utf8, then
// strip_tags) leaves s unchanged: valid UTF-8, no NUL byte, and no '<'
// that opens a tag (one followed by anything but white space).
func textIsClean(s string) bool {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '<' {
			if i+1 >= len(s) {
				return false
			}
			switch s[i+1] {
			case ' ', '\t', '\n', '\r', '\v', '\f':
			default:
				return false
			}
		}
	}
	return true
}

// itoa formats an int64.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
