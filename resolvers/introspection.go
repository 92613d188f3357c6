package resolvers

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/formatter"
)

// introspectionCache keeps the answers of introspection-only operations:
// the schema never changes while the process runs, so each distinct
// document (printed without its comments, so a unique comment does not
// make a new one), operation name and variables is computed once. It is
// open to anonymous callers, which makes it the cheapest thing to ask
// for again and again; answers with errors are not kept.
type introspectionCache struct {
	mu sync.Mutex
	m  map[string]*graphql.Response
}

// introspectionCacheSize bounds the answers kept; past it the cache
// starts over.
const introspectionCacheSize = 64

// answer serves the operation from the cache, or runs it and keeps its
// answer.
func (c *introspectionCache) answer(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	key, ok := introspectionKey(graphql.GetOperationContext(ctx))
	if !ok {
		return next(ctx)
	}
	c.mu.Lock()
	kept := c.m[key]
	c.mu.Unlock()
	if kept != nil {
		r := *kept
		return graphql.OneShot(&r)
	}
	resp := next(ctx)(ctx)
	if resp == nil || len(resp.Errors) > 0 {
		return graphql.OneShot(resp)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= introspectionCacheSize {
		c.m = map[string]*graphql.Response{}
	}
	c.m[key] = resp
	c.mu.Unlock()
	r := *resp
	return graphql.OneShot(&r)
}

// introspectionKey is the operation's document without comments, its
// name and its variables.
func introspectionKey(op *graphql.OperationContext) (string, bool) {
	if op == nil || op.Doc == nil {
		return "", false
	}
	vars, err := json.Marshal(op.Variables)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	formatter.NewFormatter(&b).FormatQueryDocument(op.Doc)
	b.WriteString("\x00")
	b.WriteString(op.OperationName)
	b.WriteString("\x00")
	b.Write(vars)
	return b.String(), true
}
