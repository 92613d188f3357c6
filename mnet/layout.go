package mnet

import (
	"strings"

	"github.com/usestats/usestats/aggregation"
)

// Layout is where use_stats_rpc_get_stats puts the modules at scope 3.
// Each registered peer has one; it changes nothing at scopes 1 and 2.
type Layout string

// The two scope-3 layouts.
const (
	// LayoutPublished is the layout of the product document: USER, then
	// one MODULES element directly under USE_STATS listing every module
	// the user spent time in, whatever its course. The default.
	LayoutPublished Layout = "published"
	// LayoutNested is block_use_stats' own code: USER, then COURSES with
	// a MODULES element inside each COURSE.
	LayoutNested Layout = "nested"
)

// Layouts lists the accepted layout names, the default first.
var Layouts = []Layout{LayoutPublished, LayoutNested}

// ParseLayout reads a layout name (case and surrounding spaces ignored);
// empty means LayoutPublished. Another name is an aggregation.EInvalid
// error.
func ParseLayout(s string) (Layout, error) {
	switch l := Layout(strings.ToLower(strings.TrimSpace(s))); l {
	case "":
		return LayoutPublished, nil
	case LayoutPublished, LayoutNested:
		return l, nil
	}
	return "", aggregation.Errorf(aggregation.EInvalid, "unknown layout %q: use published or nested", s)
}
