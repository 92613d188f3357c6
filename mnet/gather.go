package mnet

// Distributed recollection: one user's time asked from several hosts at
// once with use_stats_rpc_get_stats at course scope.

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/usestats/usestats/aggregation"
)

// Gatherer implements aggregation.RemoteStats over MNET.
type Gatherer struct {
	// WWWRoot is ours: the calling host and the calling user's host.
	WWWRoot string
	// Caller is the username the peers know us by: it needs an account on
	// each peer for our host, with a use_stats capability there.
	Caller string
	// Forward reaches a registered host (it answers ENotFound for others).
	Forward Forwarder
	// List returns the registered hosts.
	List func(ctx context.Context) ([]aggregation.HostInfo, error)
	// Logger receives the panics recovered while asking a host (default
	// slog.Default()).
	Logger *slog.Logger
}

// Hosts implements aggregation.RemoteStats.
func (g *Gatherer) Hosts(ctx context.Context) ([]aggregation.HostInfo, error) {
	if g.List == nil {
		return nil, nil
	}
	return g.List(ctx)
}

// UserStats implements aggregation.RemoteStats: every host is asked in its
// own goroutine; ctx's deadline bounds them all.
func (g *Gatherer) UserStats(ctx context.Context, hosts []string, username string, from int64) []aggregation.HostStats {
	names := map[string]string{}
	if list, err := g.Hosts(ctx); err == nil {
		for _, h := range list {
			names[h.WWWRoot] = h.Name
		}
	}
	out := make([]aggregation.HostStats, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		h = strings.TrimSuffix(strings.TrimSpace(h), "/")
		out[i].Host = aggregation.HostInfo{WWWRoot: h, Name: names[h]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = g.askRecovered(ctx, out[i], username, from)
		}()
	}
	wg.Wait()
	return out
}

