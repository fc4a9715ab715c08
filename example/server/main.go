// Command server is a small chi application showing httpcache's features:
// a site-wide cache, a cache_page-style route TTL, Vary on Accept-Language,
// a private route that is never stored, and a route that sets a cookie.
//
//	go run ./example/server                  # memory store on 127.0.0.1:8080
//	go run ./example/server -addr 127.0.0.1:9090 -store memory
//	go run ./example/server -purge-token "$(openssl rand -hex 16)"
//
// The /admin routes (publish, PURGE) exist only with -purge-token: there is
// no default token, so a server started without one cannot be purged.
//
// Every page prints when it was generated and every response carries
// Cache-Status, so caching is visible with curl -i.
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
	"syscall"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/storeurl"
)

func main() {
	// SIGINT or SIGTERM ends the context: run then shuts down gracefully.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintf(os.Stderr, "server: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// run parses args, serves until ctx is done, then shuts down gracefully.
// If ready is not nil, it receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	purgeToken := fs.String("purge-token", "", "bearer token for the /admin routes; if empty, they are not served")
	keyPrefix := fs.String("key-prefix", "httpcache:", "prefix of every store key, so that applications sharing a store keep apart")
	stores := storeurl.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	store, closeStore, err := stores.Open(storeurl.Options{
		Logger:    logger,     // go-redis's own messages too
		KeyPrefix: *keyPrefix, // tiered: an invalidation channel of its own
	})
	if err != nil {
		return err
	}
	defer closeStore()

	cache := httpcache.New(store, httpcache.Options{
		// Site-wide: pages that say nothing about caching are kept
		// for 10 seconds.
		Policy: httpcache.Policy{TTL: 10 * time.Second},
		// The languages /hello is written in: Accept-Language values
		// that rank them alike share a stored variant.
		Languages: languages,
		Logger:    logger,
		KeyPrefix: *keyPrefix,
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("serving", "addr", ln.Addr().String(), "store", stores.Kind, "key_prefix", *keyPrefix)
	if *purgeToken == "" {
		logger.Warn("no -purge-token: the /admin purge routes are not served")
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	return serveGracefully(ctx, ln, newApp(cache, *purgeToken), cache)
}

// serveGracefully serves h on ln until ctx is done, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish, then lets the cache
// finish its background writes and refreshes (WaitContext), all within
// shutdownTimeout. The server bounds what one client can make it hold: a
// request header of at most 64 KiB (net/http's default is 1 MiB; the cache
// bypasses URLs over 8 KiB anyway), sent within 10 s, and idle keep-alive
// connections closed after 2 minutes.
func serveGracefully(ctx context.Context, ln net.Listener, h http.Handler, cache *httpcache.Cache) error {
	srv := &http.Server{
		Handler:           h,
		MaxHeaderBytes:    64 << 10,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := cache.WaitContext(shutdownCtx); err != nil {
		return fmt.Errorf("cache writes and refreshes still running at shutdown: %w", err)
	}
	return nil
}

// shutdownTimeout bounds how long in-flight requests and the cache's last
// writes get at shutdown.
const shutdownTimeout = 10 * time.Second
