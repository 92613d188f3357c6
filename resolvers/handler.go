package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/usestats/usestats/graph"
)

// Defaults of Config.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMaxComplexity = 30000
	DefaultMaxDepth      = 12
	DefaultRemoteTimeout = 10 * time.Second
)

// Request limits.
const (
	maxBodyBytes = 1 << 20 // a POST body larger than this is refused (413)
	// anonymousBodyBytes bounds the POST body of a request without an
	// Authorization header, as its query is (anonymousLimits): a larger
	// body is refused (413) from its Content-Length, before it is read or
	// decoded, which keeps what an anonymous flood costs close to what
	// accepting its connections costs.
	anonymousBodyBytes = 16 << 10
	parserTokenLimit   = 20000 // a query with more tokens is refused before parsing ends
	queryCacheSize     = 1000  // parsed and validated documents kept
)

// Media types of GraphQL-over-HTTP responses.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// NewHandler returns the GraphQL service: POST and GET /graphql (OPTIONS
// answers which methods it takes). Every other path is 404 (the web
// pages, GraphiQL included, are served beside it: cmd/usestats).
func NewHandler(cfg Config) (http.Handler, error) {
	switch {
	case cfg.Service == nil:
		return nil, errors.New("resolvers: Config.Service is required")
	case cfg.Directory == nil:
		return nil, errors.New("resolvers: Config.Directory is required")
	case cfg.Authenticate == nil:
		return nil, errors.New("resolvers: Config.Authenticate is required")
	case cfg.Timeout < 0 || cfg.MaxComplexity < 0 || cfg.MaxDepth < 0 || cfg.RemoteTimeout < 0:
		return nil, errors.New("resolvers: Timeout, MaxComplexity, MaxDepth and RemoteTimeout must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = cfg.Service.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxComplexity == 0 {
		cfg.MaxComplexity = DefaultMaxComplexity
	}
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	if cfg.RemoteTimeout == 0 {
		cfg.RemoteTimeout = DefaultRemoteTimeout
	}
	r := &Resolver{cfg: cfg, refusals: newRefusalHold(cfg.RefusalDelay)}

	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: r, Complexity: complexity()}))
	srv.AddTransport(transport.Options{AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodOptions}})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	srv.SetParserTokenLimit(parserTokenLimit)
	srv.Use(documentCheck{})
	srv.Use(extension.Introspection{})
	srv.Use(depthLimit{max: cfg.MaxDepth})
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	srv.AroundOperations(r.authenticate)
	srv.SetRecoverFunc(r.recoverPanic)
	srv.SetErrorPresenter(r.presentError)

	mux := http.NewServeMux()
	mux.Handle("/graphql", r.middleware(srv))
	return mux, nil
}

// middleware wraps gqlgen's server with what GraphQL-over-HTTP and the
// service need around it: method and Accept checks, a bounded body, the
// per-request deadline and state (clock, loaders, memo), and the response
// status and shape (see writeResponse).
func (r *Resolver) middleware(srv http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodGet, http.MethodPost:
		case http.MethodOptions:
			srv.ServeHTTP(w, req)
			return
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			writeError(w, mediaJSON, http.StatusMethodNotAllowed, "method not allowed: use GET or POST")
			return
		}
		media := negotiate(req.Header.Values("Accept"))
		if media == "" {
			writeError(w, mediaJSON, http.StatusNotAcceptable, "not acceptable: this service answers application/graphql-response+json or application/json")
			return
		}
		if req.Method == http.MethodPost {
			limit, code, tooLarge := int64(maxBodyBytes), CodeBadRequest, "request body too large"
			if strings.TrimSpace(req.Header.Get("Authorization")) == "" {
				limit, code = anonymousBodyBytes, CodeDocumentLimit
				tooLarge = fmt.Sprintf("request body too large: a request without credentials may send at most %d bytes", anonymousBodyBytes)
			}
			if req.ContentLength > limit {
				if code == CodeDocumentLimit {
					r.refusals.wait(req.Context())
				}
				writeErrorCode(w, media, http.StatusRequestEntityTooLarge, code, tooLarge)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					if code == CodeDocumentLimit {
						r.refusals.wait(req.Context())
					}
					writeErrorCode(w, media, http.StatusRequestEntityTooLarge, code, tooLarge)
					return
				}
				writeError(w, media, http.StatusBadRequest, "could not read the request body")
				return
			}
			if missingQuery(body) {
				writeError(w, media, http.StatusBadRequest, "the request has no query")
				return
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
		} else if req.URL.Query().Get("query") == "" {
			writeError(w, media, http.StatusBadRequest, "the request has no query parameter")
			return
		}
		ctx, cancel := context.WithTimeout(req.Context(), r.cfg.Timeout)
		defer cancel()
		rq := &request{
			now:      r.cfg.Now(),
			loaders:  newLoaders(r.cfg.Directory, r.cfg.Service, r.cfg.LoaderWait),
			stats:    map[statsKey]*statsEntry{},
			explains: map[explainKey]*explainEntry{},
		}
		buf := &responseBuffer{header: w.Header()}
		srv.ServeHTTP(buf, req.WithContext(withRequest(ctx, rq)))
		if answer := bytes.TrimSpace(buf.body.Bytes()); len(answer) == 0 || string(answer) == "null" {
			r.noAnswer(ctx, buf)
		}
		r.flushLog(ctx, rq)
		if rq.anonymousRefusal {
			r.refusals.wait(req.Context())
		}
		writeResponse(w, buf, rq)
	})
}

