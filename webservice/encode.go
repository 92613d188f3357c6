package webservice

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// Response formats (moodlewsrestformat).
const (
	formatXML  = "xml"
	formatJSON = "json"
)

// xmlHeader opens every XML document the REST server writes.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8" ?>` + "\n"

// encoder writes return values in one format, driven by their description
// as clean_returnvalue and the REST server's xmlize do.
type encoder struct {
	format string
	buf    *bytes.Buffer
}

// value writes v described by d.
func (e *encoder) value(d *desc, v any) {
	if e.format == formatJSON {
		e.json(d, v)
	} else {
		e.xml(d, v)
	}
}

// json writes v as PHP's json_encode does after clean_returnvalue:
// present keys in declaration order, absent optional keys left out, an
// empty single structure as [].
func (e *encoder) json(d *desc, v any) {
	b := e.buf
	switch d.kind {
	case kindSingle:
		m, _ := v.(map[string]any)
		n := 0
		for _, kd := range d.keys {
			x, ok := m[kd.name]
			if !ok {
				if kd.d.req != withDefault || kd.d.kind != kindValue {
					continue
				}
				x = kd.d.def
			}
			if n == 0 {
				b.WriteByte('{')
			} else {
				b.WriteByte(',')
			}
			n++
			jsonString(b, kd.name)
			b.WriteByte(':')
			e.json(kd.d, x)
		}
		if n == 0 {
			b.WriteString("[]")
		} else {
			b.WriteByte('}')
		}
	case kindMultiple:
		list, _ := v.([]any)
		b.WriteByte('[')
		for i, x := range list {
			if i > 0 {
				b.WriteByte(',')
			}
			e.json(d.elem, x)
		}
		b.WriteByte(']')
	default:
		jsonScalar(b, d.typ, v)
	}
}

// jsonScalar writes a value cast to its PARAM type.
func jsonScalar(b *bytes.Buffer, t paramType, v any) {
	if v == nil {
		b.WriteString("null")
		return
	}
	switch t {
	case paramInt:
		switch x := v.(type) {
		case int64:
			b.WriteString(strconv.FormatInt(x, 10))
		case bool:
			if x {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		default:
			n, _ := strconv.ParseInt(scalarString(v), 10, 64)
			b.WriteString(strconv.FormatInt(n, 10))
		}
	case paramBool:
		switch x := v.(type) {
		case bool:
			b.WriteString(strconv.FormatBool(x))
		case int64:
			b.WriteString(strconv.FormatBool(x != 0))
		default:
			s := scalarString(v)
			b.WriteString(strconv.FormatBool(s != "" && s != "0"))
		}
	default:
		jsonString(b, scalarString(v))
	}
}

// scalarString is PHP's (string) cast of a scalar (true → "1", false → "").
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "1"
		}
		return ""
	case nil:
		return ""
	}
	return ""
}

const hexDigits = "0123456789abcdef"

// jsonString writes s as PHP's json_encode does with default flags: '/'
// escaped, every non-ASCII character as \uXXXX (UTF-16, lowercase hex),
// control characters as short escapes or \u00XX. Invalid UTF-8 becomes
// U+FFFD (json_encode would fail outright).
func jsonString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch c {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '/':
				b.WriteString(`\/`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				if c < 0x20 {
					b.WriteString(`\u00`)
					b.WriteByte(hexDigits[c>>4])
					b.WriteByte(hexDigits[c&0xf])
				} else {
					b.WriteByte(c)
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			r -= 0x10000
			u16(b, 0xd800+(r>>10))
			u16(b, 0xdc00+(r&0x3ff))
		} else {
			u16(b, r)
		}
	}
	b.WriteByte('"')
}

func u16(b *bytes.Buffer, r rune) {
	b.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(r>>uint(shift))&0xf])
	}
}

// xml writes v as the REST server's xmlize_result does: every key of a
// single structure in declaration order (absent ones as a null value),
// booleans as 1/0, one element per line.
func (e *encoder) xml(d *desc, v any) {
	b := e.buf
	switch d.kind {
	case kindSingle:
		m, _ := v.(map[string]any)
		b.WriteString("<SINGLE>\n")
		for _, kd := range d.keys {
			x, ok := m[kd.name]
			if !ok && kd.d.req == withDefault && kd.d.kind == kindValue {
				x = kd.d.def
			}
			b.WriteString(`<KEY name="` + kd.name + `">`)
			e.xml(kd.d, x)
			b.WriteString("</KEY>\n")
		}
		b.WriteString("</SINGLE>\n")
	case kindMultiple:
		b.WriteString("<MULTIPLE>\n")
		list, _ := v.([]any)
		for _, x := range list {
			e.xml(d.elem, x)
		}
		b.WriteString("</MULTIPLE>\n")
	default:
		if v == nil {
			b.WriteString(`<VALUE null="null"/>` + "\n")
			return
		}
		b.WriteString("<VALUE>")
		if x, ok := v.(bool); ok { // (int) of a boolean
			v = int64(0)
			if x {
				v = int64(1)
			}
		}
		xmlText(b, scalarString(v))
		b.WriteString("</VALUE>\n")
	}
}

// xmlText writes s escaped as htmlspecialchars(ENT_COMPAT) does (&, <, >,
// "), with invalid UTF-8 replaced by U+FFFD and characters XML 1.0 forbids
// dropped, so the document always parses.
func xmlText(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\t' || r == '\n' || r == '\r' ||
			r >= 0x20 && r <= 0xd7ff || r >= 0xe000 && r <= 0xfffd || r >= 0x10000 && r <= 0x10ffff:
			b.WriteRune(r)
		}
	}
}

// writeException writes an exception document in the format.
func writeException(b *bytes.Buffer, format string, ex *Exception, withDebug bool) {
	if format == formatJSON {
		b.WriteString(`{"exception":`)
		jsonString(b, ex.Class)
		if ex.ErrorCode != "" {
			b.WriteString(`,"errorcode":`)
			jsonString(b, ex.ErrorCode)
		}
		b.WriteString(`,"message":`)
		jsonString(b, ex.Message)
		if withDebug && ex.DebugInfo != "" {
			b.WriteString(`,"debuginfo":`)
			jsonString(b, ex.DebugInfo)
		}
		b.WriteString("}")
		return
	}
	b.WriteString(xmlHeader)
	b.WriteString(`<EXCEPTION class="`)
	xmlText(b, ex.Class)
	b.WriteString("\">\n")
	if ex.ErrorCode != "" {
		b.WriteString("<ERRORCODE>")
		xmlText(b, ex.ErrorCode)
		b.WriteString("</ERRORCODE>\n")
	}
	b.WriteString("<MESSAGE>")
	xmlText(b, ex.Message)
	b.WriteString("</MESSAGE>\n")
	if withDebug && ex.DebugInfo != "" {
		b.WriteString("<DEBUGINFO>")
		xmlText(b, ex.DebugInfo)
		b.WriteString("</DEBUGINFO>\n")
	}
	b.WriteString("</EXCEPTION>\n")
}
