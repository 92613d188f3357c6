package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The in-flight limit (serve --max-inflight N): at most N requests to
// GraphQL (those that carry credentials), the web services and MNET are
// answered at once; the others wait their turn, each for at most the
// request timeout, and are then refused as busy in their surface's own
// shape (GraphQL UNAVAILABLE with HTTP 503, the web services a Moodle
// exception, MNET an XML-RPC fault) with Retry-After: 1.
//
// On two cores the CPU is the limit long before N requests are answered
// at once, so a burst gains nothing from running all its requests
// together: they only hold their answers' memory side by side. Measured
// on the load suite's cold start (100 clients at once, SQLite): peak RSS
// 174–222 MB unlimited, 118–130 MB with 32, at a higher throughput.
//
// GraphQL requests without credentials are not counted: they are refused
// after bounded work (and, for hostile shapes, held by --refusal-delay),
// and must never take a legitimate client's turn. The exports, the web
// pages, /metrics and the health checks are not counted either.

// inFlight is the limit's state.
type inFlight struct {
	slots           chan struct{}
	wait            time.Duration
	running, queued atomic.Int64
	busy            atomic.Int64 // requests refused as busy, ever
}

// newInFlight returns a limit of n requests at once, each waiting at most
// wait for its turn; nil (no limit) when n is 0.
func newInFlight(n int, wait time.Duration) *inFlight {
	if n <= 0 {
		return nil
	}
	return &inFlight{slots: make(chan struct{}, n), wait: wait}
}

// wrap counts h's requests that counted says are, against the limit; with
// no limit it returns h.
func (l *inFlight) wrap(h http.Handler, s surface, counted func(*http.Request) bool) http.Handler {
	if l == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !counted(r) {
			h.ServeHTTP(w, r)
			return
		}
		select {
		case l.slots <- struct{}{}:
		default:
			if !l.queue(r) {
				if r.Context().Err() == nil {
					l.busy.Add(1)
					w.Header().Set("Retry-After", "1")
					s.refuse(w, r, refusedBusy, fmt.Sprintf("busy: %d requests are being answered; retry after 1 s", cap(l.slots)))
				}
				return
			}
		}
		l.running.Add(1)
		defer func() {
			l.running.Add(-1)
			<-l.slots
		}()
		h.ServeHTTP(w, r)
	})
}

// queue waits for a turn: false when the wait ran out or the client left.
func (l *inFlight) queue(r *http.Request) bool {
	l.queued.Add(1)
	defer l.queued.Add(-1)
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-r.Context().Done():
		return false
	}
}

// collectors returns the limit's figures for /metrics.
func (l *inFlight) collectors() []prometheus.Collector {
	if l == nil {
		return nil
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "usestats_inflight_requests",
			Help: "Requests being answered under --max-inflight."}, func() float64 { return float64(l.running.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "usestats_inflight_queued_requests",
			Help: "Requests waiting for their turn under --max-inflight."}, func() float64 { return float64(l.queued.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "usestats_inflight_busy_total",
			Help: "Requests refused as busy: their turn did not come within the request timeout."}, func() float64 { return float64(l.busy.Load()) }),
	}
}

// withCredentials counts the GraphQL requests that carry an Authorization
// header.
func withCredentials(r *http.Request) bool { return graphQLSurface.credential(r) != "" }

// every counts every request.
func every(*http.Request) bool { return true }
