package mnet

// XML-RPC codec for the MNET inner payload (docs/protocols.md §1.4).
//
// Value model (decoding produces exactly these Go types):
//
//	<int>, <i4>, <i8>        int64
//	<boolean>                bool
//	<string>, untyped text   string
//	<double>                 float64 (finite only)
//	<dateTime.iso8601>       time.Time (UTC)
//	<base64>                 []byte
//	<array>                  []any
//	<struct>                 map[string]any (last duplicate member wins)
//	<nil/>                   nil (accepted leniently, never emitted)
//
// Encoding accepts those types plus the other Go integer and float kinds,
// named types of those kinds, pointers, any slice or array (as <array>),
// any map with string keys (as <struct>, members sorted by name) and
// Struct (as <struct>, members in the given order). Go nil and nil
// pointers are encoded as an empty <string>, as Moodle's server does for
// PHP null; <nil/> is never written.

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/usestats/usestats/aggregation"
)

// Member is one member of an ordered Struct.
type Member struct {
	Name  string
	Value any
}

// Struct is an XML-RPC struct whose members are encoded in slice order.
// Decoding always yields map[string]any; AsStruct accepts both.
type Struct []Member

// Fault is an XML-RPC fault response.
type Fault struct {
	Code    int
	Message string
}

// Error implements error.
func (f *Fault) Error() string {
	return fmt.Sprintf("xmlrpc fault %d: %s", f.Code, f.Message)
}

// Limits bounds the work done decoding one document. A zero or negative
// field means the default.
type Limits struct {
	MaxBytes    int64 // body size in bytes (default 1 MiB)
	MaxDepth    int   // XML element nesting depth (default 32)
	MaxElements int   // XML elements in the document (default 100000)
}

// Default limit values.
const (
	DefaultMaxBytes    = 1 << 20
	DefaultMaxDepth    = 32
	DefaultMaxElements = 100000
)

// DefaultLimits returns the default decoding limits.
func DefaultLimits() Limits {
	return Limits{MaxBytes: DefaultMaxBytes, MaxDepth: DefaultMaxDepth, MaxElements: DefaultMaxElements}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes > 0 {
		d.MaxBytes = l.MaxBytes
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxElements > 0 {
		d.MaxElements = l.MaxElements
	}
	return d
}

// LimitError reports that a document exceeded one of its Limits. It
// unwraps to an *aggregation.Error with code EInvalid, so
// aggregation.ErrorCode classifies it like any other malformed input.
type LimitError struct {
	Limit string // "bytes", "depth" or "elements"
	Max   int64
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("xmlrpc: document exceeds the %s limit of %d", e.Limit, e.Max)
}

// Unwrap returns the equivalent *aggregation.Error.
func (e *LimitError) Unwrap() error {
	return aggregation.Errorf(aggregation.EInvalid, "%s", e.Error())
}

func invalid(format string, args ...any) error {
	return aggregation.Errorf(aggregation.EInvalid, "xmlrpc: "+format, args...)
}

// ---------------------------------------------------------------------------
// Encoding

// xmlHeader is phpxmlrpc's declaration (note the space before "?>"), as in
// the request vector of docs/protocols.md §6.
const xmlHeader = "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"

// maxEncodeDepth stops runaway recursion on cyclic values.
const maxEncodeDepth = 1000

// EncodeRequest encodes a methodCall with the given positional params, in
// phpxmlrpc's compact layout. With no params the output is byte-identical
// to Moodle ≥ 4.1's.
func EncodeRequest(method string, params ...any) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, xmlHeader...)
	b = append(b, "<methodCall>\n<methodName>"...)
	b = appendEscaped(b, method)
	b = append(b, "</methodName>\n<params>\n"...)
	for i, p := range params {
		var err error
		b = append(b, "<param>\n"...)
		if b, err = appendValue(b, p, 0); err != nil {
			return nil, fmt.Errorf("xmlrpc: param %d: %w", i, err)
		}
		b = append(b, "</param>\n"...)
	}
	b = append(b, "</params>\n</methodCall>"...)
	return b, nil
}

