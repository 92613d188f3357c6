package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/aggregation/rolluptest"
)

// compileSite is one seeded Moodle database for the compile process tests.
type compileProcSite struct {
	bin, moodle, prefix string
	users               []int64
	key                 aggregation.CompileKey
}

func newCompileProcSite(t *testing.T) *compileProcSite {
	t.Helper()
	sites := newRollupSites(t, 30, 30)
	var s *rollupSite
	for _, x := range sites {
		if x.name == "postgres" || s == nil {
			s = x
		}
	}
	p, _ := aggregation.Preset(aggregation.DefaultPolicy)
	return &compileProcSite{bin: buildBinary(t), moodle: s.moodle, prefix: s.prefix, users: s.users,
		key: aggregation.CompileKeyOf(aggregation.PolicyRef{Name: p.Name, Version: p.Version}, time.UTC)}
}

// compile runs `usestats compile` on the store; env adds variables.
func (c *compileProcSite) compile(ctx context.Context, storeURL string, env ...string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, c.bin, "compile", "--moodle", c.moodle, "--prefix", c.prefix, "--store", storeURL, "--shards", "12")
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return cmd, &out
}

// dump opens a store and reads what it holds of the site's users.
func (c *compileProcSite) dump(t *testing.T, storeURL string) string {
	t.Helper()
	st, err := openStore(context.Background(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return storeDump(t, st, c.key, c.users)
}

// storeFor returns a fresh store of the kind: a SQLite file or a
// PostgreSQL schema.
func storeFor(t *testing.T, kind string) string {
	if kind == "postgres" {
		return pgSchema(t, os.Getenv("USESTATS_TEST_POSTGRES"))
	}
	return "sqlite://" + t.TempDir() + "/store.db"
}

// A compile killed (SIGKILL) at any of its write steps — inside a shard's
// store transaction, before a shard commits, after a run starts or ends,
// after an incremental write — and run again leaves the store a clean
// compile leaves; a further run changes nothing.
func TestCompileKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary many times")
	}
	site := newCompileProcSite(t)
	kinds := []string{"sqlite"}
	if os.Getenv("USESTATS_TEST_POSTGRES") != "" {
		kinds = append(kinds, "postgres")
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			clean := storeFor(t, kind)
			if cmd, out := site.compile(context.Background(), clean); cmd.Run() != nil {
				t.Fatalf("clean compile: %s", out)
			}
			want := site.dump(t, clean)
			killed := 0
			for at := 1; at <= 40; at++ {
				url := storeFor(t, kind)
				cmd, out := site.compile(context.Background(), url, failpointEnv+"="+strconv.Itoa(at))
				err := cmd.Run()
				var exit *exec.ExitError
				if err == nil {
					break // fewer steps than at: nothing left to kill
				}
				if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Fatalf("kill point %d: the compile failed otherwise: %v\n%s", at, err, out)
				}
				killed++
				if cmd, out := site.compile(context.Background(), url); cmd.Run() != nil {
					t.Fatalf("kill point %d: the resumed compile failed: %s", at, out)
				}
				got := site.dump(t, url)
				if d := rolluptest.DiffLines(want, got); d != "" {
					t.Fatalf("kill point %d: the resumed store differs from a clean compile (- clean, + resumed):\n%s", at, d)
				}
				if cmd, out := site.compile(context.Background(), url); cmd.Run() != nil {
					t.Fatalf("kill point %d: a further run failed: %s", at, out)
				}
				if d := rolluptest.DiffLines(got, site.dump(t, url)); d != "" {
					t.Fatalf("kill point %d: a further run changed the store:\n%s", at, d)
				}
			}
			if killed < 20 {
				t.Fatalf("only %d kill points: want at least 20", killed)
			}
			t.Logf("%d kill points, each resumed to the clean store", killed)
		})
	}
}

// Three worker processes compiling one PostgreSQL store at once leave the
// store a clean compile leaves, each shard compiled once.
func TestThreeWorkersShareOneStore(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	if os.Getenv("USESTATS_TEST_POSTGRES") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("USESTATS_TEST_POSTGRES is not set under CI")
		}
		t.Skip("USESTATS_TEST_POSTGRES not set")
	}
	site := newCompileProcSite(t)
	clean := storeFor(t, "postgres")
	if cmd, out := site.compile(context.Background(), clean); cmd.Run() != nil {
		t.Fatalf("clean compile: %s", out)
	}
	shared := storeFor(t, "postgres")
	var wg sync.WaitGroup
	outs := make([]*bytes.Buffer, 3)
	errs := make([]error, 3)
	for i := range 3 {
		cmd, out := site.compile(context.Background(), shared)
		outs[i] = out
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = cmd.Run() }()
	}
	wg.Wait()
	rows := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v\n%s", i, err, outs[i])
		}
		rows += countFreshRows(outs[i].String())
	}
	if d := rolluptest.DiffLines(site.dump(t, clean), site.dump(t, shared)); d != "" {
		t.Fatalf("the shared store differs from a clean compile:\n%s", d)
	}
	if cleanRows := countFreshRows(site.cleanOutput(t)); rows != cleanRows {
		t.Fatalf("the workers read %d rows in their fresh passes, one compile reads %d: a shard was compiled twice or not at all", rows, cleanRows)
	}
}

// countFreshRows reads "N rows read" from the summary of a fresh pass.
func countFreshRows(out string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, ": fresh") {
			continue
		}
		f := strings.Fields(line[strings.Index(line, "pass, ")+6:])
		if len(f) > 0 {
			v, _ := strconv.Atoi(f[0])
			n += v
		}
	}
	return n
}

// cleanOutput compiles the site once into a fresh SQLite store and returns
// what the compile printed.
func (c *compileProcSite) cleanOutput(t *testing.T) string {
	cmd, out := c.compile(context.Background(), storeFor(t, "sqlite"))
	if err := cmd.Run(); err != nil {
		t.Fatalf("compile: %v\n%s", err, out)
	}
	return out.String()
}

// A second compiler on a SQLite store is refused with a clear message.
func TestSQLiteStoreTakesOneCompiler(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	site := newCompileProcSite(t)
	url := storeFor(t, "sqlite")
	lock, err := lockFile(sqliteFile(url) + ".compile.lock")
	if err != nil {
		t.Fatal(err)
	}
	defer lock()
	cmd, out := site.compile(context.Background(), url)
	if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "another compiler is running on this SQLite store") {
		t.Fatalf("a second compiler was not refused: %v\n%s", err, out)
	}
}
