package resolvers

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/model"
)

// request is the state of one HTTP request: its clock, its loaders, its
// memoized computations and, once the operation is authenticated, its
// scopes. The HTTP middleware creates it; the operation middleware fills
// the scopes; every resolver reads it from the context.
type request struct {
	now     int64
	loaders *loaders

	mu       sync.Mutex
	stats    map[statsKey]*statsEntry
	explains map[explainKey]*explainEntry

	// Set by the operation middleware before any resolver runs.
	scopes aggregation.Scopes
	// failStatus is the HTTP status of an operation refused before
	// execution (401 for a missing or bad credential), 0 otherwise.
	failStatus int
	// anonymousRefusal marks a request without credentials refused by a
	// document limit: its answer is held (refusaldelay.go).
	anonymousRefusal bool

	// The request's logged errors: the first and a count (see record).
	logMu    sync.Mutex
	logged   int
	logMsg   string
	logAttrs []any
}

type requestKey struct{}

func withRequest(ctx context.Context, rq *request) context.Context {
	return context.WithValue(ctx, requestKey{}, rq)
}

// requestOf returns the request state. Every resolver runs under the HTTP
// middleware, so a missing state is a wiring bug.
func requestOf(ctx context.Context) *request {
	rq, _ := ctx.Value(requestKey{}).(*request)
	if rq == nil {
		panic("resolvers: no request state in the context (handler not built with NewHandler)")
	}
	return rq
}

// scopesOf returns the scopes of the request's credential.
func scopesOf(ctx context.Context) aggregation.Scopes { return requestOf(ctx).scopes }

// authenticate is the operation middleware: it turns the bearer token into
// scopes before anything executes. An operation that selects only
// introspection fields needs no token (the schema is not data; GraphiQL
// loads it before a token is pasted); every other operation needs a valid
// one, or it is refused whole with UNAUTHENTICATED.
func (r *Resolver) authenticate(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	rq := requestOf(ctx)
	opCtx := graphql.GetOperationContext(ctx)
	if introspectionOnly(opCtx.Doc, opCtx.Operation.SelectionSet) {
		return r.introspection.answer(ctx, next)
	}
	token, err := bearerToken(opCtx.Headers.Get("Authorization"))
	if err == nil {
		rq.scopes, err = r.cfg.Authenticate(ctx, token)
	}
	if err != nil {
		err = dbconn.Unavailable(err)
		switch aggregation.ErrorCode(err) {
		case aggregation.EUnauthenticated:
			rq.failStatus = 401
		case aggregation.EUnavailable:
			rq.failStatus = 503
		default:
			rq.failStatus = 500
		}
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{r.presentError(ctx, err)}})
	}
	return next(ctx)
}

// bearerToken reads "Bearer <token>" (the scheme is case-insensitive).
func bearerToken(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", aggregation.Errorf(aggregation.EUnauthenticated, "missing credential: send the header Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", aggregation.Errorf(aggregation.EUnauthenticated, "the Authorization header must be Bearer <token>")
	}
	return token, nil
}

// statsKey names one computation of a request: a user, a window and a
// policy (by name and version, which fix its rules).
type statsKey struct {
	user, from, to  int64
	policy, version string
}

type statsEntry struct {
	once sync.Once
	res  *aggregation.Result
	err  error
	// batch, when set, computes this entry together with the other
	// users of a page (see computeAll).
	batch *statsBatch
}

// statsBatch is one Service.Users call shared by the entries of a page:
// whichever entry is asked for first runs it for all of them.
type statsBatch struct {
	once  sync.Once
	users []int64
	res   map[int64]*aggregation.Result
	err   error
}

// explainKey names one page of a computation's laps.
type explainKey struct {
	statsKey
	offset, limit int
}

type explainEntry struct {
	once sync.Once
	x    *aggregation.Explainer
	err  error
}

