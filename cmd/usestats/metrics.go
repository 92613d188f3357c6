package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/store"
)

// metrics is the service's own Prometheus registry (no global state):
// request counts and latencies per path and status, database pool stats,
// Go runtime and process metrics. The pools' figures are go_sql_*
// labelled db_name="moodle" or "store": max_open_connections (the
// --moodle-max-conns bound), open, in_use and idle connections, and the
// requests that waited for a connection (wait_count_total,
// wait_duration_seconds_total) or saw one closed (max_idle_closed_total,
// max_lifetime_closed_total). Web-service and MNET calls, which answer
// HTTP 200 whatever happened, are counted by function (or method) and
// outcome: usestats_ws_calls_total and usestats_mnet_calls_total.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	wsCalls  *prometheus.CounterVec
	mnCalls  *prometheus.CounterVec
}

func newMetrics(mdb *dbconn.DB, st *store.Store) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usestats_http_requests_total", Help: "HTTP requests by path and status code.",
		}, []string{"path", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "usestats_http_request_duration_seconds", Help: "HTTP request latency by path.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"path"}),
		wsCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usestats_ws_calls_total",
			Help: "Web-service calls by function (\"unknown\" for names not served) and outcome: ok, user_error, unauthenticated, forbidden, unavailable, timeout, internal.",
		}, []string{"function", "outcome"}),
		mnCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usestats_mnet_calls_total",
			Help: "MNET XML-RPC requests by method (\"unknown\" for methods not published) and outcome: ok, refused, unavailable, internal.",
		}, []string{"method", "outcome"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.wsCalls, m.mnCalls,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(mdb.DB.DB, "moodle"),
		collectors.NewDBStatsCollector(st.SQLDB(), "store"))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// knownPaths keeps the path label's cardinality bounded.
func pathLabel(p string) string {
	switch p {
	case "/graphql", "/healthz", "/readyz", "/metrics", "/":
		return p
	}
	return "other"
}

// instrument counts and times every request, and counts the web-service
// and MNET calls their handlers report (observeCall).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		call := &callReport{}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), callReportKey{}, call)))
		path := pathLabel(r.URL.Path)
		m.requests.WithLabelValues(path, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(path).Observe(time.Since(start).Seconds())
		switch call.kind {
		case "ws":
			m.wsCalls.WithLabelValues(call.name, call.outcome).Inc()
		case "mnet":
			m.mnCalls.WithLabelValues(call.name, call.outcome).Inc()
		}
	})
}

// callReport is what a web-service or MNET handler reports of the call
// it answered, for instrument to count.
type callReport struct{ kind, name, outcome string }

type callReportKey struct{}

// observeCall returns the Observe hook of a handler of the given kind
// ("ws" or "mnet"): the handlers bound the names they report.
func observeCall(kind string) func(r *http.Request, name, outcome string) {
	return func(r *http.Request, name, outcome string) {
		if c, ok := r.Context().Value(callReportKey{}).(*callReport); ok {
			*c = callReport{kind: kind, name: name, outcome: outcome}
		}
	}
}

// logRequests writes one structured line per request.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr)
	})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
