package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Optional rate limits (serve --rate-limit N): every request to GraphQL,
// the web services and MNET spends a token of its client IP's bucket and,
// when it names a credential (GraphQL's Authorization header, the web
// services' wstoken in the URL), one of that credential's bucket. Each
// bucket refills at N a second and holds 2N. A refused request gets
// Retry-After (whole seconds) in each surface's own error shape:
// GraphQL RATE_LIMITED with HTTP 429, the web services a Moodle exception
// with HTTP 200 (as Moodle answers every error), MNET an XML-RPC fault
// with HTTP 200. The client IP is the connection's peer: behind a proxy
// every client shares the proxy's bucket.

// Bounds of the limiters' memory.
const (
	// rateMaxKeys is the most buckets kept; when full, idle ones are
	// dropped first, then arbitrary ones (a dropped client starts again
	// with a full bucket).
	rateMaxKeys = 10000
	// rateIdle is how long an unused bucket is kept (long enough to refill).
	rateIdle = time.Minute
)

// rateLimits holds the buckets of IPs and credentials.
type rateLimits struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// newRateLimits returns limits of perSecond requests a second per IP and
// per credential; nil (no limit) when perSecond is 0.
func newRateLimits(perSecond int) *rateLimits {
	if perSecond <= 0 {
		return nil
	}
	return &rateLimits{limit: rate.Limit(perSecond), burst: 2 * perSecond, now: time.Now, buckets: map[string]*bucket{}}
}

// allow spends a token of each key's bucket; when one is empty it returns
// false and how long until it has a token again (nothing is spent).
func (l *rateLimits) allow(keys ...string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := make([]*bucket, len(keys))
	for i, k := range keys {
		bs[i] = l.bucket(k, now)
		if t := bs[i].lim.TokensAt(now); t < 1 {
			return false, time.Duration((1 - t) / float64(l.limit) * float64(time.Second))
		}
	}
	for _, b := range bs {
		b.lim.AllowN(now, 1)
	}
	return true, 0
}

// bucket returns the key's bucket, making room when the map is full.
func (l *rateLimits) bucket(key string, now time.Time) *bucket {
	if b, ok := l.buckets[key]; ok {
		b.seen = now
		return b
	}
	if len(l.buckets) >= rateMaxKeys || now.Sub(l.swept) > rateIdle {
		l.swept = now
		for k, b := range l.buckets {
			if now.Sub(b.seen) > rateIdle {
				delete(l.buckets, k)
			}
		}
		for k := range l.buckets {
			if len(l.buckets) < rateMaxKeys {
				break
			}
			delete(l.buckets, k)
		}
	}
	b := &bucket{lim: rate.NewLimiter(l.limit, l.burst), seen: now}
	l.buckets[key] = b
	return b
}

// surface is how one endpoint names a request's credential and refuses it.
type surface struct {
	credential func(*http.Request) string
	refuse     func(w http.ResponseWriter, r *http.Request, why refusal, message string)
}

// refusal is why a request is refused before its handler.
type refusal int

// The refusals.
const (
	refusedRate refusal = iota // over --rate-limit
	refusedBusy                // no turn under --max-inflight within the request timeout
)

// wrap limits h; with no limits it returns h.
func (l *rateLimits) wrap(h http.Handler, s surface) http.Handler {
	if l == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys := []string{"ip " + clientIP(r)}
		if c := s.credential(r); c != "" {
			sum := sha256.Sum256([]byte(c))
			keys = append(keys, fmt.Sprintf("credential %x", sum[:16]))
		}
		ok, wait := l.allow(keys...)
		if ok {
			h.ServeHTTP(w, r)
			return
		}
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.refuse(w, r, refusedRate, fmt.Sprintf("rate limit exceeded: retry after %d s", secs))
	})
}

// clientIP is the connection's peer address without its port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// graphQLSurface: the bearer token; RATE_LIMITED with HTTP 429, or
// UNAVAILABLE with HTTP 503 when busy.
var graphQLSurface = surface{
	credential: func(r *http.Request) string { return strings.TrimSpace(r.Header.Get("Authorization")) },
	refuse: func(w http.ResponseWriter, _ *http.Request, why refusal, message string) {
		status, code := http.StatusTooManyRequests, "RATE_LIMITED"
		if why == refusedBusy {
			status, code = http.StatusServiceUnavailable, "UNAVAILABLE"
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"errors": []any{map[string]any{"message": message, "extensions": map[string]any{"code": code}}},
		})
	},
}

// wsSurface: the wstoken of the URL (a token sent in a POST body is
// limited by its IP only: the body is not read here); a moodle_exception
// with errorcode ratelimited (or servicebusy), HTTP 200, in the format
// asked (moodlewsrestformat in the URL: json, else Moodle's default XML).
var wsSurface = surface{
	credential: func(r *http.Request) string { return r.URL.Query().Get("wstoken") },
	refuse: func(w http.ResponseWriter, r *http.Request, why refusal, message string) {
		code := "ratelimited"
		if why == refusedBusy {
			code = "servicebusy"
		}
		if r.URL.Query().Get("moodlewsrestformat") == "json" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(map[string]any{"exception": "moodle_exception", "errorcode": code, "message": message})
			return
		}
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<EXCEPTION class=\"moodle_exception\">\n<ERRORCODE>%s</ERRORCODE>\n<MESSAGE>%s</MESSAGE>\n</EXCEPTION>\n",
			code, html.EscapeString(message))
	},
}

// mnetSurface: no credential (peers are limited by IP); an unsigned
// XML-RPC fault 7000 (MNET's fall-through code), HTTP 200.
var mnetSurface = surface{
	credential: func(*http.Request) string { return "" },
	refuse: func(w http.ResponseWriter, _ *http.Request, _ refusal, message string) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<methodResponse><fault><value><struct>"+
			"<member><name>faultCode</name><value><int>7000</int></value></member>"+
			"<member><name>faultString</name><value><string>%s</string></value></member>"+
			"</struct></value></fault></methodResponse>\n", html.EscapeString(message))
	},
}
