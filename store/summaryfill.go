package store

import (
	"context"
	"fmt"

	"github.com/usestats/usestats/aggregation"
)

// fillBatch is how many days FillSummaries summarizes per transaction.
const fillBatch = 2000

// FillSummaries makes the summaries of the days stored without one (by a
// usestats before migration 0007), fillBatch days per transaction, until
// none is left or ctx ends; it returns how many it made. A day rewritten
// meanwhile by a compile already has its summary and is left alone, so it
// may run beside compiles; run twice, the second finds nothing to do.
// Until its day has a summary, a user is answered from the days' data:
// the answers are the same, only slower.
func (s *Store) FillSummaries(ctx context.Context) (int, error) {
	filled := 0
	var after [3]int64 // the last day looked at: key, user, day
	for {
		n, scanned, last, err := s.fillSome(ctx, after)
		filled += n
		if err != nil || scanned < fillBatch {
			return filled, err
		}
		after = last
	}
}

// unsummarized is a day without a summary.
type unsummarized struct {
	key, user int64
	day       aggregation.Day
	summary   []byte
}

// fillSome looks at up to fillBatch days without a summary after the day
// after (in key order) and summarizes them, but for days stored without
// hours (format version 1), whose users the log answers. It returns how
// many days it summarized and looked at, and the last it looked at.
func (s *Store) fillSome(ctx context.Context, after [3]int64) (filled, scanned int, last [3]int64, err error) {
	var days []unsummarized
	err = s.inTx(ctx, "fill summaries", func(w *wtx) error {
		rows, err := w.tx.QueryContext(ctx, "SELECT key_id, user_id, day, data FROM usestats_rollup_days "+
			"WHERE summary IS NULL AND (key_id, user_id, day) > (?, ?, ?) ORDER BY key_id, user_id, day LIMIT ?",
			after[0], after[1], after[2], fillBatch)
		if err != nil {
			return err
		}
		var dec dayDecoder
		for rows.Next() {
			var d unsummarized
			var data []byte
			var day int64
			if err := rows.Scan(&d.key, &d.user, &day, &data); err != nil {
				rows.Close()
				return err
			}
			d.day = aggregation.Day(day)
			scanned++
			last = [3]int64{d.key, d.user, day}
			u := &aggregation.UserRollups{}
			if err := dec.decode(u, d.user, d.day, data); err != nil {
				rows.Close()
				return fmt.Errorf("rollups of user %d on day %d: %w", d.user, d.day, err)
			}
			if u.NoHours {
				continue
			}
			cells := make([]*aggregation.RollupEntry, len(u.Cells))
			for i := range u.Cells {
				cells[i] = &u.Cells[i]
			}
			hours := make([]*aggregation.HourEntry, len(u.Hours))
			for i := range u.Hours {
				hours[i] = &u.Hours[i]
			}
			sum := aggregation.SummarizeDay(d.day, cells, hours)
			d.summary = appendSummary(nil, &sum)
			days = append(days, d)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range days {
			if _, err := w.tx.ExecContext(ctx, "UPDATE usestats_rollup_days SET summary = ? WHERE key_id = ? AND user_id = ? AND day = ? AND summary IS NULL",
				d.summary, d.key, d.user, int64(d.day)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, last, err
	}
	return len(days), scanned, last, nil
}
