// Command proxy is a caching reverse proxy: an RFC 9111 shared cache in
// front of any HTTP origin. It stores only what the origin's headers allow
// (no default TTL), passes every method and path through, and answers with
// Age and Cache-Status.
//
//	go run ./example/proxy -listen 127.0.0.1:8081 -origin http://127.0.0.1:9000
//
// With -purge-token TOKEN it answers the PURGE method itself:
//
//	curl -X PURGE -H 'Authorization: Bearer TOKEN' http://127.0.0.1:8081/page
//	curl -X PURGE -H 'Authorization: Bearer TOKEN' -H 'Cache-Tag: a, b' http://127.0.0.1:8081/
//
// It is ready when its port accepts connections, and exits cleanly on SIGINT
// or SIGTERM.
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
	"net/http/httputil"
	"net/url"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/serve"
	"github.com/seedcache/httpcache/internal/storeflag"
)

func main() { serve.Main("proxy", run) }

// run parses args, proxies until ctx is done, then shuts down gracefully. If
// ready is not nil, it receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "listen address")
	originFlag := fs.String("origin", "", "origin base URL, e.g. http://127.0.0.1:9000 (required)")
	purgeToken := fs.String("purge-token", "", "if set, answer PURGE requests authorised with \"Authorization: Bearer TOKEN\" instead of forwarding them")
	stores := storeflag.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	origin, err := parseOrigin(*originFlag)
	if err != nil {
		return err
	}
	store, closeStore, err := stores.Open()
	if err != nil {
		return err
	}
	defer closeStore()

	logger := slog.New(slog.NewTextHandler(stderr, nil))
	// The zero Policy is an RFC 9111 shared cache: only responses that
	// state their own freshness are stored. As a shared cache in front of
	// an origin, it honours the clients' own Cache-Control too.
	cache := httpcache.New(store, httpcache.Options{Logger: logger, RequestDirectives: true})
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(origin)
			r.SetXForwarded()
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	logger.Info("proxying", "listen", ln.Addr().String(), "origin", origin.String(), "store", stores.Kind)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	handler := cache.Handler(proxy)
	if *purgeToken != "" {
		handler = withPurge(handler, cache.PurgeHandler(*purgeToken))
	}
	return serve.Serve(ctx, ln, handler, cache)
}

// parseOrigin checks -origin: an absolute http or https URL.
func parseOrigin(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("-origin is required, e.g. -origin http://127.0.0.1:9000")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-origin %q: want an absolute http:// or https:// URL", s)
	}
	return u, nil
}

// withPurge answers the PURGE method with purge and passes every other
// request to next.
func withPurge(next, purge http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == httpcache.MethodPurge {
			purge.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
