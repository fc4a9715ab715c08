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
	"flag"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/serve"
	"github.com/seedcache/httpcache/internal/storeflag"
)

func main() { serve.Main("server", run) }

// run parses args, serves until ctx is done, then shuts down gracefully.
// If ready is not nil, it receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	purgeToken := fs.String("purge-token", "", "bearer token for the /admin routes; if empty, they are not served")
	keyPrefix := fs.String("key-prefix", "httpcache:", "prefix of every store key, so that applications sharing a store keep apart")
	stores := storeflag.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	stores.Logger = logger        // go-redis's own messages too
	stores.KeyPrefix = *keyPrefix // tiered: an invalidation channel of its own
	store, closeStore, err := stores.Open()
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
	return serve.Serve(ctx, ln, newApp(cache, *purgeToken), cache)
}
