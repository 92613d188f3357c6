package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/usestats/usestats/aggregation"
	"github.com/usestats/usestats/dbconn"
	"github.com/usestats/usestats/export"
	"github.com/usestats/usestats/mnet"
	"github.com/usestats/usestats/moodle"
	"github.com/usestats/usestats/resolvers"
	"github.com/usestats/usestats/store"
	"github.com/usestats/usestats/webservice"
)

// defaultDemoDB is the demo Moodle database `serve` creates when no
// --moodle is given.
const defaultDemoDB = "usestats-demo.db"

// serveConfig is everything `usestats serve` is configured with.
type serveConfig struct {
	addr, moodleURL, prefix, storeURL, demoDB string
	graphiql                                  bool
	logLevel, logFormat                       string
	timeout                                   time.Duration
	demoUsers                                 int
	workers                                   int // the query service's pool
	wwwroot, mnetCaller                       string
	mnetAutoRegister                          bool
	mnetTimeout                               time.Duration
	ws                                        wsConfig
	compileEvery                              time.Duration // 0: never
	compilePolicies                           string
	retainDays, rollupCacheMB                 int
	cacheTTL                                  time.Duration // look-ups reused without asking again
	rateLimit                                 int           // requests a second per IP and per credential; 0: none
	maxInFlight                               int           // requests answered at once; 0: no limit
	refusalDelay                              time.Duration
	corsOrigins                               string
	exportTimeout                             time.Duration
	metricsToken                              string // "": /metrics is open
	frameAncestors                            string // CSP frame-ancestors of the web pages
}

// defaultMaxInFlight is serve's --max-inflight.
const defaultMaxInFlight = 32

