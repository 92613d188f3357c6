package moodle

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/usestats/usestats/aggregation"
)

var _ aggregation.ScormReader = (*Source)(nil)

// scormLayout is where a site keeps its SCORM tracks.
type scormLayout uint8

const (
	scormUnknown  scormLayout = iota // not found out yet
	scormAttempts                    // Moodle ≥ 4.3: scorm_attempt, scorm_element, scorm_scoes_value
	scormTrack                       // Moodle ≤ 4.2: scorm_scoes_track
	scormNone                        // neither: no SCORM layer
)

// scormLayoutState is what a database's layout was found to be, and when.
type scormLayoutState struct {
	layout scormLayout
	at     time.Time
}

// scormLayoutMemo remembers a Source's layout, so a site's reads go
// straight to its tables. A layout whose tables go missing (an upgrade
// from 4.2 drops scorm_scoes_track) is found out again at once; "neither"
// is asked again after scormRecheck.
type scormLayoutMemo struct {
	mu    sync.Mutex
	state scormLayoutState
}

// load returns the layout remembered.
func (m *scormLayoutMemo) load() scormLayoutState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// store remembers a layout found now.
func (m *scormLayoutMemo) store(layout scormLayout) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = scormLayoutState{layout: layout, at: time.Now()}
}

// scormRecheck is how long a database without SCORM tracking tables is
// taken to have none.
const scormRecheck = 10 * time.Minute

// ScormTimes implements aggregation.ScormReader: the time values
// (aggregation.ScormTimeElements) the users' attempts at the SCORM
// activities cmids wrote between from and to (timemodified, both
// inclusive). It reads the Moodle 4.3+ tables scorm_attempt,
// scorm_element and scorm_scoes_value (Attempt is scorm_attempt.id), or,
// on a site that has scorm_scoes_track instead (Moodle 4.2 and earlier),
// that table (Attempt is its attempt number). A site with neither gets no
// values, and a warning is logged. An activity whose course module or
// module row is gone has no values.
func (s *Source) ScormTimes(ctx context.Context, userIDs, cmids []int64, from, to int64) ([]aggregation.ScormValue, error) {
	if len(userIDs) == 0 || len(cmids) == 0 {
		return nil, nil
	}
	st := s.scormLayout.load()
	if st.layout == scormNone && time.Since(st.at) > scormRecheck {
		st.layout = scormUnknown
	}
	for {
		layouts := []scormLayout{scormAttempts, scormTrack}
		switch st.layout {
		case scormNone:
			return nil, nil
		case scormAttempts, scormTrack:
			layouts = []scormLayout{st.layout}
		}
		for _, layout := range layouts {
			out, err := s.scormValues(ctx, layout, userIDs, cmids, from, to)
			if err == nil {
				if st.layout != layout {
					s.scormLayout.store(layout)
				}
				return out, nil
			}
			if ctx.Err() != nil || !isMissingTable(err) {
				return nil, err
			}
		}
		if st.layout == scormUnknown {
			break
		}
		st.layout = scormUnknown // the remembered layout's tables are gone: find out again
	}
	slog.Warn("moodle: the database has no SCORM tracking tables (scorm_attempt, scorm_scoes_track): SCORM activities keep their log time",
		"database", s.db.Redacted, "prefix", s.prefix)
	s.scormLayout.store(scormNone)
	return nil, nil
}

// scormValues reads the values from one layout's tables.
func (s *Source) scormValues(ctx context.Context, layout scormLayout, userIDs, cmids []int64, from, to int64) ([]aggregation.ScormValue, error) {
	var out []aggregation.ScormValue
	for _, users := range batches(userIDs, 500) {
		for _, cms := range batches(cmids, 500) {
			var rows []struct {
				UserID       int64  `bun:"userid"`
				CMID         int64  `bun:"cmid"`
				Attempt      int64  `bun:"attempt"`
				SCO          int64  `bun:"scoid"`
				Element      string `bun:"element"`
				Value        string `bun:"value"`
				TimeModified int64  `bun:"timemodified"`
			}
			// t is the table of the user, the element, the value and its time.
			var q *bun.SelectQuery
			if layout == scormAttempts {
				q = s.db.NewSelect().
					ColumnExpr("a.userid AS userid, cm.id AS cmid, a.id AS attempt, t.scoid AS scoid").
					ColumnExpr("e.element AS element, t.value AS value, t.timemodified AS timemodified").
					TableExpr(s.tableAs("scorm_scoes_value", "t")).
					Join("JOIN ? AS a ON a.id = t.attemptid", s.table("scorm_attempt")).
					Join("JOIN ? AS e ON e.id = t.elementid", s.table("scorm_element")).
					Join("JOIN ? AS cm ON cm.instance = a.scormid", s.table("course_modules")).
					Where("a.userid IN (?)", bun.List(users)).
					Where("e.element IN (?)", bun.List(aggregation.ScormTimeElements()))
			} else {
				q = s.db.NewSelect().
					ColumnExpr("t.userid AS userid, cm.id AS cmid, t.attempt AS attempt, t.scoid AS scoid").
					ColumnExpr("t.element AS element, t.value AS value, t.timemodified AS timemodified").
					TableExpr(s.tableAs("scorm_scoes_track", "t")).
					Join("JOIN ? AS cm ON cm.instance = t.scormid", s.table("course_modules")).
					Where("t.userid IN (?)", bun.List(users)).
					Where("t.element IN (?)", bun.List(aggregation.ScormTimeElements()))
			}
			q = q.Join("JOIN ? AS m ON m.id = cm.module", s.table("modules")).
				Where("m.name = ?", aggregation.ScormModuleType).
				Where("cm.id IN (?)", bun.List(cms))
			if from > 0 { // timemodified is never negative
				q = q.Where("t.timemodified >= ?", from)
			}
			if to < math.MaxInt64 {
				q = q.Where("t.timemodified <= ?", to)
			}
			if err := q.Scan(ctx, &rows); err != nil {
				return nil, fmt.Errorf("reading SCORM tracks: %w", err)
			}
			for _, r := range rows {
				out = append(out, aggregation.ScormValue{UserID: r.UserID, CMID: r.CMID, Attempt: r.Attempt, SCO: r.SCO,
					Element: r.Element, Value: r.Value, Time: r.TimeModified})
			}
		}
	}
	return out, nil
}