// EncodeResponse encodes a methodResponse carrying one value.
func EncodeResponse(value any) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, xmlHeader...)
	b = append(b, "<methodResponse>\n<params>\n<param>\n"...)
	b, err := appendValue(b, value, 0)
	if err != nil {
		return nil, fmt.Errorf("xmlrpc: response: %w", err)
	}
	b = append(b, "</param>\n</params>\n</methodResponse>"...)
	return b, nil
}

// EncodeFault encodes a methodResponse fault with faultCode (int) and
// faultString (string), in that order.
func EncodeFault(code int, message string) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, xmlHeader...)
	b = append(b, "<methodResponse>\n<fault>\n"...)
	b, err := appendValue(b, Struct{{"faultCode", int64(code)}, {"faultString", message}}, 0)
	if err != nil {
		return nil, err
	}
	b = append(b, "</fault>\n</methodResponse>"...)
	return b, nil
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxEncodeDepth {
		return nil, errors.New("value nested too deeply (cyclic?)")
	}
	b = append(b, "<value>"...)
	b, err := appendData(b, v, depth)
	if err != nil {
		return nil, err
	}
	return append(b, "</value>\n"...), nil
}

func appendScalar(b []byte, typ, text string) []byte {
	b = append(b, '<')
	b = append(b, typ...)
	b = append(b, '>')
	b = append(b, text...)
	b = append(b, "</"...)
	b = append(b, typ...)
	return append(b, '>')
}

func appendData(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "<string></string>"...), nil
	case string:
		b = append(b, "<string>"...)
		b = appendEscaped(b, x)
		return append(b, "</string>"...), nil
	case int64:
		return appendScalar(b, "int", strconv.FormatInt(x, 10)), nil
	case int:
		return appendScalar(b, "int", strconv.Itoa(x)), nil
	case bool:
		if x {
			return append(b, "<boolean>1</boolean>"...), nil
		}
		return append(b, "<boolean>0</boolean>"...), nil
	case float64:
		return appendDouble(b, x)
	case []byte:
		return appendScalar(b, "base64", base64.StdEncoding.EncodeToString(x)), nil
	case time.Time:
		return appendTime(b, x)
	case []any:
		return appendArray(b, len(x), func(i int) any { return x[i] }, depth)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return appendStruct(b, len(keys), func(i int) (string, any) { return keys[i], x[keys[i]] }, depth)
	case Struct:
		return appendStruct(b, len(x), func(i int) (string, any) { return x[i].Name, x[i].Value }, depth)
	}
	return appendReflect(b, reflect.ValueOf(v), depth)
}

func appendReflect(b []byte, rv reflect.Value, depth int) ([]byte, error) {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return appendData(b, nil, depth)
		}
		return appendData(b, rv.Elem().Interface(), depth+1)
	case reflect.String:
		return appendData(b, rv.String(), depth)
	case reflect.Bool:
		return appendData(b, rv.Bool(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendData(b, rv.Int(), depth)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, fmt.Errorf("integer %d out of range", u)
		}
		return appendData(b, int64(u), depth)
	case reflect.Float32, reflect.Float64:
		return appendDouble(b, rv.Float())
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return appendData(b, rv.Bytes(), depth)
		}
		return appendArray(b, rv.Len(), func(i int) any { return rv.Index(i).Interface() }, depth)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("unsupported map key type %s", rv.Type().Key())
		}
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		return appendStruct(b, len(keys), func(i int) (string, any) {
			return keys[i].String(), rv.MapIndex(keys[i]).Interface()
		}, depth)
	}
	return nil, fmt.Errorf("unsupported type %T", rv.Interface())
}

