package webservice

import (
	"bytes"
	"testing"
)

func TestJSONStringLikePHP(t *testing.T) {
	for in, want := range map[string]string{
		"a/b":           `"a\/b"`,
		"Élan":          `"\u00c9lan"`,
		"😀":             `"\ud83d\ude00"`,
		"q\"\\\n\t\x01": `"q\"\\\n\t\u0001"`,
		"bad\xffbyte":   `"bad\ufffdbyte"`,
		"<b>&'":         `"<b>&'"`,
	} {
		var b bytes.Buffer
		jsonString(&b, in)
		if b.String() != want {
			t.Errorf("%q: got %s, want %s", in, b.String(), want)
		}
	}
}

func TestXMLTextLikeHTMLSpecialChars(t *testing.T) {
	for in, want := range map[string]string{
		`<a href="x">&'</a>`: `&lt;a href=&quot;x&quot;&gt;&amp;'&lt;/a&gt;`,
		"Élan\x01\x00ok":     "Élanok",
		"bad\xff":            "bad\ufffd",
	} {
		var b bytes.Buffer
		xmlText(&b, in)
		if b.String() != want {
			t.Errorf("%q: got %q, want %q", in, b.String(), want)
		}
	}
}

func TestEmptySingleIsJSONArray(t *testing.T) {
	var b bytes.Buffer
	e := &encoder{format: formatJSON, buf: &b}
	e.value(single(k("a", value(paramInt, "").opt())), map[string]any{})
	if b.String() != "[]" {
		t.Errorf("got %s", b.String())
	}
	b.Reset()
	e.format = formatXML
	e.value(single(k("a", value(paramInt, "").opt()), k("l", multiple(value(paramInt, "")).opt())), map[string]any{})
	if want := "<SINGLE>\n<KEY name=\"a\"><VALUE null=\"null\"/>\n</KEY>\n<KEY name=\"l\"><MULTIPLE>\n</MULTIPLE>\n</KEY>\n</SINGLE>\n"; b.String() != want {
		t.Errorf("got %q", b.String())
	}
}
