package webservice

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
)

// Reserved request variables (removed before function parameters are
// validated).
const (
	paramToken    = "wstoken"
	paramFunction = "wsfunction"
	paramFormat   = "moodlewsrestformat"
)

// settingParams are the moodlewssetting* variables Moodle consumes.
var settingParams = [...]string{
	"moodlewssettingraw", "moodlewssettingfileurl", "moodlewssettingfilter",
	"moodlewssettinglang", "moodlewssettingtimezone",
}

// restRequest is a parsed REST call.
type restRequest struct {
	format   string
	token    string
	function string
	params   *parray // function parameters only
}

// readRequest builds $_GET and $_POST (urlencoded or multipart bodies of
// a POST), merges them at the top level with POST winning, and takes the
// reserved variables out. The format is known even when parsing fails, so
// the error can be written in it.
func (h *Handler) readRequest(r *http.Request) (*restRequest, *Exception) {
	lim := h.cfg.Limits
	count := 0
	get := newVarParser(lim, &count)
	req := &restRequest{format: formatXML}
	getFormat, err := get.parseURLEncoded(r.URL.RawQuery)
	req.format = restFormat(getFormat, req.format)
	if err != nil {
		return req, requestError(err)
	}
	post := newVarParser(lim, &count)
	if r.Method == http.MethodPost && r.Body != nil {
		postFormat, err := h.readBody(r, post)
		req.format = restFormat(postFormat, req.format)
		if err != nil {
			return req, requestError(err)
		}
	}
	merged := get.root
	for _, k := range post.root.keys {
		merged.set(k, post.root.get(k))
	}
	// The format as Moodle reads it: optional_param, POST first.
	req.format = formatXML
	if n := merged.get(paramFormat); n != nil && n.arr == nil {
		req.format = restFormat(n.str, formatXML)
	}
	if n := merged.get(paramToken); n != nil && n.arr == nil {
		req.token = n.str
	}
	if n := merged.get(paramFunction); n != nil && n.arr == nil {
		req.function = n.str
	}
	for _, k := range append([]string{paramFormat, paramToken, paramFunction}, settingParams[:]...) {
		merged.remove(k)
	}
	req.params = merged
	return req, nil
}

// restFormat reads a moodlewsrestformat value as Moodle's REST server
// does: exactly "json" or "xml" selects that format, anything else XML.
// An empty value keeps def.
func restFormat(v, def string) string {
	switch v {
	case formatJSON, formatXML:
		return v
	case "":
		return def
	}
	return formatXML
}

// requestError turns a parse failure into invalid_parameter_exception.
func requestError(err error) *Exception {
	var le *limitError
	if errors.As(err, &le) {
		return &Exception{Class: "invalid_parameter_exception", ErrorCode: "invalidparameter",
			Message: msgInvalidParameter, DebugInfo: "Request rejected: " + le.msg, cause: err}
	}
	return &Exception{Class: "invalid_parameter_exception", ErrorCode: "invalidparameter",
		Message: msgInvalidParameter, DebugInfo: "Malformed request body: " + echo(err.Error()), cause: err}
}

// readBody parses a POST body of the two types PHP turns into $_POST;
// other bodies are ignored, as PHP does. A body over Limits.MaxBodyBytes
// is refused as too large, whatever the parser was doing when the limit
// cut it; the part read still gives the answer's format.
func (h *Handler) readBody(r *http.Request, p *varParser) (string, error) {
	mt, mp, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return "", nil
	}
	max := h.cfg.Limits.MaxBodyBytes
	tooLarge := &limitError{fmt.Sprintf("The request body is larger than %d bytes.", max)}
	if mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data" {
		return "", nil
	}
	body := &cappedReader{r: r.Body, left: max}
	switch mt {
	case "application/x-www-form-urlencoded":
		data, err := io.ReadAll(body)
		if body.over {
			format, _ := p.parseURLEncoded(string(data))
			return format, tooLarge
		}
		if err != nil {
			return "", fmt.Errorf("reading the body: %w", err)
		}
		return p.parseURLEncoded(string(data))
	default:
		boundary := mp["boundary"]
		if boundary == "" {
			return "", errors.New("multipart body without boundary")
		}
		format, err := readMultipart(multipart.NewReader(body, boundary), p)
		if body.over {
			return format, tooLarge
		}
		return format, err
	}
}

// cappedReader reads at most left bytes of r and records whether r had
// more (over), so a parser cut short by the limit is told apart from a
// malformed body.
type cappedReader struct {
	r    io.Reader
	left int64
	over bool
}

func (c *cappedReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = true
			return 0, errBodyTooLarge
		}
		if err == nil {
			return 0, nil
		}
		return 0, err
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}

// errBodyTooLarge stops a parser at the body limit (readBody answers the
// limitError).
var errBodyTooLarge = errors.New("request body too large")

// readMultipart registers the fields of a multipart body; file parts (those
// with a file name) go to $_FILES in PHP and are skipped.
func readMultipart(mr *multipart.Reader, p *varParser) (format string, err error) {
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return format, nil
		}
		if err != nil {
			return format, fmt.Errorf("multipart: %w", err)
		}
		name := part.FormName()
		data, err := io.ReadAll(part)
		if err != nil {
			return format, fmt.Errorf("multipart: %w", err)
		}
		if name == "" || part.FileName() != "" {
			continue
		}
		if name == paramFormat {
			format = string(data)
		}
		if err := p.register(name, string(data)); err != nil {
			return format, err
		}
	}
}
