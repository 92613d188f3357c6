// Command usestats computes the time learners spent on a Moodle site from
// its activity log.
//
//	usestats serve  [--moodle DSN] …             the GraphQL service (a demo database by default)
//	usestats seed   --moodle DSN [--users N] …   create and fill a demo Moodle database
//	usestats report --moodle DSN --user U …      one user's time, as JSON or a table
//	usestats compile --moodle DSN --store DSN …  compile the log into rollups (--follow)
//	usestats forget --store DSN --user ID        remove a user's rollups
//	usestats export course ID|users --moodle DSN  participants or users with their time, CSV or XLSX
//
// Every failure prints one line on stderr and exits non-zero (2 for bad
// input, 1 otherwise).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/usestats/usestats/aggregation"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: usestats <command> [flags]

commands:
  serve    serve the GraphQL API (with no flags: on a demo database it creates)
  seed     create a Moodle-shaped database and fill it with realistic demo data
  report   compute one user's time spent from a Moodle database
  token    create, list and revoke API tokens
  peer     register, list and remove MNET peers (key exchange)
  compile  compile the log into rollups in usestats' store (once, or --follow)
  forget   remove users' rollups and sessions from the store
  export   write a course's participants or the site's users with their time (CSV, XLSX)

Run 'usestats <command> -h' for the command's flags.
`

// run executes one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "seed":
		err = runSeed(ctx, args[1:], stdout, stderr)
	case "report":
		err = runReport(ctx, args[1:], stdout, stderr)
	case "token":
		err = runToken(ctx, args[1:], stdout, stderr)
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "peer":
		err = runPeer(ctx, args[1:], stdout, stderr)
	case "compile":
		err = runCompile(ctx, args[1:], stdout, stderr)
	case "forget":
		err = runForget(ctx, args[1:], stdout, stderr)
	case "export":
		err = runExport(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "usestats: unknown command %q (commands: serve, seed, report, token, peer, compile, forget, export; see 'usestats help')\n", args[0])
		return 2
	}
	return exitCode(err, stderr)
}

// errUsage marks a flag error already reported by the flag package.
var errUsage = errors.New("usage")

// exitCode prints err as one line and maps it to an exit status.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "usestats: interrupted")
		return 1
	}
	msg := err.Error()
	var ae *aggregation.Error
	if errors.As(err, &ae) {
		msg = ae.Message
	}
	fmt.Fprintf(stderr, "usestats: %s\n", msg)
	if aggregation.ErrorCode(err) == aggregation.EInvalid {
		return 2
	}
	return 1
}

// newFlags returns a flag set that reports errors through errUsage.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("usestats "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, turning flag errors into errUsage; a command
// that takes no positional argument refuses one.
func parseFlags(fs *flag.FlagSet, args []string) error {
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), rest[0])
		return errUsage
	}
	return nil
}

// parseArgs parses flags placed before, between or after the positional
// arguments, which it returns in order ("token revoke NAME --store URL" and
// "token revoke --store URL NAME" are the same). The flag package alone
// stops at the first positional argument. Everything after "--" is
// positional. Flag errors become errUsage (flag.ErrHelp is kept).
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		if takesValue(fs, a) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	return positional, nil
}

// takesValue reports whether arg ("-name" or "--name", without "=value")
// is a known flag whose value is the next argument (not a boolean one).
func takesValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// envOr returns the environment variable's value, or def.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}