// defaultCacheTTL is serve's --cache-ttl.
const defaultCacheTTL = 10 * time.Second

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var c serveConfig
	fs.StringVar(&c.addr, "addr", envOr("USESTATS_ADDR", ""), "listen address (env USESTATS_ADDR); empty: "+defaultDemoAddr+" for the demo, "+defaultAddr+" against a Moodle database")
	fs.StringVar(&c.moodleURL, "moodle", envOr("USESTATS_MOODLE", ""), "Moodle database URL (env USESTATS_MOODLE); empty: the demo database")
	fs.StringVar(&c.prefix, "prefix", envOr("USESTATS_PREFIX", moodle.DefaultPrefix), "Moodle table prefix (env USESTATS_PREFIX)")
	fs.StringVar(&c.storeURL, "store", envOr("USESTATS_STORE", defaultStore), "usestats' own database for tokens (env USESTATS_STORE)")
	fs.StringVar(&c.demoDB, "demo-db", envOr("USESTATS_DEMO_DB", defaultDemoDB), "file of the demo Moodle database, created once (env USESTATS_DEMO_DB)")
	env := envDefaults{cmd: "serve"}
	fs.StringVar(&c.wwwroot, "wwwroot", envOr("USESTATS_WWWROOT", ""), "our MNET wwwroot, as peers call us (env USESTATS_WWWROOT); empty: http://<listen address>")
	fs.BoolVar(&c.mnetAutoRegister, "mnet-auto-register", env.bool("USESTATS_MNET_AUTO_REGISTER", false), "register unknown MNET hosts that send system/keyswap (env USESTATS_MNET_AUTO_REGISTER)")
	fs.StringVar(&c.mnetCaller, "mnet-caller", envOr("USESTATS_MNET_CALLER", "usestats"), "username peers know us by when we ask them for time (env USESTATS_MNET_CALLER)")
	fs.DurationVar(&c.mnetTimeout, "mnet-timeout", env.duration("USESTATS_MNET_TIMEOUT", 10*time.Second), "deadline for asking MNET peers in one GraphQL request (env USESTATS_MNET_TIMEOUT)")
	c.ws.addFlags(fs, &env)
	mflags := addMoodleFlags(fs, &env)
	fs.IntVar(&c.demoUsers, "demo-users", env.int("USESTATS_DEMO_USERS", 300), "learners in a newly created demo database (env USESTATS_DEMO_USERS)")
	fs.BoolVar(&c.graphiql, "graphiql", env.bool("USESTATS_GRAPHIQL", true), "serve the web pages, bundled: the dashboard at / and GraphiQL at /graphiql (env USESTATS_GRAPHIQL)")
	fs.StringVar(&c.frameAncestors, "frame-ancestors", envOr("USESTATS_FRAME_ANCESTORS", ""), "origins whose pages may embed the web pages in a frame (CSP frame-ancestors), e.g. https://moodle.example.org, separated by spaces or commas, or 'self'; empty: none (env USESTATS_FRAME_ANCESTORS)")
	zone := addZoneFlag(fs, "serve", "time zone of calendar days, daily series and the rollups' days")
	fs.StringVar(&c.logLevel, "log-level", envOr("USESTATS_LOG_LEVEL", "info"), "debug, info, warn or error (env USESTATS_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", envOr("USESTATS_LOG_FORMAT", "auto"), "text (human-readable), json, or auto: text when stderr is a terminal, else json (env USESTATS_LOG_FORMAT)")
	fs.DurationVar(&c.timeout, "request-timeout", env.duration("USESTATS_REQUEST_TIMEOUT", 10*time.Second), "deadline of one GraphQL request, database included (env USESTATS_REQUEST_TIMEOUT)")
	fs.DurationVar(&c.compileEvery, "compile-every", env.duration("USESTATS_COMPILE_EVERY", time.Minute), "compile new log rows into rollups this often, in the background; 0: never (env USESTATS_COMPILE_EVERY)")
	fs.IntVar(&c.rollupCacheMB, "rollup-cache-mb", env.int("USESTATS_ROLLUP_CACHE_MB", 256), "memory for stored days read from the store, used again while the store says the user's rollups are unchanged; 0: read every time (env USESTATS_ROLLUP_CACHE_MB)")
	fs.DurationVar(&c.cacheTTL, "cache-ttl", env.duration("USESTATS_CACHE_TTL", defaultCacheTTL), "how long an API token that passed, a user look-up, the store's compile state of a user and SCORM tracks are used again without reading them: a revoked token, a compile or a SCORM write shows up to this late (the log's events are always read); an entry asked for after half this is read again in the background; 0: read on every request (env USESTATS_CACHE_TTL)")
	fs.StringVar(&c.compilePolicies, "compile-policies", envOr("USESTATS_COMPILE_POLICIES", ""), "presets compiled besides the default policy (the site's block_use_stats settings when it has them, else usestats), comma-separated (env USESTATS_COMPILE_POLICIES)")
	fs.IntVar(&c.retainDays, "retain-days", env.int("USESTATS_RETAIN_DAYS", 0), "drop rollups older than this many days on each compile; 0 keeps all (env USESTATS_RETAIN_DAYS)")
	fs.DurationVar(&c.refusalDelay, "refusal-delay", env.duration("USESTATS_REFUSAL_DELAY", resolvers.DefaultRefusalDelay), "hold GraphQL's answer to a request without credentials refused for its size or shape this long, so floods of them wait instead of taking CPU; 0: answer at once (env USESTATS_REFUSAL_DELAY)")
	fs.DurationVar(&c.exportTimeout, "export-timeout", env.duration("USESTATS_EXPORT_TIMEOUT", 10*time.Minute), "deadline of one CSV or XLSX export under /export/ (env USESTATS_EXPORT_TIMEOUT)")
	fs.StringVar(&c.corsOrigins, "cors-origins", envOr("USESTATS_CORS_ORIGINS", ""), "comma-separated origins whose pages may call /graphql from a browser (CORS), e.g. https://dashboard.example.org, or *; empty: none (env USESTATS_CORS_ORIGINS)")
	fs.IntVar(&c.maxInFlight, "max-inflight", env.int("USESTATS_MAX_INFLIGHT", defaultMaxInFlight), "requests to GraphQL (with credentials), the web services and MNET answered at once; the others wait their turn for at most --request-timeout, then are refused as busy; 0: no limit (env USESTATS_MAX_INFLIGHT)")
	fs.IntVar(&c.rateLimit, "rate-limit", env.int("USESTATS_RATE_LIMIT", 0), "requests a second per client IP and per credential to GraphQL, the web services and MNET (bursts of twice as many); 0: no limit (env USESTATS_RATE_LIMIT)")
	fs.StringVar(&c.metricsToken, "metrics-token", envOr("USESTATS_METRICS_TOKEN", ""), "secret /metrics requires as the header Authorization: Bearer <token>; empty: /metrics is open (env USESTATS_METRICS_TOKEN)")
	fs.IntVar(&c.workers, "workers", env.int("USESTATS_WORKERS", 2), "log queries running at once in the whole process (GraphQL, web services, MNET), each over a share of a batch's users (env USESTATS_WORKERS)")
	if env.err != nil {
		return env.err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	origins, err := parseCORSOrigins(c.corsOrigins)
	if err != nil {
		return err
	}
	pages, err := newWebUI(c.frameAncestors)
	if err != nil {
		return aggregation.Errorf(aggregation.EInvalid, "serve: --frame-ancestors: %v", err)
	}
	if c.demoUsers < 1 || c.timeout <= 0 || c.exportTimeout <= 0 {
		return aggregation.Errorf(aggregation.EInvalid, "serve: --demo-users, --request-timeout and --export-timeout must be positive")
	}
	if c.compileEvery < 0 || c.retainDays < 0 || c.rollupCacheMB < 0 || c.rateLimit < 0 || c.refusalDelay < 0 || c.cacheTTL < 0 || c.maxInFlight < 0 {
		return aggregation.Errorf(aggregation.EInvalid, "serve: --compile-every, --rollup-cache-mb, --cache-ttl, --retain-days, --rate-limit, --max-inflight and --refusal-delay must not be negative")
	}
	policies, err := parsePolicies(c.compilePolicies)
	if err != nil {
		return err
	}
	if err := c.ws.check(); err != nil {
		return err
	}
	workersNote, err := c.resolveWorkers(fs)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return aggregation.Errorf(aggregation.EInvalid, "serve: --log-level %q: want debug, info, warn or error", c.logLevel)
	}
	if _, err := zone.explicit(); err != nil {
		return err
	}
	log, bar, err := newLogger("serve", stderr, c.logFormat, level)
	if err != nil {
		return err
	}
	if workersNote != "" {
		log.Warn(workersNote)
	}

	st, err := openStore(ctx, c.storeURL)
	if err != nil {
		return err
	}
	defer st.Close()

	demo := c.moodleURL == ""
	if demo {
		c.moodleURL = "sqlite://" + c.demoDB
		var progress io.Writer // a bar on a terminal only, never amid JSON lines
		if bar {
			progress = stderr
		}
		if err := ensureDemo(ctx, c, progress, log); err != nil {
			return err
		}
	}
	src, err := mflags.open(ctx, c.moodleURL, c.prefix)
	if err != nil {
		return err
	}
	defer src.Close()
	loc, err := zone.resolve(ctx, src, log)
	if err != nil {
		return err
	}

	addr, addrFrom := listenAddr(c.addr, demo)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return aggregation.Errorf(aggregation.EUnavailable, "serve: cannot listen on %s: %v", addr, err)
	}
	defer ln.Close()
	base := "http://" + displayAddr(ln.Addr())
	if c.wwwroot == "" {
		c.wwwroot = base
	}
	if c.wwwroot, err = checkWWWRoot(c.wwwroot); err != nil {
		return err
	}
	// The site's block_use_stats settings, when it has them, are the
	// default policy of every surface, read again every few minutes.
	known := &aggregation.Policies{}
	if err := loadSitePolicy(ctx, src, known, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	go refreshSitePolicy(ctx, src, known, siteSettingsEvery, log)
	// One query service for every surface: one bounded pool of log reads
	// for the whole process, panics logged and turned into errors.
	bg := &backgroundCompiler{cfg: compileConfig{known: known, extra: policies, loc: loc, retainDays: c.retainDays, shards: 1},
		src: src, st: st, storeURL: c.storeURL, log: log}
	if demo {
		// The demo answers from rollups from its first request on.
		bg.pass(ctx)
	}
	if c.compileEvery > 0 {
		go bg.loop(ctx, c.compileEvery)
	}
	svc, err := aggregation.NewService(aggregation.ServiceConfig{
		Logs:             src,
		Rollups:          st,
		RollupCacheBytes: int64(c.rollupCacheMB) << 20,
		CacheTTL:         c.cacheTTL,
		Policies:         known,
		Location:         loc,
		Now:              func() int64 { return time.Now().Unix() },
		Workers:          c.workers,
		Roster:           src.Roster(),
		Grades:           src.Directory(),
		OnPanic: func(v any, stack []byte) {
			log.Error("query service: panic", "panic", fmt.Sprint(v), "stack", string(stack))
		},
	})
	if err != nil {
		return err
	}
	// Every surface looks the asked-about user up, and GraphQL and the
	// exports check a token, on each request: both are kept for
	// --cache-ttl.
	dir := aggregation.NewCachedDirectory(src.Directory(), c.cacheTTL, nil)
	auth := newTokenAuth(st, c.cacheTTL, nil)
	node, err := newMnetNode(ctx, st, src, mnetOptions{wwwroot: c.wwwroot, autoRegister: c.mnetAutoRegister,
		caller: c.mnetCaller, service: svc, directory: dir}, log)
	if err != nil {
		return err
	}
	go node.keys.rotateEvery(ctx, time.Minute)

	gql, err := resolvers.NewHandler(resolvers.Config{
		Service:       svc,
		Directory:     dir,
		Authenticate:  auth.check,
		Now:           func() int64 { return time.Now().Unix() },
		Logger:        log,
		Timeout:       c.timeout,
		Remote:        node.gather,
		RemoteTimeout: c.mnetTimeout,
		RefusalDelay:  refusalDelay(c.refusalDelay),
	})
	if err != nil {
		return err
	}
	ws, err := newWSHandler(ctx, c.ws, wsDeps{st: st, src: src, svc: svc, dir: dir, log: log, wwwroot: c.wwwroot})
	if err != nil {
		return err
	}
	exp, err := export.NewHandler(export.Config{
		Service:      svc,
		Directory:    dir,
		Authenticate: auth.check,
		Logger:       log,
		Now:          func() int64 { return time.Now().Unix() },
		Timeout:      c.exportTimeout,
	})
	if err != nil {
		return err
	}
	m := newMetrics(src.DB(), st)
	mux := http.NewServeMux()
	mux.Handle("/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	mux.Handle("/readyz", readyHandler(src.DB(), st))
	mux.Handle("/metrics", requireBearer(c.metricsToken, m.handler()))
	rl := newRateLimits(c.rateLimit)
	inf := newInFlight(c.maxInFlight, c.timeout)
	m.reg.MustRegister(inf.collectors()...)
	mux.Handle(webservice.Path, rl.wrap(inf.wrap(ws, wsSurface, every), wsSurface))
	mux.Handle(mnet.XMLRPCPath, rl.wrap(inf.wrap(node.server, mnetSurface, every), mnetSurface))
	mux.Handle(mnet.PublicKeyPath, node.server)
	if c.graphiql {
		mux.Handle("/", pages)
	}
	mux.Handle("/graphql", withCORS(origins, rl.wrap(inf.wrap(gql, graphQLSurface, withCredentials), graphQLSurface)))
	mux.Handle(export.Prefix, withCORS(origins, rl.wrap(exp, graphQLSurface)))

	srv := &http.Server{
		Handler:           m.instrument(logRequests(log, mux)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      max(c.timeout, c.ws.timeout) + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "usestats is serving %s\n", src.DB().Redacted)
	fmt.Fprintf(stdout, "GraphQL: %s/graphql", base)
	if c.graphiql {
		fmt.Fprintf(stdout, "   Dashboard: %s/   GraphiQL: %s/graphiql", base, base)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "MNET: %s%s as %s\n", base, mnet.XMLRPCPath, c.wwwroot)
	if demo {
		signIn := ""
		if c.graphiql {
			signIn = base + "/#token="
		}
		if err := printDemoToken(ctx, stdout, st, demoTokenFile(c.demoDB), signIn, log); err != nil {
			return err
		}
	}
	log.Info("serving", "addr", ln.Addr().String(), "addr_from", addrFrom, "moodle", src.DB().Redacted, "store", dbconn.Redact(c.storeURL), "graphiql", c.graphiql,
		"workers", svc.Workers(), "metrics_token", c.metricsToken != "")

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	// The look-up caches' background reads end before the databases close.
	svc.WaitRefreshes()
	dir.WaitRefreshes()
	auth.wait()
	log.Info("stopped")
	return nil
}

// resolveWorkers settles the query service's pool: --workers (env
// USESTATS_WORKERS), or the deprecated --ws-workers (env
// USESTATS_WS_WORKERS) when only it is given. It returns a warning to log
// when the deprecated flag was used.
func (c *serveConfig) resolveWorkers(fs *flag.FlagSet) (string, error) {
	given := map[string]bool{"workers": envOr("USESTATS_WORKERS", "") != "", "ws-workers": envOr("USESTATS_WS_WORKERS", "") != ""}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var note string
	switch {
	case given["ws-workers"] && given["workers"]:
		note = "--ws-workers (USESTATS_WS_WORKERS) is deprecated and ignored: --workers (USESTATS_WORKERS) sizes the one pool of the whole process"
	case given["ws-workers"]:
		if c.ws.workers < 1 {
			return "", aggregation.Errorf(aggregation.EInvalid, "serve: --ws-workers (deprecated: use --workers) must be positive")
		}
		c.workers = c.ws.workers
		note = "--ws-workers (USESTATS_WS_WORKERS) is deprecated: use --workers (USESTATS_WORKERS), the one pool of the whole process"
	}
	if c.workers < 1 {
		return "", aggregation.Errorf(aggregation.EInvalid, "serve: --workers must be positive")
	}
	return note, nil
}

func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// readyHandler answers 200 when both databases answer, else 503.
func readyHandler(mdb *dbconn.DB, st *store.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := mdb.PingContext(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "moodle database unreachable")
			return
		}
		if err := st.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "store unreachable")
			return
		}
		fmt.Fprintln(w, "ready")
	})
}

// refusalDelay maps --refusal-delay to resolvers.Config.RefusalDelay,
// where 0 is the default and a negative value none.
func refusalDelay(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