// askRecovered is ask in a goroutine of its own: a panic while asking one
// host (in Forward, the decoding, …) becomes that host's EInternal error,
// logged with its stack, instead of ending the process.
func (g *Gatherer) askRecovered(ctx context.Context, row aggregation.HostStats, username string, from int64) (out aggregation.HostStats) {
	defer func() {
		if v := recover(); v != nil {
			log := g.Logger
			if log == nil {
				log = slog.Default()
			}
			log.Error("mnet: panic asking a host", "host", row.Host.WWWRoot, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			out = aggregation.HostStats{Host: row.Host,
				Err: aggregation.Errorf(aggregation.EInternal, "%s could not be asked: internal error", row.Host.WWWRoot)}
		}
	}()
	return g.ask(ctx, row, username, from)
}

func (g *Gatherer) ask(ctx context.Context, row aggregation.HostStats, username string, from int64) aggregation.HostStats {
	if g.Forward == nil {
		row.Err = aggregation.Errorf(aggregation.EUnavailable, "MNET is not configured")
		return row
	}
	caller := Struct{{"username", g.Caller}, {"remoteuserhostroot", g.WWWRoot}, {"remotehostroot", g.WWWRoot}}
	v, err := g.Forward(ctx, row.Host.WWWRoot, MethodGetStats, []any{caller, username, row.Host.WWWRoot, int64(ScopeCourse), from, true})
	if err != nil {
		row.Err = hostError(row.Host.WWWRoot, err)
		return row
	}
	a, err := DecodeAnswer(v)
	if err != nil {
		row.Err = aggregation.Errorf(aggregation.EUnavailable, "%s answered something that is not a use_stats answer", row.Host.WWWRoot)
		return row
	}
	if a.Status != StatusSuccess {
		row.Err = answerError(row.Host.WWWRoot, a)
		return row
	}
	msg, err := ParseStatsMessage(a.Message)
	if err != nil {
		row.Err = aggregation.Errorf(aggregation.EUnavailable, "%s answered an unreadable report: %v", row.Host.WWWRoot, err)
		return row
	}
	row.Elapsed = msg.Elapsed
	row.Courses = msg.Courses
	return row
}

// hostError maps a failed call to a caller-safe error with a code.
func hostError(host string, err error) error {
	var rf *RemoteFault
	var ce *CallError
	switch {
	case errors.As(err, &rf):
		return aggregation.Errorf(aggregation.EUnavailable, "%s refused the call: fault %d %s", host, rf.Code, rf.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return aggregation.Errorf(aggregation.EUnavailable, "%s did not answer before the deadline", host)
	case errors.As(err, &ce):
		return aggregation.Errorf(aggregation.EUnavailable, "%s: %s failed: %v", host, ce.Stage, ce.Err)
	}
	if code := aggregation.ErrorCode(err); code != aggregation.EInternal {
		return aggregation.Errorf(code, "%s", aggregation.ErrorMessage(err))
	}
	return aggregation.Errorf(aggregation.EUnavailable, "%s could not be asked", host)
}

// answerError maps a use_stats failure status to a code.
func answerError(host string, a Answer) error {
	code := aggregation.EUnavailable
	switch a.Status {
	case StatusFailureRecord:
		code = aggregation.ENotFound
	case StatusFailureUser, StatusFailureCap:
		code = aggregation.EForbidden
	case StatusFailureData:
		code = aggregation.EInvalid
	}
	return aggregation.Errorf(code, "%s answered status %d: %s", host, a.Status, strings.Join(a.Errors, " "))
}

// StatsMessage is the content of a get_stats message.
type StatsMessage struct {
	Username, FirstName, LastName string
	From                          int64
	Elapsed                       int64 // seconds (the message has minutes)
	Courses                       []aggregation.HostCourse
	// Modules are the scope-3 modules in document order, read from either
	// layout (Layout): MODULES under USE_STATS or inside each COURSE.
	Modules []StatsModule
	Empty   bool // <EMPTYSET />
}

// StatsModule is one MODULE of a scope-3 message.
type StatsModule struct {
	Name, Type, IDNumber string
	Elapsed              int64 // seconds (the message has minutes)
	// Course is the SHORTNAME of the COURSE holding it (nested layout);
	// empty in the published layout.
	Course string
}

type xmlStats struct {
	XMLName  xml.Name    `xml:"USE_STATS"`
	EmptySet *struct{}   `xml:"EMPTYSET"`
	User     xmlUser     `xml:"USER"`
	Courses  []xmlCours  `xml:"COURSES>COURSE"`
	Modules  []xmlModule `xml:"MODULES>MODULE"`
}

type xmlUser struct {
	Username  string `xml:"USERNAME"`
	FirstName string `xml:"FIRSTNAME"`
	LastName  string `xml:"LASTNAME"`
	From      string `xml:"FROM"`
	Elapsed   string `xml:"ELAPSED"`
}

type xmlCours struct {
	Name      string      `xml:"NAME"`
	ShortName string      `xml:"SHORTNAME"`
	IDNumber  string      `xml:"IDNUMBER"`
	Elapsed   string      `xml:"ELAPSED"`
	Modules   []xmlModule `xml:"MODULES>MODULE"`
}

type xmlModule struct {
	Name     string `xml:"NAME"`
	Type     string `xml:"TYPE"`
	IDNumber string `xml:"IDNUMBER"`
	Elapsed  string `xml:"ELAPSED"`
}

// addModules appends xs to m.Modules as modules of course (a shortname).
func (m *StatsMessage) addModules(xs []xmlModule, course string) error {
	for _, x := range xs {
		e, err := minutesOf(x.Elapsed)
		if err != nil {
			return err
		}
		m.Modules = append(m.Modules, StatsModule{Name: x.Name, Type: x.Type, IDNumber: x.IDNumber, Elapsed: e, Course: course})
	}
	return nil
}

func minutesOf(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || n > 1e12 {
		return 0, fmt.Errorf("ELAPSED %q is not a number of minutes", s)
	}
	return int64(n) * 60, nil
}

// ParseStatsMessage reads the XML message of a use_stats_rpc_get_stats
// answer (ours or a Moodle block_use_stats one).
func ParseStatsMessage(msg string) (StatsMessage, error) {
	var x xmlStats
	d := xml.NewDecoder(strings.NewReader(msg))
	d.Strict = true
	if err := d.Decode(&x); err != nil {
		return StatsMessage{}, fmt.Errorf("not a USE_STATS document: %w", err)
	}
	if x.EmptySet != nil {
		return StatsMessage{Empty: true}, nil
	}
	var m StatsMessage
	var err error
	m.Username, m.FirstName, m.LastName = x.User.Username, x.User.FirstName, x.User.LastName
	m.From, _ = strconv.ParseInt(strings.TrimSpace(x.User.From), 10, 64)
	if m.Elapsed, err = minutesOf(x.User.Elapsed); err != nil {
		return StatsMessage{}, err
	}
	for _, c := range x.Courses {
		e, err := minutesOf(c.Elapsed)
		if err != nil {
			return StatsMessage{}, err
		}
		m.Courses = append(m.Courses, aggregation.HostCourse{FullName: c.Name, ShortName: c.ShortName, IDNumber: c.IDNumber, Elapsed: e})
		if err := m.addModules(c.Modules, c.ShortName); err != nil {
			return StatsMessage{}, err
		}
	}
	if err := m.addModules(x.Modules, ""); err != nil {
		return StatsMessage{}, err
	}
	return m, nil
}
