package mnet

// The XML report of use_stats_rpc_get_stats (docs/protocols.md §4.5,
// escaped): scope 1 is the USER block; scope 2 adds COURSES; scope 3
// adds the modules in one of two layouts (Layout).

import (
	"context"
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/usestats/usestats/aggregation"
)

// statsMessage writes the <USE_STATS> report of res.
func (u *UseStats) statsMessage(ctx context.Context, user aggregation.UserInfo, from int64, res *aggregation.Result,
	scope int, layout Layout) (string, error) {
	var b strings.Builder
	b.WriteString("<USE_STATS>\n")
	record(&b, "USER", "USERNAME", user.Username, "FIRSTNAME", user.FirstName, "LASTNAME", user.LastName,
		"FROM", strconv.FormatInt(from, 10), "ELAPSED", wholeMinutes(res.Total.Elapsed))
	b.WriteString("\n</USER>")
	var courses []aggregation.CourseStat
	var mods []aggregation.ModuleStat
	published := scope >= ScopeModule && layout != LayoutNested
	switch {
	case published:
		mods = shownModules(res.Courses, false) // every course, even short ones
	case scope >= ScopeCourse:
		courses = shownCourses(res)
		if scope >= ScopeModule {
			mods = shownModules(courses, true)
		}
	}
	names, err := u.lookUp(ctx, courses, mods)
	if err != nil {
		return "", err
	}
	switch {
	case published:
		writeModules(&b, mods, names)
	case scope >= ScopeCourse:
		writeCourses(&b, courses, names, scope >= ScopeModule)
	}
	b.WriteString("\n</USE_STATS>")
	return b.String(), nil
}

// names are the directory entries of the courses and modules in a report.
type names struct {
	courses map[int64]aggregation.CourseInfo
	modules map[int64]aggregation.ModuleInfo
}

// lookUp reads the names of courses and mods, one directory read each.
func (u *UseStats) lookUp(ctx context.Context, courses []aggregation.CourseStat, mods []aggregation.ModuleStat) (names, error) {
	n := names{modules: map[int64]aggregation.ModuleInfo{}}
	ids := make([]int64, len(courses))
	for i, c := range courses {
		ids[i] = c.CourseID
	}
	var err error
	if len(ids) > 0 {
		if n.courses, err = u.Directory.Courses(ctx, ids); err != nil {
			return n, err
		}
	}
	if len(mods) == 0 {
		return n, nil
	}
	cmids := make([]int64, len(mods))
	for i, m := range mods {
		cmids[i] = m.CMID
	}
	n.modules, err = u.Directory.Modules(ctx, cmids)
	return n, err
}

// shownCourses are the courses of at least minCourseMinutes (the
// reference leaves shorter ones out of the report).
func shownCourses(res *aggregation.Result) []aggregation.CourseStat {
	var out []aggregation.CourseStat
	for _, c := range res.Courses {
		if c.Total.Elapsed/60 >= minCourseMinutes {
			out = append(out, c)
		}
	}
	return out
}

// shownModules are the modules of courses that a scope-3 report lists:
// nested, as the reference, those of at least minModuleMinutes; published,
// every module with time, since that layout names no course.
func shownModules(courses []aggregation.CourseStat, nested bool) []aggregation.ModuleStat {
	var out []aggregation.ModuleStat
	for _, c := range courses {
		for _, m := range c.Modules {
			if (nested && m.Elapsed/60 >= minModuleMinutes) || (!nested && m.Elapsed > 0) {
				out = append(out, m)
			}
		}
	}
	return out
}

// writeCourses writes <COURSES>, with each course's shown modules when
// withModules (the nested layout).
func writeCourses(b *strings.Builder, courses []aggregation.CourseStat, n names, withModules bool) {
	b.WriteString("<COURSES>\n")
	for _, c := range courses {
		info, ok := n.courses[c.CourseID]
		if !ok {
			info = aggregation.CourseInfo{FullName: notApplicableDisplay, ShortName: notApplicableDisplay}
		}
		record(b, "COURSE", "NAME", info.FullName, "SHORTNAME", info.ShortName, "IDNUMBER", info.IDNumber,
			"ELAPSED", wholeMinutes(c.Total.Elapsed))
		if withModules {
			writeModules(b, shownModules([]aggregation.CourseStat{c}, true), n)
		}
		b.WriteString("\n</COURSE>\n")
	}
	b.WriteString("\n</COURSES>\n")
}

// writeModules writes <MODULES> with one <MODULE> per entry of mods.
func writeModules(b *strings.Builder, mods []aggregation.ModuleStat, n names) {
	b.WriteString("<MODULES>\n")
	for _, m := range mods {
		info, ok := n.modules[m.CMID]
		if !ok {
			info = aggregation.ModuleInfo{Name: notApplicableDisplay, Type: notApplicableDisplay}
		}
		record(b, "MODULE", "NAME", info.Name, "TYPE", info.Type, "IDNUMBER", info.IDNumber, "ELAPSED", wholeMinutes(m.Elapsed))
		b.WriteString("\n</MODULE>\n")
	}
	b.WriteString("\n</MODULES>\n")
}

// wholeMinutes is seconds in whole minutes, rounded down, as the reference.
func wholeMinutes(seconds int64) string { return strconv.FormatInt(seconds/60, 10) }

// record opens <tag> and writes its fields, given as name, value pairs;
// the caller writes the closing tag.
func record(b *strings.Builder, tag string, fields ...string) {
	b.WriteString("<" + tag + ">\n")
	for i := 0; i+1 < len(fields); i += 2 {
		field(b, fields[i], fields[i+1])
	}
}

// field writes "\t<NAME>value</NAME>\n" with value XML-escaped (R8).
func field(b *strings.Builder, name, value string) {
	b.WriteString("\t<" + name + ">")
	_ = xml.EscapeText(b, []byte(value))
	b.WriteString("</" + name + ">\n")
}
