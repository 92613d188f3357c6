package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/moodle"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", stderr)
	dsn := fs.String("moodle", envOr("USESTATS_MOODLE", ""), "Moodle database URL: postgres://…, mysql://… or sqlite://PATH (env USESTATS_MOODLE)")
	prefix := fs.String("prefix", envOr("USESTATS_PREFIX", moodle.DefaultPrefix), "Moodle table prefix (env USESTATS_PREFIX)")
	mflags := addMoodleFlags(fs, &envDefaults{cmd: "report"})
	user := fs.String("user", "", "the user: id:N, username:NAME, or a bare id or username")
	from := fs.String("from", "", "start of the window, inclusive: Unix seconds, YYYY-MM-DD or RFC 3339 (default: the beginning)")
	to := fs.String("to", "", "end of the window, inclusive: Unix seconds, YYYY-MM-DD (the whole day) or RFC 3339 (default: now)")
	nowFlag := fs.String("now", "", "the current time, Unix seconds (default: the clock); caps the last event's credit")
	policy := fs.String("policy", "", "time policy: site (the site's block_use_stats settings), usestats, dedication, attendanceregister, canvas, edx5, edx30 (default: site when the site has those settings, else usestats)")
	format := fs.String("format", "json", "output format: json or table")
	zone := addZoneFlag(fs, "report", "time zone of the days --from and --to name")
	live := fs.Bool("live", false, "compute from the Moodle log, never from compiled rollups (the answer's source is then LIVE)")
	storeURL := fs.String("store", "", "usestats' store with compiled rollups to answer from (the newest events still come from the log); empty: the log only")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dsn == "" {
		return aggregation.Errorf(aggregation.EInvalid, "report: --moodle is required (a database URL)")
	}
	if *user == "" {
		return aggregation.Errorf(aggregation.EInvalid, "report: --user is required (an id or a username)")
	}
	if *format != "json" && *format != "table" {
		return aggregation.Errorf(aggregation.EInvalid, "report: --format must be json or table, not %q", *format)
	}
	if _, err := zone.explicit(); err != nil {
		return err
	}
	now := time.Now().Unix()
	if *nowFlag != "" {
		var err error
		if now, err = strconv.ParseInt(*nowFlag, 10, 64); err != nil {
			return aggregation.Errorf(aggregation.EInvalid, "report: --now %q is not Unix seconds", *nowFlag)
		}
	}
	if *policy != "" && *policy != aggregation.PolicySite {
		if _, err := aggregation.Preset(*policy); err != nil {
			return aggregation.Errorf(aggregation.EInvalid, "report: %s", aggregation.ErrorMessage(err))
		}
	}

	src, err := mflags.open(ctx, *dsn, *prefix)
	if err != nil {
		return err
	}
	defer src.Close()
	// The site's zone, when it decides, is needed to read --from and --to.
	warn := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	loc, err := zone.resolve(ctx, src, warn)
	if err != nil {
		return err
	}
	known := &aggregation.Policies{}
	if err := loadSitePolicy(ctx, src, known, warn); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	p, err := known.Lookup(*policy)
	if err != nil {
		return aggregation.Errorf(aggregation.EInvalid, "report: %s", aggregation.ErrorMessage(err))
	}
	w := aggregation.Window{From: 0, To: now}
	if *from != "" {
		if w.From, err = parseTime(*from, loc, false); err != nil {
			return err
		}
	}
	if *to != "" {
		if w.To, err = parseTime(*to, loc, true); err != nil {
			return err
		}
	}
	if err := w.Validate(); err != nil {
		return aggregation.Errorf(aggregation.EInvalid, "report: --to is before --from")
	}
	cfg := aggregation.ServiceConfig{Logs: src, Location: loc, Policies: known, Now: func() int64 { return now }, Workers: 1}
	if *storeURL != "" {
		st, err := openStore(ctx, *storeURL)
		if err != nil {
			return err
		}
		defer st.Close()
		cfg.Rollups = st
	}
	svc, err := aggregation.NewService(cfg)
	if err != nil {
		return err
	}
	rep, err := buildReport(ctx, src, svc, *user, aggregation.Query{Policy: p, Window: w, Now: now, Live: *live})
	if err != nil {
		return err
	}
	if *format == "table" {
		return writeTable(stdout, rep)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// parseTime reads Unix seconds, a date (its start, or its end when end is
// set) in loc, or an RFC 3339 time.
func parseTime(s string, loc *time.Location, end bool) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if dateOnly.MatchString(s) {
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err == nil {
			if end {
				return t.AddDate(0, 0, 1).Unix() - 1, nil
			}
			return t.Unix(), nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Unix(), nil
	}
	return 0, aggregation.Errorf(aggregation.EInvalid, "bad date %q: want Unix seconds, YYYY-MM-DD or RFC 3339", s)
}

// findUser resolves --user: "id:N" and "username:X" say which; a bare
// number is an id or a username (sites often use student numbers as
// usernames) and is refused when it names two different users.
func findUser(ctx context.Context, src *moodle.Source, who string) (*moodle.User, error) {
	switch {
	case strings.HasPrefix(who, "id:"):
		return src.FindUser(ctx, moodle.UserByID, strings.TrimPrefix(who, "id:"), 0)
	case strings.HasPrefix(who, "username:"):
		return src.FindUser(ctx, moodle.UserByUsername, strings.TrimPrefix(who, "username:"), 0)
	}
	if _, err := strconv.ParseInt(who, 10, 64); err != nil {
		return src.FindUser(ctx, moodle.UserByUsername, who, 0)
	}
	byID, errID := src.FindUser(ctx, moodle.UserByID, who, 0)
	byName, errName := src.FindUser(ctx, moodle.UserByUsername, who, 0)
	switch {
	case errID == nil && errName == nil && byID.ID != byName.ID:
		return nil, aggregation.Errorf(aggregation.EInvalid,
			"%q is user %d's id and user %d's username: say --user id:%s or --user username:%s", who, byID.ID, byName.ID, who, who)
	case errID == nil:
		return byID, nil
	case errName == nil:
		return byName, nil
	case aggregation.ErrorCode(errID) != aggregation.ENotFound:
		return nil, errID
	case aggregation.ErrorCode(errName) != aggregation.ENotFound:
		return nil, errName
	}
	return nil, aggregation.Errorf(aggregation.ENotFound, "no user with id or username %q", who)
}

// Report is the stable JSON shape of `usestats report` (documented in the
// README). All times are integer Unix seconds, all durations integer
// seconds.
type Report struct {
	Policy ReportPolicy `json:"policy"`
	// Source says where the numbers came from: LIVE (the log), ROLLUPS
	// or MIXED (compiled rollups plus the log's partial days and newest
	// events).
	Source   string          `json:"source"`
	User     ReportUser      `json:"user"`
	From     int64           `json:"from"`
	To       int64           `json:"to"`
	Total    int64           `json:"total"`
	Events   int64           `json:"events"`
	Site     ReportElapsed   `json:"site"`
	Courses  []ReportCourse  `json:"courses"`
	Sessions []ReportSession `json:"sessions"`
}

// ReportPolicy names the policy used.
type ReportPolicy struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ReportUser identifies the user.
type ReportUser struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
}