func keyOf(userID int64, q model.StatsQuery) statsKey {
	return statsKey{user: userID, from: q.Window.From, to: q.Window.To, policy: q.Policy.Name, version: q.Policy.Version}
}

// query is the service's question for a statistic.
func query(q model.StatsQuery) aggregation.Query {
	return aggregation.Query{Policy: q.Policy, Window: q.Window, Now: q.Now}
}

// prime keeps a result the service already answered for the fields
// that will ask for it (unless the request holds one already).
func (rq *request) prime(userID int64, q model.StatsQuery, res *aggregation.Result) {
	k := keyOf(userID, q)
	rq.mu.Lock()
	defer rq.mu.Unlock()
	if rq.stats[k] != nil {
		return
	}
	e := &statsEntry{res: res}
	e.once.Do(func() {})
	rq.stats[k] = e
}

// compute returns the user's result for the query, computing it at most
// once per request however many fields ask for it.
func (r *Resolver) compute(ctx context.Context, userID int64, q model.StatsQuery) (*aggregation.Result, error) {
	rq := requestOf(ctx)
	k := keyOf(userID, q)
	rq.mu.Lock()
	e := rq.stats[k]
	if e == nil {
		e = new(statsEntry)
		rq.stats[k] = e
	}
	rq.mu.Unlock()
	return r.settle(ctx, e, userID, q)
}

// settle computes an entry once: with its batch when it has one, alone
// otherwise.
func (r *Resolver) settle(ctx context.Context, e *statsEntry, userID int64, q model.StatsQuery) (*aggregation.Result, error) {
	e.once.Do(func() {
		if b := e.batch; b != nil {
			b.once.Do(func() { b.res, b.err = r.cfg.Service.Users(ctx, b.users, query(q)) })
			e.res, e.err = b.res[userID], b.err
			if e.res == nil && e.err == nil {
				e.err = fmt.Errorf("resolvers: no result for user %d in its batch", userID)
			}
			return
		}
		e.res, e.err = r.cfg.Service.User(ctx, userID, query(q))
	})
	return e.res, e.err
}

// computeAll returns the users' results for the query (in the order of
// userIDs), computing those the request has not computed yet in one
// Service.Users call, whose batched log reads cover them all; each is
// memoized for the fields that ask for it later.
func (r *Resolver) computeAll(ctx context.Context, userIDs []int64, q model.StatsQuery) ([]*aggregation.Result, []error) {
	rq := requestOf(ctx)
	entries := make([]*statsEntry, len(userIDs))
	b := new(statsBatch)
	rq.mu.Lock()
	for i, id := range userIDs {
		k := keyOf(id, q)
		e := rq.stats[k]
		if e == nil {
			e = &statsEntry{batch: b}
			rq.stats[k] = e
			b.users = append(b.users, id)
		}
		entries[i] = e
	}
	rq.mu.Unlock()
	res := make([]*aggregation.Result, len(userIDs))
	errs := make([]error, len(userIDs))
	for i, e := range entries {
		res[i], errs[i] = r.settle(ctx, e, userIDs[i], q)
	}
	return res, errs
}

// explain returns one page of the user's laps for the query (limit laps
// after skipping offset; the explainer keeps that page only, however long
// the history) and every session, computed at most once per request and
// page. It scans the log apart from compute: the statistic is resolved
// before its explain field is known.
func (r *Resolver) explain(ctx context.Context, userID int64, q model.StatsQuery, offset, limit int) (*aggregation.Explainer, error) {
	rq := requestOf(ctx)
	k := explainKey{statsKey: keyOf(userID, q), offset: offset, limit: limit}
	rq.mu.Lock()
	e := rq.explains[k]
	if e == nil {
		e = new(explainEntry)
		rq.explains[k] = e
	}
	rq.mu.Unlock()
	e.once.Do(func() {
		// The service keeps only this page (an empty one reads nothing).
		e.x, e.err = r.cfg.Service.Explain(ctx, userID, query(q), offset, limit)
	})
	return e.x, e.err
}