func appendDouble(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("double %v cannot be encoded", f)
	}
	// XML-RPC forbids exponent notation; 'f' with -1 is the shortest
	// representation that round-trips.
	return appendScalar(b, "double", strconv.FormatFloat(f, 'f', -1, 64)), nil
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return nil, fmt.Errorf("dateTime year %d out of range", t.Year())
	}
	return appendScalar(b, "dateTime.iso8601", t.Format("20060102T15:04:05.999999999")), nil
}

func appendArray(b []byte, n int, at func(int) any, depth int) ([]byte, error) {
	b = append(b, "<array>\n<data>\n"...)
	for i := range n {
		var err error
		if b, err = appendValue(b, at(i), depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, "</data>\n</array>"...), nil
}

func appendStruct(b []byte, n int, at func(int) (string, any), depth int) ([]byte, error) {
	b = append(b, "<struct>\n"...)
	for i := range n {
		name, v := at(i)
		b = append(b, "<member><name>"...)
		b = appendEscaped(b, name)
		b = append(b, "</name>\n"...)
		var err error
		if b, err = appendValue(b, v, depth+1); err != nil {
			return nil, err
		}
		b = append(b, "</member>\n"...)
	}
	return append(b, "</struct>"...), nil
}

// appendEscaped writes s as XML character data: the five special
// characters become entities, CR becomes &#13; (so it survives line-end
// normalisation), and bytes that are not valid UTF-8 or not allowed in
// XML 1.0 become U+FFFD (they cannot be represented at all).
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\uFFFD"...)
			i++
			continue
		}
		switch {
		case r == '&':
			b = append(b, "&amp;"...)
		case r == '<':
			b = append(b, "&lt;"...)
		case r == '>':
			b = append(b, "&gt;"...)
		case r == '"':
			b = append(b, "&quot;"...)
		case r == '\'':
			b = append(b, "&apos;"...)
		case r == '\r':
			b = append(b, "&#13;"...)
		case !isXMLChar(r):
			b = append(b, "\uFFFD"...)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// ---------------------------------------------------------------------------
// Decoding

// DecodeRequest decodes a methodCall. It reads at most lim.MaxBytes+1
// bytes from r. Malformed input yields an *aggregation.Error (EInvalid);
// exceeded limits a *LimitError (which unwraps to one).
func DecodeRequest(r io.Reader, lim Limits) (method string, params []any, err error) {
	p, err := newParser(r, lim)
	if err != nil {
		return "", nil, err
	}
	if err := p.root("methodCall"); err != nil {
		return "", nil, err
	}
	params = []any{}
	sawName, sawParams := false, false
	for {
		tok, err := p.significant()
		if err != nil {
			return "", nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		se := tok.(xml.StartElement)
		switch {
		case se.Name.Local == "methodName" && !sawName:
			sawName = true
			text, err := p.text()
			if err != nil {
				return "", nil, err
			}
			method = strings.TrimSpace(text)
		case se.Name.Local == "params" && !sawParams:
			sawParams = true
			if params, err = p.params(); err != nil {
				return "", nil, err
			}
		default:
			return "", nil, invalid("unexpected <%s> in methodCall", se.Name.Local)
		}
	}
	if method == "" {
		return "", nil, invalid("methodCall has no methodName")
	}
	if err := p.end(); err != nil {
		return "", nil, err
	}
	return method, params, nil
}

// DecodeResponse decodes a methodResponse: either its single value, or a
// *Fault (value nil). A fault is not an error: err reports only malformed
// input and exceeded limits, as DecodeRequest does.
func DecodeResponse(r io.Reader, lim Limits) (value any, fault *Fault, err error) {
	p, err := newParser(r, lim)
	if err != nil {
		return nil, nil, err
	}
	if err := p.root("methodResponse"); err != nil {
		return nil, nil, err
	}
	tok, err := p.significant()
	if err != nil {
		return nil, nil, err
	}
	se, ok := tok.(xml.StartElement)
	if !ok {
		return nil, nil, invalid("empty methodResponse")
	}
	switch se.Name.Local {
	case "params":
		params, err := p.params()
		if err != nil {
			return nil, nil, err
		}
		if len(params) != 1 {
			return nil, nil, invalid("methodResponse has %d params, want 1", len(params))
		}
		value = params[0]
	case "fault":
		v, err := p.valueIn()
		if err != nil {
			return nil, nil, err
		}
		if fault, err = faultFrom(v); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, invalid("unexpected <%s> in methodResponse", se.Name.Local)
	}
	if err := p.closeElement(); err != nil { // </methodResponse>
		return nil, nil, err
	}
	if err := p.end(); err != nil {
		return nil, nil, err
	}
	return value, fault, nil
}

func faultFrom(v any) (*Fault, error) {
	m, err := AsStruct(v)
	if err != nil {
		return nil, invalid("fault value is not a struct")
	}
	cv, ok := m["faultCode"]
	if !ok {
		return nil, invalid("fault has no faultCode")
	}
	code, err := AsInt(cv)
	if err != nil || code < math.MinInt32 || code > math.MaxInt32 {
		return nil, invalid("fault has an invalid faultCode")
	}
	msg, err := AsString(m["faultString"])
	if err != nil {
		return nil, invalid("fault has an invalid faultString")
	}
	return &Fault{Code: int(code), Message: msg}, nil
}

type parser struct {
	d     *xml.Decoder
	lim   Limits
	depth int
	elems int
}

func newParser(r io.Reader, lim Limits) (*parser, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return nil, invalid("reading body: %v", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return nil, &LimitError{Limit: "bytes", Max: lim.MaxBytes}
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = map[string]string{} // only the five predefined entities
	d.AutoClose = nil
	d.CharsetReader = charsetReader
	return &parser{d: d, lim: lim}, nil
}

// charsetReader accepts the declarations Moodle may write besides utf-8
// (the MNET envelope layers declare iso-8859-1).
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		data, err := io.ReadAll(in)
		if err != nil {
			return nil, err
		}
		out := make([]byte, 0, len(data))
		for _, c := range data {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	case "us-ascii", "ascii":
		return in, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", label)
}

// next returns the next start, end or character-data token, enforcing the
// limits and rejecting DTDs.
func (p *parser) next() (xml.Token, error) {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			return nil, invalid("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			p.depth++
			p.elems++
			if p.depth > p.lim.MaxDepth {
				return nil, &LimitError{Limit: "depth", Max: int64(p.lim.MaxDepth)}
			}
			if p.elems > p.lim.MaxElements {
				return nil, &LimitError{Limit: "elements", Max: int64(p.lim.MaxElements)}
			}
			return t, nil
		case xml.EndElement:
			p.depth--
			return t, nil
		case xml.CharData:
			return t, nil
		case xml.Directive:
			return nil, invalid("DTDs and other directives are not allowed")
		}
		// Comments and processing instructions are ignored.
	}
}

// significant returns the next start or end element, rejecting
// non-whitespace text.
func (p *parser) significant() (xml.Token, error) {
	for {
		tok, err := p.next()
		if err == io.EOF {
			return nil, invalid("unexpected end of document")
		}
		if err != nil {
			return nil, err
		}
		if cd, ok := tok.(xml.CharData); ok {
			if len(bytes.TrimSpace(cd)) != 0 {
				return nil, invalid("unexpected text %q", truncate(string(cd)))
			}
			continue
		}
		return tok, nil
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// root reads up to the root element and checks its name.
func (p *parser) root(name string) error {
	tok, err := p.significant()
	if err != nil {
		return err
	}
	se, ok := tok.(xml.StartElement)
	if !ok || se.Name.Local != name {
		return invalid("root element is not <%s>", name)
	}
	return nil
}

// end checks that nothing but whitespace, comments and processing
// instructions follows the root element.
func (p *parser) end() error {
	for {
		tok, err := p.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) == 0 {
			continue
		}
		return invalid("content after the root element")
	}
}

// closeElement expects the end of the current element.
func (p *parser) closeElement() error {
	tok, err := p.significant()
	if err != nil {
		return err
	}
	if se, ok := tok.(xml.StartElement); ok {
		return invalid("unexpected <%s>", se.Name.Local)
	}
	return nil
}

// text reads character data up to the end of the current element.
func (p *parser) text() (string, error) {
	var sb strings.Builder
	for {
		tok, err := p.next()
		if err == io.EOF {
			return "", invalid("unexpected end of document")
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			return sb.String(), nil
		case xml.StartElement:
			return "", invalid("unexpected <%s> in text", t.Name.Local)
		}
	}
}

// params reads the <param> children of <params> (already opened).
func (p *parser) params() ([]any, error) {
	out := []any{}
	for {
		tok, err := p.significant()
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			return out, nil
		}
		if se := tok.(xml.StartElement); se.Name.Local != "param" {
			return nil, invalid("unexpected <%s> in params", se.Name.Local)
		}
		v, err := p.valueIn()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// valueIn reads exactly one <value> and the end of its enclosing element
// (<param>, <fault>, <member> without name after value).
func (p *parser) valueIn() (any, error) {
	tok, err := p.significant()
	if err != nil {
		return nil, err
	}
	se, ok := tok.(xml.StartElement)
	if !ok || se.Name.Local != "value" {
		return nil, invalid("expected <value>")
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return v, p.closeElement()
}

// value decodes the content of a <value> (already opened) up to its end.
func (p *parser) value() (any, error) {
	var sb strings.Builder
	for {
		tok, err := p.next()
		if err == io.EOF {
			return nil, invalid("unexpected end of document")
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			return sb.String(), nil // untyped value: a string
		case xml.StartElement:
			if strings.TrimSpace(sb.String()) != "" {
				return nil, invalid("text mixed with <%s> in value", t.Name.Local)
			}
			v, err := p.typed(t.Name.Local)
			if err != nil {
				return nil, err
			}
			return v, p.closeElement()
		}
	}
}

var timeLayouts = []string{
	"20060102T15:04:05",
	"20060102T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05Z07:00",
	"20060102T150405",
	"20060102T150405Z07:00",
}

// typed decodes the element named typ (already opened) up to its end.
func (p *parser) typed(typ string) (any, error) {
	switch typ {
	case "array":
		return p.array()
	case "struct":
		return p.structure()
	case "nil":
		if _, err := p.text(); err != nil {
			return nil, err
		}
		return nil, nil
	}
	text, err := p.text()
	if err != nil {
		return nil, err
	}
	trimmed := strings.TrimSpace(text)
	switch typ {
	case "string":
		return text, nil
	case "int", "i4", "i8":
		n, err := strconv.ParseInt(trimmed, 10, 64)
		if err != nil {
			return nil, invalid("bad <%s> %q", typ, truncate(trimmed))
		}
		return n, nil
	case "boolean":
		switch strings.ToLower(trimmed) {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return nil, invalid("bad <boolean> %q", truncate(trimmed))
	case "double":
		f, err := strconv.ParseFloat(trimmed, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, invalid("bad <double> %q", truncate(trimmed))
		}
		return f, nil
	case "dateTime.iso8601":
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, trimmed); err == nil {
				t = t.UTC()
				if t.Year() < 0 || t.Year() > 9999 {
					break
				}
				return t, nil
			}
		}
		return nil, invalid("bad <dateTime.iso8601> %q", truncate(trimmed))
	case "base64":
		compact := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, text)
		b, err := base64.StdEncoding.DecodeString(compact)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(compact); err != nil {
				return nil, invalid("bad <base64>")
			}
		}
		return b, nil
	}
	return nil, invalid("unknown value type <%s>", typ)
}

// array decodes <array> (already opened) up to its end.
func (p *parser) array() ([]any, error) {
	tok, err := p.significant()
	if err != nil {
		return nil, err
	}
	se, ok := tok.(xml.StartElement)
	if !ok || se.Name.Local != "data" {
		return nil, invalid("array without <data>")
	}
	out := []any{}
	for {
		tok, err := p.significant()
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		if se := tok.(xml.StartElement); se.Name.Local != "value" {
			return nil, invalid("unexpected <%s> in array data", se.Name.Local)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, p.closeElement()
}

// structure decodes <struct> (already opened) up to its end.
func (p *parser) structure() (map[string]any, error) {
	out := map[string]any{}
	for {
		tok, err := p.significant()
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			return out, nil
		}
		if se := tok.(xml.StartElement); se.Name.Local != "member" {
			return nil, invalid("unexpected <%s> in struct", se.Name.Local)
		}
		var (
			name              string
			val               any
			sawName, sawValue bool
		)
		for {
			tok, err := p.significant()
			if err != nil {
				return nil, err
			}
			if _, ok := tok.(xml.EndElement); ok {
				break
			}
			se := tok.(xml.StartElement)
			switch {
			case se.Name.Local == "name" && !sawName:
				sawName = true
				if name, err = p.text(); err != nil {
					return nil, err
				}
			case se.Name.Local == "value" && !sawValue:
				sawValue = true
				if val, err = p.value(); err != nil {
					return nil, err
				}
			default:
				return nil, invalid("unexpected <%s> in struct member", se.Name.Local)
			}
		}
		if !sawName || !sawValue {
			return nil, invalid("struct member without name or value")
		}
		out[name] = val
	}
}

// ---------------------------------------------------------------------------
// Lenient accessors (Moodle sends DB numbers as strings, docs/protocols.md §1.4)

// AsInt reads an integer leniently: any Go integer, an integral float, a
// bool (1/0) or a string holding an integer or an integral number.
func AsInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		return floatToInt(x)
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpP_") {
			return floatToInt(f)
		}
		return 0, invalid("%q is not an integer", truncate(x))
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() <= math.MaxInt64 {
			return int64(rv.Uint()), nil
		}
	case reflect.Float32:
		return floatToInt(rv.Float())
	case reflect.String:
		return AsInt(rv.String())
	}
	return 0, invalid("%s is not an integer", typeName(v))
}

