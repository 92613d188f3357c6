package resolvers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// The values of extensions.code.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeUnavailable     = "UNAVAILABLE"
	// CodeTimeout marks a request that ran past its deadline (HTTP 504
	// when nothing was answered).
	CodeTimeout  = "TIMEOUT"
	CodeInternal = "INTERNAL"
	// CodeBadRequest marks a request that is not a well-formed
	// GraphQL-over-HTTP request (a body that is not JSON, a query that is
	// not a string …).
	CodeBadRequest = "BAD_REQUEST"
	// CodeComplexity and CodeDepth mark operations refused by the limits.
	CodeComplexity = "COMPLEXITY_LIMIT_EXCEEDED"
	CodeDepth      = "DEPTH_LIMIT_EXCEEDED"
)

func init() {
	// Operations refused by a limit fail before execution, like a
	// validation error: 400 under application/graphql-response+json.
	errcode.RegisterErrorType(CodeComplexity, errcode.KindProtocol)
	errcode.RegisterErrorType(CodeDepth, errcode.KindProtocol)
}

// codeOf maps a core error code to its extensions.code.
func codeOf(core string) string {
	switch core {
	case aggregation.EUnauthenticated:
		return CodeUnauthenticated
	case aggregation.EForbidden:
		return CodeForbidden
	case aggregation.ENotFound:
		return CodeNotFound
	case aggregation.EInvalid:
		return CodeBadUserInput
	case aggregation.EUnavailable:
		return CodeUnavailable
	}
	return CodeInternal
}

// maxMessage bounds an error message: longer ones (which quote an input)
// are cut, so that a large argument never comes back.
const maxMessage = 300

// presentError is the error presenter: every error leaves with a stable
// extensions.code. Core errors keep their caller-safe message, except
// internal ones and unavailable ones the resolvers did not write
// themselves (a data source's may name servers); a data source's driver
// error that says it cannot be reached or did not answer is UNAVAILABLE;
// the request's deadline is TIMEOUT; errors of the GraphQL machinery
// itself (parsing, validation, limits, protocol) keep their message;
// anything else is logged and replaced by a generic message. No message
// is longer than maxMessage.
func (r *Resolver) presentError(ctx context.Context, err error) *gqlerror.Error {
	g := r.present(ctx, err)
	g.Message = clip(g.Message, maxMessage)
	return g
}

func (r *Resolver) present(ctx context.Context, err error) *gqlerror.Error {
	var core *aggregation.Error
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &core) {
		err = dbconn.Unavailable(err)
	}
	presented := graphql.DefaultErrorPresenter(ctx, err)
	g := *presented // never mutate a shared error
	g.Extensions = maps.Clone(presented.Extensions)
	if g.Extensions == nil {
		g.Extensions = map[string]any{}
	}
	switch {
	case errors.As(err, new(*panicError)):
		g.Extensions["code"] = CodeInternal
		g.Message = "internal error"
	case errors.As(err, &core):
		code := codeOf(core.Code)
		g.Extensions["code"] = code
		g.Message = core.Message
		switch {
		case code == CodeInternal:
			r.logError(ctx, err)
			g.Message = "internal error"
		case code == CodeUnavailable && !errors.As(err, new(*ownError)):
			r.logError(ctx, err)
			g.Message = "a data source is unavailable; try again later"
		}
	case errors.Is(err, context.DeadlineExceeded):
		r.logError(ctx, err)
		g.Extensions["code"] = CodeTimeout
		g.Message = "the request deadline was exceeded"
	case errors.Is(err, context.Canceled):
		g.Extensions["code"] = CodeInternal
		g.Message = "the request was canceled"
	case g.Err == nil:
		// A message made by gqlgen or gqlparser (parsing, validation,
		// limits, the HTTP transport): safe to send.
		if _, ok := g.Extensions["code"]; !ok {
			if len(g.Path) == 0 {
				g.Extensions["code"] = CodeBadRequest
			} else {
				g.Extensions["code"] = CodeInternal
			}
		}
		// The POST transport quotes the whole body after a JSON error.
		if before, _, ok := strings.Cut(g.Message, " body:"); ok && strings.HasPrefix(g.Message, "json request body could not be decoded") {
			g.Message = before
		}
	default:
		r.logError(ctx, err)
		g.Extensions["code"] = CodeInternal
		g.Message = "internal error"
	}
	return &g
}

// clip cuts s to at most n bytes (on a character boundary), saying so.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (cut: %d bytes)", len(s))
}

// logError logs an error whose details the caller never sees.
func (r *Resolver) logError(ctx context.Context, err error) {
	attrs := []any{"error", clip(err.Error(), 4096)}
	if graphql.HasOperationContext(ctx) {
		if op := graphql.GetOperationContext(ctx); op.OperationName != "" {
			attrs = append(attrs, "operation", clip(op.OperationName, 200))
		}
	}
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		attrs = append(attrs, "path", clip(fc.Path().String(), 500))
	}
	r.record(ctx, "graphql: internal error", attrs)
}

// recoverPanic turns a resolver panic into an INTERNAL error, logging the
// panic and its stack.
func (r *Resolver) recoverPanic(ctx context.Context, p any) error {
	attrs := []any{"panic", clip(fmt.Sprint(p), 4096), "stack", string(debug.Stack())}
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		attrs = append(attrs, "path", clip(fc.Path().String(), 500))
	}
	r.record(ctx, "graphql: panic", attrs)
	return &panicError{value: fmt.Sprint(p)}
}

// record logs an error of a request: the request's first is kept and the
// others only counted, so that one request writes one line however many of
// its fields fail (see flushLog); outside a request it is logged at once.
func (r *Resolver) record(ctx context.Context, msg string, attrs []any) {
	rq, ok := ctx.Value(requestKey{}).(*request)
	if !ok {
		r.cfg.Logger.ErrorContext(ctx, msg, attrs...)
		return
	}
	rq.logMu.Lock()
	defer rq.logMu.Unlock()
	rq.logged++
	if rq.logged == 1 {
		rq.logMsg, rq.logAttrs = msg, attrs
	}
}

// flushLog writes the request's line: its first error and their count.
func (r *Resolver) flushLog(ctx context.Context, rq *request) {
	rq.logMu.Lock()
	defer rq.logMu.Unlock()
	if rq.logged == 0 {
		return
	}
	r.cfg.Logger.ErrorContext(ctx, rq.logMsg, append(rq.logAttrs, "errors", rq.logged)...)
	rq.logged = 0
}

// panicError is a recovered panic, already logged.
type panicError struct{ value string }

func (e *panicError) Error() string { return "panic: " + e.value }

// Errors the resolvers return.

func forbidden(format string, args ...any) error {
	return aggregation.Errorf(aggregation.EForbidden, format, args...)
}

func invalid(format string, args ...any) error {
	return aggregation.Errorf(aggregation.EInvalid, format, args...)
}

// unavailable is an EUnavailable error whose message the resolvers wrote
// (no server names or addresses): the presenter sends it as is.
func unavailable(format string, args ...any) error {
	return &ownError{err: aggregation.Errorf(aggregation.EUnavailable, format, args...)}
}

// ownError marks a core error written by the resolvers.
type ownError struct{ err *aggregation.Error }

func (e *ownError) Error() string { return e.err.Error() }
func (e *ownError) Unwrap() error { return e.err }
