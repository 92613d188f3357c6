package webservice

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/internal/directorytest"
)

// Fixture times.
const (
	t0  = int64(1767225600) // 2026-01-01 00:00 UTC
	now = t0 + 86400
)

// newDirectory is the fixture's directory: an admin, four users (carol
// and dave share an email), six courses (two share a shortname), the
// participants of courses 2 and 3 and two scores in course 2.
func newDirectory() *directorytest.Directory {
	d := directorytest.New()
	d.AddUsers(
		aggregation.UserInfo{ID: 2, Username: "admin", FirstName: "Admin", LastName: "User", Email: "admin@example.org", HostID: 1},
		aggregation.UserInfo{ID: 3, Username: "alice", IDNumber: "A-001", FirstName: "Alice", LastName: "Élan", Email: "alice@example.org", HostID: 1},
		aggregation.UserInfo{ID: 4, Username: "bob", IDNumber: "B/002", FirstName: "Bob", LastName: "<Brown> & \"Co\"", Email: "bob@example.org", HostID: 1},
		aggregation.UserInfo{ID: 5, Username: "carol", IDNumber: "", FirstName: "Carol", LastName: "Idle", Email: "shared@example.org", HostID: 1},
		aggregation.UserInfo{ID: 6, Username: "dave", IDNumber: "D-004", FirstName: "Dave", LastName: "Outsider", Email: "shared@example.org", HostID: 1},
	)
	d.AddCourses(
		aggregation.CourseInfo{ID: 1, ShortName: "site", FullName: "Front page"},
		aggregation.CourseInfo{ID: 2, ShortName: "MATH101", FullName: "Mathematics & Logic", IDNumber: "M101"},
		aggregation.CourseInfo{ID: 3, ShortName: "HIST", FullName: "Histoire de l'art", IDNumber: "H1"},
		aggregation.CourseInfo{ID: 4, ShortName: "SECRET", FullName: "Hidden course", IDNumber: "S1"}, // nobody takes part
		aggregation.CourseInfo{ID: 5, ShortName: "DUP", FullName: "Twin A"},
		aggregation.CourseInfo{ID: 6, ShortName: "DUP", FullName: "Twin B"},
	)
	d.Enrol(2, 3, 4, 5)
	d.Enrol(3, 3)
	d.SetGrade(2, 3, directorytest.Scored(85))
	d.SetGrade(2, 4, directorytest.Scored(42.5))
	return d
}

// ev builds a log row.
func ev(id, t, user, course int64, level int32, cmid int64, action string) aggregation.Event {
	e := aggregation.Event{ID: id, Time: t, UserID: user, CourseID: course, ContextLevel: level,
		Action: action, Target: "course", Origin: "web", CRUD: 'r'}
	if cmid != 0 {
		e.CMID, e.ContextInstanceID, e.ModuleType, e.SectionID, e.Target = cmid, cmid, "page", 20, "course_module"
	}
	return e
}

func newLogs() aggregation.SliceReader {
	h := int64(3600)
	return aggregation.SliceReader{
		// alice: login, course 2 page, an activity, her profile inside
		// course 2, course 3, the front page, a long gap, a second session.
		ev(1, t0+8*h, 3, 0, aggregation.ContextSystem, 0, "loggedin"),
		ev(2, t0+8*h+60, 3, 2, aggregation.ContextCourse, 0, "viewed"),
		ev(3, t0+8*h+300, 3, 2, aggregation.ContextModule, 10, "viewed"),
		ev(4, t0+8*h+900, 3, 2, aggregation.ContextUser, 0, "viewed"),
		ev(5, t0+8*h+1000, 3, 3, aggregation.ContextCourse, 0, "viewed"),
		ev(6, t0+8*h+1600, 3, 1, aggregation.ContextCourse, 0, "viewed"),
		ev(12, t0+8*h+1700, 3, 1, aggregation.ContextModule, 12, "viewed"), // a front-page activity
		ev(7, t0+14*h, 3, 0, aggregation.ContextSystem, 0, "loggedin"),
		ev(8, t0+14*h+120, 3, 2, aggregation.ContextModule, 11, "viewed"),
		// alice's third session stays in course 3.
		ev(13, t0+18*h, 3, 0, aggregation.ContextSystem, 0, "loggedin"),
		ev(14, t0+18*h+200, 3, 3, aggregation.ContextCourse, 0, "viewed"),
		// bob: one short session in course 2.
		ev(9, t0+10*h, 4, 0, aggregation.ContextSystem, 0, "loggedin"),
		ev(10, t0+10*h+30, 4, 2, aggregation.ContextCourse, 0, "viewed"),
		ev(11, t0+10*h+90, 4, 2, aggregation.ContextModule, 10, "viewed"),
	}
}

