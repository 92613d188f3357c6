package directorytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/usestats/usestats/aggregation"
)

func fixture() *Directory {
	d := New()
	d.AddUsers(
		aggregation.UserInfo{ID: 9, Username: "twin", FirstName: "Remote", LastName: "Twin", Email: "twin@remote.example", HostID: 2},
		aggregation.UserInfo{ID: 3, Username: "alice", IDNumber: "A1", FirstName: "Alice", LastName: "Smith", Email: "Alice@Example.org", HostID: 1},
		aggregation.UserInfo{ID: 5, Username: "twin", FirstName: "Local", LastName: "Twin", Email: "twin@local.example", HostID: 1},
		aggregation.UserInfo{ID: 4, Username: "bob", FirstName: "Bob", LastName: "Jones", Email: "shared@example.org", HostID: 1},
		aggregation.UserInfo{ID: 7, Username: "carol", FirstName: "Carol", LastName: "Jones", Email: "shared@example.org", HostID: 1},
	)
	d.AddCourses(
		aggregation.CourseInfo{ID: 2, ShortName: "MATH", IDNumber: "M1"},
		aggregation.CourseInfo{ID: 5, ShortName: "DUP"},
		aggregation.CourseInfo{ID: 6, ShortName: "DUP"},
	)
	d.AddModules(aggregation.ModuleInfo{CMID: 100, CourseID: 2, Type: "page"})
	d.Enrol(2, 7, 3, 99, 4, 3) // 99 is no user
	d.SetGrade(2, 3, Scored(85))
	d.SetGrade(2, 4, Unscored())
	return d
}

