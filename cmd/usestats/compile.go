package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/store"
)

// compileConfig is what `usestats compile` is configured with (serve's
// background compiles use the same settings).
type compileConfig struct {
	known      *aggregation.Policies // gives the default policy: the site's, else usestats
	extra      []aggregation.Policy  // presets compiled besides the default
	loc        *time.Location
	retainDays int
	shards     int
}

// policies is what one pass compiles, the default policy first.
func (c compileConfig) policies() []aggregation.Policy { return compiledPolicies(c.known, c.extra) }

// parsePolicies reads a comma-separated list of preset names: the
// presets compiled besides the default policy.
func parsePolicies(list string) ([]aggregation.Policy, error) {
	var out []aggregation.Policy
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" || name == aggregation.PolicySite { // site is the default whenever the site has it
			continue
		}
		p, err := aggregation.Preset(name)
		if err != nil {
			return nil, aggregation.Errorf(aggregation.EInvalid, "policy %q: want one of %s", name, strings.Join(aggregation.PresetNames(), ", "))
		}
		out = append(out, p)
	}
	return out, nil
}

func runCompile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compile", stderr)
	env := envDefaults{cmd: "compile"}
	dsn := fs.String("moodle", envOr("USESTATS_MOODLE", ""), "Moodle database URL (env USESTATS_MOODLE; required)")
	prefix := fs.String("prefix", envOr("USESTATS_PREFIX", moodle.DefaultPrefix), "Moodle table prefix (env USESTATS_PREFIX)")
	storeURL := fs.String("store", envOr("USESTATS_STORE", defaultStore), "usestats' own database, where rollups are kept (env USESTATS_STORE)")
	follow := fs.Bool("follow", false, "keep compiling new log rows every --every")
	every := fs.Duration("every", env.duration("USESTATS_COMPILE_EVERY", time.Minute), "pause between passes with --follow (env USESTATS_COMPILE_EVERY)")
	policies := fs.String("policies", envOr("USESTATS_COMPILE_POLICIES", ""), "presets compiled besides the default policy (the site's block_use_stats settings when it has them, else usestats), comma-separated (env USESTATS_COMPILE_POLICIES)")
	zone := addZoneFlag(fs, "compile", "time zone of the rollups' days")
	retain := fs.Int("retain-days", env.int("USESTATS_RETAIN_DAYS", 0), "drop rollups older than this many days on each pass; 0 keeps all (env USESTATS_RETAIN_DAYS)")
	shards := fs.Int("shards", env.int("USESTATS_COMPILE_SHARDS", 1), "user ranges a fresh compile is split into, claimed by the workers sharing a store: as many as the workers (each is one read of the whole log table) (env USESTATS_COMPILE_SHARDS)")
	mf := addMoodleFlags(fs, &env)
	if env.err != nil {
		return env.err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dsn == "" {
		return aggregation.Errorf(aggregation.EInvalid, "compile: --moodle is required (the Moodle database URL)")
	}
	if *every <= 0 || *retain < 0 || *shards < 1 {
		return aggregation.Errorf(aggregation.EInvalid, "compile: --every and --shards must be positive, --retain-days not negative")
	}
	if _, err := zone.explicit(); err != nil {
		return err
	}
	ps, err := parsePolicies(*policies)
	if err != nil {
		return err
	}
	src, err := mf.open(ctx, *dsn, *prefix)
	if err != nil {
		return err
	}
	defer src.Close()
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	loc, err := zone.resolve(ctx, src, log)
	if err != nil {
		return err
	}
	cfg := compileConfig{known: &aggregation.Policies{}, extra: ps, loc: loc, retainDays: *retain, shards: *shards}
	st, err := openStore(ctx, *storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	unlock, err := lockCompiler(st, *storeURL)
	if err != nil {
		return err
	}
	defer unlock()
	progress := newCompileProgress(stderr, log)
	for {
		// The site's settings, read again at each pass of --follow.
		if err := loadSitePolicy(ctx, src, cfg.known, log); err != nil {
			return fmt.Errorf("compile: %w", err)
		}
		for _, p := range cfg.policies() {
			start := time.Now()
			stats, err := cfg.compiler(src, st, p, progress.report).Run(ctx)
			progress.done()
			if err != nil {
				return fmt.Errorf("compile: %w", err)
			}
			if err := dropOutdated(ctx, st, stats.Key); err != nil {
				return err
			}
			fmt.Fprintln(stdout, summary(stats, time.Since(start)))
		}
		if err := fillSummaries(ctx, st, log); err != nil {
			return fmt.Errorf("compile: %w", err)
		}
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

// fillSummaries makes the summaries of the days a usestats before
// migration 0007 stored without one (nothing to do on a store compiled
// since).
func fillSummaries(ctx context.Context, st *store.Store, log *slog.Logger) error {
	start := time.Now()
	n, err := st.FillSummaries(ctx)
	if n > 0 {
		log.Info("summarized stored days", "days", n, "elapsed", time.Since(start).String())
	}
	if err != nil {
		return fmt.Errorf("summarizing stored days: %w", err)
	}
	return nil
}

// compiler returns the compiler of one policy.
func (c compileConfig) compiler(src *moodle.Source, st *store.Store, p aggregation.Policy, progress func(aggregation.CompileProgress)) *aggregation.Compiler {
	return &aggregation.Compiler{Logs: src, Store: withFailpoint(st), Policy: p, Location: c.loc,
		RetainDays: c.retainDays, Shards: c.shards, Progress: progress}
}

// summary is the last line of a pass.
func summary(s aggregation.CompileStats, elapsed time.Duration) string {
	rate := float64(s.Rows) / max(elapsed.Seconds(), 1e-9)
	kind := "incremental"
	switch {
	case s.Waiting:
		kind = "fresh (other workers still hold shards)"
	case s.Fresh:
		kind = "fresh"
	}
	if s.Raced {
		kind += " (another worker's incremental pass came first: it wrote nothing)"
	}
	return fmt.Sprintf("compiled %s: %s pass, %d rows read, %d users touched, %d forgotten, %s, %.0f events/s (watermark %d, horizon %s)",
		s.Key, kind, s.Rows, s.Users, s.Forgotten, elapsed.Round(time.Millisecond), rate, s.Watermark, time.Unix(s.Horizon, 0).UTC().Format(time.RFC3339))
}

// dropOutdated removes the rollups of other versions of a policy in the
// same time zone once the current version is complete (a policy whose
// rules changed).
func dropOutdated(ctx context.Context, st *store.Store, cur aggregation.CompileKey) error {
	state, err := st.CompileState(ctx, cur)
	if err != nil || !state.Complete {
		return err
	}
	keys, err := st.Keys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Policy == cur.Policy && k.Zone == cur.Zone && k != cur {
			if err := st.DropKey(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// compileProgress shows a compile's progress: a bar on a terminal,
// structured log lines (at most one per 5 s) otherwise.
type compileProgress struct {
	out  io.Writer
	tty  bool
	log  *slog.Logger
	bar  *progressbar.ProgressBar
	last time.Time
}

func newCompileProgress(w io.Writer, log *slog.Logger) *compileProgress {
	return &compileProgress{out: w, log: log, tty: isTerminal(w)}
}

func (p *compileProgress) report(c aggregation.CompileProgress) {
	if p.tty {
		if p.bar == nil {
			p.bar = progressbar.NewOptions64(max(c.RowsTotal, 1), progressbar.OptionSetWriter(p.out),
				progressbar.OptionSetDescription(c.Phase+" compile"), progressbar.OptionShowCount(),
				progressbar.OptionSetItsString("rows"), progressbar.OptionShowIts(),
				progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
		}
		p.bar.Describe(fmt.Sprintf("%s compile: %d users", c.Phase, c.Users))
		_ = p.bar.Set64(min(c.Rows, max(c.RowsTotal, 1)))
		return
	}
	if time.Since(p.last) < 5*time.Second {
		return
	}
	p.last = time.Now()
	p.log.Info("compiling", "phase", c.Phase, "rows", c.Rows, "rows_total", c.RowsTotal, "users", c.Users, "shards_done", c.ShardsDone, "shards", c.ShardsTotal)
}

func (p *compileProgress) done() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

// lockCompiler keeps a second compiler off a SQLite store (one writer,
// one process); PostgreSQL stores are shared by any number of workers.
func lockCompiler(st *store.Store, url string) (func(), error) {
	if st.Kind() != dbconn.SQLite {
		return func() {}, nil
	}
	return lockFile(sqliteFile(url) + ".compile.lock")
}
