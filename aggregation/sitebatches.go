package aggregation

import (
	"context"
	"slices"
	"sync"
)

// totalsAhead is how many batches of users eachTotals answers beyond the
// one its caller is taking: the database waits of one batch (its days'
// summaries, the log's partial days, the SCORM values) overlap with the
// next one's.
const totalsAhead = 2

// eachTotals lists next's batches of users and answers each
// (Service.totals, slim or not), up to totalsAhead+1 batches at once, and calls fn
// with each batch and its users' totals, one batch at a time, in the
// order of the batches. It returns the first error of next, an answer or
// fn (fn is not called again after one), once every answer it started
// has ended.
func (s *Service) eachTotals(ctx context.Context, next func(context.Context) ([]UserInfo, error), q Query, slim bool, fn func([]UserInfo, map[int64]*userTotals) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		users  []UserInfo
		totals map[int64]*userTotals
		err    error
		done   chan struct{}
	}
	batches := make(chan *batch, totalsAhead)
	var running sync.WaitGroup
	defer running.Wait()
	running.Add(1)
	go func() { // lists the batches and starts their answers, in order
		defer running.Done()
		defer close(batches)
		for {
			// Stopped: the consumer may still take a batch while it
			// drains the channel, but no further one is listed.
			if ctx.Err() != nil {
				return
			}
			b := &batch{done: make(chan struct{})}
			listErr := s.guard(func() error {
				var err error
				b.users, err = next(ctx)
				return err
			})
			if listErr == nil && len(b.users) == 0 {
				return
			}
			if listErr == nil {
				running.Add(1)
				go func() {
					defer running.Done()
					defer close(b.done)
					b.err = s.guard(func() error {
						ids := make([]int64, len(b.users))
						for i, u := range b.users {
							ids[i] = u.ID
						}
						slices.Sort(ids)
						var err error
						b.totals, err = s.totals(ctx, slices.Compact(ids), q, slim)
						return err
					})
				}()
			} else {
				b.err = listErr
				close(b.done)
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
			if listErr != nil {
				return
			}
		}
	}()
	for b := range batches {
		<-b.done
		err := b.err
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			err = fn(b.users, b.totals)
		}
		if err != nil {
			cancel()
			for range batches { // let the lister end
			}
			return err
		}
	}
	return ctx.Err()
}