// ReportElapsed is a time and an event count.
type ReportElapsed struct {
	Elapsed int64 `json:"elapsed"`
	Events  int64 `json:"events"`
}

// ReportCourse is one course: total = courseTime + activityTime + otherTime.
type ReportCourse struct {
	ID           int64           `json:"id"`
	ShortName    string          `json:"shortname"`
	FullName     string          `json:"fullname"`
	IDNumber     string          `json:"idnumber"`
	Total        int64           `json:"total"`
	CourseTime   int64           `json:"courseTime"`
	ActivityTime int64           `json:"activityTime"`
	OtherTime    int64           `json:"otherTime"`
	Events       int64           `json:"events"`
	FirstAccess  int64           `json:"firstAccess"`
	LastAccess   int64           `json:"lastAccess"`
	Modules      []ReportModule  `json:"modules"`
	Sections     []ReportSection `json:"sections"`
	Grade        *ReportGrade    `json:"grade"`
}

// ReportModule is one course module's time. A deleted module has type
// "unknown" and an empty name.
type ReportModule struct {
	CMID        int64  `json:"cmid"`
	Type        string `json:"type"`
	Name        string `json:"name"`
	IDNumber    string `json:"idnumber"`
	SectionID   int64  `json:"sectionId"`
	Elapsed     int64  `json:"elapsed"`
	Events      int64  `json:"events"`
	FirstAccess int64  `json:"firstAccess"`
	LastAccess  int64  `json:"lastAccess"`
}

// ReportSection is one section's activity time; id 0 is the unknown section
// (activities whose module or section was deleted).
type ReportSection struct {
	ID      int64 `json:"id"`
	Elapsed int64 `json:"elapsed"`
	Events  int64 `json:"events"`
}

// ReportGrade is the user's final course grade.
type ReportGrade struct {
	Value      *float64 `json:"value"` // null when not graded
	Max        float64  `json:"max"`
	Percentage *float64 `json:"percentage"`
}

// ReportSession is one sitting.
type ReportSession struct {
	Start   int64   `json:"start"`
	End     int64   `json:"end"`
	Elapsed int64   `json:"elapsed"`
	Events  int64   `json:"events"`
	Courses []int64 `json:"courses"`
}

