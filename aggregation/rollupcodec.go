package aggregation

import (
	"cmp"
	"encoding/binary"
	"slices"
	"time"
)

// The compact form of a user's cells and session pieces of one month, as
// the store keeps them: one blob per user and month instead of one row
// per cell, so a year of a user is twelve reads and a few microseconds of
// decoding, and the store takes a fraction of the space. Keys and times
// are delta-encoded varints; strings (module types, IPs) are stored once
// per blob.

// codecVersion is the first byte of every blob.
const codecVersion = 1

// Month is a calendar month counted from January 1970 (0), the unit blobs
// and store partitions are cut by.
type Month int64

// MonthOf returns the month of a day.
func MonthOf(d Day) Month {
	y, m, _ := time.Unix(int64(d)*86400, 0).UTC().Date()
	return Month((int64(y)-1970)*12 + int64(m) - 1)
}

// FirstDay returns the first day of the month.
func (m Month) FirstDay() Day {
	y, mo := 1970+int64(m)/12, int64(m)%12
	if mo < 0 {
		y, mo = y-1, mo+12
	}
	return Day(time.Date(int(y), time.Month(mo+1), 1, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// codecWriter appends varints and interned strings.
type codecWriter struct {
	buf     []byte
	strings map[string]int
	table   []string
}

func (w *codecWriter) int(v int64) { w.buf = binary.AppendVarint(w.buf, v) }

func (w *codecWriter) str(s string) {
	i, ok := w.strings[s]
	if !ok {
		i = len(w.table)
		w.strings[s] = i
		w.table = append(w.table, s)
	}
	w.int(int64(i))
}

// finish returns version, string table, then the body.
func (w *codecWriter) finish() []byte {
	out := []byte{codecVersion}
	out = binary.AppendUvarint(out, uint64(len(w.table)))
	for _, s := range w.table {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return append(out, w.buf...)
}

// codecReader reads what codecWriter wrote.
type codecReader struct {
	buf   []byte
	table []string
	err   bool
}

func newCodecReader(b []byte) *codecReader {
	r := &codecReader{}
	if len(b) == 0 || b[0] != codecVersion {
		r.err = true
		return r
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		r.err = true
		return r
	}
	b = b[k:]
	r.table = make([]string, 0, n)
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			r.err = true
			return r
		}
		r.table = append(r.table, string(b[k:k+int(l)]))
		b = b[k+int(l):]
	}
	r.buf = b
	return r
}

func (r *codecReader) int() int64 {
	v, k := binary.Varint(r.buf)
	if k <= 0 {
		r.err = true
		r.buf = nil
		return 0
	}
	r.buf = r.buf[k:]
	return v
}

func (r *codecReader) str() string {
	i := r.int()
	if i < 0 || i >= int64(len(r.table)) {
		r.err = true
		return ""
	}
	return r.table[i]
}

func (r *codecReader) more() bool { return !r.err && len(r.buf) > 0 }

// EncodeCells encodes one user's cells (any days, any order).
func EncodeCells(cells []RollupEntry) []byte {
	cs := slices.Clone(cells)
	slices.SortFunc(cs, func(a, b RollupEntry) int { return compareKeys(&a.Key, &b.Key) })
	w := &codecWriter{strings: map[string]int{}}
	var day, course, first, id int64
	for i := range cs {
		k, c := &cs[i].Key, &cs[i].Cell
		w.int(int64(k.Day) - day)
		day = int64(k.Day)
		w.int(int64(k.Bucket))
		w.int(k.CourseID - course)
		course = k.CourseID
		w.int(k.SectionID)
		w.int(k.CMID)
		w.int(c.Elapsed)
		w.int(c.Events)
		w.int(c.First - first)
		first = c.First
		w.int(c.Last - c.First)
		w.str(c.ModuleType)
		for _, m := range [2]*IPMark{&c.FirstIP, &c.LastIP} {
			w.str(m.IP)
			if m.IP != "" {
				w.int(m.Time - c.First)
				w.int(m.ID - id)
				id = m.ID
			}
		}
	}
	return w.finish()
}

// DecodeCells appends the cells of a blob of the user whose days are in
// [from, to] to dst. A malformed blob is an EInternal error.
func DecodeCells(dst []RollupEntry, userID int64, blob []byte, from, to Day) ([]RollupEntry, error) {
	if len(blob) == 0 {
		return dst, nil
	}
	r := newCodecReader(blob)
	var day, course, first, id int64
	for r.more() {
		var e RollupEntry
		k, c := &e.Key, &e.Cell
		day += r.int()
		k.UserID, k.Day = userID, Day(day)
		k.Bucket = Bucket(r.int())
		course += r.int()
		k.CourseID = course
		k.SectionID = r.int()
		k.CMID = r.int()
		c.Elapsed = r.int()
		c.Events = r.int()
		first += r.int()
		c.First = first
		c.Last = first + r.int()
		c.ModuleType = r.str()
		for _, m := range [2]*IPMark{&c.FirstIP, &c.LastIP} {
			m.IP = r.str()
			if m.IP != "" {
				m.Time = c.First + r.int()
				id += r.int()
				m.ID = id
			}
		}
		if r.err {
			break
		}
		if k.Day >= from && k.Day <= to {
			dst = append(dst, e)
		}
	}
	if r.err {
		return dst, Errorf(EInternal, "rollups: a malformed cells blob of user %d", userID)
	}
	return dst, nil
}

// EncodePieces encodes one user's session pieces (any order).
func EncodePieces(pieces []SessionPiece) []byte {
	ps := slices.Clone(pieces)
	slices.SortFunc(ps, func(a, b SessionPiece) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Start, b.Start), cmp.Compare(a.Key, b.Key))
	})
	w := &codecWriter{strings: map[string]int{}}
	var day, start, id int64
	for i := range ps {
		p := &ps[i]
		w.int(int64(p.Day) - day)
		day = int64(p.Day)
		w.int(p.Start - start)
		start = p.Start
		w.int(p.End - p.Start)
		w.int(p.Elapsed)
		w.int(p.Events)
		w.int(p.FirstID - id)
		id = p.FirstID
		w.int(p.Key - p.FirstID)
		w.int(p.LastID - p.FirstID)
		if p.PrevLastID == 0 {
			w.int(0)
		} else {
			w.int(1)
			w.int(p.FirstID - p.PrevLastID)
		}
		w.int(int64(len(p.Courses)))
		for _, c := range p.Courses {
			w.int(c)
		}
	}
	return w.finish()
}

// DecodePieces appends the pieces of a blob of the user whose days are in
// [from, to] to dst.
func DecodePieces(dst []SessionPiece, userID int64, blob []byte, from, to Day) ([]SessionPiece, error) {
	if len(blob) == 0 {
		return dst, nil
	}
	r := newCodecReader(blob)
	var day, start, id int64
	for r.more() {
		var p SessionPiece
		p.UserID = userID
		day += r.int()
		p.Day = Day(day)
		start += r.int()
		p.Start = start
		p.End = start + r.int()
		p.Elapsed = r.int()
		p.Events = r.int()
		id += r.int()
		p.FirstID = id
		p.Key = id + r.int()
		p.LastID = id + r.int()
		if r.int() != 0 {
			p.PrevLastID = id - r.int()
		}
		n := r.int()
		if n < 0 || n > int64(len(r.buf)) {
			r.err = true
			break
		}
		p.Courses = make([]int64, n)
		for i := range p.Courses {
			p.Courses[i] = r.int()
		}
		if r.err {
			break
		}
		if p.Day >= from && p.Day <= to {
			dst = append(dst, p)
		}
	}
	if r.err {
		return dst, Errorf(EInternal, "rollups: a malformed pieces blob of user %d", userID)
	}
	return dst, nil
}
