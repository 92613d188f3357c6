package resolvers

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Introspection answers are computed once per document, whatever its
// comments; other variables are another answer; an answer with errors is
// not kept; the cache stays bounded.
func TestIntrospectionCache(t *testing.T) {
	var c introspectionCache
	runs := 0
	fail := false
	next := func(ctx context.Context) graphql.ResponseHandler {
		runs++
		if fail {
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{gqlerror.Errorf("boom")}})
		}
		return graphql.OneShot(&graphql.Response{Data: json.RawMessage(`{"__typename":"Query"}`)})
	}
	ask := func(query string, vars map[string]any) *graphql.Response {
		t.Helper()
		doc, err := parser.ParseQuery(&ast.Source{Input: query})
		if err != nil {
			t.Fatal(err)
		}
		ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{Doc: doc, Variables: vars})
		return c.answer(ctx, next)(ctx)
	}
	for i, q := range []string{"# one\n{ __typename }", "# two, another comment\n{ __typename }", "{\n  __typename\n}"} {
		if r := ask(q, nil); string(r.Data) != `{"__typename":"Query"}` {
			t.Fatalf("ask %d: %s", i, r.Data)
		}
	}
	if runs != 1 {
		t.Errorf("%d runs for one document asked three ways, want 1", runs)
	}
	ask(`query($n: String!) { __type(name: $n) { name } }`, map[string]any{"n": "User"})
	ask(`query($n: String!) { __type(name: $n) { name } }`, map[string]any{"n": "Course"})
	if runs != 3 {
		t.Errorf("%d runs, want 3: other variables are another answer", runs)
	}
	fail = true
	ask("{ __schema { queryType { name } } }", nil)
	ask("{ __schema { queryType { name } } }", nil)
	if runs != 5 {
		t.Errorf("%d runs, want 5: answers with errors are not kept", runs)
	}
	fail = false
	for i := range 2 * introspectionCacheSize {
		ask("{ a"+string(rune('a'+i%26))+string(rune('a'+i/26))+": __typename }", nil)
	}
	if n := len(c.m); n > introspectionCacheSize {
		t.Errorf("%d answers kept, want at most %d", n, introspectionCacheSize)
	}
}
