package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/export"
	"github.com/usestats/usestats/moodle"
)

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// exportParams maps the export flags to the parameters of the HTTP
// exports (export.Exporter.Parse), which check them.
var exportParams = []struct{ flag, param string }{
	{"from", "from"}, {"to", "to"}, {"policy", "policy"}, {"order-by", "orderBy"},
	{"min-total", "minTotal"}, {"max-total", "maxTotal"}, {"inactive-since", "inactiveSince"},
	{"group", "group"}, {"role", "role"}, {"cohort", "cohort"},
}

// runExport writes a course's participants or the site's users with
// their time as CSV or XLSX, as GET /export/… does, to stdout or --out.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: usestats export course <id> | users [--format csv|xlsx] [--out FILE] [flags]\n\n")
		fs.PrintDefaults()
	}
	env := &envDefaults{cmd: "export"}
	dsn := fs.String("moodle", envOr("USESTATS_MOODLE", ""), "Moodle database URL: postgres://…, mysql://… or sqlite://PATH (env USESTATS_MOODLE)")
	prefix := fs.String("prefix", envOr("USESTATS_PREFIX", moodle.DefaultPrefix), "Moodle table prefix (env USESTATS_PREFIX)")
	storeURL := fs.String("store", envOr("USESTATS_STORE", ""), "usestats' store with compiled rollups to answer from (the newest events still come from the log); empty: the log only (env USESTATS_STORE)")
	mflags := addMoodleFlags(fs, env)
	zone := addZoneFlag(fs, "export", "time zone of the days --from, --to and --inactive-since name")
	workers := fs.Int("workers", env.int("USESTATS_WORKERS", 2), "log queries running at once, each over a share of a batch's users (env USESTATS_WORKERS)")
	format := fs.String("format", "", "csv or xlsx (default: from --out's extension, else csv)")
	out := fs.String("out", "", "file to write (replaced once complete); default: stdout")
	fs.String("from", "", "start of the range, inclusive: Unix seconds, YYYY-MM-DD or RFC 3339 (default: the beginning)")
	fs.String("to", "", "end of the range, inclusive: Unix seconds, YYYY-MM-DD (the whole day) or RFC 3339 (default: now)")
	fs.String("policy", "", "time policy name (default: the site's settings when it has them, else usestats)")
	fs.String("order-by", "", "id_asc (default), total_desc, total_asc, last_access_desc, last_access_asc, name_asc, name_desc; course: also grade_desc, grade_asc")
	fs.String("min-total", "", "keep those with at least this many seconds")
	fs.String("max-total", "", "keep those with at most this many seconds")
	fs.String("inactive-since", "", "keep those with no event since this time (as --from)")
	var groups, roles listFlag
	fs.Var(&groups, "group", "course: keep the members of this group id (repeatable)")
	fs.Var(&roles, "role", "course: keep the members with this role short name, e.g. student (repeatable)")
	fs.String("cohort", "", "users: list the members of this cohort id instead of every user")
	if env.err != nil {
		return env.err
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	kind, courseID, err := exportTarget(pos)
	if err != nil {
		return err
	}
	f, err := exportFormat(*format, *out)
	if err != nil {
		return err
	}
	values := url.Values{}
	fs.Visit(func(fl *flag.Flag) {
		for _, p := range exportParams {
			if p.flag == fl.Name {
				switch fl.Name {
				case "group":
					values[p.param] = []string(groups)
				case "role":
					values[p.param] = []string(roles)
				default:
					values.Set(p.param, fl.Value.String())
				}
			}
		}
	})
	if kind == export.Users && (values.Has("group") || values.Has("role")) {
		return aggregation.Errorf(aggregation.EInvalid, "export: --group and --role go with export course")
	}
	if kind == export.Participants && values.Has("cohort") {
		return aggregation.Errorf(aggregation.EInvalid, "export: --cohort goes with export users")
	}
	if *dsn == "" {
		return aggregation.Errorf(aggregation.EInvalid, "export: --moodle is required (a database URL)")
	}
	if *workers < 1 {
		return aggregation.Errorf(aggregation.EInvalid, "export: --workers must be at least 1")
	}
	if _, err := zone.explicit(); err != nil {
		return err
	}
	if *out == "" && f == export.XLSX {
		if isTerminal(stdout) {
			return aggregation.Errorf(aggregation.EInvalid, "export: an XLSX file is not for a terminal: give --out FILE or redirect stdout")
		}
	}

	site, err := openSite(ctx, "export", cmdSiteOptions{mflags: mflags, zone: zone, dsn: *dsn, prefix: *prefix, store: *storeURL, workers: *workers}, stderr)
	if err != nil {
		return err
	}
	defer site.close()
	ex, err := export.New(export.Config{Service: site.svc, Directory: site.src.Directory(), Logger: site.log})
	if err != nil {
		return err
	}
	req, err := ex.Parse(kind, courseID, f, values)
	if err != nil {
		return exportFlagError(err)
	}
	if *out == "" {
		return ex.Write(ctx, req, stdout)
	}
	return writeFileAtomic(*out, func(w io.Writer) error { return ex.Write(ctx, req, w) })
}

