package moodle

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// COPY text rows decode to the columns of scanQuery: integers of any sign
// and size, NULL strings, escaped strings; malformed rows are errors.
func TestParseCopyRow(t *testing.T) {
	for _, c := range []struct {
		line       string
		want       scanRow
		origin, ip string
		null       bool // both strings NULL
	}{
		{line: "1\t2\t3\t4\t50\t6\t7\t0\tweb\t192.0.2.1\n", want: scanRow{id: 1, time: 2, user: 3, course: 4, level: 50, instance: 6, kind: 7},
			origin: "web", ip: "192.0.2.1"},
		{line: "9223372036854775807\t-9223372036854775808\t0\t-1\t70\t12\t9\t5\t\\N\t\\N", null: true,
			want: scanRow{id: math.MaxInt64, time: math.MinInt64, course: -1, level: 70, instance: 12, kind: 9, realUser: 5}},
		{line: "1\t1\t1\t1\t1\t1\t1\t1\t\t", want: scanRow{id: 1, time: 1, user: 1, course: 1, level: 1, instance: 1, kind: 1, realUser: 1}},
		{line: "1\t1\t1\t1\t1\t1\t1\t1\tw\\\\e\\tb\t10.0.0.1\\tx\\\\y\\nz\\r\\101\\x42\\q", want: scanRow{id: 1, time: 1, user: 1, course: 1, level: 1, instance: 1, kind: 1, realUser: 1},
			origin: "w\\e\tb", ip: "10.0.0.1\tx\\y\nz\rABq"},
	} {
		var r scanRow
		_, err := parseCopyRow([]byte(c.line), &r, nil)
		if err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if c.null != (r.origin == nil && r.ip == nil) || string(r.origin) != c.origin || string(r.ip) != c.ip {
			t.Errorf("%q: origin %q, ip %q; want %q, %q (NULL: %v)", c.line, r.origin, r.ip, c.origin, c.ip, c.null)
		}
		r.origin, r.ip = nil, nil
		if !reflect.DeepEqual(r, c.want) {
			t.Errorf("%q: %+v, want %+v", c.line, r, c.want)
		}
	}
	for _, bad := range []string{
		"", "1\t2", "1\t2\t3\t4\t5\t6\t7\t8\tweb", "1\t2\t3\t4\t5\t6\t7\t8\tweb\tip\textra",
		"x\t2\t3\t4\t5\t6\t7\t8\tweb\tip", "\\N\t2\t3\t4\t5\t6\t7\t8\tweb\tip", "-\t2\t3\t4\t5\t6\t7\t8\ta\tb",
		"9223372036854775808\t2\t3\t4\t5\t6\t7\t8\ta\tb", "99999999999999999999\t2\t3\t4\t5\t6\t7\t8\ta\tb",
	} {
		var r scanRow
		if _, err := parseCopyRow([]byte(bad), &r, nil); err == nil {
			t.Errorf("%q: no error (%+v)", bad, r)
		}
	}
}

// A server error names its SQLSTATE; a statement timeout reads as the
// pool's own statement-timeout errors do, unless the context ended.
func TestCopyServerError(t *testing.T) {
	msg := func(fields ...string) []byte {
		var b []byte
		for _, f := range fields {
			b = append(b, f...)
			b = append(b, 0)
		}
		return append(b, 0)
	}
	err := copyServerError(context.Background(), msg("SERROR", "C42P01", "Mrelation does not exist"))
	if err == nil || errors.Is(err, dbconn.ErrStatementTimeout) || err.Error() != "moodle: COPY: relation does not exist (SQLSTATE 42P01)" {
		t.Errorf("42P01: %v", err)
	}
	err = fmt.Errorf("wrapped: %w", copyServerError(context.Background(), msg("SERROR", "C57014", "Mcanceling statement due to statement timeout")))
	if !errors.Is(err, dbconn.ErrStatementTimeout) || aggregation.ErrorCode(err) != aggregation.EUnavailable {
		t.Errorf("57014: %v (code %s)", err, aggregation.ErrorCode(err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := copyServerError(ctx, msg("C57014", "Mcanceling statement due to user request")); errors.Is(err, dbconn.ErrStatementTimeout) {
		t.Errorf("57014 with the context ended: %v", err)
	}
}

// The Go side of a COPY scan, without the database: decoding text rows
// and building events with resolved course modules, per row.
func BenchmarkScanDecode(b *testing.B) {
	const n = 4096
	lines := make([][]byte, n)
	for i := range lines {
		level, inst := 70, 1000+i%37
		if i%4 == 0 {
			level, inst = 50, 17
		}
		lines[i] = fmt.Appendf(nil, "%d\t%d\t%d\t17\t%d\t%d\t%d\t0\tweb\t193.52.13.%d\n", 1_000_000+i, 1_700_000_000+30*i, 42+i/300, level, inst, i%20/19, i/1000)
	}
	k := newScanSink(context.Background(), &Source{}, func(*aggregation.Event) bool { return true })
	for i := range 37 {
		k.cms[int64(1000+i)] = cmInfo{known: true, typ: "page", section: 3}
	}
	var (
		r   scanRow
		buf []byte
		err error
	)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if buf, err = parseCopyRow(lines[i%n], &r, buf); err != nil {
			b.Fatal(err)
		}
		if _, err := k.add(&r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
