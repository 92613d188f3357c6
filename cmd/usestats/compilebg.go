package main

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/store"
)

// backgroundCompiler keeps serve's rollups current: one pass per policy
// every interval, a panic or an error logged and retried at the next
// pass. On a SQLite store it compiles only while it holds the store's
// compile lock (one compiler per SQLite store).
type backgroundCompiler struct {
	cfg      compileConfig
	src      *moodle.Source
	st       *store.Store
	storeURL string
	log      *slog.Logger
}

// pass compiles every policy once.
func (b *backgroundCompiler) pass(ctx context.Context) {
	unlock, err := lockCompiler(b.st, b.storeURL)
	if err != nil {
		b.log.Warn("background compile skipped", "reason", err.Error())
		return
	}
	defer unlock()
	for _, p := range b.cfg.policies() {
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		stats, err := b.run(ctx, p.Name, func() (string, error) {
			s, err := b.cfg.compiler(b.src, b.st, p, nil).Run(ctx)
			if err != nil {
				return "", err
			}
			if err := dropOutdated(ctx, b.st, s.Key); err != nil {
				return "", err
			}
			return summary(s, time.Since(start)), nil
		})
		if err != nil {
			b.log.Error("background compile failed", "policy", p.Name, "err", err.Error())
			continue
		}
		b.log.Info("compiled", "policy", p.Name, "summary", stats)
	}
	if _, err := b.run(ctx, "", func() (string, error) { return "", fillSummaries(ctx, b.st, b.log) }); err != nil {
		b.log.Error("background compile failed", "err", err.Error())
	}
}

// run calls fn, turning a panic into an error.
func (b *backgroundCompiler) run(ctx context.Context, policy string, fn func() (string, error)) (out string, err error) {
	defer func() {
		if v := recover(); v != nil {
			b.log.Error("background compile: panic", "policy", policy, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return fn()
}

// loop runs a pass every interval until ctx ends.
func (b *backgroundCompiler) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		b.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
