package mnet

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

const vectorDir = "testdata/vectors"

// normalize maps a value to what decoding its encoding yields.
func normalize(v any) any {
	switch x := v.(type) {
	case nil:
		return ""
	case int:
		return int64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case Struct:
		out := make(map[string]any, len(x))
		for _, m := range x {
			out[m.Name] = normalize(m.Value)
		}
		return out
	case time.Time:
		return x.UTC()
	}
	return v
}

// equal compares decoded values (times by instant, bytes by content).
func equal(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			f, ok := y[k]
			if !ok || !equal(e, f) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func decodeReq(t *testing.T, s string) (string, []any) {
	t.Helper()
	m, p, err := DecodeRequest(strings.NewReader(s), DefaultLimits())
	if err != nil {
		t.Fatalf("DecodeRequest: %v\n%s", err, s)
	}
	return m, p
}

func wantInvalid(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error")
	}
	var ae *aggregation.Error
	if !errors.As(err, &ae) || ae.Code != aggregation.EInvalid {
		t.Fatalf("error %v (%T) is not an EInvalid *aggregation.Error", err, err)
	}
}

func wantLimit(t *testing.T, err error, limit string) {
	t.Helper()
	wantInvalid(t, err)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != limit {
		t.Fatalf("error %v is not a %s LimitError", err, limit)
	}
}

const special = `a<b>&c"d'e ]]> é ü 日本 🙂 tab	nl
cr` + "\r" + ` end`

func TestRoundTripAllTypes(t *testing.T) {
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	params := []any{
		"plain",
		"",
		special,
		int64(42),
		int64(-7),
		int64(math.MaxInt64),
		int64(math.MinInt64),
		7, // int
		true,
		false,
		1.5,
		-0.000001,
		1e21,
		0.0,
		when,
		time.Date(2026, 1, 2, 3, 4, 5, 500, time.FixedZone("x", 3600)),
		[]byte{0, 1, 2, 255, '<'},
		[]byte{},
		[]any{},
		map[string]any{},
		nil,
		[]any{"x", int64(1), []any{[]any{true}}, map[string]any{"k": []any{}}},
		map[string]any{
			"username": "jdoe",
			special:    map[string]any{"inner": []any{1.25, "two", map[string]any{"deep": int64(3)}}},
			"":         "empty name",
			"nil":      nil,
		},
		Struct{{"z", int64(1)}, {"a", "2"}},
	}
	enc, err := EncodeRequest("blocks/use_stats/rpclib.php/use_stats_rpc_get_stats", params...)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc, []byte("<nil")) {
		t.Error("encoder emitted <nil/>")
	}
	if bytes.Contains(enc, []byte(`a<b>&c"d'e`)) {
		t.Error("special characters not escaped")
	}
	m, got := decodeReq(t, string(enc))
	if m != "blocks/use_stats/rpclib.php/use_stats_rpc_get_stats" {
		t.Errorf("method %q", m)
	}
	if len(got) != len(params) {
		t.Fatalf("got %d params, want %d", len(got), len(params))
	}
	for i := range params {
		if want := normalize(params[i]); !equal(want, got[i]) {
			t.Errorf("param %d: got %#v, want %#v", i, got[i], want)
		}
	}
	// Encoding is deterministic (sorted struct members).
	enc2, err := EncodeRequest(m, got...)
	if err != nil {
		t.Fatal(err)
	}
	enc3, _ := EncodeRequest(m, got...)
	if !bytes.Equal(enc2, enc3) {
		t.Error("encoding is not deterministic")
	}

	// Responses carry the same values.
	for i, p := range params {
		b, err := EncodeResponse(p)
		if err != nil {
			t.Fatal(err)
		}
		v, f, err := DecodeResponse(bytes.NewReader(b), DefaultLimits())
		if err != nil || f != nil {
			t.Fatalf("response %d: %v %v", i, err, f)
		}
		if want := normalize(p); !equal(want, v) {
			t.Errorf("response %d: got %#v, want %#v", i, v, want)
		}
	}
}

