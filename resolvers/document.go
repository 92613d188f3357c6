package resolvers

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Bounded work before authentication and validation: every document is
// parsed once under a token limit and measured (a linear walk) before
// gqlgen validates it, because validation is not linear: the rule that
// checks that fields of one response name can merge compares them in
// pairs, so a document repeating a field n times costs n² before any
// token is checked. A document over a limit is refused with
// DOCUMENT_LIMIT_EXCEEDED; a request without credentials may only
// introspect, with a small document.

// Limits of a document (see docLimits).
var (
	// tokenLimits bounds any request.
	tokenLimits = docLimits{
		tokens: parserTokenLimit, fields: 2000, repeats: 20, aliases: 100, roots: 30,
		fragments: 100, operations: 20,
	}
	// anonymousLimits bounds a request without an Authorization header:
	// an introspection document (GraphiQL's needs about 2 KB, 200 fields
	// when its fragments are expanded).
	anonymousLimits = docLimits{
		bytes: 16 << 10, tokens: 2000, fields: 500, repeats: 5, aliases: 5, roots: 5,
		fragments: 20, operations: 5, introspectionOnly: true,
	}
)

// docLimits are the most a document may have.
type docLimits struct {
	bytes  int // length of the query text (0: only the body limit)
	tokens int // lexical tokens, enforced by the parser as it reads
	// fields counts field selections with every fragment counted where it
	// is spread (what validation and execution walk).
	fields int
	// repeats is how many times one response name may be selected in one
	// selection set, counting inline fragments and spreads at that level:
	// what the pairwise merge check grows with.
	repeats    int
	aliases    int // fields with an alias
	roots      int // fields of each operation's root selection set (expanded)
	fragments  int // fragment definitions
	operations int // operations in the document
	// introspectionOnly refuses operations that select data
	// (UNAUTHENTICATED, as the operation middleware would later).
	introspectionOnly bool
}

// CodeDocumentLimit marks a document refused by a limit of its size or
// shape, before validation.
const CodeDocumentLimit = "DOCUMENT_LIMIT_EXCEEDED"

func init() {
	errcode.RegisterErrorType(CodeDocumentLimit, errcode.KindProtocol)
}

// documentCheck is the handler extension that applies the limits.
type documentCheck struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = documentCheck{}

func (documentCheck) ExtensionName() string                   { return "DocumentLimits" }
func (documentCheck) Validate(graphql.ExecutableSchema) error { return nil }

func (documentCheck) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	limits := tokenLimits
	if strings.TrimSpace(params.Headers.Get("Authorization")) == "" {
		limits = anonymousLimits
	}
	err := checkDocument(params.Query, limits)
	if err == nil {
		return nil
	}
	if rq, ok := ctx.Value(requestKey{}).(*request); ok {
		switch err.Extensions["code"] {
		case CodeUnauthenticated:
			rq.failStatus = 401
		case CodeDocumentLimit:
			rq.anonymousRefusal = limits.introspectionOnly
		}
	}
	return err
}

// limitError is a DOCUMENT_LIMIT_EXCEEDED error.
func limitError(format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, CodeDocumentLimit)
	return err
}

// checkDocument parses the query under the limits and measures it. A
// parse error is returned as gqlgen would (GRAPHQL_PARSE_FAILED), except
// the token limit's, which is a document limit.
func checkDocument(query string, l docLimits) *gqlerror.Error {
	if l.bytes > 0 && len(query) > l.bytes {
		return limitError("a request without credentials may send at most %d bytes of query (got %d)", l.bytes, len(query))
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, l.tokens)
	if err != nil {
		gerr, ok := err.(*gqlerror.Error)
		if !ok {
			gerr = gqlerror.Wrap(err)
		}
		if strings.HasPrefix(gerr.Message, "exceeded token limit") {
			return limitError("the document has more than %d tokens", l.tokens)
		}
		errcode.Set(gerr, errcode.ParseFailed)
		return gerr
	}
	if len(doc.Operations) > l.operations {
		return limitError("the document has %d operations, more than the limit of %d", len(doc.Operations), l.operations)
	}
	if len(doc.Fragments) > l.fragments {
		return limitError("the document has %d fragments, more than the limit of %d", len(doc.Fragments), l.fragments)
	}
	m := measure{doc: doc, limits: l, sizes: map[string]int{}}
	for _, op := range doc.Operations {
		if l.introspectionOnly && !introspectionOnly(doc, op.SelectionSet) {
			err := gqlerror.Errorf("missing credential: send the header Authorization: Bearer <token> (only introspection is open)")
			errcode.Set(err, CodeUnauthenticated)
			return err
		}
		roots := m.collect(op.SelectionSet, map[string]bool{}, nil)
		if roots > l.roots {
			return limitError("an operation selects %d root fields, more than the limit of %d", roots, l.roots)
		}
		if err := m.walk(op.SelectionSet, 0); err != nil {
			return err
		}
	}
	for _, f := range doc.Fragments {
		if err := m.walk(f.SelectionSet, 0); err != nil {
			return err
		}
	}
	return nil
}

