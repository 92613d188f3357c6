// Package export writes learners' time as files, CSV or XLSX: a course's
// participants (the rows of GraphQL's Course.participants) and the site's
// users, or a cohort's, with their total time. It is an adapter over the
// query service (aggregation.Service): every number comes from
// CourseParticipants or SiteUsers, never from a computation of its own.
//
// The same exporter serves HTTP (NewHandler: GET /export/…, bearer
// tokens as GraphQL's) and the command line (`usestats export`, through
// Exporter.Write).
package export

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Config is what an exporter needs from its host.
type Config struct {
	// Service answers every number; its Location places dates, its
	// Policies resolves policy names. Required.
	Service *aggregation.Service
	// Directory lists the site's users, finds courses and reads grades.
	// Required.
	Directory aggregation.Directory
	// Authenticate turns a request's bearer token into scopes (an empty
	// or bad token: an EUnauthenticated error), as GraphQL's. Required by
	// NewHandler only.
	Authenticate func(ctx context.Context, token string) (aggregation.Scopes, error)
	// Logger logs failures that are not the caller's (default: discard).
	Logger *slog.Logger
	// Now is the clock, Unix seconds (default Service.Now): the default
	// end of the range and the query's now.
	Now func() int64
	// Timeout is the deadline of one HTTP export, every database read
	// included (default 2 minutes); the handler also moves the
	// connection's write deadline past it.
	Timeout time.Duration
}

// DefaultTimeout is Config.Timeout's default.
const DefaultTimeout = 2 * time.Minute

// chunk is how many participants are answered, graded and written at a
// time.
const chunk = 250

// Exporter writes exports. It is safe for concurrent use.
type Exporter struct {
	cfg Config
}

// New returns an exporter for cfg (Authenticate and Timeout unused).
func New(cfg Config) (*Exporter, error) {
	switch {
	case cfg.Service == nil:
		return nil, errors.New("export: Config.Service is required")
	case cfg.Directory == nil:
		return nil, errors.New("export: Config.Directory is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Service.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Exporter{cfg: cfg}, nil
}

// Kind says what an export lists.
type Kind uint8

// The kinds of export.
const (
	// Participants lists a course's participants with their time in the
	// course.
	Participants Kind = iota + 1
	// Users lists the site's users (or a cohort's members) with their
	// total time, site and every course.
	Users
)

// Format is a file format.
type Format uint8

// The formats.
const (
	CSV Format = iota + 1
	XLSX
)

// ParseFormat reads "csv" or "xlsx".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "csv":
		return CSV, nil
	case "xlsx":
		return XLSX, nil
	}
	return 0, &ParamError{Param: "format", Message: "want csv or xlsx, got " + quote(s)}
}

// Ext returns the file name extension, without the dot.
func (f Format) Ext() string {
	if f == XLSX {
		return "xlsx"
	}
	return "csv"
}

// ContentType returns the media type.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8; header=present"
}

// Order is the order of an export's rows; ties are in user id order.
type Order uint8

// The orders.
const (
	ByID Order = iota
	ByTotal
	ByLastAccess
	ByName
	ByGrade // participants only; those without a grade last
)

// The service's orders of each kind.
var (
	siteUserOrders = map[Order]aggregation.SiteUserOrder{ByID: aggregation.SiteUserByID, ByTotal: aggregation.SiteUserByTotal,
		ByLastAccess: aggregation.SiteUserByLastAccess, ByName: aggregation.SiteUserByName}
	participantOrders = map[Order]aggregation.ParticipantOrder{ByID: aggregation.ParticipantByID, ByTotal: aggregation.ParticipantByTotal,
		ByLastAccess: aggregation.ParticipantByLastAccess, ByName: aggregation.ParticipantByName, ByGrade: aggregation.ParticipantByGrade}
)

// Request is one export.
type Request struct {
	Kind     Kind
	CourseID int64 // Participants: the course
	Format   Format
	Query    aggregation.Query
	Order    Order
	Desc     bool
	// Participants filters a course's participants (Participants).
	Participants aggregation.ParticipantFilter
	// Users filters the site's users (Users).
	Users aggregation.SiteUserFilter
	// empty: the caller reads none of the rows (a group token whose
	// groups the filter leaves out): the file has its header only.
	empty bool
}

// Filename returns the export's file name: course-<id>-participants.<ext>
// or users.<ext>.
func (r Request) Filename() string {
	if r.Kind == Participants {
		return "course-" + itoa(r.CourseID) + "-participants." + r.Format.Ext()
	}
	return "users." + r.Format.Ext()
}

// Write writes the export to w: a header row, then one row per
// participant or user, in order. CSV is written as rows are answered and
// flushed after each chunk (w's Flush() error, when it has one, is
// called then); XLSX is assembled on disk by excelize's stream writer and
// written to w at the end. An unknown course is ENotFound.
func (e *Exporter) Write(ctx context.Context, req Request, w io.Writer) error {
	var sh sheet
	if req.Format == XLSX {
		x, err := newXLSX(req.Kind)
		if err != nil {
			return err
		}
		defer x.discard()
		sh = x
	} else {
		sh = newCSV(w)
	}
	cols := userColumns
	if req.Kind == Participants {
		cols = participantColumns
	}
	var err error
	if req.Kind == Participants {
		err = e.participants(ctx, req, sh, cols)
	} else {
		err = e.users(ctx, req, sh, cols)
	}
	if err != nil {
		return err
	}
	return sh.close(w)
}

