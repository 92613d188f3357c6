package resolvers

import (
	"context"
	"log/slog"
	"time"

	"github.com/usestats/usestats/aggregation"
)

// Config is what the GraphQL handler needs from its host.
type Config struct {
	// Service answers every statistic (one user, a page of participants,
	// explanations); its Location gives the calendar days of dates and
	// daily series. Required.
	Service   *aggregation.Service
	Directory aggregation.Directory
	// Authenticate turns the bearer token of a request into scopes; an
	// empty token or a bad one → *aggregation.Error EUnauthenticated.
	Authenticate func(ctx context.Context, token string) (aggregation.Scopes, error)
	Now          func() int64 // injected clock (Unix seconds; default Service.Now)
	Logger       *slog.Logger
	Timeout      time.Duration // per-request deadline reaching the database (default 10s)
	// MaxComplexity bounds an operation's cost (default 30000, about 300
	// log scans: a page of 100 participants with their module times and
	// grades costs about 15000; see limits.go); MaxDepth its
	// field nesting (default 12, introspection fields excluded).
	MaxComplexity int
	MaxDepth      int
	// Remote asks other hosts (MNET peers) for a user's time, for
	// User.stats(hosts:, allHosts:); nil when MNET is not configured
	// (asking hosts is then UNAVAILABLE).
	Remote aggregation.RemoteStats
	// RemoteTimeout is the deadline for asking all the hosts of one
	// statistic together (default 10s); the request's deadline bounds it
	// too.
	RemoteTimeout time.Duration
	// RefusalDelay holds the answer to a request without credentials
	// that a document limit or the anonymous body bound refuses
	// (default 1s; negative: answered at once), so that a client sending
	// such documents back to back waits rather than keeps the server
	// busy; see refusaldelay.go.
	RefusalDelay time.Duration
	// LoaderWait is how long a loader inside a list (participants, users)
	// collects the keys of the list's rows before it fetches them as one
	// call (default 250 µs). Lookups outside any list never wait.
	LoaderWait time.Duration
}
