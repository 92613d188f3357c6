// Package web holds the dashboard and the offline GraphiQL page: sources in
// web/src, built by Vite into web/dist and embedded here, so the server
// needs no Node at run time.
//
// Rebuild after editing web/src (and commit web/dist):
//
//	npm ci --prefix web && npm run build --prefix web   # or: go generate ./web
//
// web/check-build.sh fails when the committed dist/ is not the build of the
// sources. Files under dist/assets/ carry a content hash in their names.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Dist returns the built assets rooted at dist/: index.html (the
// dashboard), graphiql.html, favicon.svg and assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}
