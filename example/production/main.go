// Command production is an application served the way we would run it in
// production, in one file meant to be copied: a chi router whose pages are
// cached in a tiered store (each instance's memory in front of a Redis that
// every instance shares, kept in step with Redis pub/sub), an admin listener
// with the purge endpoint, the debug page and Prometheus metrics, JSON logs, server timeouts
// and header limits, and a graceful shutdown that lets the last responses
// reach the store.
//
//	go run . -redis redis://127.0.0.1:6379/0
//
// Secrets come from the environment, not the command line (which other
// users of the machine can read): HTTPCACHE_PURGE_TOKEN, and
// HTTPCACHE_DEBUG_TOKEN for the debug page. Without a token, its endpoint
// is not served.
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
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	httpcacheprom "github.com/seedcache/httpcache/contrib/prometheus"
	"github.com/seedcache/httpcache/stores/memory"
	"github.com/seedcache/httpcache/stores/redis"
	"github.com/seedcache/httpcache/stores/tiered"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "production:", err)
		}
		os.Exit(1)
	}
}

// Listeners says where the two servers listen, once they do.
type Listeners struct{ App, Admin string }

// run serves until ctx is done, then shuts down. getenv reads the tokens;
// ready, if not nil, receives the listening addresses.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- Listeners) error {
	fs := flag.NewFlagSet("production", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the application")
	admin := fs.String("admin", "127.0.0.1:9090", "address of the admin listener (metrics, purges, debug page): keep it off the public network")
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/0", "the Redis every instance shares")
	l1Bytes := fs.Int64("l1-max-bytes", 64<<20, "memory each instance keeps in front of Redis, in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))

	// Redis: every call bounded by a context deadline (the cache gives
	// each one; ContextTimeoutEnabled makes go-redis honour it), a pool
	// sized for the instance, and its own logs in JSON with ours.
	ropts, err := goredis.ParseURL(*redisURL)
	if err != nil {
		return fmt.Errorf("-redis: %w", err)
	}
	ropts.ContextTimeoutEnabled = true
	ropts.PoolSize = 64
	client := goredis.NewClient(ropts)
	defer client.Close()
	goredis.SetLogger(redis.NewLogger(log))

	// The tiered store: hot responses in this instance's memory, all of
	// them in Redis; a write or purge anywhere reaches every instance's
	// memory through pub/sub.
	l1 := memory.New(memory.Options{MaxBytes: *l1Bytes})
	store := tiered.New(l1, redis.New(client, redis.Options{}), tiered.Options{PubSub: client, Logger: log})
	defer store.Close()

	// Metrics: the cache's events and counters, Go and process metrics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := httpcacheprom.New(httpcacheprom.Options{Store: "tiered"})
	opts := httpcache.Options{
		Logger:        log,
		BypassCookies: []string{"session"}, // signed-in users see their own pages
		Policy: httpcache.Policy{
			StaleWhileRevalidate: 30 * time.Second, // a popular page expiring costs one request
			StaleIfError:         10 * time.Minute, // and the origin failing costs none
		},
	}
	metrics.Instrument(&opts)
	cache := httpcache.New(store, opts)
	metrics.Watch(cache)
	metrics.WatchMemory(l1)
	reg.MustRegister(metrics)

	app := &http.Server{
		Handler:           routes(cache),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	adminMux := http.NewServeMux()
	adminMux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	adminMux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if cache.Stats().CircuitOpen {
			// Still serving (from the origin); say so to the operator,
			// not to the load balancer.
			io.WriteString(w, "ok (store circuit open)\n")
			return
		}
		io.WriteString(w, "ok\n")
	})
	if token := getenv("HTTPCACHE_PURGE_TOKEN"); token != "" {
		// PURGE /purge/articles/42 with "Host: <the site's host>" (a
		// path is purged on the purge request's own host, and this
		// listener's is not the site's), or PURGE /purge/ with
		// Cache-Tag: a, b
		adminMux.Handle("/purge/", http.StripPrefix("/purge", cache.PurgeHandler(token)))
	}
	if token := getenv("HTTPCACHE_DEBUG_TOKEN"); token != "" {
		// What is stored for a URL, hit ratio by route, purges by hand.
		adminMux.Handle("/debug/cache", cache.DebugHandler(token))
	}
	adminSrv := &http.Server{
		Handler:           adminMux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}

	appLn, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	adminLn, err := net.Listen("tcp", *admin)
	if err != nil {
		appLn.Close()
		return err
	}
	log.Info("serving", "listen", appLn.Addr().String(), "admin", adminLn.Addr().String(), "redis", ropts.Addr)
	if ready != nil {
		ready <- Listeners{App: appLn.Addr().String(), Admin: adminLn.Addr().String()}
	}
	errc := make(chan error, 2)
	go func() { errc <- app.Serve(appLn) }()
	go func() { errc <- adminSrv.Serve(adminLn) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	// Shutdown: stop taking requests, let those under way finish, then
	// let the cache finish its writes to Redis (the responses fetched
	// last) — all within the time the orchestrator grants (Kubernetes'
	// default grace period is 30 s).
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	err = errors.Join(app.Shutdown(shutdownCtx), adminSrv.Shutdown(shutdownCtx))
	if werr := cache.WaitContext(shutdownCtx); werr != nil {
		err = errors.Join(err, fmt.Errorf("cache writes still running at shutdown: %w", werr))
	}
	log.Info("stopped", "error", err)
	return err
}

// routes is the application: pages cached per route, so that metrics and
// events carry the route's pattern on hits too.
func routes(cache *httpcache.Cache) http.Handler {
	r := chi.NewRouter()
	r.With(cache.Page(time.Minute)).Get("/articles/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		httpcache.Tag(r, "article:"+id, "articles") // purged when the article or the list changes
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<h1>Article %s</h1>\n", id)
	})
	r.Post("/articles/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if _, err := strconv.Atoi(id); err != nil {
			http.Error(w, "bad id", http.StatusBadRequest)
			return
		}
		// ... save the article, then drop every page showing it, in
		// every instance. A failed purge must not hide the save: it is
		// retried in the background, and reported.
		if err := cache.PurgeTags(r.Context(), "article:"+id); err != nil {
			slog.Warn("purge after save", "article", id, "error", err)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return r
}
