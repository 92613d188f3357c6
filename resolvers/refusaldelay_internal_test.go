package resolvers

import (
	"context"
	"testing"
	"time"
)

// Past its bound, or when its request ends, a refusal is not held.
func TestRefusalHoldBounds(t *testing.T) {
	h := refusalHold{delay: time.Hour, slots: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.wait(ctx); close(done) }()
	for len(h.slots) == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	h.wait(context.Background()) // every slot taken: at once
	if took := time.Since(start); took > time.Second {
		t.Errorf("a refusal past the bound was held %v", took)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a held refusal outlived its request")
	}
	if len(h.slots) != 0 {
		t.Errorf("%d slots still taken", len(h.slots))
	}
	if d := newRefusalHold(0).delay; d != DefaultRefusalDelay {
		t.Errorf("default delay %v", d)
	}
	if d := newRefusalHold(-1).delay; d != 0 {
		t.Errorf("negative delay kept as %v", d)
	}
}
