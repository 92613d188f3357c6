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
	// statsCost is the price of a statistic beyond its fields: a log scan.
	statsCost = 10
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

// complexity prices the fields whose cost grows with an argument: pages
// multiply their children by the number of rows they may return, an
// explanation by a tenth of its laps; a statistic costs a log scan. Lists
// taken from a computed result (courses, modules, days …) cost their
// children once.
func complexity() graph.ComplexityRoot {
	var c graph.ComplexityRoot
	c.Query.Users = func(child int, _ *model.UserFilter, first *int, _ *string) int {
		return 1 + rows(first, defaultPage, maxPage)*child
	}
	c.Course.Participants = func(child int, first *int, _ *string, _ *model.TimeRange, _ *model.PolicyInput, _ *model.StatsScope) int {
		return 1 + rows(first, defaultPage, maxPage)*child
	}
	c.UserStats.Explain = func(child int, limit, _ *int) int {
		// Laps come from one scan and are cheap to list: a tenth each.
		return 1 + (rows(limit, defaultExplain, maxExplain)+9)/10*child
	}
	c.User.Stats = func(child int, _ *model.TimeRange, _ *model.PolicyInput, _ *model.StatsScope) int {
		return statsCost + child
	}
	return c
}

// rows is the number of rows a list argument may return, within [0, limit].
func rows(n *int, def, limit int) int {
	if n == nil {
		return def
	}
	return min(max(*n, 0), limit)
}
