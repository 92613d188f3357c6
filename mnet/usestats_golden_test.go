package mnet

import (
	goflag "flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/internal/directorytest"
)

var updateGolden = goflag.Bool("update", false, "rewrite the golden answers in testdata/getstats")

// checkGolden compares a get_stats message with testdata/getstats/name,
// or rewrites the file with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "getstats", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./mnet -run Golden -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// The exact get_stats messages at scopes 1–3 in both layouts (the default
// is the published one) are the files in testdata/getstats; each is also
// read back and checked against the engine's numbers, so a rewritten file
// must still carry the right sections and minutes.
func TestGetStatsGolden(t *testing.T) {
	u, evs := usFixture()
	res := minutes(t, evs, u)
	for _, layout := range []Layout{"", LayoutPublished, LayoutNested} {
		file := layout
		if file == "" {
			file = LayoutPublished
		}
		for scope := ScopeSite; scope <= ScopeModule; scope++ {
			t.Run(fmt.Sprintf("%s/%d", layout, scope), func(t *testing.T) {
				a := callAs(t, u, Peer{WWWRoot: usCaller, Layout: layout}, MethodGetStats, usTeacher, "alice", "", int64(scope), int64(0))
				if a.Status != 200 || len(a.Errors) != 0 {
					t.Fatalf("answer %+v", a)
				}
				checkGolden(t, fmt.Sprintf("%s-scope%d.xml", file, scope), a.Message)
				checkStatsMessage(t, a.Message, u.Directory.(*directorytest.Directory), res, scope, file)
			})
		}
	}
}

// checkStatsMessage reads msg back and checks it holds what res and dir
// say the report must: the user, the courses of 5 minutes or more (scope
// 2, and scope 3 nested), and the modules (nested: those of 2 minutes or
// more inside those courses; published: every module with time, alone
// under USE_STATS).
func checkStatsMessage(t *testing.T, msg string, dir *directorytest.Directory, res *aggregation.Result, scope int, layout Layout) {
	t.Helper()
	m, err := ParseStatsMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{fmt.Sprintf("user %s|%s|%s|%d", m.Username, m.FirstName, m.LastName, m.Elapsed/60)}
	want := []string{fmt.Sprintf("user alice|Alice|O'Brien & <Sons>|%d", res.Total.Elapsed/60)}
	for _, c := range m.Courses {
		got = append(got, fmt.Sprintf("course %s|%s|%s|%d", c.FullName, c.ShortName, c.IDNumber, c.Elapsed/60))
	}
	for _, x := range m.Modules {
		got = append(got, fmt.Sprintf("module %s|%s|%s|%d in %q", x.Name, x.Type, x.IDNumber, x.Elapsed/60, x.Course))
	}
	published := layout == LayoutPublished
	var mods []string
	for _, c := range res.Courses {
		info, _ := dir.Courses(t.Context(), []int64{c.CourseID})
		long := c.Total.Elapsed >= 5*60
		if long && scope >= ScopeCourse && !(scope == ScopeModule && published) {
			ci := info[c.CourseID]
			want = append(want, fmt.Sprintf("course %s|%s|%s|%d", ci.FullName, ci.ShortName, ci.IDNumber, c.Total.Elapsed/60))
		}
		for _, x := range c.Modules {
			found, _ := dir.Modules(t.Context(), []int64{x.CMID})
			mi, ok := found[x.CMID]
			if !ok {
				mi = aggregation.ModuleInfo{Name: "N.C.", Type: "N.C."}
			}
			line := fmt.Sprintf("module %s|%s|%s|%d in ", mi.Name, mi.Type, mi.IDNumber, x.Elapsed/60)
			switch {
			case published && x.Elapsed > 0:
				mods = append(mods, line+`""`)
			case !published && long && x.Elapsed >= 2*60:
				mods = append(mods, line+fmt.Sprintf("%q", info[c.CourseID].ShortName))
			}
		}
	}
	if scope == ScopeModule {
		want = append(want, mods...)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the message reads\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseLayout(t *testing.T) {
	for in, want := range map[string]Layout{"": LayoutPublished, "published": LayoutPublished, " Nested ": LayoutNested} {
		if got, err := ParseLayout(in); got != want || err != nil {
			t.Errorf("ParseLayout(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"flat", "nested,published", "3"} {
		if _, err := ParseLayout(in); aggregation.ErrorCode(err) != aggregation.EInvalid || !strings.Contains(err.Error(), "published or nested") {
			t.Errorf("ParseLayout(%q): %v, want an EInvalid error naming the layouts", in, err)
		}
	}
}
