package webservice

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pnode is one request variable as PHP builds it: a string, or an array
// when arr is non-nil.
type pnode struct {
	arr *parray
	str string
}

// parray is a PHP array of request variables: ordered keys (integer keys
// kept in their canonical decimal form) and the next append index.
type parray struct {
	keys []string
	vals map[string]*pnode
	next int64
}

func newParray() *parray { return &parray{vals: map[string]*pnode{}} }

// get returns the element at key k, or nil.
func (a *parray) get(k string) *pnode { return a.vals[k] }

// len returns the number of elements.
func (a *parray) len() int { return len(a.keys) }

// set stores n at key k; an existing key keeps its position (PHP update).
func (a *parray) set(k string, n *pnode) {
	if _, ok := a.vals[k]; !ok {
		a.keys = append(a.keys, k)
		if i, ok := canonicalInt(k); ok && i >= a.next && i < 1<<62 {
			a.next = i + 1
		}
	}
	a.vals[k] = n
}

// appendKey returns the key a PHP "[]" append uses.
func (a *parray) appendKey() string { return strconv.FormatInt(a.next, 10) }

// remove deletes key k.
func (a *parray) remove(k string) {
	if _, ok := a.vals[k]; !ok {
		return
	}
	delete(a.vals, k)
	for i, x := range a.keys {
		if x == k {
			a.keys = append(a.keys[:i:i], a.keys[i+1:]...)
			break
		}
	}
}

// canonicalInt reports whether PHP turns the array key k into an integer
// key: an optional minus and decimal digits without leading zero that fit
// in 64 bits ("-0" stays a string).
func canonicalInt(k string) (int64, bool) {
	s := strings.TrimPrefix(k, "-")
	if s == "" || len(s) > 19 || (s[0] == '0' && (len(s) > 1 || len(k) > 1)) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(k, 10, 64)
	return n, err == nil
}

// Limits bounds what a request may carry; a request beyond any of them is
// answered with an invalid_parameter_exception and is never processed.
type Limits struct {
	// MaxBodyBytes is the largest POST body read (default 4 MiB).
	MaxBodyBytes int64
	// MaxVars is the largest number of variables (name=value pairs or
	// multipart fields) in the query and the body together (default 10 000).
	MaxVars int
	// MaxDepth is the deepest bracket nesting of one variable name:
	// a[b][c] has depth 2 (default 8).
	MaxDepth int
	// MaxArrayLen is the largest number of elements of one array
	// (default 5 000).
	MaxArrayLen int
}

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 4 << 20
	}
	if l.MaxVars <= 0 {
		l.MaxVars = 10000
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 8
	}
	if l.MaxArrayLen <= 0 {
		l.MaxArrayLen = 5000
	}
	return l
}

// limitError is a request that breaks one of the Limits.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// varParser builds a PHP superglobal ($_GET or $_POST) from name/value
// pairs with PHP's bracket semantics (php_register_variable_ex).
type varParser struct {
	lim   Limits
	count *int // shared between the query and the body
	root  *parray
}

func newVarParser(lim Limits, count *int) *varParser {
	return &varParser{lim: lim, count: count, root: newParray()}
}

// segment is one bracket index of a variable name; app is "[]".
type segment struct {
	key string
	app bool
}

// register stores value under the (decoded) variable name:
//   - the name is cut at a NUL byte and leading spaces are dropped;
//   - in the base name, ' ' and '.' become '_'; an empty base is ignored;
//   - "[k]" descends into (or creates) array element k, "[]" appends;
//     a non-array element on the way is replaced by an array;
//   - an unterminated first '[' is not an index: it becomes '_' and the
//     rest of the name (' ', '.', '[' → '_') is part of the base name; an
//     unterminated later '[' and anything after a ']' that does not start
//     another index are ignored.
func (p *varParser) register(name, value string) error {
	*p.count++
	if *p.count > p.lim.MaxVars {
		return &limitError{fmt.Sprintf("Too many request variables: more than %d.", p.lim.MaxVars)}
	}
	if i := strings.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimLeft(name, " ")
	var base strings.Builder
	i := 0
	for ; i < len(name) && name[i] != '['; i++ {
		c := name[i]
		if c == ' ' || c == '.' {
			c = '_'
		}
		base.WriteByte(c)
	}
	if base.Len() == 0 {
		return nil
	}
	key := base.String()
	var segs []segment
	rest := name[i:]
	for strings.HasPrefix(rest, "[") {
		if len(segs) >= p.lim.MaxDepth {
			return &limitError{fmt.Sprintf("Variable %q is nested deeper than %d levels.", truncate(key, 64), p.lim.MaxDepth)}
		}
		body := rest[1:]
		if strings.HasPrefix(body, "]") {
			segs = append(segs, segment{app: true})
			rest = body[1:]
			continue
		}
		j := strings.IndexByte(body, ']')
		if j < 0 {
			if len(segs) == 0 {
				key += "_" + strings.NewReplacer(" ", "_", ".", "_", "[", "_").Replace(body)
			}
			break
		}
		segs = append(segs, segment{key: body[:j]})
		rest = body[j+1:]
	}
	// Walk down from the root.
	cur := p.root
	k := segment{key: key}
	for _, s := range segs {
		child, err := p.child(cur, k)
		if err != nil {
			return err
		}
		cur, k = child, s
	}
	return p.store(cur, k, &pnode{str: value})
}

// child returns the array at k in a, creating it (or replacing a string).
func (p *varParser) child(a *parray, k segment) (*parray, error) {
	if !k.app {
		if n := a.get(k.key); n != nil {
			if n.arr == nil {
				n.arr, n.str = newParray(), ""
			}
			return n.arr, nil
		}
	}
	n := &pnode{arr: newParray()}
	if err := p.store(a, k, n); err != nil {
		return nil, err
	}
	return n.arr, nil
}

// store sets a[k] = n, enforcing MaxArrayLen.
func (p *varParser) store(a *parray, k segment, n *pnode) error {
	key := k.key
	if k.app {
		key = a.appendKey()
	}
	if a.get(key) == nil && a != p.root && a.len() >= p.lim.MaxArrayLen {
		return &limitError{fmt.Sprintf("An array has more than %d elements.", p.lim.MaxArrayLen)}
	}
	a.set(key, n)
	return nil
}

// phpURLDecode decodes like PHP's urldecode: '+' is a space, %XX a byte,
// and a '%' not followed by two hex digits stays as it is.
func phpURLDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// parseURLEncoded registers every name=value pair of an
// application/x-www-form-urlencoded string (a query string or a body).
// It keeps scanning after an error to report the value of a top-level
// moodlewsrestformat, so the error can be written in the format asked for.
func (p *varParser) parseURLEncoded(s string) (format string, err error) {
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, value = phpURLDecode(name), phpURLDecode(value)
		if name == paramFormat {
			format = value
		}
		if err == nil {
			err = p.register(name, value)
		}
	}
	return format, err
}

// echoMax is the most of one input an error repeats: a caller's value is
// shown only as a prefix, so a huge parameter never comes back.
const echoMax = 64

// debugMax bounds a whole debuginfo, whatever it was built from.
const debugMax = 1024

// echo is the prefix of an input that an error may repeat.
func echo(s string) string { return truncate(s, echoMax) }

// truncate cuts s to at most n bytes (and "…").
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // never cut a character in two
	}
	return s[:n] + "…"
}
