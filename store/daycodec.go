package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/usestats/usestats/aggregation"
)

// A user's rollups of one day, its cells and its session pieces, are
// stored together, in one row of usestats_rollup_days, as one binary
// value: reading a user's year is 365 short rows instead of thousands of
// wide ones, and a cell takes about 20 bytes instead of a row of 200.
//
// Format (version 1): the byte 1, the number of cells (uvarint), the cells
// in key order, then the pieces in session key order:
//
//	cell:  flags    byte: 1 module type, 2 first IP mark, 4 last IP mark
//	       bucket   uvarint
//	       course, section, cm, elapsed, events   varint
//	       first − day start, last − first        varint
//	       module type                            string (flag 1)
//	       IP mark: IP string, time − day start, id varint (flags 2, 4)
//	piece: key, start − day start, end − start, elapsed, events,
//	       first id, last id − first id, previous last id   varint
//	       courses: count uvarint, then each varint
//
// where day start is the day × 86400, a string is its length (uvarint)
// and bytes, and the differences wrap around, so every int64 round-trips.
// A mark is written when it is not the zero IPMark: every cell reads back
// exactly as written.
const dayVersion = 1

const (
	cellModule = 1 << iota
	cellFirstIP
	cellLastIP
)

// sortDayCells sorts cells by day, then by the rest of their key.
func sortDayCells(cells []*aggregation.RollupEntry) {
	slices.SortFunc(cells, func(a, b *aggregation.RollupEntry) int {
		x, y := &a.Key, &b.Key
		return cmp.Or(cmp.Compare(x.Day, y.Day), cmp.Compare(x.Bucket, y.Bucket), cmp.Compare(x.CourseID, y.CourseID),
			cmp.Compare(x.SectionID, y.SectionID), cmp.Compare(x.CMID, y.CMID))
	})
}

// sortDayPieces sorts pieces by day, then by session key.
func sortDayPieces(pieces []*aggregation.SessionPiece) {
	slices.SortFunc(pieces, func(a, b *aggregation.SessionPiece) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Key, b.Key))
	})
}