// noAnswer replaces gqlgen's answer when it has none: it writes null
// when the request's deadline passes before execution (a long
// validation, a slow credential check), which becomes a TIMEOUT error.
func (r *Resolver) noAnswer(ctx context.Context, b *responseBuffer) {
	code, msg := CodeTimeout, "the request deadline was exceeded"
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		code, msg = CodeInternal, "the request was canceled"
	case ctx.Err() == nil:
		code, msg = CodeInternal, "internal error"
		r.record(ctx, "graphql: no answer", []any{"error", "the GraphQL server wrote no answer"})
	}
	b.body.Reset()
	b.status = http.StatusOK
	_ = json.NewEncoder(&b.body).Encode(map[string]any{
		"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}

// negotiate returns the media type of the answer: the first of the Accept
// header's types this service answers (application/json for */* and
// application/*, as gqlgen does; application/json without a header), or ""
// when it answers none of them.
func negotiate(values []string) string {
	if len(values) == 0 {
		return mediaJSON
	}
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case mediaGraphQLResponse:
				return mediaGraphQLResponse
			case mediaJSON, "application/*", "*/*":
				return mediaJSON
			}
		}
	}
	return ""
}

// missingQuery reports a JSON object body without a query (absent, null
// or empty): a request that is not a well-formed GraphQL-over-HTTP request.
// Other malformed bodies are left to gqlgen's decoder.
func missingQuery(body []byte) bool {
	var params map[string]json.RawMessage
	if err := json.Unmarshal(body, &params); err != nil || params == nil {
		return false
	}
	q, ok := params["query"]
	return !ok || string(q) == "null" || string(q) == `""`
}

// responseBuffer holds gqlgen's answer so its status and body can be set
// right before anything is sent.
type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *responseBuffer) Header() http.Header { return b.header }

func (b *responseBuffer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *responseBuffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// writeResponse sends the buffered answer with the status and shape of the
// GraphQL-over-HTTP spec:
//   - a request refused before execution carries no data entry;
//   - application/json: 200 for every well-formed request, whatever its
//     request or field errors (gqlgen uses 422 for validation errors);
//     400 only for a request that is not well-formed;
//   - application/graphql-response+json: 400 for requests that fail
//     before execution (gqlgen does this), 401 when the credential is
//     missing or bad (with WWW-Authenticate), 500/503 when it cannot be
//     checked, 200 once the operation executed;
//   - under both: an answer with no data (none, or every root field null)
//     because of a TIMEOUT error is 504, because of an UNAVAILABLE one
//     503: the server, not the request, failed.
func writeResponse(w http.ResponseWriter, b *responseBuffer, rq *request) {
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if mt == "" {
		mt = mediaJSON
	}
	w.Header().Set("Content-Type", mt+"; charset=utf-8")
	refused := status != http.StatusOK
	if rq.failStatus != 0 {
		refused = true
		status = rq.failStatus
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="usestats"`)
		}
	}
	body := b.body.Bytes()
	outage := outageStatus(body)
	if mt == mediaJSON && status != http.StatusBadRequest && status != http.StatusNotAcceptable && status != http.StatusServiceUnavailable {
		status = http.StatusOK
	}
	if outage != 0 && rq.failStatus == 0 {
		status = outage
	}
	if refused {
		body = withoutData(body)
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// outageStatus is 504 for an answer that has no data because of a
// TIMEOUT error, 503 for one because of an UNAVAILABLE error, 0 otherwise.
func outageStatus(body []byte) int {
	if !bytes.Contains(body, []byte(`"`+CodeTimeout+`"`)) && !bytes.Contains(body, []byte(`"`+CodeUnavailable+`"`)) {
		return 0
	}
	var resp struct {
		Errors []struct {
			Extensions struct{ Code string } `json:"extensions"`
		} `json:"errors"`
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return 0
	}
	for _, v := range resp.Data {
		if string(v) != "null" {
			return 0
		}
	}
	status := 0
	for _, e := range resp.Errors {
		switch e.Extensions.Code {
		case CodeTimeout:
			return http.StatusGatewayTimeout
		case CodeUnavailable:
			status = http.StatusServiceUnavailable
		}
	}
	return status
}

// withoutData drops a null data entry from a response refused before
// execution (gqlgen always writes "data").
func withoutData(body []byte) []byte {
	var resp struct {
		Errors     json.RawMessage `json:"errors,omitempty"`
		Data       json.RawMessage `json:"data,omitempty"`
		Extensions json.RawMessage `json:"extensions,omitempty"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || string(resp.Data) != "null" {
		return body
	}
	resp.Data = nil
	out, err := json.Marshal(resp)
	if err != nil {
		return body
	}
	return out
}

// writeError sends a GraphQL-shaped error, without a data entry, for a
// request refused before gqlgen sees it.
func writeError(w http.ResponseWriter, media string, status int, message string) {
	writeErrorCode(w, media, status, CodeBadRequest, message)
}

// writeErrorCode is writeError with another code than BAD_REQUEST.
func writeErrorCode(w http.ResponseWriter, media string, status int, code, message string) {
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{"message": message, "extensions": map[string]any{"code": code}}},
	})
}