func ids(us []aggregation.UserInfo) []int64 {
	out := []int64{}
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

// findCase is a key and the id it finds, or the error code it fails with.
type findCase[K any] struct {
	key  K
	id   int64
	code string
}

// checkFind runs find on every case.
func checkFind[K any](t *testing.T, name string, find func(K) (int64, error), cases []findCase[K]) {
	t.Helper()
	for _, tc := range cases {
		if id, err := find(tc.key); id != tc.id || aggregation.ErrorCode(err) != tc.code {
			t.Errorf("%s(%+v) = %d, %v; want %d, %q", name, tc.key, id, err, tc.id, tc.code)
		}
	}
}

func TestFind(t *testing.T) {
	d, ctx := fixture(), context.Background()
	checkFind(t, "FindUser", func(k aggregation.UserKey) (int64, error) {
		u, err := d.FindUser(ctx, k)
		return u.ID, err
	}, []findCase[aggregation.UserKey]{
		{aggregation.UserKey{ID: 3}, 3, ""},
		{aggregation.UserKey{Username: "alice"}, 3, ""},
		{aggregation.UserKey{IDNumber: "A1"}, 3, ""},
		{aggregation.UserKey{Email: "alice@EXAMPLE.org"}, 3, ""},
		{aggregation.UserKey{Username: "twin", Host: 2}, 9, ""},
		{aggregation.UserKey{Username: "twin"}, 0, aggregation.EInvalid},
		{aggregation.UserKey{Email: "shared@example.org"}, 0, aggregation.EInvalid},
		{aggregation.UserKey{Username: "alice", Host: 2}, 0, aggregation.ENotFound},
		{aggregation.UserKey{ID: 99}, 0, aggregation.ENotFound},
		{aggregation.UserKey{}, 0, aggregation.ENotFound},
	})
	checkFind(t, "FindCourse", func(k aggregation.CourseKey) (int64, error) {
		c, err := d.FindCourse(ctx, k)
		return c.ID, err
	}, []findCase[aggregation.CourseKey]{
		{aggregation.CourseKey{ID: 2}, 2, ""},
		{aggregation.CourseKey{ShortName: "MATH"}, 2, ""},
		{aggregation.CourseKey{IDNumber: "M1"}, 2, ""},
		{aggregation.CourseKey{ShortName: "DUP"}, 0, aggregation.EInvalid},
		{aggregation.CourseKey{ShortName: "math"}, 0, aggregation.ENotFound},
		{aggregation.CourseKey{}, 0, aggregation.ENotFound},
	})
	var e *aggregation.Error
	if _, err := d.FindCourse(ctx, aggregation.CourseKey{ShortName: "DUP"}); !errors.As(err, &e) || e.Message != "2 courses match" {
		t.Errorf("ambiguous course: %v", err)
	}
}

func TestBatches(t *testing.T) {
	d, ctx := fixture(), context.Background()
	us, _ := d.Users(ctx, []int64{4, 99, 3})
	cs, _ := d.Courses(ctx, []int64{6, 1})
	ms, _ := d.Modules(ctx, []int64{100, 101})
	got := fmt.Sprint(slices.Sorted(maps.Keys(us)), slices.Sorted(maps.Keys(cs)), slices.Sorted(maps.Keys(ms)))
	if got != "[3 4] [6] [100]" {
		t.Errorf("Users, Courses, Modules: %s", got)
	}
	gs, _ := d.Grades(ctx, 2, []int64{3, 4, 7})
	if len(gs) != 2 || *gs[3].Course.Value != 85 || gs[4].Course.Value != nil || gs[4].Course.Max != 100 {
		t.Errorf("Grades: %+v", gs)
	}
	if gs, _ := d.Grades(ctx, 5, []int64{3}); len(gs) != 0 {
		t.Errorf("Grades in another course: %+v", gs)
	}
}

func TestPages(t *testing.T) {
	d, ctx := fixture(), context.Background()
	for _, tc := range []struct {
		f     aggregation.UserFilter
		after int64
		first int
		want  string
	}{
		{aggregation.UserFilter{}, 0, 10, "[3 4 5 7 9]"},
		{aggregation.UserFilter{}, 4, 2, "[5 7]"},
		{aggregation.UserFilter{}, 0, 0, "[]"},
		{aggregation.UserFilter{Search: "JONES"}, 0, 10, "[4 7]"},
		{aggregation.UserFilter{Search: "example.org"}, 3, 10, "[4 7]"},
		{aggregation.UserFilter{Search: "twin", Host: 2}, 0, 10, "[9]"},
	} {
		us, err := d.ListUsers(ctx, tc.f, tc.after, tc.first)
		if got := fmt.Sprint(ids(us)); err != nil || got != tc.want {
			t.Errorf("ListUsers(%+v, %d, %d) = %s, %v; want %s", tc.f, tc.after, tc.first, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		course, after int64
		first         int
		want          string
	}{
		{2, 0, 10, "[3 4 7]"},
		{2, 3, 1, "[4]"},
		{2, 6, 1, "[7]"},
		{2, 7, 10, "[]"},
		{2, 0, 0, "[]"},
		{5, 0, 10, "[]"},
	} {
		us, err := d.Participants(ctx, tc.course, tc.after, tc.first)
		if got := fmt.Sprint(ids(us)); err != nil || got != tc.want {
			t.Errorf("Participants(%d, %d, %d) = %s, %v; want %s", tc.course, tc.after, tc.first, got, err, tc.want)
		}
	}
}

func TestCallsAndFaults(t *testing.T) {
	d, ctx := fixture(), context.Background()
	_, _ = d.Users(ctx, nil)
	_, _ = d.Users(ctx, nil)
	_, _ = d.Grades(ctx, 2, nil)
	if got := fmt.Sprint(d.Calls()); got != "map[Grades:1 Users:2]" {
		t.Errorf("calls %s", got)
	}
	d.ResetCalls()
	if len(d.Calls()) != 0 {
		t.Errorf("calls after reset %v", d.Calls())
	}

	// The hook sees every call's context and method, and its error wins.
	var seen []string
	hookErr, failErr := errors.New("hook"), errors.New("outage")
	d.SetBefore(func(_ context.Context, method string) error {
		seen = append(seen, method)
		if method == "Courses" {
			return hookErr
		}
		return nil
	})
	d.SetFailure(failErr)
	if _, err := d.Courses(ctx, []int64{2}); err != hookErr {
		t.Errorf("Courses: %v, want the hook's error", err)
	}
	if _, err := d.FindCourse(ctx, aggregation.CourseKey{ID: 2}); err != failErr {
		t.Errorf("FindCourse: %v, want the failure", err)
	}
	d.SetBefore(nil)
	d.SetFailure(nil)
	if _, err := d.FindCourse(ctx, aggregation.CourseKey{ID: 2}); err != nil || fmt.Sprint(seen) != "[Courses FindCourse]" {
		t.Errorf("after clearing: %v, hook saw %v", err, seen)
	}

	d.SetPanics("Modules")
	func() {
		defer func() {
			if v := recover(); !strings.Contains(fmt.Sprint(v), "directory exploded in Modules") {
				t.Errorf("Modules recovered %v", v)
			}
		}()
		_, _ = d.Modules(ctx, nil)
	}()
	d.SetPanics()
	if _, err := d.Modules(ctx, nil); err != nil {
		t.Error(err)
	}

	d.SetBlocking("FindUser")
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := d.FindUser(short, aggregation.UserKey{ID: 3}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("blocked FindUser: %v", err)
	}
	if _, err := d.Users(short, []int64{3}); err != nil {
		t.Errorf("Users does not block: %v", err)
	}

	d.SetLatency(20 * time.Millisecond)
	start := time.Now()
	_, _ = d.Users(ctx, nil)
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Errorf("latency: answered in %v", el)
	}
	if c := d.Calls(); c["Modules"] != 2 || c["FindUser"] != 1 || c["Courses"] != 1 || c["FindCourse"] != 2 {
		t.Errorf("failed, panicked and blocked calls count: %v", c)
	}
}

func TestUserReplace(t *testing.T) {
	d := fixture()
	u, ok := d.User(3)
	if !ok || u.Username != "alice" {
		t.Fatalf("User(3) = %+v, %v", u, ok)
	}
	u.HostID = 4
	d.AddUsers(u)
	if got, _ := d.User(3); got.HostID != 4 {
		t.Errorf("replaced user %+v", got)
	}
	if _, ok := d.User(99); ok {
		t.Error("User(99) exists")
	}
}