// appendDay appends the encoding of one day's cells and pieces.
func appendDay(b []byte, day aggregation.Day, cells []*aggregation.RollupEntry, pieces []*aggregation.SessionPiece) []byte {
	base := int64(day) * 86400 // wraps for absurd days; decoding wraps back
	b = append(b, dayVersion)
	b = binary.AppendUvarint(b, uint64(len(cells)))
	for _, e := range cells {
		k, c := &e.Key, &e.Cell
		var flags byte
		if c.ModuleType != "" {
			flags |= cellModule
		}
		if c.FirstIP != (aggregation.IPMark{}) {
			flags |= cellFirstIP
		}
		if c.LastIP != (aggregation.IPMark{}) {
			flags |= cellLastIP
		}
		b = append(b, flags)
		b = binary.AppendUvarint(b, uint64(k.Bucket))
		b = binary.AppendVarint(b, k.CourseID)
		b = binary.AppendVarint(b, k.SectionID)
		b = binary.AppendVarint(b, k.CMID)
		b = binary.AppendVarint(b, c.Elapsed)
		b = binary.AppendVarint(b, c.Events)
		b = binary.AppendVarint(b, c.First-base)
		b = binary.AppendVarint(b, c.Last-c.First)
		if flags&cellModule != 0 {
			b = appendString(b, c.ModuleType)
		}
		if flags&cellFirstIP != 0 {
			b = appendMark(b, &c.FirstIP, base)
		}
		if flags&cellLastIP != 0 {
			b = appendMark(b, &c.LastIP, base)
		}
	}
	for _, p := range pieces {
		b = binary.AppendVarint(b, p.Key)
		b = binary.AppendVarint(b, p.Start-base)
		b = binary.AppendVarint(b, p.End-p.Start)
		b = binary.AppendVarint(b, p.Elapsed)
		b = binary.AppendVarint(b, p.Events)
		b = binary.AppendVarint(b, p.FirstID)
		b = binary.AppendVarint(b, p.LastID-p.FirstID)
		b = binary.AppendVarint(b, p.PrevLastID)
		b = binary.AppendUvarint(b, uint64(len(p.Courses)))
		for _, c := range p.Courses {
			b = binary.AppendVarint(b, c)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendMark(b []byte, m *aggregation.IPMark, base int64) []byte {
	b = appendString(b, m.IP)
	b = binary.AppendVarint(b, m.Time-base)
	return binary.AppendVarint(b, m.ID)
}

// errDay is the error of a value that is not a day's encoding.
var errDay = errors.New("unreadable rollups of a day")

// dayDecoder reads day encodings; it keeps the module types and IPs it
// has seen, so equal strings share memory.
type dayDecoder struct {
	strs map[string]string
	days int // how many days a user is expected to have
}

// decode appends user's cells and pieces of day encoded in b to u.
func (d *dayDecoder) decode(u *aggregation.UserRollups, user int64, day aggregation.Day, b []byte) error {
	if len(b) == 0 || b[0] != dayVersion {
		return errDay
	}
	r := reader{b: b[1:]}
	base := int64(day) * 86400
	n := r.uvarint()
	if n > uint64(len(r.b)) { // a cell takes a byte at least
		return errDay
	}
	if len(u.Cells)+int(n) > cap(u.Cells) {
		// Room for more days of as many cells, without reserving a whole
		// window for a user active on a few of its days.
		u.Cells = slices.Grow(u.Cells, max(int(n)*min(d.days, 32), len(u.Cells)))
	}
	for range n {
		if len(r.b) == 0 {
			return errDay
		}
		flags := r.b[0]
		r.b = r.b[1:]
		if flags&^(cellModule|cellFirstIP|cellLastIP) != 0 {
			return errDay
		}
		e := aggregation.RollupEntry{Key: aggregation.RollupKey{UserID: user, Day: day}}
		k, c := &e.Key, &e.Cell
		bucket := r.uvarint()
		k.Bucket = aggregation.Bucket(bucket)
		if uint64(k.Bucket) != bucket {
			return errDay
		}
		k.CourseID, k.SectionID, k.CMID = r.varint(), r.varint(), r.varint()
		c.Elapsed, c.Events = r.varint(), r.varint()
		c.First = r.varint() + base
		c.Last = r.varint() + c.First
		if flags&cellModule != 0 {
			c.ModuleType = d.str(r.bytes())
		}
		if flags&cellFirstIP != 0 {
			c.FirstIP = aggregation.IPMark{IP: d.str(r.bytes()), Time: r.varint() + base, ID: r.varint()}
		}
		if flags&cellLastIP != 0 {
			c.LastIP = aggregation.IPMark{IP: d.str(r.bytes()), Time: r.varint() + base, ID: r.varint()}
		}
		if r.err != nil {
			return r.err
		}
		u.Cells = append(u.Cells, e)
	}
	for len(r.b) > 0 {
		p := aggregation.SessionPiece{UserID: user, Day: day, Key: r.varint()}
		p.Start = r.varint() + base
		p.End = r.varint() + p.Start
		p.Elapsed, p.Events = r.varint(), r.varint()
		p.FirstID = r.varint()
		p.LastID = r.varint() + p.FirstID
		p.PrevLastID = r.varint()
		nc := r.uvarint()
		if nc > uint64(len(r.b)) { // a course takes a byte at least
			return errDay
		}
		if nc > 0 {
			p.Courses = make([]int64, nc)
			for i := range p.Courses {
				p.Courses[i] = r.varint()
			}
		}
		if r.err != nil {
			return r.err
		}
		u.Pieces = append(u.Pieces, p)
	}
	return nil
}

// str returns b as a string, shared with earlier equal ones.
func (d *dayDecoder) str(b []byte) string {
	if s, ok := d.strs[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if d.strs == nil {
		d.strs = map[string]string{}
	}
	s := string(b)
	if len(d.strs) < 1024 {
		d.strs[s] = s
	}
	return s
}

// reader reads varints from b, recording the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errDay, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = errDay, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errDay, nil
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}
