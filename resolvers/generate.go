package resolvers

// Regenerate graph/, model/models_gen.go and the resolver stubs in this
// directory from ../schema.graphqls, with the gqlgen version pinned in go.mod
// as a Go tool (gqlgen finds ../gqlgen.yml and works from the repository
// root):
//
//	go generate ./...
//
//go:generate go tool gqlgen generate
