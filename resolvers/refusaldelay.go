package resolvers

import (
	"context"
	"time"
)

// Refusals of anonymous documents are held before they are answered.
// Refusing a document that breaks a limit costs the server little, but a
// client that sends such documents back to back, without credentials,
// gets its next one in as soon as the last is refused: four of them kept
// about a fifth of a 2-core machine busy reading, draining and answering.
// Holding each refusal (Config.RefusalDelay) makes such a client wait
// instead, at the cost of a parked goroutine; the number held at once is
// bounded (maxHeldRefusals), past which refusals are answered at once.

// Defaults of the refusal delay.
const (
	DefaultRefusalDelay = time.Second
	maxHeldRefusals     = 512
)

// refusalHold bounds the refusals held at once.
type refusalHold struct {
	delay time.Duration
	slots chan struct{}
}

func newRefusalHold(delay time.Duration) refusalHold {
	switch {
	case delay == 0:
		delay = DefaultRefusalDelay
	case delay < 0:
		delay = 0
	}
	return refusalHold{delay: delay, slots: make(chan struct{}, maxHeldRefusals)}
}

// wait holds the caller for the delay, unless it is off, every slot is
// taken or ctx ends first.
func (h refusalHold) wait(ctx context.Context) {
	if h.delay <= 0 {
		return
	}
	select {
	case h.slots <- struct{}{}:
	default:
		return
	}
	defer func() { <-h.slots }()
	t := time.NewTimer(h.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
