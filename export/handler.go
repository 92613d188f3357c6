package export

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
)

// Prefix is where the handler is mounted: every export's path starts
// with it.
const Prefix = "/export/"

// maxMessage bounds an error message sent back (bytes), as GraphQL's.
const maxMessage = 300

// NewHandler returns the HTTP handler of the exports, to mount at Prefix:
//
//	GET /export/course/{id}/participants.csv   (or .xlsx)
//	GET /export/users.csv                      (or .xlsx)
//
// with the parameters of Exporter.Parse. Every request needs
// "Authorization: Bearer <token>" (401 with WWW-Authenticate without a
// valid one). A course export needs site:read, course:<id>:read, or
// group:<g>:read of a group g of the course, which then lists only the
// members of the token's groups in it; the users export needs site:read
// (403 otherwise). An unknown course is 404 for a site:read token and
// 403 for any other, which must not learn that it does not exist. A bad
// parameter is 400 naming it. Answers are attachments
// (Content-Disposition) that are not cached; CSV rows are sent as they
// are answered. A failure once rows were sent cuts the connection, so
// that a client never takes a partial file for a whole one.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Authenticate == nil {
		return nil, errors.New("export: Config.Authenticate is required")
	}
	ex, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &handler{ex: ex}, nil
}

type handler struct{ ex *Exporter }

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind, courseID, format, err := route(r.URL.Path)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		h.fail(w, r, statusError{http.StatusMethodNotAllowed, "exports are read with GET"})
		return
	}
	scopes, err := h.authenticate(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := h.ex.Parse(kind, courseID, format, r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	timeout := h.ex.cfg.Timeout
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	rc := http.NewResponseController(w)
	// An export may outlast the server's write timeout, set for GraphQL.
	_ = rc.SetWriteDeadline(time.Now().Add(timeout + 30*time.Second))

	if err := h.authorize(ctx, scopes, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	out := &response{w: w, rc: rc, req: req}
	err = h.ex.Write(ctx, req, out)
	if err != nil && !scopes.CanReadSite() && aggregation.ErrorCode(err) == aggregation.ENotFound {
		err = forbidden(req)
	}
	if err == nil {
		if !out.committed {
			out.commit()
		}
		return
	}
	if !out.committed {
		h.fail(w, r, err)
		return
	}
	// Rows were sent: a status can no longer tell; cut the connection so
	// the file is not taken for a whole one.
	h.ex.cfg.Logger.Error("export: failed after its first rows; connection cut", "path", r.URL.Path, "err", err)
	panic(http.ErrAbortHandler)
}

// route reads the export's path.
func route(path string) (Kind, int64, Format, error) {
	notFound := statusError{http.StatusNotFound, "no such export: use " + Prefix + "course/{id}/participants.csv|xlsx or " + Prefix + "users.csv|xlsx"}
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok {
		return 0, 0, 0, notFound
	}
	file := rest
	kind := Users
	var id int64
	if c, ok := strings.CutPrefix(rest, "course/"); ok {
		idText, f, ok := strings.Cut(c, "/")
		if !ok || !strings.HasPrefix(f, "participants.") {
			return 0, 0, 0, notFound
		}
		n, err := strconv.ParseInt(idText, 10, 64)
		if err != nil || n <= 0 || strings.TrimLeft(idText, "0123456789") != "" {
			return 0, 0, 0, bad("id", "the course id in the path must be a positive integer, got %s", quote(idText))
		}
		kind, id, file = Participants, n, strings.TrimPrefix(f, "participants")
	} else if f, ok := strings.CutPrefix(rest, "users"); ok {
		file = f
	} else {
		return 0, 0, 0, notFound
	}
	var format Format
	switch file {
	case ".csv":
		format = CSV
	case ".xlsx":
		format = XLSX
	default:
		return 0, 0, 0, notFound
	}
	return kind, id, format, nil
}

// authenticate reads the bearer token, as GraphQL does.
func (h *handler) authenticate(r *http.Request) (aggregation.Scopes, error) {
	header := strings.TrimSpace(r.Header.Get("Authorization"))
	if header == "" {
		return aggregation.Scopes{}, aggregation.Errorf(aggregation.EUnauthenticated, "missing credential: send the header Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return aggregation.Scopes{}, aggregation.Errorf(aggregation.EUnauthenticated, "the Authorization header must be Bearer <token>")
	}
	return h.ex.cfg.Authenticate(r.Context(), token)
}

// authorize checks that the scopes read the export and narrows a group
// token's course export to its groups.
func (h *handler) authorize(ctx context.Context, scopes aggregation.Scopes, req *Request) error {
	if req.Kind == Users {
		if !scopes.CanReadSite() {
			return aggregation.Errorf(aggregation.EForbidden, "exporting the site's users needs the site:read scope")
		}
		return nil
	}
	if scopes.CanReadCourse(req.CourseID) {
		return nil
	}
	mine := scopes.GroupIDs()
	if len(mine) == 0 {
		return forbidden(*req)
	}
	gs, err := h.ex.cfg.Service.CourseGroups(ctx, req.CourseID)
	if err != nil {
		return err
	}
	var view []int64
	for _, g := range gs {
		if _, ok := slices.BinarySearch(mine, g.ID); ok {
			view = append(view, g.ID)
		}
	}
	if len(view) == 0 {
		return forbidden(*req)
	}
	f := &req.Participants
	if len(f.Groups) == 0 {
		f.Groups = view
		return nil
	}
	var kept []int64
	for _, g := range f.Groups {
		if slices.Contains(view, g) {
			kept = append(kept, g)
		}
	}
	f.Groups = kept
	req.empty = len(kept) == 0
	return nil
}

func forbidden(req Request) error {
	return aggregation.Errorf(aggregation.EForbidden, "exporting course %d needs site:read, course:%d:read or the read scope of one of its groups", req.CourseID, req.CourseID)
}

// statusError is a refusal with its HTTP status.
type statusError struct {
	status int
	msg    string
}

func (e statusError) Error() string { return e.msg }

// fail answers an error before any row was sent: its status and a short
// plain-text message. Failures that are not the caller's are logged and
// not detailed.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var se statusError
	switch err = dbconn.Unavailable(err); {
	case errors.As(err, &se):
		status, msg = se.status, se.msg
	case errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusGatewayTimeout, "the export ran past its deadline"
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client is gone
	default:
		switch aggregation.ErrorCode(err) {
		case aggregation.EInvalid:
			status = http.StatusBadRequest
		case aggregation.ENotFound:
			status = http.StatusNotFound
		case aggregation.EForbidden:
			status = http.StatusForbidden
		case aggregation.EUnauthenticated:
			status = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Bearer realm="usestats"`)
		case aggregation.EUnavailable:
			status = http.StatusServiceUnavailable
		}
		if status != http.StatusInternalServerError {
			msg = aggregation.ErrorMessage(err)
		}
	}
	if status >= 500 {
		h.ex.cfg.Logger.Error("export failed", "path", r.URL.Path, "status", status, "err", err)
	}
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "…"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// response sends the file: its headers and 200 go with the first bytes,
// so that a failure before them still gets its own status.
type response struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	req       Request
	committed bool
}

func (o *response) commit() {
	o.committed = true
	h := o.w.Header()
	h.Set("Content-Type", o.req.Format.ContentType())
	h.Set("Content-Disposition", `attachment; filename="`+o.req.Filename()+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	o.w.WriteHeader(http.StatusOK)
}

func (o *response) Write(p []byte) (int, error) {
	if !o.committed {
		o.commit()
	}
	return o.w.Write(p)
}

// Flush sends what was written to the client.
func (o *response) Flush() error {
	if !o.committed {
		return nil
	}
	if err := o.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