func floatToInt(f float64) (int64, error) {
	if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, invalid("%v is not an integer", f)
	}
	return int64(f), nil
}

// AsString reads a string leniently: strings as is, numbers and booleans
// in PHP's string form ("1"/"0" for booleans), nil as "", base64 bytes as
// their content.
func AsString(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case []byte:
		return string(x), nil
	case time.Time:
		return x.UTC().Format("20060102T15:04:05"), nil
	}
	return "", invalid("%s is not a string", typeName(v))
}

// AsStruct reads a struct: map[string]any, Struct, or an empty array
// (PHP encodes an empty associative array as an empty list).
func AsStruct(v any) (map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case Struct:
		m := make(map[string]any, len(x))
		for _, mem := range x {
			m[mem.Name] = mem.Value
		}
		return m, nil
	case []any:
		if len(x) == 0 {
			return map[string]any{}, nil
		}
	}
	return nil, invalid("%s is not a struct", typeName(v))
}

// AsArray reads an array: []any, or a struct whose member names are
// exactly "0".."n-1" (a PHP list that lost its order), returned in index
// order.
func AsArray(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case map[string]any:
		out := make([]any, len(x))
		for i := range out {
			e, ok := x[strconv.Itoa(i)]
			if !ok {
				return nil, invalid("struct is not an array")
			}
			out[i] = e
		}
		return out, nil
	}
	return nil, invalid("%s is not an array", typeName(v))
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case string:
		return "string"
	case int64, int:
		return "int"
	case bool:
		return "boolean"
	case float64:
		return "double"
	case []byte:
		return "base64"
	case time.Time:
		return "dateTime"
	case []any:
		return "array"
	case map[string]any, Struct:
		return "struct"
	}
	return fmt.Sprintf("%T", v)
}
