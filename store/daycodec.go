package store

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/usestats/usestats/aggregation"
)

// A user's rollups of one day, its cells, its hourly cells and its
// session pieces, are stored together, in one row of
// usestats_rollup_days, as one binary value: reading a user's year is 365
// short rows instead of thousands of wide ones, and a cell takes about 20
// bytes instead of a row of 200.
//
// Format (version 2): the byte 2, the number of cells (uvarint), the cells
// in key order, the number of hourly cells (uvarint), the hourly cells in
// (course, hour) order, then the pieces in session key order:
//
//	cell:  flags    byte: 1 module type, 2 first IP mark, 4 last IP mark
//	       bucket   uvarint
//	       course, section, cm, elapsed, events   varint
//	       first − day start, last − first        varint
//	       module type                            string (flag 1)
//	       IP mark: IP string, time − day start, id varint (flags 2, 4)
//	hour:  course, hour − day start hour, elapsed, events   varint
//	piece: key, start − day start, end − start, elapsed, events,
//	       first id, last id − first id, previous last id   varint
//	       courses: count uvarint, then each varint
//
// where day start is the day × 86400 and day start hour the day × 24 (a
// day's hours lie about −14 to +38 from it: the day is the site zone's), a
// string is its length (uvarint) and bytes, and the differences wrap
// around, so every int64 round-trips. A mark is written when it is not the
// zero IPMark: every cell reads back exactly as written.
//
// Version 1, written before hours were kept, is version 2 without the
// hourly cells (no count either). It still decodes, with no hours, and
// marks the user's rollups NoHours, so the service answers that user from
// the log rather than with missing hours; migration 0006_rollup_hours
// drops every rollup compiled before, so a store only meets a version 1
// day written by an older usestats still running after an upgrade.
const (
	dayVersion1 = 1
	dayVersion  = 2
)

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

// sortDayHours sorts hourly cells by day, then by course and hour.
func sortDayHours(hours []*aggregation.HourEntry) {
	slices.SortFunc(hours, func(a, b *aggregation.HourEntry) int {
		x, y := &a.Key, &b.Key
		return cmp.Or(cmp.Compare(x.Day, y.Day), cmp.Compare(x.CourseID, y.CourseID), cmp.Compare(x.Hour, y.Hour))
	})
}

// appendDay appends the encoding of one day's cells, hourly cells and
// pieces.
func appendDay(b []byte, day aggregation.Day, cells []*aggregation.RollupEntry, hours []*aggregation.HourEntry, pieces []*aggregation.SessionPiece) []byte {
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
	hourBase := int64(day) * 24
	b = binary.AppendUvarint(b, uint64(len(hours)))
	for _, h := range hours {
		b = binary.AppendVarint(b, h.Key.CourseID)
		b = binary.AppendVarint(b, int64(h.Key.Hour)-hourBase)
		b = binary.AppendVarint(b, h.Cell.Elapsed)
		b = binary.AppendVarint(b, h.Cell.Events)
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

// decode appends user's cells, hourly cells and pieces of day encoded in
// b to u; a version 1 day sets u.NoHours.
func (d *dayDecoder) decode(u *aggregation.UserRollups, user int64, day aggregation.Day, b []byte) error {
	if len(b) == 0 || b[0] != dayVersion && b[0] != dayVersion1 {
		return errDay
	}
	version := b[0]
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
	if version == dayVersion1 {
		u.NoHours = true
	} else if err := d.decodeHours(u, user, day, &r); err != nil {
		return err
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

// decodeHours appends the hourly cells of a version 2 day read from r.
func (d *dayDecoder) decodeHours(u *aggregation.UserRollups, user int64, day aggregation.Day, r *reader) error {
	n := r.uvarint()
	if n > uint64(len(r.b))/4 { // an hourly cell takes four bytes at least
		return errDay
	}
	if len(u.Hours)+int(n) > cap(u.Hours) {
		u.Hours = slices.Grow(u.Hours, max(int(n)*min(d.days, 32), len(u.Hours)))
	}
	hourBase := int64(day) * 24
	for range n {
		h := aggregation.HourEntry{Key: aggregation.HourKey{UserID: user, Day: day, CourseID: r.varint()}}
		h.Key.Hour = aggregation.Hour(r.varint() + hourBase)
		h.Cell.Elapsed, h.Cell.Events = r.varint(), r.varint()
		if r.err != nil {
			return r.err
		}
		u.Hours = append(u.Hours, h)
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

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.err = errDay
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
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