// buildReport computes the user's time with the query service and
// decorates it with names and grades from the Moodle database.
func buildReport(ctx context.Context, src *moodle.Source, svc *aggregation.Service, who string, q aggregation.Query) (*Report, error) {
	u, err := findUser(ctx, src, who)
	if err != nil {
		return nil, err
	}
	res, err := svc.User(ctx, u.ID, q)
	if err != nil {
		return nil, err
	}
	w := q.Window

	courseIDs := make([]int64, 0, len(res.Courses))
	var cmids []int64
	for _, c := range res.Courses {
		courseIDs = append(courseIDs, c.CourseID)
		for _, m := range c.Modules {
			cmids = append(cmids, m.CMID)
		}
	}
	courses, err := src.Courses(ctx, courseIDs)
	if err != nil {
		return nil, err
	}
	mods, err := src.Modules(ctx, cmids)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		Policy: ReportPolicy{Name: res.Policy.Name, Version: res.Policy.Version},
		Source: res.Source.String(),
		User:   ReportUser{ID: u.ID, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName},
		From:   w.From, To: w.To,
		Total: res.Total.Elapsed, Events: res.Total.Events,
		Site:     ReportElapsed{Elapsed: res.Site.Elapsed, Events: res.Site.Events},
		Courses:  []ReportCourse{},
		Sessions: []ReportSession{},
	}
	for _, c := range res.Courses {
		rc := ReportCourse{
			ID: c.CourseID, Total: c.Total.Elapsed, CourseTime: c.CourseLevel.Elapsed,
			ActivityTime: c.Activities.Elapsed, OtherTime: c.Other.Elapsed, Events: c.Total.Events,
			FirstAccess: c.Total.FirstAccess, LastAccess: c.Total.LastAccess,
			Modules: []ReportModule{}, Sections: []ReportSection{},
		}
		if mc := courses[c.CourseID]; mc != nil {
			rc.ShortName, rc.FullName, rc.IDNumber = mc.ShortName, mc.FullName, mc.IDNumber
		}
		for _, m := range c.Modules {
			rm := ReportModule{CMID: m.CMID, Type: m.Type, SectionID: m.SectionID, Elapsed: m.Elapsed,
				Events: m.Events, FirstAccess: m.FirstAccess, LastAccess: m.LastAccess}
			if info := mods[m.CMID]; info != nil {
				rm.Name, rm.IDNumber = info.Name, info.IDNumber
			}
			rc.Modules = append(rc.Modules, rm)
		}
		for _, s := range c.Sections {
			rc.Sections = append(rc.Sections, ReportSection{ID: s.SectionID, Elapsed: s.Elapsed, Events: s.Events})
		}
		g, ok, err := src.CourseGrade(ctx, u.ID, c.CourseID)
		if err != nil {
			return nil, err
		}
		if ok {
			rc.Grade = &ReportGrade{Value: g.Value, Max: g.Max, Percentage: g.Percentage()}
		}
		rep.Courses = append(rep.Courses, rc)
	}
	for _, s := range res.Sessions {
		rep.Sessions = append(rep.Sessions, ReportSession{Start: s.Start, End: s.End, Elapsed: s.Elapsed, Events: s.Events, Courses: s.Courses})
	}
	return rep, nil
}

// writeTable prints the report for a person.
func writeTable(out io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "User\t%s (%s %s, id %d)\n", r.User.Username, r.User.FirstName, r.User.LastName, r.User.ID)
	fmt.Fprintf(tw, "Window\t%s … %s\n", stamp(r.From), stamp(r.To))
	fmt.Fprintf(tw, "Policy\t%s (version %s)\n", r.Policy.Name, r.Policy.Version)
	fmt.Fprintf(tw, "Source\t%s\n", r.Source)
	fmt.Fprintf(tw, "Total\t%s in %d events, %d sessions\n", duration(r.Total), r.Events, len(r.Sessions))
	fmt.Fprintf(tw, "Site (logins)\t%s\n\n", duration(r.Site.Elapsed))
	fmt.Fprintln(tw, "COURSE / ACTIVITY\tTOTAL\tCOURSE\tACTIVITIES\tOTHER\tEVENTS\tGRADE")
	for _, c := range r.Courses {
		grade := "-"
		if c.Grade != nil && c.Grade.Value != nil {
			grade = fmt.Sprintf("%.2f / %.0f", *c.Grade.Value, c.Grade.Max)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", c.ShortName, duration(c.Total), duration(c.CourseTime),
			duration(c.ActivityTime), duration(c.OtherTime), c.Events, grade)
		for _, m := range c.Modules {
			name := m.Name
			if name == "" {
				name = fmt.Sprintf("(cm %d)", m.CMID)
			}
			fmt.Fprintf(tw, "  %s %s\t%s\t\t\t\t%d\t\n", m.Type, name, duration(m.Elapsed), m.Events)
		}
	}
	return tw.Flush()
}

func stamp(t int64) string {
	return time.Unix(t, 0).UTC().Format("2006-01-02 15:04:05Z")
}

func duration(s int64) string {
	return fmt.Sprintf("%dh%02dm%02ds", s/3600, s%3600/60, s%60)
}
