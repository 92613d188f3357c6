// Package resolvers is the GraphQL edge of usestats: NewHandler serves the
// schema of ../schema.graphqls (POST and GET /graphql) over an
// aggregation.LogReader and an aggregation.Directory.
//
// Layout: schema.resolvers.go holds the generated resolver methods, each a
// one-line call into resolve.go (the work and the authorization checks);
// args.go reads arguments into core values (every input check,
// BAD_USER_INPUT), convert.go turns core results into models, loaders.go
// batches Directory lookups per request, request.go holds the per-request
// state (authentication, memoized computations), errors.go the error
// presenter, limits.go the depth limit and complexity prices, handler.go
// the HTTP side (GraphQL-over-HTTP status codes and media types), peers.go
// the time asked of other hosts (MNET peers) through Config.Remote.
//
// Regenerate with `go generate ./...` (see generate.go).
package resolvers
