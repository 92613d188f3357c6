package resolvers

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/usestats/usestats/graph"
	"github.com/usestats/usestats/model"
)

// Page sizes and list limits (business rules, checked by the resolvers and
// used by the complexity functions).
const (
	defaultPage    = 20
	maxPage        = 100
	defaultExplain = 100
	maxExplain     = 1000
	// maxHosts bounds the hosts argument of a statistic.
	maxHosts = 50
	// statsCost is the price of a statistic beyond its fields: a log scan,
	// worth a hundred fields so that the number of scans dominates.
	statsCost = 100
	// resultRows is the rows assumed of a list taken from a computed
	// result, whose length no argument bounds (courses, modules, days …):
	// its children are priced that many times, so that a page nested
	// under it (courses → course → participants) costs what it may run.
	resultRows = 10
)

// depthLimit refuses operations whose fields nest deeper than max before
// they execute. gqlgen has no built-in depth limit. Introspection fields
// are not counted: gqlparser bounds their depth itself and GraphiQL's
// introspection query is deep.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	depth := selectionDepth(opCtx.Operation.SelectionSet, map[string]int{})
	if depth <= d.max {
		return nil
	}
	err := gqlerror.Errorf("operation has depth %d, which exceeds the limit of %d", depth, d.max)
	errcode.Set(err, CodeDepth)
	return err
}

// selectionDepth is the deepest chain of fields in the selection set.
// Fragments are measured once (memo by name); validation has already
// refused fragment cycles.
func selectionDepth(set ast.SelectionSet, memo map[string]int) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") && s.Name != "__typename" {
				continue
			}
			d = 1 + selectionDepth(s.SelectionSet, memo)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, memo)
		case *ast.FragmentSpread:
			var ok bool
			if d, ok = memo[s.Name]; !ok {
				memo[s.Name] = 0
				if s.Definition != nil {
					d = selectionDepth(s.Definition.SelectionSet, memo)
				}
				memo[s.Name] = d
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// complexity prices the fields whose cost grows with an argument or with
// the data: pages multiply their children by the number of rows they may
// return, an explanation by a tenth of its laps, lists taken from a
// computed result by resultRows; a statistic (User.stats, Participant.stats)
// costs a log scan, and as much again when it asks other hosts (hosts,
// allHosts), whose rows are priced as maxHosts+1. With the default limit
// an operation runs about 300 scans at most: a page of 100 participants at
// MODULE scope with their modules and grades costs about 15 000.
// siteStatsCost is the complexity of one sum over the whole site or a
// cohort: a sixth of the default limit.
const siteStatsCost = 5000

func complexity() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	c.Query.Users = func(child int, _ *model.UserFilter, first *int, _ *string, orderBy *model.UserOrder, _ *model.TimeRange, _ *model.PolicyInput) int {
		if orderBy != nil && (orderBy.Field == model.UserOrderFieldTotal || orderBy.Field == model.UserOrderFieldLastAccess) {
			// Sorting by time answers every user listed.
			return siteStatsCost + rows(first, defaultPage, maxPage)*child
		}
		return 1 + rows(first, defaultPage, maxPage)*child
	}
	c.Course.Participants = func(child int, first *int, _ *string, _ *model.TimeRange, _ *model.PolicyInput, _ *model.StatsScope, _ *model.ParticipantOrder, _ *model.ParticipantFilter) int {
		return 1 + rows(first, defaultPage, maxPage)*child
	}
	c.Group.Members = func(child int, first *int, _ *string, _ *model.TimeRange, _ *model.PolicyInput, _ *model.StatsScope, _ *model.ParticipantOrder, _ *model.ParticipantFilter) int {
		return 1 + rows(first, defaultPage, maxPage)*child
	}
	c.Query.Cohorts = func(child int, _ *model.CohortFilter, _ *model.CohortOrder, first *int, _ *string) int {
		return 1 + rows(first, defaultPage, maxPage)*child
	}
	c.Cohort.Members = func(child int, first *int, _ *string) int {
		return 1 + rows(first, defaultPage, maxPage)*child
	}
	// Summing up the site or a cohort answers every user of it: at most a
	// handful in one request.
	c.Site.Stats = func(child int, _ *model.TimeRange, _ *model.PolicyInput) int { return siteStatsCost + child }
	c.Cohort.Stats = func(child int, _ *model.TimeRange, _ *model.PolicyInput) int { return siteStatsCost + child }
	c.Query.Courses = func(child int, _ *model.CourseFilter, _ *model.CourseOrder, first *int, _ *string) int {
		return 1 + rows(first, defaultPage, maxPage)*child
	}
	// An aggregate answers every participant of its course: as dear as a
	// full page of them.
	c.Course.Stats = func(child int, _ *model.TimeRange, _ *model.PolicyInput, _ *model.ParticipantFilter) int {
		return maxPage + child
	}
	c.Group.Stats = func(child int, _ *model.TimeRange, _ *model.PolicyInput, _ *model.ParticipantFilter) int {
		return maxPage + child
	}
	c.UserStats.Explain = func(child int, limit, _ *int) int {
		// Laps come from one scan and are cheap to list: a tenth each.
		return 1 + (rows(limit, defaultExplain, maxExplain)+9)/10*child
	}
	c.User.Stats = func(child int, _ *model.TimeRange, _ *model.PolicyInput, _ *model.StatsScope, hosts []string, allHosts *bool) int {
		if hosts != nil || (allHosts != nil && *allHosts) {
			// Asking the peers: one gathering, as dear as a log scan.
			return 2*statsCost + child
		}
		return statsCost + child
	}
	c.UserStats.Hosts = func(child int) int { return 1 + (maxHosts+1)*child }
	c.Participant.Stats = func(child int) int { return statsCost + child }

	// Lists from a computed result.
	c.UserStats.Courses = func(child int, _ []int64) int { return resultList(child) }
	c.UserStats.Sessions = resultList
	c.UserStats.Days = resultList
	c.CourseStat.Modules = resultList
	c.CourseStat.Sections = resultList
	c.CourseStat.Days = resultList
	c.Score.Modules = resultList
	c.HostStats.Courses = resultList
	return c
}

// resultList prices a list taken from a computed result.
func resultList(child int) int { return 1 + resultRows*child }

// rows is the number of rows a list argument may return, within [0, limit].
func rows(n *int, def, limit int) int {
	if n == nil {
		return def
	}
	return min(max(*n, 0), limit)
}
