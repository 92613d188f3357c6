package resolvers

// Resolver is the root resolver: the configuration every field resolver
// reads. Per-request state (scopes, loaders, memoized computations) travels
// in the context.
type Resolver struct {
	cfg           Config
	introspection introspectionCache
	refusals      refusalHold
}
