package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/internal/directorytest"
	"github.com/usestats/usestats/resolvers"
)

// The fixture: the worked examples' module and course contexts (see
// aggregation/fixture_test.go), three learners with hand-checked numbers
// and an in-memory Directory. No database.
//
//	user 7  learner7   example 1 of docs/time-engine.md §8.1 at T0 (course 5)
//	user 9  learner9   example 2 at T1 (courses 5 and 8)
//	user 20 learner20  course 8 only: a course view, a forum view 300 s later
const (
	T0  = 1700000000 // 2023-11-14T22:13:20Z
	T1  = 1700100000
	T2  = 1700200000
	far = 1800000000 // the injected "now"
)

type cm struct {
	course, cmid, section int64
	typ, name, idnumber   string
}

// Module contexts → course modules.
var modules = map[int64]cm{
	701: {5, 101, 31, "page", "Reading 1", "R1"},
	702: {5, 102, 32, "quiz", "Quiz 1", "Q1"},
	703: {5, 103, 31, "learningtimecheck", "Checklist", ""},
	801: {8, 201, 81, "forum", "Forum", "F1"},
}

var courseContexts = map[int64]int64{5: 50, 8: 58}

// stream builds one user's events.
type stream struct {
	user, id int64
	events   []aggregation.Event
}

func newStream(user, firstID int64) *stream { return &stream{user: user, id: firstID} }

func (s *stream) add(ev aggregation.Event) *stream {
	ev.ID, ev.UserID, ev.Origin = s.id, s.user, "web"
	s.id++
	s.events = append(s.events, ev)
	return s
}

func (s *stream) login(t int64) *stream {
	return s.add(aggregation.Event{Time: t, ContextID: 1, ContextLevel: aggregation.ContextSystem,
		Action: "loggedin", Target: "user", EventName: `\core\event\user_loggedin`})
}

func (s *stream) logout(t int64) *stream {
	return s.add(aggregation.Event{Time: t, ContextID: 1, ContextLevel: aggregation.ContextSystem,
		Action: "loggedout", Target: "user", EventName: `\core\event\user_loggedout`})
}

func (s *stream) course(t, course int64) *stream {
	return s.add(aggregation.Event{Time: t, CourseID: course, ContextID: courseContexts[course],
		ContextLevel: aggregation.ContextCourse, ContextInstanceID: course,
		Action: "viewed", Target: "course", EventName: `\core\event\course_viewed`})
}

func (s *stream) graded(t, course int64) *stream {
	return s.add(aggregation.Event{Time: t, CourseID: course, ContextID: courseContexts[course],
		ContextLevel: aggregation.ContextCourse, ContextInstanceID: course,
		Action: "graded", Target: "user", EventName: `\core\event\user_graded`})
}