func TestEncodeLayout(t *testing.T) {
	enc, err := EncodeRequest("m", "x", map[string]any{"b": 1, "a": true})
	if err != nil {
		t.Fatal(err)
	}
	want := "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<methodCall>\n<methodName>m</methodName>\n<params>\n" +
		"<param>\n<value><string>x</string></value>\n</param>\n" +
		"<param>\n<value><struct>\n<member><name>a</name>\n<value><boolean>1</boolean></value>\n</member>\n" +
		"<member><name>b</name>\n<value><int>1</int></value>\n</member>\n</struct></value>\n</param>\n" +
		"</params>\n</methodCall>"
	if string(enc) != want {
		t.Errorf("got\n%s\nwant\n%s", enc, want)
	}
	enc, _ = EncodeRequest("m", nil, []string{"a"}, map[string]int{"k": 2}, uint8(3), float32(0.5))
	for _, frag := range []string{"<value><string></string></value>", "<array>\n<data>\n<value><string>a</string></value>\n</data>\n</array>",
		"<member><name>k</name>\n<value><int>2</int></value>", "<int>3</int>", "<double>0.5</double>"} {
		if !strings.Contains(string(enc), frag) {
			t.Errorf("missing %q in\n%s", frag, enc)
		}
	}
	if _, err := EncodeRequest("m", math.NaN()); err == nil {
		t.Error("NaN encoded")
	}
	if _, err := EncodeRequest("m", make(chan int)); err == nil {
		t.Error("chan encoded")
	}
	cyc := []any{nil}
	cyc[0] = cyc
	if _, err := EncodeRequest("m", cyc); err == nil {
		t.Error("cyclic value encoded")
	}
	// Invalid UTF-8 and non-XML characters become U+FFFD; output stays decodable.
	enc, err = EncodeRequest("m", "a\x00b\xffc")
	if err != nil {
		t.Fatal(err)
	}
	if _, p := decodeReq(t, string(enc)); p[0] != "a\uFFFDb\uFFFDc" {
		t.Errorf("got %q", p[0])
	}
}

func TestRequestVector(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(vectorDir, "request-A-to-B.xmlrpc.xml"))
	if err != nil {
		t.Fatalf("vector: %v", err)
	}
	m, p := decodeReq(t, string(raw))
	if m != "system/listServices" || len(p) != 0 {
		t.Errorf("got %q %v, want system/listServices with no params", m, p)
	}
	enc, err := EncodeRequest("system/listServices")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, raw) {
		t.Errorf("encoder output differs from the vector:\n%q\n%q", enc, raw)
	}
}

func TestSpecExamples(t *testing.T) {
	// docs/protocols.md §1.4 use_stats call (Moodle ≤ 4.0 pretty-printed layout).
	src := `<?xml version="1.0" encoding="utf-8"?>
<methodCall>
<methodName>blocks/use_stats/rpclib.php/use_stats_rpc_get_stats</methodName>
<params>
 <param>
  <value>
   <struct>
    <member>
     <name>username</name>
     <value>
      <string>jdoe</string>
     </value>
    </member>
    <member><name>remoteuserhostroot</name><value><string>http://moodle-a.test</string></value></member>
   </struct>
  </value>
 </param>
 <param><value><string>student1</string></value></param>
 <param><value>untyped &amp; text</value></param>
 <param><value><string>1</string></value></param>
 <param><value><int>0</int></value></param>
 <param><value><i4> 5 </i4></value></param>
 <param><value><i8>9000000000</i8></value></param>
 <param><value><nil/></value></param>
 <param><value></value></param>
 <param><value><string/></value></param>
 <param><value><dateTime.iso8601>20260101T00:00:00</dateTime.iso8601></value></param>
 <param><value><base64>aGVs
 bG8=</base64></value></param>
 <param><value><boolean>true</boolean></value></param>
</params>
</methodCall>`
	m, p := decodeReq(t, src)
	if m != "blocks/use_stats/rpclib.php/use_stats_rpc_get_stats" {
		t.Errorf("method %q", m)
	}
	want := []any{
		map[string]any{"username": "jdoe", "remoteuserhostroot": "http://moodle-a.test"},
		"student1", "untyped & text", "1", int64(0), int64(5), int64(9000000000), nil, "", "",
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), []byte("hello"), true,
	}
	if !equal(want, p) {
		t.Errorf("got %#v\nwant %#v", p, want)
	}
	// Numbers as strings are accepted where numbers are expected.
	if n, err := AsInt(p[3]); err != nil || n != 1 {
		t.Errorf("AsInt(%q) = %d, %v", p[3], n, err)
	}
	// docs/protocols.md §2.10 fault in Moodle's hand-built layout.
	fault := `<?xml version="1.0"?>
<methodResponse>
   <fault>
      <value>
         <struct>
            <member>
               <name>faultCode</name>
               <value><int>7023</int></value>
            </member>
            <member>
               <name>faultString</name>
               <value><string>encryption-invalid &lt;x&gt;</string></value>
            </member>
         </struct>
      </value>
   </fault>
</methodResponse>`
	v, f, err := DecodeResponse(strings.NewReader(fault), DefaultLimits())
	if err != nil || v != nil || f == nil || f.Code != 7023 || f.Message != "encryption-invalid <x>" {
		t.Errorf("got %v %+v %v", v, f, err)
	}
}

