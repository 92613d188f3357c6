package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/usestats/usestats/web"
)

// The web pages (package web's embedded build): the dashboard at / and
// GraphiQL at /graphiql, both talking to this origin's /graphql and
// /export/ only.
//
// Every answer carries a Content-Security-Policy that allows this origin
// only: no inline script, no request to another host. data: is allowed
// for images and fonts (GraphiQL's bundled stylesheet embeds its fonts and
// icons that way; they never leave the page) and inline styles on the
// GraphiQL page only (its editor, Monaco, adds <style> elements at run
// time). frame-ancestors comes from the configuration ('none' by default)
// so that a Moodle site can embed the pages.

// webAssetsCache is the Cache-Control of the files whose names carry a
// content hash (dist/assets/): they never change under a name.
const webAssetsCache = "public, max-age=31536000, immutable"

// webUI serves the embedded pages.
type webUI struct {
	files   fs.FS
	cspPage string // the dashboard and every other file
	cspIDE  string // the GraphiQL page
	etags   map[string]string
}

// newWebUI returns the handler of the web pages, to be mounted at "/" (and
// so answer every path no other route takes). frameAncestors is the
// CSP frame-ancestors source list: origins such as
// "https://moodle.example.org", separated by spaces or commas, or the
// keywords 'self' / 'none'; empty means 'none'. A list that could break
// out of the header (';', quotes other than the keywords', control
// characters) is an error.
func newWebUI(frameAncestors string) (http.Handler, error) {
	fa, err := parseFrameAncestors(frameAncestors)
	if err != nil {
		return nil, err
	}
	base := "default-src 'self'; script-src 'self'; connect-src 'self'; worker-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors " + fa
	u := &webUI{
		files:   web.Dist(),
		cspPage: base + "; style-src 'self'",
		cspIDE:  base + "; style-src 'self' 'unsafe-inline'",
		etags:   map[string]string{},
	}
	err = fs.WalkDir(u.files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(u.files, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		u.etags[p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := u.etags["index.html"]; !ok {
		return nil, fmt.Errorf("web UI: index.html is not in the embedded build (run: npm ci --prefix web && npm run build --prefix web)")
	}
	return u, nil
}

// parseFrameAncestors checks and normalises a frame-ancestors list.
func parseFrameAncestors(list string) (string, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(fields) == 0 {
		return "'none'", nil
	}
	for _, f := range fields {
		switch strings.ToLower(f) {
		case "'none'", "'self'":
			if f == "'none'" && len(fields) > 1 {
				return "", fmt.Errorf("frame-ancestors: 'none' cannot be combined with other sources")
			}
			continue
		}
		for _, r := range f {
			if r < 0x21 || r > 0x7e || r == ';' || r == '\'' || r == '"' {
				return "", fmt.Errorf("frame-ancestors: %q is not a source (an origin such as https://moodle.example.org, a scheme such as https:, 'self' or 'none')", f)
			}
		}
	}
	return strings.Join(fields, " "), nil
}

// contentTypes are set here rather than from the system's MIME tables,
// which differ between machines.
var contentTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ttf":   "font/ttf",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
}

func (u *webUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", u.cspPage)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	cache := "no-cache" // pages and unhashed files: revalidated (ETag)
	switch {
	case name == "graphiql" || name == "graphiql.html":
		name = "graphiql.html"
		h.Set("Content-Security-Policy", u.cspIDE)
	case name == "assets" || strings.HasPrefix(name, "assets/"):
		if _, ok := u.etags[name]; !ok {
			http.NotFound(w, r)
			return
		}
		cache = webAssetsCache
	case name == "" || name == "index.html":
		name = "index.html"
	default:
		if _, ok := u.etags[name]; !ok {
			// A file name that is not in the build is a 404; any other
			// path is a page of the single-page dashboard.
			if path.Ext(name) != "" {
				http.NotFound(w, r)
				return
			}
			name = "index.html"
		}
	}
	b, err := fs.ReadFile(u.files, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", cache)
	h.Set("ETag", u.etags[name])
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