func (s *stream) module(t, ctx int64, action, target string) *stream {
	m := modules[ctx]
	return s.add(aggregation.Event{Time: t, CourseID: m.course, ContextID: ctx,
		ContextLevel: aggregation.ContextModule, ContextInstanceID: m.cmid,
		CMID: m.cmid, ModuleType: m.typ, SectionID: m.section,
		Action: action, Target: target, EventName: `\mod_` + m.typ + `\event\` + target + `_` + action})
}

func (s *stream) view(t, ctx int64) *stream { return s.module(t, ctx, "viewed", "course_module") }

func (s *stream) profile(t, course int64) *stream {
	return s.add(aggregation.Event{Time: t, CourseID: course, ContextID: 3000 + s.user,
		ContextLevel: aggregation.ContextUser, ContextInstanceID: s.user,
		Action: "viewed", Target: "user_profile", EventName: `\core\event\user_profile_viewed`})
}

// example1 is docs/time-engine.md §8.1: 2110 s in all, 60 s site, 2050 s in
// course 5.
func example1(user int64) []aggregation.Event {
	return newStream(user, 1).
		login(T0).                                    // 1  lap 60 (site)
		course(T0+60, 5).                             // 2  lap 120
		view(T0+180, 701).                            // 3  page 101, lap 600
		view(T0+780, 702).                            // 4  quiz 102, lap 300
		module(T0+1080, 702, "submitted", "attempt"). // 5  quiz 102, lap 10 (skips row 6)
		graded(T0+1085, 5).                           // 6  user_graded: stepped over
		course(T0+1090, 5).                           // 7  gap 5400 > 3600: credit 900
		view(T0+6490, 701).                           // 8  page 101, lap 120 (next day, UTC)
		logout(T0 + 6610).                            // 9  ends session B
		events
}

// example2 is docs/time-engine.md §8.2: course 5 1560 s, course 8 400 s.
func example2(user int64) []aggregation.Event {
	return newStream(user, 11).
		course(T1, 5).       // 11 lap 100
		view(T1+100, 801).   // 12 forum 201 (course 8), lap 300
		course(T1+400, 8).   // 13 lap 100
		view(T1+500, 703).   // 14 learningtimecheck: 300 s captured
		view(T1+800, 701).   // 15 page 101: 200 + 300 carried
		course(T1+1000, 5).  // 16 lap 60
		profile(T1+1060, 5). // 17 other, last event: credit 900
		events
}

// course8Only: a course view and a forum view 300 s later (credit 900):
// 1200 s in course 8.
func course8Only(user int64) []aggregation.Event {
	return newStream(user, 21).course(T2, 8).view(T2+300, 801).events
}

func ptr[T any](v T) *T { return &v }

// newDirectory is the fixture's directory: learners 7, 9 and 20, two
// "twin" accounts on hosts 1 and 2, courses 5 and 8 with their modules,
// participants and one grade.
func newDirectory() *directorytest.Directory {
	d := directorytest.New()
	for _, id := range []int64{7, 9, 20} {
		d.AddUsers(aggregation.UserInfo{ID: id, Username: fmt.Sprintf("learner%d", id), IDNumber: fmt.Sprintf("L%d", id),
			FirstName: "Learner", LastName: fmt.Sprint(id), Email: fmt.Sprintf("learner%d@example.org", id), HostID: 1})
	}
	d.AddUsers(
		aggregation.UserInfo{ID: 22, Username: "twin", FirstName: "Local", LastName: "Twin", Email: "twin@local.example", HostID: 1},
		aggregation.UserInfo{ID: 23, Username: "twin", FirstName: "Remote", LastName: "Twin", Email: "twin@remote.example", HostID: 2})
	d.AddCourses(
		aggregation.CourseInfo{ID: 5, ShortName: "C5", FullName: "Course Five", IDNumber: "c5", Category: 1},
		aggregation.CourseInfo{ID: 8, ShortName: "C8", FullName: "Course Eight", IDNumber: "c8", Category: 2})
	for _, m := range modules {
		d.AddModules(aggregation.ModuleInfo{CMID: m.cmid, CourseID: m.course, Type: m.typ, Name: m.name, IDNumber: m.idnumber, SectionID: m.section})
	}
	d.Enrol(5, 7, 9)
	d.Enrol(8, 9, 20)
	d.SetGrade(5, 7, aggregation.CourseGrade{
		Course: &aggregation.Grade{Value: ptr(80.0), Max: 100},
		Modules: []aggregation.ModuleGrade{
			{CMID: 102, Type: "quiz", Grade: aggregation.Grade{Value: ptr(7.0), Max: 10}},
			{CMID: 0, Type: "assign", Grade: aggregation.Grade{Max: 20}},
		},
	})
	return d
}

// countingReader is a LogReader and UsersLogReader over a SliceReader
// that counts scans: one-user reads (UserEvents) and batched reads
// (UsersEvents) apart.
type countingReader struct {
	aggregation.SliceReader
	mu         sync.Mutex
	userScans  int
	usersScans int
	// block makes every scan wait for the context's end.
	block bool
	// panicFor makes every scan that reads this user panic (0: none).
	panicFor int64
}

func (c *countingReader) UserEvents(ctx context.Context, userID, from, to int64, fn func(*aggregation.Event) bool) error {
	c.mu.Lock()
	c.userScans++
	c.mu.Unlock()
	if c.panicFor != 0 && userID == c.panicFor {
		panic("corrupt log row")
	}
	if c.block {
		<-ctx.Done()
		return fmt.Errorf("log scan stopped: %w", ctx.Err())
	}
	return c.SliceReader.UserEvents(ctx, userID, from, to, fn)
}

func (c *countingReader) UsersEvents(ctx context.Context, userIDs []int64, from, to int64, fn func(*aggregation.Event) bool) error {
	c.mu.Lock()
	c.usersScans++
	c.mu.Unlock()
	if c.panicFor != 0 && slices.Contains(userIDs, c.panicFor) {
		panic("corrupt log row")
	}
	if c.block {
		<-ctx.Done()
		return fmt.Errorf("log scan stopped: %w", ctx.Err())
	}
	return c.SliceReader.UsersEvents(ctx, userIDs, from, to, fn)
}

// Scans counts every log read, one-user and batched.
func (c *countingReader) Scans() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userScans + c.usersScans
}

// ScansByKind returns the one-user and the batched reads apart.
func (c *countingReader) ScansByKind() (user, users int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userScans, c.usersScans
}

// Tokens of the fixture.
var tokens = map[string]string{
	"site-token":    "site:read",
	"course5-token": "course:5:read",
	"course8-token": "course:8:read",
	"self7-token":   "user:7:self",
	"self9-token":   "user:9:self",
	// A web-service (ERP) token: nothing through GraphQL.
	"ws-token": "ws",
	// Both scopes of learner9: the self scope reads everything of them.
	"self9-and-course5": "user:9:self course:5:read",
	// A teacher of group 51 (course 5) only.
	"group51-token": "group:51:read",
}

func authenticate(ctx context.Context, token string) (aggregation.Scopes, error) {
	if s, ok := tokens[token]; ok {
		return aggregation.ParseScopes(s)
	}
	if token == "store-refused" {
		return aggregation.Scopes{}, fmt.Errorf("store: authenticate: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	}
	if token == "store-down" {
		return aggregation.Scopes{}, errors.New("token store: connection refused to 10.1.2.3")
	}
	return aggregation.Scopes{}, aggregation.Errorf(aggregation.EUnauthenticated, "unknown or revoked token")
}

// env is a handler over the fixture.
type env struct {
	t    testing.TB
	h    http.Handler
	dir  *directorytest.Directory
	logs *countingReader
	log  *bytes.Buffer
}

// envConfig is the handler's configuration and the query service's.
type envConfig struct {
	resolvers.Config
	Location *time.Location // the service's days (nil = UTC)
	Workers  int            // the service's pool (0 = its default)
	Policies *aggregation.Policies
}

func newEnv(t testing.TB, opts ...func(*envConfig)) *env {
	t.Helper()
	var evs []aggregation.Event
	evs = append(evs, example1(7)...)
	evs = append(evs, example2(9)...)
	evs = append(evs, course8Only(20)...)
	e := &env{t: t, dir: newDirectory(), logs: &countingReader{SliceReader: evs}, log: new(bytes.Buffer)}
	cfg := envConfig{Config: resolvers.Config{
		Directory: e.dir, Authenticate: authenticate,
		Now:    func() int64 { return far },
		Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: e.log}, nil)),
		// Refusals answered at once; TestRefusalDelay holds them.
		RefusalDelay: -1,
	}}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.Service = e.service(cfg.Location, cfg.Workers, cfg.Policies)
	h, err := resolvers.NewHandler(cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	return e
}

// service is a query service over the fixture's log: its panics are
// logged like the handler's.
func (e *env) service(loc *time.Location, workers int, policies *aggregation.Policies) *aggregation.Service {
	e.t.Helper()
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: e.log}, nil))
	s, err := aggregation.NewService(aggregation.ServiceConfig{
		Logs: e.logs, Location: loc, Now: func() int64 { return far }, Workers: workers, Policies: policies,
		Roster: e.dir, Grades: e.dir,
		OnPanic: func(v any, stack []byte) { logger.Error("query service: panic", "panic", v, "stack", string(stack)) },
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Keys   map[string]json.RawMessage
	Data   json.RawMessage
	Errors []gqlError
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (r *response) codes() []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

// request sends a raw HTTP request and decodes the answer.
func (e *env) request(req *http.Request) *response {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	r := &response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	if err := json.Unmarshal(r.Body, &r.Keys); err == nil {
		r.Data = r.Keys["data"]
		if raw, ok := r.Keys["errors"]; ok {
			if err := json.Unmarshal(raw, &r.Errors); err != nil {
				e.t.Fatalf("errors entry %s: %v", raw, err)
			}
		}
	}
	return r
}

// post sends a GraphQL POST with a token (none when empty) and an Accept
// header (none when empty).
func (e *env) post(token, accept, query string, vars map[string]any) *response {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		e.t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.request(req)
}

// get sends a GraphQL GET.
func (e *env) get(token, accept, query string) *response {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(query), nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.request(req)
}

// ok runs a query that must succeed without errors and decodes its data.
func (e *env) ok(token, query string, vars map[string]any, into any) {
	e.t.Helper()
	r := e.post(token, "application/json", query, vars)
	if r.Status != http.StatusOK || len(r.Errors) > 0 {
		e.t.Fatalf("query failed: status %d, body %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Data, into); err != nil {
		e.t.Fatalf("data %s: %v", r.Data, err)
	}
}

// fails runs a query that must answer 200 with exactly one error of the
// given code, and returns the answer.
func (e *env) fails(token, query string, vars map[string]any, code string) *response {
	e.t.Helper()
	r := e.post(token, "application/json", query, vars)
	if r.Status != http.StatusOK {
		e.t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if got := r.codes(); len(got) != 1 || got[0] != code {
		e.t.Fatalf("error codes %v, want [%s]: %s", got, code, r.Body)
	}
	return r
}

func withLocation(t *testing.T, name string) func(*envConfig) {
	return func(c *envConfig) {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Skipf("time zone %s: %v", name, err)
		}
		c.Location = loc
	}
}

func postRequest(query string, vars map[string]any) *http.Request {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func decode(t *testing.T, raw json.RawMessage, into any) {
	t.Helper()
	if err := json.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}

func pathString(path []any) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ".")
}

func sortStrings(s []string) []string {
	slices.Sort(s)
	return s
}

// fakeRemote is an in-memory RemoteStats over three registered peers:
// peerA answers 60 min in two courses, peerB 10 min without courses,
// peerDown fails (EUnavailable); peerSlow answers only when the context
// ends (a timeout); any other host is ENotFound. It records every call.
type fakeRemote struct {
	hosts   []aggregation.HostInfo
	answers map[string]aggregation.HostStats
	listErr error // Hosts fails with it

	mu         sync.Mutex
	hostsCalls int
	calls      []remoteCall
}

// remoteCall is one UserStats call: its arguments and how long its
// context had left when it came in (-1: no deadline).
type remoteCall struct {
	hosts    []string
	username string
	from     int64
	left     time.Duration
}

const (
	peerA    = "https://a.example"
	peerB    = "https://b.example"
	peerDown = "https://down.example"
	peerSlow = "https://slow.example"
)

func newRemote() *fakeRemote {
	return &fakeRemote{
		hosts: []aggregation.HostInfo{{WWWRoot: peerA, Name: "Site A"}, {WWWRoot: peerDown, Name: "Down"}, {WWWRoot: peerB, Name: "Site B"}},
		answers: map[string]aggregation.HostStats{
			peerA: {Host: aggregation.HostInfo{WWWRoot: peerA, Name: "Site A"}, Elapsed: 3600, Courses: []aggregation.HostCourse{
				{FullName: "Algebra", ShortName: "ALG", IDNumber: "A1", Elapsed: 2400},
				{FullName: "Biology", ShortName: "BIO", Elapsed: 1200},
			}},
			peerB: {Host: aggregation.HostInfo{WWWRoot: peerB, Name: "Site B"}, Elapsed: 600},
			peerDown: {Host: aggregation.HostInfo{WWWRoot: peerDown, Name: "Down"},
				Err: aggregation.Errorf(aggregation.EUnavailable, "%s: connect failed: connection refused", peerDown)},
		},
	}
}

func (f *fakeRemote) Hosts(ctx context.Context) ([]aggregation.HostInfo, error) {
	f.mu.Lock()
	f.hostsCalls++
	f.mu.Unlock()
	return slices.Clone(f.hosts), f.listErr
}

func (f *fakeRemote) UserStats(ctx context.Context, hosts []string, username string, from int64) []aggregation.HostStats {
	call := remoteCall{hosts: slices.Clone(hosts), username: username, from: from, left: -1}
	if d, ok := ctx.Deadline(); ok {
		call.left = time.Until(d)
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	out := make([]aggregation.HostStats, len(hosts))
	for i, h := range hosts {
		a, ok := f.answers[h]
		switch {
		case ok:
			out[i] = a
		case h == peerSlow:
			<-ctx.Done()
			out[i] = aggregation.HostStats{Host: aggregation.HostInfo{WWWRoot: h},
				Err: aggregation.Errorf(aggregation.EUnavailable, "%s did not answer before the deadline", h)}
		default:
			out[i] = aggregation.HostStats{Host: aggregation.HostInfo{WWWRoot: h},
				Err: aggregation.Errorf(aggregation.ENotFound, "%s is not a registered host", h)}
		}
	}
	return out
}

// Calls returns the UserStats calls so far and the number of Hosts calls.
func (f *fakeRemote) Calls() ([]remoteCall, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls), f.hostsCalls
}

// withRemote configures the handler with a remote (nil: MNET off).
func withRemote(rm aggregation.RemoteStats) func(*envConfig) {
	return func(c *envConfig) { c.Remote = rm }
}
