package ttlcache

import (
	"context"
	"sync"
	"time"
)

// Refresher runs the reads that Lookup asks for in the background, a
// bounded number at a time, each with a deadline, so that a request never
// waits for them and a slow database never piles them up.
type Refresher struct {
	slots   chan struct{}
	timeout time.Duration
	wg      sync.WaitGroup
}

// NewRefresher returns a Refresher running at most limit reads at once
// (at least 1), each for at most timeout (0: no deadline of its own).
func NewRefresher(limit int, timeout time.Duration) *Refresher {
	return &Refresher{slots: make(chan struct{}, max(limit, 1)), timeout: timeout}
}

// Go runs fn in a goroutine of its own and returns true, or returns false
// at once when limit reads are already running (fn is not run: the entry
// then lives to its TTL). fn's context keeps ctx's values but not its
// cancellation, since the request that asked ends first. A panic in fn
// is recovered and ends only fn: the entry then lives to its TTL.
func (r *Refresher) Go(ctx context.Context, fn func(context.Context)) bool {
	if r == nil {
		return false
	}
	select {
	case r.slots <- struct{}{}:
	default:
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.slots }()
		defer func() { _ = recover() }()
		ctx := context.WithoutCancel(ctx)
		if r.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, r.timeout)
			defer cancel()
		}
		fn(ctx)
	}()
	return true
}

// Wait waits until the reads started so far have ended.
func (r *Refresher) Wait() {
	if r != nil {
		r.wg.Wait()
	}
}

// Fetch returns k's value from c, read with read when c does not hold it
// (and kept when read succeeds). When Lookup says the value is due, it is
// returned as kept and read again on rf in the background: kept on
// success, dropped when gone says the read's error means k is gone, left
// to expire otherwise.
func Fetch[K comparable, V any](ctx context.Context, c *Cache[K, V], rf *Refresher, k K, read func(context.Context) (V, error), gone func(error) bool) (V, error) {
	if v, ok, due := c.Lookup(k); ok {
		if due {
			rf.Go(ctx, func(ctx context.Context) {
				switch v, err := read(ctx); {
				case err == nil:
					c.Put(k, v)
				case gone(err):
					c.Delete(k)
				}
			})
		}
		return v, nil
	}
	v, err := read(ctx)
	if err == nil {
		c.Put(k, v)
	}
	return v, err
}
