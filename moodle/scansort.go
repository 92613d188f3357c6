package moodle

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
)

// The sorted path of ScanUsers on PostgreSQL. Asked for the rows in
// (userid, timecreated, id) order, PostgreSQL sorts the whole range on
// disk (an external merge, in parallel workers) before the first row
// leaves, which costs it about as much CPU as reading the rows: on two
// cores shared with the server, that is time the compile waits. So a
// range that fits in a buffer of compact rows is read unordered, in one
// sequential scan, and sorted here in a fraction of that time, as the
// rows arrive nearly in order (see scanBuffer.sort).
//
// A range that does not fit is read in SQL order, streamed. Reading it in
// several passes over ranges of users, each buffered and sorted, costs a
// full scan of the table per pass: measured on a log of 1.5 M rows, two
// passes read 650 k events/s, three 500 k, one sorted query 710 k and one
// buffered pass 990 k; on 10 M rows, six passes took 26 s where the
// sorted query took 18 s. Whether the range fits is estimated first, from
// the planner's statistics; a pass that overflows anyway is abandoned
// (its connection discarded) for the sorted query.

// scanBufferRows is how many rows the sorted path buffers at most by
// default: 2 M rows of 80 bytes, 160 MB, which keeps a compile within
// 300 MB.
const scanBufferRows = 2_000_000

// maxScanBufferRows bounds scanOptions.limit: the buffer's indices are
// 32-bit, and so may be int.
const maxScanBufferRows = math.MaxInt32

// scanOptions tune the sorted path.
type scanOptions struct {
	limit    int  // rows the buffer holds at most (scanBufferRows)
	estimate bool // check the planner's estimate before reading into the buffer
}

// scanStats tell what the sorted path did.
type scanStats struct {
	Buffered   bool // the range was read into the buffer, completely or not
	Overflowed bool // the buffer filled up: that read was abandoned
	Ordered    bool // the range was read in SQL order, not fitting in the buffer
}

// scanSorted reads the range r into k: sorted in a buffer of at most
// opt.limit rows when it fits, else in SQL order.
func (s *Source) scanSorted(ctx context.Context, r scanRange, opt scanOptions, k *scanSink, st *scanStats) error {
	limit := min(max(opt.limit, 1), maxScanBufferRows)
	if opt.estimate {
		// A margin: the estimate is the planner's, from sampled statistics.
		n, err := s.estimateRows(ctx, r.lo, r.hi, r.maxID)
		if err != nil {
			return err
		}
		if n > float64(limit)*7/8 {
			st.Ordered = true
			return s.scanCopy(ctx, r.query(s, true), k.add)
		}
	}
	st.Buffered = true
	if full, err := s.scanBuffered(ctx, r, limit, k); err != nil || !full {
		return err
	}
	st.Overflowed, st.Ordered = true, true
	return s.scanCopy(ctx, r.query(s, true), k.add)
}

// scanBuffered reads the range r into a buffer of limit rows and, when
// it all fits, hands it to k sorted. It reports whether the buffer filled
// up first (nothing was handed to k then). The buffer's memory is freed
// on return, before any read in SQL order.
func (s *Source) scanBuffered(ctx context.Context, r scanRange, limit int, k *scanSink) (full bool, err error) {
	b, free, err := newScanBuffer(limit)
	if err != nil {
		return false, err
	}
	defer free()
	if err := s.scanCopy(ctx, r.query(s, false), b.add); err != nil {
		return false, err
	}
	if b.full {
		return true, nil
	}
	b.sort()
	return false, b.emit(k)
}

// estimateRows returns the planner's estimate of the log rows of the
// users lo ≤ userid < hi with ids ≤ maxID: before the row filter's
// conditions, a bound over what ScanUsers keeps.
func (s *Source) estimateRows(ctx context.Context, lo, hi, maxID int64) (float64, error) {
	sel, err := s.db.NewSelect().ColumnExpr("1").TableExpr("?", s.table("logstore_standard_log")).
		Where("userid >= ?", lo).Where("userid < ?", hi).Where("id <= ?", maxID).
		AppendQuery(s.db.QueryGen(), nil)
	if err != nil {
		return 0, err
	}
	var plan []byte
	if err := s.db.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+string(sel)).Scan(&plan); err != nil {
		return 0, fmt.Errorf("estimating the log rows of users %d to %d: %w", lo, hi-1, err)
	}
	var out []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := json.Unmarshal(plan, &out); err != nil || len(out) == 0 {
		return 0, fmt.Errorf("estimating the log rows of users %d to %d: unexpected plan %.200q (%v)", lo, hi-1, plan, err)
	}
	return out[0].Plan.Rows, nil
}
