package webservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
)

// ServeHTTP answers one REST call. Every answer, success or error, is HTTP
// 200 with the headers Moodle sends; errors are Moodle exception documents
// in the requested format (XML by default, as Moodle).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	format := formatXML
	function, result := "unknown", OutcomeInternal
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.cfg.Logger.Error("webservice: panic", "panic", v, "stack", string(debug.Stack()))
			h.writeError(w, format, internalError(fmt.Errorf("panic: %v", v)))
			result = OutcomeInternal
		}
		if h.cfg.Observe != nil {
			h.cfg.Observe(r, function, result)
		}
	}()
	req, ex := h.readRequest(r)
	format = req.format
	if h.funcs[req.function] != nil {
		function = req.function
	}
	if ex != nil {
		result = outcome(ex)
		h.writeError(w, format, ex)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	body, ex := h.call(ctx, r, req)
	result = outcome(ex)
	if ex != nil && ctx.Err() != nil {
		ex = h.cancelled(ctx, ex)
		if result != OutcomeUnavailable {
			result = OutcomeTimeout
		}
	}
	if ex != nil {
		h.writeError(w, format, ex)
		return
	}
	writeHeaders(w, format)
	_, _ = w.Write(body)
}

// call authenticates, finds the function, checks access, validates the
// parameters and runs the function, in Moodle's order. It returns the
// complete response document.
func (h *Handler) call(ctx context.Context, r *http.Request, req *restRequest) ([]byte, *Exception) {
	authCtx, cancel := context.WithTimeout(ctx, h.cfg.AuthTimeout)
	p, err := h.cfg.Authenticate(authCtx, req.token, h.cfg.RemoteIP(r))
	cancel()
	if err != nil {
		return nil, authException(fmt.Errorf("webservice: authenticate: %w", err))
	}
	if req.function == "" {
		return nil, invalidParameter("Missing function name")
	}
	fn := h.funcs[req.function]
	if fn == nil {
		return nil, unknownFunction(req.function)
	}
	if !p.allows(fn.name) {
		return nil, functionNotAllowed(fn.name)
	}
	args, ex := validate(fn.params, &pnode{arr: req.params})
	if ex != nil {
		return nil, ex
	}
	if fn.component == "block_use_stats" {
		// The functions' own validate_context and require_capability,
		// before any lookup.
		if p.RestrictedContext {
			return nil, restrictedContext()
		}
		if p.Scopes.Len() == 0 {
			return nil, noPermission("The token grants no statistics (its user lacks " + capExport + ").")
		}
	}
	var buf bytes.Buffer
	if req.format == formatXML {
		buf.WriteString(xmlHeader + "<RESPONSE>\n")
	}
	c := &callCtx{h: h, p: p, args: args.(map[string]any), fn: fn, enc: &encoder{format: req.format, buf: &buf}}
	if err := fn.run(ctx, c); err != nil {
		ex := callException(fmt.Errorf("webservice: %s: %w", fn.name, err))
		if ex.conceal && !p.Scopes.CanExport() {
			ex = concealed(ex)
		}
		return nil, ex
	}
	if req.format == formatXML {
		buf.WriteString("</RESPONSE>\n")
	}
	return buf.Bytes(), nil
}

// cancelled replaces the exception of a call whose context ended: past
// the deadline, the caller learns the call took too long; a client that
// went away is only logged.
func (h *Handler) cancelled(ctx context.Context, ex *Exception) *Exception {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		h.cfg.Logger.Warn("webservice: call timed out", "timeout", h.cfg.Timeout.String(), "err", ex.Unwrap())
		return timedOut(h.cfg.Timeout, ex)
	}
	h.cfg.Logger.Info("webservice: client went away", "err", ex.Unwrap())
	return &Exception{Class: "moodle_exception", ErrorCode: "generalexceptionmessage",
		Message: fmt.Sprintf(msgGeneral, "the request was cancelled")}
}

// writeError logs unexpected failures and writes the exception document.
func (h *Handler) writeError(w http.ResponseWriter, format string, ex *Exception) {
	switch ex.ErrorCode {
	case "generalexceptionmessage", "dbconnectionfailed", "dmlreadexception":
		if ex.Unwrap() != nil {
			h.cfg.Logger.Error("webservice: call failed", "class", ex.Class, "err", ex.Unwrap())
		}
	}
	if len(ex.DebugInfo) > debugMax || len(ex.Message) > debugMax {
		c := *ex
		c.DebugInfo, c.Message = truncate(c.DebugInfo, debugMax), truncate(c.Message, debugMax)
		ex = &c
	}
	var buf bytes.Buffer
	writeException(&buf, format, ex, !h.cfg.HideDebugInfo)
	writeHeaders(w, format)
	_, _ = w.Write(buf.Bytes())
}

// writeHeaders sets Moodle's REST headers and status 200.
func writeHeaders(w http.ResponseWriter, format string) {
	hd := w.Header()
	if format == formatJSON {
		hd.Set("Content-Type", "application/json")
	} else {
		hd.Set("Content-Type", "application/xml; charset=utf-8")
		hd.Set("Content-Disposition", `inline; filename="response.xml"`)
	}
	hd.Set("Cache-Control", "private, must-revalidate, pre-check=0, post-check=0, max-age=0")
	hd.Set("Expires", "Thu, 01 Jan 1970 00:00:00 GMT")
	hd.Set("Pragma", "no-cache")
	hd.Set("Accept-Ranges", "none")
	hd.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
}