// tokens of the fake Authenticate.
func authenticate(_ context.Context, token, ip string) (Principal, error) {
	must := func(s string) aggregation.Scopes {
		ss, err := aggregation.ParseScopes(s)
		if err != nil {
			panic(err)
		}
		return ss
	}
	switch token {
	case "sitetoken":
		return Principal{UserID: 2, Scopes: must("site:read")}, nil
	case "wstoken":
		return Principal{Scopes: must("ws")}, nil
	case "noexporttoken": // a Moodle token whose user lacks block/use_stats:export
		return Principal{UserID: 3}, nil
	case "suspendedtoken":
		return Principal{}, &Exception{Class: "webservice_access_exception", ErrorCode: "accessexception",
			Message: "Access control exception", DebugInfo: "Refused web service access for suspended username: dave"}
	case "alicetoken":
		return Principal{UserID: 3, Scopes: must("user:3:self")}, nil
	case "coursetoken":
		return Principal{UserID: 2, Scopes: must("course:2:read")}, nil
	case "grouptoken": // a teacher of one group: nothing through the web services
		return Principal{UserID: 2, Scopes: must("group:5:read")}, nil
	case "contexttoken": // a Moodle token bound to a course context
		return Principal{UserID: 2, Scopes: must("ws"), RestrictedContext: true}, nil
	case "lostusertoken": // a token store whose token user cannot be found
		return Principal{}, aggregation.Errorf(aggregation.ENotFound, "token user 99 not found")
	case "infotoken":
		return Principal{UserID: 2, Scopes: must("site:read"), Functions: []string{FuncSiteInfo}}, nil
	case "expiredtoken":
		return Principal{}, aggregation.Errorf(aggregation.EForbidden, "Invalid token - token expired - check validuntil time for the token")
	case "iptoken":
		if ip != "10.0.0.1" {
			return Principal{}, aggregation.Errorf(aggregation.EForbidden, "Invalid service - IP:%s is not supported", ip)
		}
		return Principal{UserID: 2, Scopes: must("site:read")}, nil
	case "brokentoken":
		return Principal{}, errors.New("token store: password=hunter2 rejected")
	case "downtoken":
		return Principal{}, aggregation.Errorf(aggregation.EUnavailable, "token store unreachable")
	}
	return Principal{}, aggregation.Errorf(aggregation.EUnauthenticated, "unknown token")
}

// testConfig is a Handler's configuration and its query service's.
type testConfig struct {
	Config
	Logs    aggregation.LogReader // the service's log
	Workers int                   // the service's pool (0 = its default)
}

// newService builds the query service of a test handler; its panics are
// logged, with their stack, to logger.
func newService(t testing.TB, logs aggregation.LogReader, workers int, logger *slog.Logger) *aggregation.Service {
	t.Helper()
	s, err := aggregation.NewService(aggregation.ServiceConfig{
		Logs: logs, Now: func() int64 { return now }, Workers: workers,
		OnPanic: func(v any, stack []byte) {
			logger.Error("query service: panic", "panic", v, "stack", string(stack))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestHandler(t testing.TB, mod ...func(*testConfig)) *Handler {
	t.Helper()
	cfg := testConfig{Config: Config{
		Authenticate: authenticate,
		Directory:    newDirectory(),
		Now:          func() int64 { return now },
		SiteInfo: SiteInfo{SiteName: "Usestats test site", SiteURL: "https://moodle.example.org",
			Release: "4.5 (Build: 20241007)", Version: "2024100700"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, Logs: newLogs()}
	for _, m := range mod {
		m(&cfg)
	}
	cfg.Service = newService(t, cfg.Logs, cfg.Workers, cfg.Logger)
	h, err := New(cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