// introspectionOnly reports whether every root field the selection set
// selects (through the document's fragments) is an introspection field:
// __schema, __type or __typename.
func introspectionOnly(doc *ast.QueryDocument, set ast.SelectionSet) bool {
	return (&measure{doc: doc}).openOnly(set, map[string]bool{})
}

// openOnly is introspectionOnly, each fragment looked at once.
func (m *measure) openOnly(set ast.SelectionSet, seen map[string]bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !strings.HasPrefix(s.Name, "__") {
				return false
			}
		case *ast.InlineFragment:
			if !m.openOnly(s.SelectionSet, seen) {
				return false
			}
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			f := m.doc.Fragments.ForName(s.Name)
			if f == nil || !m.openOnly(f.SelectionSet, seen) {
				return false
			}
		}
	}
	return true
}

// measure walks a document once, counting what the limits bound.
type measure struct {
	doc     *ast.QueryDocument
	limits  docLimits
	fields  int // so far, fragments counted at each spread
	aliases int
	sizes   map[string]int // expanded field count of each fragment (memo)
}

// walk counts the fields and aliases under set and checks each selection
// set's repeats. Fragments are walked where defined and priced where
// spread (by their memoized size).
func (m *measure) walk(set ast.SelectionSet, depth int) *gqlerror.Error {
	if depth > 200 { // the parser refuses deeper nesting; be safe
		return limitError("the document nests too deep")
	}
	counts := map[string]int{}
	m.collect(set, map[string]bool{}, counts)
	for name, n := range counts {
		if n > m.limits.repeats {
			return limitError("the field %q is selected %d times in one selection set, more than the limit of %d", clip(name, 64), n, m.limits.repeats)
		}
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			m.fields++
			if s.Alias != "" && s.Alias != s.Name {
				m.aliases++
				if m.aliases > m.limits.aliases {
					return limitError("the document has more than %d aliases", m.limits.aliases)
				}
			}
			if err := m.walk(s.SelectionSet, depth+1); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := m.walk(s.SelectionSet, depth+1); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			m.fields += m.size(s.Name, map[string]bool{})
		}
		if m.fields > m.limits.fields {
			return limitError("the document selects more than %d fields (fragments counted where spread)", m.limits.fields)
		}
	}
	return nil
}

// collect counts the fields selected at the level of set, through inline
// fragments and spreads (each fragment once per level), adding each
// response name to counts when it is not nil; it returns their number.
func (m *measure) collect(set ast.SelectionSet, seen map[string]bool, counts map[string]int) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n++
			if counts != nil {
				name := s.Alias
				if name == "" {
					name = s.Name
				}
				counts[name]++
			}
		case *ast.InlineFragment:
			n += m.collect(s.SelectionSet, seen, counts)
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if f := m.doc.Fragments.ForName(s.Name); f != nil {
				n += m.collect(f.SelectionSet, seen, counts)
			}
		}
		if n > m.limits.fields {
			break
		}
	}
	return n
}

// size is the number of fields a fragment selects with its own spreads
// expanded, saturating above the field limit (a cycle, which validation
// refuses later, counts as the limit).
func (m *measure) size(name string, onPath map[string]bool) int {
	if n, ok := m.sizes[name]; ok {
		return n
	}
	if onPath[name] {
		return m.limits.fields + 1
	}
	f := m.doc.Fragments.ForName(name)
	if f == nil {
		return 0
	}
	onPath[name] = true
	n := m.setSize(f.SelectionSet, onPath)
	delete(onPath, name)
	m.sizes[name] = n
	return n
}

func (m *measure) setSize(set ast.SelectionSet, onPath map[string]bool) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n += 1 + m.setSize(s.SelectionSet, onPath)
		case *ast.InlineFragment:
			n += m.setSize(s.SelectionSet, onPath)
		case *ast.FragmentSpread:
			n += m.size(s.Name, onPath)
		}
		if n > m.limits.fields {
			return m.limits.fields + 1
		}
	}
	return n
}
