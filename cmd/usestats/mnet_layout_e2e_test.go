package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// reportDoc is the part of `usestats report` the MNET tests compare with.
type reportDoc struct {
	Total   int64 `json:"total"`
	Courses []struct {
		ShortName, FullName, IDNumber string
		Total                         int64 `json:"total"`
		Modules                       []struct {
			Name, Type, IDNumber string
			Elapsed              int64 `json:"elapsed"`
		} `json:"modules"`
	} `json:"courses"`
}

// readReport runs the report command for user.
func readReport(t *testing.T, bin, moodleURL, user string) reportDoc {
	t.Helper()
	var rep reportDoc
	if err := json.Unmarshal([]byte(runCLI(t, bin, "report", "--moodle", moodleURL, "--user", "username:"+user)), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// phpModule and phpReport are what tools/php-interop's stats action reads
// from a get_stats answer.
type phpModule struct {
	Name, Type, IDNumber string
	Elapsed              int64
}

type phpCourse struct {
	Name, ShortName, IDNumber string
	Elapsed                   int64
	Modules                   []phpModule
}

type phpReport struct {
	Layout  string
	Courses []phpCourse
	Modules []phpModule
}

// scope3Lines lists a scope-3 report as comparable lines: its courses,
// then its modules with the shortname of the course holding them ("" in
// the published layout).
func scope3Lines(r phpReport) []string {
	var out, mods []string
	for _, c := range r.Courses {
		out = append(out, fmt.Sprintf("course %s|%s|%s|%d", c.Name, c.ShortName, c.IDNumber, c.Elapsed))
		for _, m := range c.Modules {
			mods = append(mods, fmt.Sprintf("module %s|%s|%s|%d in %q", m.Name, m.Type, m.IDNumber, m.Elapsed, c.ShortName))
		}
	}
	for _, m := range r.Modules {
		mods = append(mods, fmt.Sprintf("module %s|%s|%s|%d in \"\"", m.Name, m.Type, m.IDNumber, m.Elapsed))
	}
	return append(out, mods...)
}

// wantScope3 is what a scope-3 answer in layout must read as, from the
// report: published, every module with time, whatever its course, and no
// course; nested, the courses of 5 minutes or more, each with its modules
// of 2 minutes or more.
func wantScope3(rep reportDoc, layout string) phpReport {
	var r phpReport
	r.Layout = layout
	for _, c := range rep.Courses {
		var mods []phpModule
		for _, m := range c.Modules {
			pm := phpModule{m.Name, m.Type, m.IDNumber, m.Elapsed / 60}
			if m.Name == "" { // a deleted module
				pm.Name, pm.Type = "N.C.", "N.C."
			}
			switch {
			case layout == "published" && m.Elapsed > 0:
				r.Modules = append(r.Modules, pm)
			case layout == "nested" && m.Elapsed >= 2*60:
				mods = append(mods, pm)
			}
		}
		if layout == "nested" && c.Total >= 5*60 {
			r.Courses = append(r.Courses, phpCourse{c.FullName, c.ShortName, c.IDNumber, c.Total / 60, mods})
		}
	}
	return r
}

// checkScope3WithPHP has the PHP client read a scope-3 get_stats answer
// and compares its reading with the report in layout.
func checkScope3WithPHP(t *testing.T, php, tools string, answer any, rep reportDoc, layout string) {
	t.Helper()
	s, ok := answer.(string)
	if !ok {
		t.Fatalf("answer is %T, want the JSON string", answer)
	}
	out := phpClient(t, php, tools, "stats", s)
	var got phpReport
	b, _ := json.Marshal(out["report"])
	if err := json.Unmarshal(b, &got); err != nil || out["error"] != nil {
		t.Fatalf("php stats (%s): %v %v", layout, out, err)
	}
	want := wantScope3(rep, layout)
	if len(want.Modules)+len(want.Courses) == 0 {
		t.Fatalf("the learner has no module time: nothing to compare")
	}
	g, w := strings.Join(scope3Lines(got), "\n"), strings.Join(scope3Lines(want), "\n")
	if got.Layout != layout || g != w {
		t.Errorf("scope 3 read by PHP as %q:\n%s\nwant %q:\n%s", got.Layout, g, layout, w)
	}
	if !strings.ContainsAny(w, "<&\"") {
		t.Errorf("no name with a character to escape in the %s answer:\n%s", layout, w)
	}
}

// renameForEscaping gives the learner's busiest course and module names
// that must be escaped in an MNET answer.
func (s *mnetSite) renameForEscaping(t *testing.T, learner string, course int64) {
	t.Helper()
	s.exec(t, `UPDATE mdl_course SET fullname = fullname || ' & <Co> "1"' WHERE id = ?`, course)
	var typ string
	var instance int64
	err := s.db.QueryRowContext(context.Background(), `SELECT m.name, cm.instance FROM mdl_logstore_standard_log l
		JOIN mdl_user u ON u.id = l.userid JOIN mdl_course_modules cm ON cm.id = l.contextinstanceid
		JOIN mdl_modules m ON m.id = cm.module WHERE l.contextlevel = 70 AND u.username = ?
		GROUP BY m.name, cm.instance ORDER BY COUNT(*) DESC LIMIT 1`, learner).Scan(&typ, &instance)
	if err != nil {
		t.Fatal(err)
	}
	s.exec(t, `UPDATE mdl_`+typ+` SET name = name || ' <"&">' WHERE id = ?`, instance)
}