// users writes the site's users.
func (e *Exporter) users(ctx context.Context, req Request, sh sheet, cols []string) error {
	order, ok := siteUserOrders[req.Order]
	if !ok {
		return aggregation.Errorf(aggregation.EInvalid, "users cannot be ordered by grade")
	}
	if err := sh.header(cols); err != nil {
		return err
	}
	n := 0
	cells := make([]cell, 0, len(cols))
	return e.cfg.Service.SiteUsers(ctx, e.cfg.Directory, req.Query, req.Users,
		aggregation.Page[aggregation.SiteUserOrder]{Order: order, Desc: req.Desc}, func(u aggregation.SiteUser) error {
			cells = userCells(cells[:0], u.UserInfo, u.Total)
			if err := sh.row(cells); err != nil {
				return err
			}
			if n++; n%chunk == 0 {
				return sh.flush()
			}
			return nil
		})
}

// participants writes a course's participants. Orders and filters that
// need every member's time are answered in one CourseParticipants call;
// the others page through it a chunk at a time, so only a chunk's
// answers are held.
func (e *Exporter) participants(ctx context.Context, req Request, sh sheet, cols []string) error {
	cs, err := e.cfg.Directory.Courses(ctx, []int64{req.CourseID})
	if err != nil {
		return err
	}
	if _, ok := cs[req.CourseID]; !ok {
		return aggregation.Errorf(aggregation.ENotFound, "no course with id %d", req.CourseID)
	}
	groups, err := e.cfg.Service.CourseGroups(ctx, req.CourseID)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	if err := sh.header(cols); err != nil {
		return err
	}
	if req.empty {
		return nil
	}
	page := aggregation.Page[aggregation.ParticipantOrder]{Order: participantOrders[req.Order], Desc: req.Desc, Limit: chunk}
	f := req.Participants
	all := page.Order == aggregation.ParticipantByTotal || page.Order == aggregation.ParticipantByLastAccess ||
		f.MinTotal != nil || f.MaxTotal != nil || f.InactiveSince != nil || f.NeverActive || f.WithTimeOnly
	if all {
		page.Limit = 0
	}
	q := req.Query
	if q.Now == 0 {
		q.Now = e.cfg.Now() // one clock for every chunk
	}
	cells := make([]cell, 0, len(cols))
	for {
		pp, err := e.cfg.Service.CourseParticipants(ctx, req.CourseID, q, f, page, false)
		if err != nil {
			return err
		}
		for rows := range slices.Chunk(pp.Rows, chunk) {
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.ID
			}
			grades, err := e.cfg.Directory.Grades(ctx, req.CourseID, ids)
			if err != nil {
				return err
			}
			for i := range rows {
				cells = participantCells(cells[:0], &rows[i], names, grades[rows[i].ID])
				rows[i].Result = nil // done with it
				if err := sh.row(cells); err != nil {
					return err
				}
			}
			if err := sh.flush(); err != nil {
				return err
			}
		}
		page.Offset += len(pp.Rows)
		if all || len(pp.Rows) == 0 || page.Offset >= pp.TotalCount {
			return nil
		}
	}
}

// The columns, in order.
var (
	userColumns        = []string{"userid", "username", "firstname", "lastname", "total_seconds", "total_hm", "events", "first_access", "last_access"}
	participantColumns = append(slices.Clone(userColumns), "roles", "groups", "enrolment_start", "enrolment_end", "enrolment_active", "grade")
)

// userCells appends a user's cells: the user and a total.
func userCells(cells []cell, u aggregation.UserInfo, t aggregation.Stat) []cell {
	first, last := cell{}, cell{}
	if t.Events > 0 {
		first, last = timeCell(t.FirstAccess), timeCell(t.LastAccess)
	}
	return append(cells, intCell(u.ID), textCell(u.Username), textCell(u.FirstName), textCell(u.LastName),
		intCell(t.Elapsed), cell{kind: cellPlain, s: hm(t.Elapsed)}, intCell(t.Events), first, last)
}

// participantCells appends a participant's cells: its course time, roles,
// groups (by name), enrolment and final course grade.
func participantCells(cells []cell, p *aggregation.Participant, groupNames map[int64]string, g aggregation.CourseGrade) []cell {
	cells = userCells(cells, p.UserInfo, p.Total)
	roles := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		roles[i] = r.ShortName
	}
	groups := make([]string, len(p.Groups))
	for i, id := range p.Groups {
		groups[i] = groupNames[id]
		if groups[i] == "" {
			groups[i] = itoa(id)
		}
	}
	grade := cell{}
	if g.Course != nil && g.Course.Value != nil {
		grade = cell{kind: cellFloat, f: *g.Course.Value}
	}
	start, end := cell{}, cell{}
	if p.Enrolment.Start != 0 {
		start = timeCell(p.Enrolment.Start)
	}
	if p.Enrolment.End != 0 {
		end = timeCell(p.Enrolment.End)
	}
	return append(cells, textCell(strings.Join(roles, "; ")), textCell(strings.Join(groups, "; ")),
		start, end, cell{kind: cellBool, b: p.Enrolment.Active}, grade)
}
