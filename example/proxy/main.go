// Command proxy is a caching reverse proxy: an RFC 9111 shared cache in
// front of any HTTP origin. It stores only what the origin's headers allow
// (no default TTL; a response that states no lifetime but has a
// Last-Modified is fresh for 10% of its age, at most a day: -heuristic,
// -heuristic-max), passes every method and path through, and answers with
// Age and Cache-Status.
//
//	go run ./example/proxy -listen 127.0.0.1:8081 -origin http://127.0.0.1:9000
//
// With -purge-token TOKEN it answers the PURGE method itself:
//
//	curl -X PURGE -H 'Authorization: Bearer TOKEN' http://127.0.0.1:8081/page
//	curl -X PURGE -H 'Authorization: Bearer TOKEN' -H 'Cache-Tag: a, b' http://127.0.0.1:8081/
//
// Its store keys start with -key-prefix. By default the prefix is derived
// from -origin ("proxy:" and 16 hex digits of a SHA-256 of the origin URL),
// so that proxies for different origins never share entries on one store,
// while proxies for the same origin do. -codings lists the content codings
// the origin may send, for responses that vary on Accept-Encoding.
//
// It is a CDN cache in RFC 9213's terms: a response's CDN-Cache-Control,
// when valid, decides what it stores and for how long instead of
// Cache-Control and Expires, and is passed on to the client. -targeted lists
// the targeted fields it obeys, most applicable first (say
// "Acme-Cache-Control,CDN-Cache-Control"); -targeted "" obeys none.
//
// It is ready when its port accepts connections, and exits cleanly on SIGINT
// or SIGTERM.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
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
		fmt.Fprintf(os.Stderr, "proxy: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// run parses args, proxies until ctx is done, then shuts down gracefully. If
// ready is not nil, it receives the listening address.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "listen address")
	originFlag := fs.String("origin", "", "origin base URL, e.g. http://127.0.0.1:9000 (required)")
	purgeToken := fs.String("purge-token", "", "if set, answer PURGE requests authorised with \"Authorization: Bearer TOKEN\" instead of forwarding them")
	keyPrefix := fs.String("key-prefix", "", "prefix of every store key; if empty, \"proxy:\" and a digest of -origin, so that proxies for different origins never share entries")
	codingsFlag := fs.String("codings", "", "comma-separated content codings the origin may send (Content-Encoding), for responses that vary on Accept-Encoding; if empty, br,deflate,gzip,zstd")
	rangeRequests := fs.Bool("ranges", true, "answer Range requests for stored complete responses from the cache (206, 416, If-Range; RFC 9110 §14); if false, Range requests go to the origin")
	heuristic := fs.Float64("heuristic", 0.1, "heuristic freshness (RFC 9111 §4.2.2): a response with a Last-Modified and no max-age, s-maxage or Expires is fresh for this fraction of the time since it was last modified; 0 turns it off")
	heuristicMax := fs.Duration("heuristic-max", 24*time.Hour, "the longest heuristic freshness lifetime")
	targetedFlag := fs.String("targeted", "CDN-Cache-Control", "comma-separated targeted cache-control fields (RFC 9213) the proxy obeys instead of Cache-Control and Expires, most applicable first; the first valid one a response carries decides; empty: none")
	stores := storeurl.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	origin, err := parseOrigin(*originFlag)
	if err != nil {
		return err
	}
	codings, err := parseCodings(*codingsFlag)
	if err != nil {
		return err
	}
	targeted, err := parseTargeted(*targetedFlag)
	if err != nil {
		return err
	}
	if !(*heuristic >= 0 && *heuristic <= 1) {
		return fmt.Errorf("-heuristic %v: want a fraction between 0 and 1", *heuristic)
	}
	if *heuristicMax < 0 {
		return fmt.Errorf("-heuristic-max %v: want a duration of 0 or more", *heuristicMax)
	}
	if *keyPrefix == "" {
		*keyPrefix = originPrefix(origin)
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

	// The zero Policy is an RFC 9111 shared cache: only responses that
	// state their own freshness are stored. As a full shared cache in
	// front of an origin, it also guesses a lifetime for those that do
	// not but say when they were last modified (-heuristic), honours
	// the clients' own Cache-Control, and obeys the origin's
	// CDN-Cache-Control (-targeted).
	cache := httpcache.New(store, httpcache.Options{
		Logger:            logger,
		TargetedFields:    targeted,
		RequestDirectives: true,
		RangeRequests:     *rangeRequests,
		KeyPrefix:         *keyPrefix,
		Codings:           codings,
		Policy: httpcache.Policy{
			Heuristic: httpcache.Heuristic{Fraction: *heuristic, Max: *heuristicMax},
		},
	})
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
	logger.Info("proxying", "listen", ln.Addr().String(), "origin", origin.String(), "store", stores.Kind, "key_prefix", *keyPrefix)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	handler := cache.Handler(proxy)
	if *purgeToken != "" {
		handler = withPurge(handler, cache.PurgeHandler(*purgeToken))
	}
	return serveGracefully(ctx, ln, handler, cache)
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

// originPrefix is the default -key-prefix for origin: "proxy:", the first
// 16 hex digits of a SHA-256 of the origin URL (scheme and host in lower
// case, path without a trailing slash, query), and ":". A digest rather than
// the URL itself keeps the prefix short and free of characters that mean
// something to a store (a "{" is a Redis Cluster hash tag).
func originPrefix(origin *url.URL) string {
	u := *origin
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
	u.Fragment, u.RawFragment = "", ""
	sum := sha256.Sum256([]byte(u.String()))
	return "proxy:" + hex.EncodeToString(sum[:8]) + ":"
}

// parseCodings splits and checks -codings: content codings are tokens
// (RFC 9110 §8.4.1), "*" is not one, and identity is always a candidate.
// An empty list means the defaults (nil).
func parseCodings(list string) ([]string, error) {
	var codings []string
	for _, c := range strings.Split(list, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if c == "*" || !isToken(c) {
			return nil, fmt.Errorf("-codings: %q is not a content coding", c)
		}
		codings = append(codings, c)
	}
	if len(codings) > 63 {
		return nil, errors.New("-codings: more than 63 codings")
	}
	return codings, nil
}

// parseTargeted splits and checks -targeted: field names (tokens), not
// Cache-Control itself. An empty list means none.
func parseTargeted(list string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !isToken(n) || strings.EqualFold(n, "Cache-Control") {
			return nil, fmt.Errorf("-targeted: %q is not a targeted field name", n)
		}
		names = append(names, n)
	}
	return names, nil
}

// isToken reports whether s is an RFC 9110 §5.6.2 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
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
