// Package resolvers holds the thin GraphQL resolvers: arguments to
// aggregation queries to models, dataloaders and the error presenter.
// Built in issue 4.
package resolvers
