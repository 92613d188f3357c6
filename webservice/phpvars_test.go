package webservice

import (
	"strings"
	"testing"
)

// dump renders a parsed array compactly: {k:v,k:{…}}.
func dump(a *parray) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range a.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + ":")
		if n := a.get(k); n.arr != nil {
			b.WriteString(dump(n.arr))
		} else {
			b.WriteString(n.str)
		}
	}
	b.WriteByte('}')
	return b.String()
}

func TestBracketParsing(t *testing.T) {
	cases := []struct{ in, want string }{
		{"uids[0]=3&uids[1]=4", "{uids:{0:3,1:4}}"},
		{"uids[]=3&uids[]=4", "{uids:{0:3,1:4}}"},
		{"uids[5]=3&uids[]=4", "{uids:{5:3,6:4}}"},
		{"uids[b]=3&uids[]=4", "{uids:{b:3,0:4}}"},
		{"uids[1]=x&uids[01]=y", "{uids:{1:x,01:y}}"},
		{"a[b][c]=1&a[b][d]=2&a[e]=3", "{a:{b:{c:1,d:2},e:3}}"},
		{"users[0][username]=x&users[0][email]=y&users[1][username]=z", "{users:{0:{username:x,email:y},1:{username:z}}}"},
		{"a[][x]=1&a[][x]=2", "{a:{0:{x:1},1:{x:2}}}"},
		{"a=1&a=2", "{a:2}"},
		{"a=1&a[0]=2", "{a:{0:2}}"},
		{"a[0]=2&a=1", "{a:1}"},
		{"a.b=1&c+d=2& e=3", "{a_b:1,c_d:2,e:3}"},
		{"a[b=1", "{a_b:1}"},
		{"a[b.c d=1", "{a_b_c_d:1}"},
		{"a[b][c=1", "{a:{b:1}}"},
		{"a[b]junk=1", "{a:{b:1}}"},
		{"a[b][c]d[e]=1", "{a:{b:{c:1}}}"},
		{"a[ x ]=1", "{a:{ x :1}}"},
		{"[x]=1&=2&&a", "{a:}"},
		{"n%00ame=1", "{n:1}"},
		{"v=%41%4a%zz%4", "{v:AJ%zz%4}"},
		{"v=a+b%2Bc", "{v:a b+c}"},
		{"a[x]=1&a[x][y]=2", "{a:{x:{y:2}}}"},
		{"a[-1]=1&a[]=2", "{a:{-1:1,0:2}}"},
	}
	for _, tc := range cases {
		n := 0
		p := newVarParser(Limits{}.withDefaults(), &n)
		if _, err := p.parseURLEncoded(tc.in); err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := dump(p.root); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestBracketLimits(t *testing.T) {
	lim := Limits{MaxVars: 5, MaxDepth: 2, MaxArrayLen: 3}.withDefaults()
	for _, in := range []string{
		"a=1&b=2&c=3&d=4&e=5&f=6",             // too many variables
		"a[1][2][3]=x",                        // too deep
		"a[]=1&a[]=2&a[]=3&a[]=4",             // array too long
		"a[x][]=1&a[x][]=2&a[x][]=3&a[x][]=4", // nested array too long
	} {
		n := 0
		p := newVarParser(lim, &n)
		if _, err := p.parseURLEncoded(in); err == nil {
			t.Errorf("%q: no limit error", in)
		}
	}
	n := 0
	p := newVarParser(lim, &n)
	if _, err := p.parseURLEncoded("a[1][2]=x&a[]=1&a[]=2"); err != nil {
		t.Errorf("within limits: %v", err)
	}
}

func TestFormatSniffedPastErrors(t *testing.T) {
	n := 0
	p := newVarParser(Limits{MaxVars: 1}.withDefaults(), &n)
	format, err := p.parseURLEncoded("a=1&b=2&moodlewsrestformat=json")
	if err == nil || format != "json" {
		t.Fatalf("format %q, err %v", format, err)
	}
}

func TestCleanParam(t *testing.T) {
	cases := []struct {
		typ paramType
		in  string
		ok  bool
	}{
		{paramInt, "12", true}, {paramInt, "-3", true}, {paramInt, "0", true},
		{paramInt, "012", false}, {paramInt, "1.0", false}, {paramInt, " 1", false}, {paramInt, "+1", false},
		{paramInt, "-0", false}, {paramInt, "", false}, {paramInt, "99999999999999999999", false}, {paramInt, "1e3", false},
		{paramAlpha, "username", true}, {paramAlpha, "", true}, {paramAlpha, "user_name", false}, {paramAlpha, "é", false},
		{paramText, "Alice O'Neil", true}, {paramText, "a < b", true}, {paramText, "a <b", false}, {paramText, "a<", false},
		{paramText, "x\x00y", false}, {paramText, "\xff", false}, {paramText, "' OR 1=1 --", true}, {paramText, "héllo", true},
		{paramBool, "true", false}, {paramBool, "2", false}, {paramBool, "", false},
		{paramAlphaNumExt, "moodle_mobile-app1", true}, {paramAlphaNumExt, "a b", false},
	}
	for _, tc := range cases {
		if _, ok := cleanParam(tc.in, tc.typ); ok != tc.ok {
			t.Errorf("%s %q: ok = %v, want %v", tc.typ, tc.in, ok, tc.ok)
		}
	}
}
