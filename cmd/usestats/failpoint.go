package main

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/usestats/usestats/aggregation"
)

// failpointEnv names the crash tests' hook: with USESTATS_FAILPOINT_KILL_AT=N
// the compiler kills its own process (SIGKILL, no cleanup) at the N-th
// step of its writes to the store: after a shard's rows are written but
// before they commit (inside the store transaction), just before a shard
// commits, or just after a run starts, finishes or an incremental write
// commits. Only tests set it.
const failpointEnv = "USESTATS_FAILPOINT_KILL_AT"

// withFailpoint wraps st with the crash hook when the environment asks
// for it.
func withFailpoint(st aggregation.CompileStore) aggregation.CompileStore {
	n, err := strconv.ParseInt(os.Getenv(failpointEnv), 10, 64)
	if err != nil || n <= 0 {
		return st
	}
	return &killingStore{CompileStore: st, at: n}
}

type killingStore struct {
	aggregation.CompileStore
	at   int64
	seen atomic.Int64
}

// step counts one write step and dies at the chosen one.
func (k *killingStore) step() {
	if k.seen.Add(1) == k.at {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}

func (k *killingStore) BeginRun(ctx context.Context, key aggregation.CompileKey, run aggregation.CompileRun, shards []aggregation.Shard) (aggregation.CompileRun, error) {
	r, err := k.CompileStore.BeginRun(ctx, key, run, shards)
	k.step()
	return r, err
}

func (k *killingStore) FinishRun(ctx context.Context, key aggregation.CompileKey, runID int64) (bool, error) {
	ok, err := k.CompileStore.FinishRun(ctx, key, runID)
	k.step()
	return ok, err
}

func (k *killingStore) WriteUsers(ctx context.Context, key aggregation.CompileKey, users []aggregation.UserCompile, next *aggregation.CompileState) error {
	err := k.CompileStore.WriteUsers(ctx, key, users, next)
	k.step()
	return err
}

func (k *killingStore) ClaimShard(ctx context.Context, key aggregation.CompileKey, runID int64) (aggregation.ShardClaim, bool, error) {
	c, ok, err := k.CompileStore.ClaimShard(ctx, key, runID)
	if c != nil {
		c = &killingClaim{ShardClaim: c, k: k}
	}
	return c, ok, err
}

type killingClaim struct {
	aggregation.ShardClaim
	k *killingStore
}

func (c *killingClaim) Write(ctx context.Context, users []aggregation.UserCompile) error {
	err := c.ShardClaim.Write(ctx, users)
	c.k.step() // written, not committed
	return err
}

func (c *killingClaim) Done(ctx context.Context) error {
	c.k.step() // about to commit
	return c.ShardClaim.Done(ctx)
}

func (k *killingStore) Advance(ctx context.Context, key aggregation.CompileKey, users []aggregation.UserCompile, from, next aggregation.CompileState) error {
	err := k.CompileStore.Advance(ctx, key, users, from, next)
	k.step()
	return err
}