// cmdSiteOptions say how a command reads a site: its Moodle database (and
// pool flags), the zone of its days, a store of rollups ("" none) and the
// log queries run at once.
type cmdSiteOptions struct {
	mflags      *moodleFlags
	zone        *zoneFlag
	dsn, prefix string
	store       string
	workers     int
}

// cmdSite is a Moodle site opened for a command, with the query service
// over it (rollups from the store when one is given).
type cmdSite struct {
	src    *moodle.Source
	svc    *aggregation.Service
	log    *slog.Logger // warnings, as JSON lines on stderr
	closer []func() error
}

func (s *cmdSite) close() {
	for _, c := range slices.Backward(s.closer) {
		_ = c()
	}
}

// openSite opens the site: the Moodle database, the zone of its days
// (flag, else the site's), its own block_use_stats policy, the store,
// then the query service with a fixed clock (the start), so that every
// batch of one run answers the same question.
func openSite(ctx context.Context, cmd string, o cmdSiteOptions, stderr io.Writer) (*cmdSite, error) {
	src, err := o.mflags.open(ctx, o.dsn, o.prefix)
	if err != nil {
		return nil, err
	}
	s := &cmdSite{src: src, closer: []func() error{src.Close}, log: slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	fail := func(err error) (*cmdSite, error) { s.close(); return nil, err }
	loc, err := o.zone.resolve(ctx, src, s.log)
	if err != nil {
		return fail(err)
	}
	known := &aggregation.Policies{}
	if err := loadSitePolicy(ctx, src, known, s.log); err != nil {
		return fail(fmt.Errorf("%s: %w", cmd, err))
	}
	now := time.Now().Unix()
	cfg := aggregation.ServiceConfig{Logs: src, Location: loc, Policies: known, Now: func() int64 { return now }, Workers: o.workers,
		Roster: src.Roster(), Grades: src.Directory()}
	if o.store != "" {
		st, err := openStore(ctx, o.store)
		if err != nil {
			return fail(err)
		}
		s.closer = append(s.closer, st.Close)
		cfg.Rollups = st
	}
	if s.svc, err = aggregation.NewService(cfg); err != nil {
		return fail(err)
	}
	return s, nil
}

// exportTarget reads "course <id>" or "users".
func exportTarget(pos []string) (export.Kind, int64, error) {
	switch {
	case len(pos) == 2 && pos[0] == "course":
		id, err := strconv.ParseInt(pos[1], 10, 64)
		if err != nil || id <= 0 {
			return 0, 0, aggregation.Errorf(aggregation.EInvalid, "export course: want a positive course id, got %.32q", pos[1])
		}
		return export.Participants, id, nil
	case len(pos) == 1 && pos[0] == "users":
		return export.Users, 0, nil
	}
	return 0, 0, aggregation.Errorf(aggregation.EInvalid, "export: say what to export: 'export course <id>' or 'export users' (see 'usestats export -h')")
}

// exportFormat reads --format, defaulting from --out's extension.
func exportFormat(format, out string) (export.Format, error) {
	if format == "" {
		if strings.EqualFold(filepath.Ext(out), ".xlsx") {
			return export.XLSX, nil
		}
		return export.CSV, nil
	}
	f, err := export.ParseFormat(format)
	if err != nil {
		return 0, aggregation.Errorf(aggregation.EInvalid, "export: --format must be csv or xlsx, not %.32q", format)
	}
	return f, nil
}

// exportFlagError names the flag of a bad export parameter.
func exportFlagError(err error) error {
	var pe *export.ParamError
	if !errors.As(err, &pe) {
		return err
	}
	name := pe.Param
	for _, p := range exportParams {
		if p.param == pe.Param {
			name = p.flag
		}
	}
	return aggregation.Errorf(aggregation.EInvalid, "export: --%s: %s", name, pe.Message)
}

// writeFileAtomic writes path through fn into a temporary file beside it,
// renamed over path only once fn succeeded: a failed export leaves no
// partial file. The file is readable by its owner only (0600): exports
// name people.
func writeFileAtomic(path string, fn func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return aggregation.Errorf(aggregation.EInvalid, "export: --out: %v", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, nothing is there
	if err := fn(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}