func TestFault(t *testing.T) {
	b, err := EncodeFault(7025, "-----BEGIN CERTIFICATE-----\nMII<&>\n-----END CERTIFICATE-----\n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("<name>faultCode</name>\n<value><int>7025</int></value>")) ||
		bytes.Index(b, []byte("faultCode")) > bytes.Index(b, []byte("faultString")) {
		t.Errorf("layout:\n%s", b)
	}
	v, f, err := DecodeResponse(bytes.NewReader(b), DefaultLimits())
	if err != nil || v != nil || f == nil {
		t.Fatalf("got %v %v %v", v, f, err)
	}
	if f.Code != 7025 || f.Message != "-----BEGIN CERTIFICATE-----\nMII<&>\n-----END CERTIFICATE-----\n" {
		t.Errorf("got %+v", f)
	}
	if f.Error() == "" {
		t.Error("empty Error()")
	}
	// faultCode as a string is accepted.
	src := `<methodResponse><fault><value><struct><member><name>faultCode</name><value><string>711</string></value></member></struct></value></fault></methodResponse>`
	if _, f, err := DecodeResponse(strings.NewReader(src), Limits{}); err != nil || f.Code != 711 || f.Message != "" {
		t.Errorf("got %+v %v", f, err)
	}
	for _, bad := range []string{
		`<methodResponse><fault><value><string>x</string></value></fault></methodResponse>`,
		`<methodResponse><fault><value><struct></struct></value></fault></methodResponse>`,
		`<methodResponse><fault><value><struct><member><name>faultCode</name><value>x</value></member></struct></value></fault></methodResponse>`,
	} {
		_, _, err := DecodeResponse(strings.NewReader(bad), Limits{})
		wantInvalid(t, err)
	}
}

func TestAccessors(t *testing.T) {
	for _, c := range []struct {
		in   any
		want int64
	}{
		{int64(5), 5}, {7, 7}, {"12", 12}, {" -3 ", -3}, {"4.0", 4}, {"1e3", 1000}, {2.0, 2},
		{true, 1}, {false, 0}, {int32(9), 9}, {uint16(8), 8},
	} {
		if got, err := AsInt(c.in); err != nil || got != c.want {
			t.Errorf("AsInt(%#v) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []any{"", "abc", "1.5", 1.5, "0x10", "NaN", "Inf", math.Inf(1), nil, []any{}, uint64(math.MaxUint64), 1e300} {
		if _, err := AsInt(bad); err == nil {
			t.Errorf("AsInt(%#v) accepted", bad)
		} else {
			wantInvalid(t, err)
		}
	}
	for _, c := range []struct {
		in   any
		want string
	}{
		{"x", "x"}, {nil, ""}, {int64(3), "3"}, {1.5, "1.5"}, {true, "1"}, {false, "0"}, {[]byte("b"), "b"},
	} {
		if got, err := AsString(c.in); err != nil || got != c.want {
			t.Errorf("AsString(%#v) = %q, %v", c.in, got, err)
		}
	}
	if _, err := AsString([]any{}); err == nil {
		t.Error("AsString(array) accepted")
	}
	if m, err := AsStruct([]any{}); err != nil || len(m) != 0 {
		t.Errorf("AsStruct(empty array) = %v, %v", m, err)
	}
	if m, err := AsStruct(Struct{{"a", 1}}); err != nil || m["a"] != 1 {
		t.Errorf("AsStruct(Struct) = %v, %v", m, err)
	}
	if _, err := AsStruct("x"); err == nil {
		t.Error("AsStruct(string) accepted")
	}
	if a, err := AsArray(map[string]any{"1": "b", "0": "a"}); err != nil || !equal(a, []any{"a", "b"}) {
		t.Errorf("AsArray(list struct) = %v, %v", a, err)
	}
	if _, err := AsArray(map[string]any{"x": 1}); err == nil {
		t.Error("AsArray(struct) accepted")
	}
	if _, err := AsArray("x"); err == nil {
		t.Error("AsArray(string) accepted")
	}
}

func TestMalformed(t *testing.T) {
	for name, src := range map[string]string{
		"empty":            ``,
		"not xml":          `hello`,
		"unclosed":         `<methodCall><methodName>m</methodName>`,
		"mismatched":       `<methodCall><methodName>m</methodCall>`,
		"wrong root":       `<methodResponse><params/></methodResponse>`,
		"html root":        `<html><body>oops</body></html>`,
		"no method":        `<methodCall><params/></methodCall>`,
		"blank method":     `<methodCall><methodName> </methodName></methodCall>`,
		"two roots":        `<methodCall><methodName>m</methodName></methodCall><methodCall/>`,
		"trailing text":    `<methodCall><methodName>m</methodName></methodCall>junk`,
		"text in params":   `<methodCall><methodName>m</methodName><params>x</params></methodCall>`,
		"bad int":          `<methodCall><methodName>m</methodName><params><param><value><int>1x</int></value></param></params></methodCall>`,
		"int overflow":     `<methodCall><methodName>m</methodName><params><param><value><i8>99999999999999999999</i8></value></param></params></methodCall>`,
		"empty int":        `<methodCall><methodName>m</methodName><params><param><value><int/></value></param></params></methodCall>`,
		"bad bool":         `<methodCall><methodName>m</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>`,
		"bad double":       `<methodCall><methodName>m</methodName><params><param><value><double>NaN</double></value></param></params></methodCall>`,
		"bad date":         `<methodCall><methodName>m</methodName><params><param><value><dateTime.iso8601>yesterday</dateTime.iso8601></value></param></params></methodCall>`,
		"bad base64":       `<methodCall><methodName>m</methodName><params><param><value><base64>!!</base64></value></param></params></methodCall>`,
		"unknown type":     `<methodCall><methodName>m</methodName><params><param><value><float>1</float></value></param></params></methodCall>`,
		"mixed value":      `<methodCall><methodName>m</methodName><params><param><value>x<string>y</string></value></param></params></methodCall>`,
		"two types":        `<methodCall><methodName>m</methodName><params><param><value><string>y</string><int>1</int></value></param></params></methodCall>`,
		"param no value":   `<methodCall><methodName>m</methodName><params><param></param></params></methodCall>`,
		"param two values": `<methodCall><methodName>m</methodName><params><param><value/><value/></param></params></methodCall>`,
		"array no data":    `<methodCall><methodName>m</methodName><params><param><value><array><value/></array></value></param></params></methodCall>`,
		"member no name":   `<methodCall><methodName>m</methodName><params><param><value><struct><member><value/></member></struct></value></param></params></methodCall>`,
		"member no value":  `<methodCall><methodName>m</methodName><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodCall>`,
		"child in string":  `<methodCall><methodName>m</methodName><params><param><value><string><b/></string></value></param></params></methodCall>`,
		"unknown entity":   `<methodCall><methodName>&foo;</methodName></methodCall>`,
		"html entity":      `<methodCall><methodName>&nbsp;</methodName></methodCall>`,
		"bad utf8":         "<methodCall><methodName>m\xff</methodName></methodCall>",
		"control char":     "<methodCall><methodName>m\x01</methodName></methodCall>",
		"bad encoding":     `<?xml version="1.0" encoding="ebcdic"?><methodCall><methodName>m</methodName></methodCall>`,
		"doctype":          `<!DOCTYPE methodCall><methodCall><methodName>m</methodName></methodCall>`,
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := DecodeRequest(strings.NewReader(src), DefaultLimits())
			wantInvalid(t, err)
		})
	}
	for name, src := range map[string]string{
		"wrong root":  `<methodCall><methodName>m</methodName></methodCall>`,
		"no params":   `<methodResponse></methodResponse>`,
		"zero params": `<methodResponse><params></params></methodResponse>`,
		"two params":  `<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>`,
		"both":        `<methodResponse><params><param><value/></param></params><fault><value/></fault></methodResponse>`,
		"other":       `<methodResponse><error/></methodResponse>`,
	} {
		t.Run("response "+name, func(t *testing.T) {
			_, _, err := DecodeResponse(strings.NewReader(src), DefaultLimits())
			wantInvalid(t, err)
		})
	}
}

func TestLenientInput(t *testing.T) {
	// Latin-1 declaration, comments, processing instructions, attributes
	// and namespace prefixes are tolerated.
	src := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<!-- c --><methodCall a=\"b\"><?pi x?><methodName> m </methodName>" +
		"<params><param><value><string>caf\xe9</string></value></param><param><value><ex:nil xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\"/></value></param></params></methodCall>\n"
	m, p := decodeReq(t, src)
	if m != "m" || !equal(p, []any{"café", nil}) {
		t.Errorf("got %q %#v", m, p)
	}
	// Missing <params> is allowed.
	if m, p := decodeReq(t, `<methodCall><methodName>x</methodName></methodCall>`); m != "x" || len(p) != 0 {
		t.Errorf("got %q %v", m, p)
	}
	// Date forms.
	for _, s := range []string{"20260101T01:00:00", "2026-01-01T01:00:00", "2026-01-01T02:00:00+01:00", "20260101T010000Z", "20260101T01:00:00Z"} {
		_, p := decodeReq(t, `<methodCall><methodName>x</methodName><params><param><value><dateTime.iso8601>`+s+`</dateTime.iso8601></value></param></params></methodCall>`)
		if tm, ok := p[0].(time.Time); !ok || !tm.Equal(time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: got %v", s, p[0])
		}
	}
}

func nested(n int) string {
	return `<methodCall><methodName>m</methodName><params><param>` +
		strings.Repeat(`<value><array><data>`, n) + strings.Repeat(`</data></array></value>`, n) +
		`</param></params></methodCall>`
}

func TestLimits(t *testing.T) {
	// Within the default depth.
	if _, p := decodeReq(t, nested(9)); len(p) != 1 {
		t.Fatal("nested(9) not decoded")
	}
	start := time.Now()
	_, _, err := DecodeRequest(strings.NewReader(nested(1000)), DefaultLimits())
	wantLimit(t, err, "depth")
	_, _, err = DecodeResponse(strings.NewReader(`<methodResponse><params><param>`+strings.Repeat(`<value><struct><member><name>a</name>`, 1000)), DefaultLimits())
	wantLimit(t, err, "depth")

	// Too many elements with the default limits, still under 1 MiB.
	many := `<methodCall><methodName>m</methodName><params><param><value><array><data>` +
		strings.Repeat(`<value/>`, DefaultMaxElements) + `</data></array></value></param></params></methodCall>`
	if len(many) > DefaultMaxBytes {
		t.Fatal("test body too large")
	}
	_, _, err = DecodeRequest(strings.NewReader(many), DefaultLimits())
	wantLimit(t, err, "elements")
	_, _, err = DecodeRequest(strings.NewReader(nested(5)), Limits{MaxElements: 10})
	wantLimit(t, err, "elements")

	// Too large: a body over the limit, and an endless reader.
	big := `<methodCall><methodName>m</methodName><params><param><value><string>` +
		strings.Repeat("x", DefaultMaxBytes) + `</string></value></param></params></methodCall>`
	_, _, err = DecodeRequest(strings.NewReader(big), DefaultLimits())
	wantLimit(t, err, "bytes")
	_, _, err = DecodeResponse(endless{}, Limits{MaxBytes: 1000})
	wantLimit(t, err, "bytes")
	// Exactly at the limit is fine.
	exact := `<methodCall><methodName>m</methodName></methodCall>`
	if _, _, err := DecodeRequest(strings.NewReader(exact), Limits{MaxBytes: int64(len(exact))}); err != nil {
		t.Errorf("body at the limit rejected: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("limit checks took %v", d)
	}
	if aggregation.ErrorCode(&LimitError{Limit: "bytes", Max: 1}) != aggregation.EInvalid {
		t.Error("LimitError does not map to EInvalid")
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestEntityExpansionImpossible(t *testing.T) {
	var lol strings.Builder
	lol.WriteString(`<?xml version="1.0"?>` + "\n" + `<!DOCTYPE lolz [` + "\n" + ` <!ENTITY lol "lol">` + "\n")
	prev := "lol"
	for i := 1; i <= 9; i++ {
		name := "lol" + string(rune('0'+i))
		lol.WriteString(` <!ENTITY ` + name + ` "` + strings.Repeat("&"+prev+";", 10) + `">` + "\n")
		prev = name
	}
	lol.WriteString(`]>` + "\n" + `<methodCall><methodName>&lol9;</methodName></methodCall>`)
	external := `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>&xxe;</methodName></methodCall>`
	noDTD := `<methodCall><methodName>&lol9;</methodName></methodCall>`
	for _, src := range []string{lol.String(), external, noDTD} {
		start := time.Now()
		_, _, err := DecodeRequest(strings.NewReader(src), DefaultLimits())
		wantInvalid(t, err)
		_, _, err = DecodeResponse(strings.NewReader(strings.ReplaceAll(src, "methodCall", "methodResponse")), DefaultLimits())
		wantInvalid(t, err)
		if d := time.Since(start); d > time.Second {
			t.Errorf("rejection took %v", d)
		}
	}
}

var fuzzLimits = Limits{MaxBytes: 64 << 20, MaxDepth: 100000, MaxElements: 10000000}

func FuzzDecodeRequest(f *testing.F) {
	seeds := []string{
		`<methodCall><methodName>m</methodName></methodCall>`,
		`<methodCall><methodName>m</methodName><params><param><value>x</value></param></params></methodCall>`,
		nested(3),
		`<?xml version="1.0"?><methodCall><methodName>a/b</methodName><params><param><value><struct><member><name>k</name><value><i4>1</i4></value></member></struct></value></param>` +
			`<param><value><double>1.5</double></value></param><param><value><base64>AAE=</base64></value></param><param><value><dateTime.iso8601>20260101T00:00:00</dateTime.iso8601></value></param>` +
			`<param><value><boolean>1</boolean></value></param><param><value><nil/></value></param></params></methodCall>`,
		`<!DOCTYPE x [<!ENTITY a "b">]><methodCall/>`,
	}
	if raw, err := os.ReadFile(filepath.Join(vectorDir, "request-A-to-B.xmlrpc.xml")); err == nil {
		seeds = append(seeds, string(raw))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, p, err := DecodeRequest(bytes.NewReader(data), DefaultLimits())
		if err != nil {
			var ae *aggregation.Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *aggregation.Error", err)
			}
			return
		}
		enc, err := EncodeRequest(m, p...)
		if err != nil {
			t.Fatalf("re-encoding accepted input: %v", err)
		}
		m2, p2, err := DecodeRequest(bytes.NewReader(enc), fuzzLimits)
		if err != nil {
			t.Fatalf("decoding our encoding: %v\n%s", err, enc)
		}
		if m2 != m || !equal(normalize(p), p2) {
			t.Fatalf("round trip changed the request: %q %#v -> %q %#v", m, p, m2, p2)
		}
		enc2, err := EncodeRequest(m2, p2...)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: %v\n%s\n%s", err, enc, enc2)
		}
	})
}
