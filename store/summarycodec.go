package store

import (
	"encoding/binary"

	"github.com/usestats/usestats/aggregation"
)

// Beside each day's data, usestats_rollup_days keeps the day's summary
// (aggregation.SummarizeDay of the same cells and hourly cells, made when
// the day is written): what answers over many users read instead of the
// data, about a fifth of its bytes.
//
// Format (version 1): the byte 1, the number of places (uvarint), the
// places in order (site first, then courses by id), the number of hours
// (uvarint), the hours in order, the number of SCORM activities
// (uvarint) and their times in order:
//
//	place: site                                     byte (1: the site)
//	       course, elapsed, events                  varint
//	       first − day start, last − first          varint
//	hour:  hour − day start hour, elapsed, events   varint
//	scorm: course, cm, elapsed                      varint
//
// with day start and day start hour as in the day's data. A NULL summary
// is a day written before summaries were kept: its user is answered from
// the data.
const summaryVersion = 1

// appendSummary appends the encoding of a day's summary.
func appendSummary(b []byte, s *aggregation.DaySummary) []byte {
	base := int64(s.Day) * 86400
	b = append(b, summaryVersion)
	b = binary.AppendUvarint(b, uint64(len(s.Places)))
	for _, p := range s.Places {
		var site byte
		if p.Site {
			site = 1
		}
		b = append(b, site)
		b = binary.AppendVarint(b, p.CourseID)
		b = binary.AppendVarint(b, p.Elapsed)
		b = binary.AppendVarint(b, p.Events)
		b = binary.AppendVarint(b, p.FirstAccess-base)
		b = binary.AppendVarint(b, p.LastAccess-p.FirstAccess)
	}
	hourBase := int64(s.Day) * 24
	b = binary.AppendUvarint(b, uint64(len(s.Hours)))
	for _, h := range s.Hours {
		b = binary.AppendVarint(b, int64(h.Hour)-hourBase)
		b = binary.AppendVarint(b, h.Elapsed)
		b = binary.AppendVarint(b, h.Events)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Scorm)))
	for _, m := range s.Scorm {
		b = binary.AppendVarint(b, m.CourseID)
		b = binary.AppendVarint(b, m.CMID)
		b = binary.AppendVarint(b, m.Elapsed)
	}
	return b
}

// decodeSummary decodes a day's summary.
func decodeSummary(day aggregation.Day, b []byte) (aggregation.DaySummary, error) {
	s := aggregation.DaySummary{Day: day}
	if len(b) < 1 || b[0] != summaryVersion {
		return s, errDay
	}
	r := reader{b: b[1:]}
	base := int64(day) * 86400
	n := r.uvarint()
	if n > uint64(len(r.b))/6 { // a place takes six bytes at least
		return s, errDay
	}
	s.Places = make([]aggregation.PlaceTotal, n)
	for i := range s.Places {
		p := &s.Places[i]
		p.Site = r.byte() == 1
		p.CourseID = r.varint()
		p.Elapsed, p.Events = r.varint(), r.varint()
		p.FirstAccess = r.varint() + base
		p.LastAccess = r.varint() + p.FirstAccess
	}
	n = r.uvarint()
	if n > uint64(len(r.b))/3 { // an hour takes three bytes at least
		return s, errDay
	}
	hourBase := int64(day) * 24
	s.Hours = make([]aggregation.HourTotal, n)
	for i := range s.Hours {
		h := &s.Hours[i]
		h.Hour = aggregation.Hour(r.varint() + hourBase)
		h.Elapsed, h.Events = r.varint(), r.varint()
	}
	n = r.uvarint()
	if n > uint64(len(r.b))/3 { // a SCORM time takes three bytes at least
		return s, errDay
	}
	if n > 0 {
		s.Scorm = make([]aggregation.ScormTime, n)
	}
	for i := range s.Scorm {
		m := &s.Scorm[i]
		m.CourseID, m.CMID, m.Elapsed = r.varint(), r.varint(), r.varint()
	}
	if r.err != nil || len(r.b) != 0 {
		return s, errDay
	}
	if len(s.Places) == 0 {
		s.Places = nil
	}
	if len(s.Hours) == 0 {
		s.Hours = nil
	}
	return s, nil
}
