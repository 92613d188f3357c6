package main

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"

	"github.com/usestats/usestats/aggregation"
)

// CORS (serve --cors-origins): a frontend served from another origin may
// call GraphQL (and the exports) when its origin is on the allow-list;
// none is by default. Credentials travel in the Authorization header,
// never in cookies, so responses do not allow credentials. The web
// services and MNET are server-to-server protocols and get no CORS
// headers from it (the web services send Moodle's own
// "Access-Control-Allow-Origin: *", as Moodle's REST server does).

// corsMaxAge is how long a browser may keep a preflight's answer (s).
const corsMaxAge = 600

// parseCORSOrigins reads the comma-separated allow-list: "*" (any
// origin), or origins as a browser sends them (scheme://host[:port], no
// path), where the host may begin with "*." for every subdomain.
func parseCORSOrigins(list string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o != "*" {
			u, err := url.Parse(strings.Replace(o, "*.", "wildcard.", 1))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
				(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return nil, aggregation.Errorf(aggregation.EInvalid,
					"serve: --cors-origins: %q is not an origin (want scheme://host[:port], e.g. https://dashboard.example.org, or *)", truncate(o, 80))
			}
			o = strings.TrimSuffix(o, "/")
		}
		out = append(out, o)
	}
	return out, nil
}

// withCORS wraps h with the CORS headers of the allow-list; h unchanged
// when the list is empty. Preflights are answered here (204).
func withCORS(origins []string, h http.Handler) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Accept"},
		ExposedHeaders: []string{"Retry-After", "Content-Disposition"},
		MaxAge:         corsMaxAge,
	}).Handler(h)
}

// truncate cuts s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
