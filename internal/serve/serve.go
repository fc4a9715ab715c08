// Package serve runs the example programs' HTTP servers until their context
// ends, then shuts them down gracefully.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/seedcache/httpcache"
)

// ShutdownTimeout bounds how long in-flight requests get to finish.
const ShutdownTimeout = 10 * time.Second

// Serve serves h on ln until ctx is done, then shuts down: it stops
// accepting, lets in-flight requests finish, then lets the cache finish its
// background writes and refreshes (cache.WaitContext), all within
// ShutdownTimeout, and returns nil. It returns early with the error if
// serving fails.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cache *httpcache.Cache) error {
	srv := &http.Server{
		Handler: h,
		// Bounds on what one client can make the server hold: a request
		// header of at most 64 KiB (net/http's default is 1 MiB; the
		// cache bypasses URLs over 8 KiB anyway), sent within 10 s, and
		// idle keep-alive connections closed after 2 minutes.
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
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
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

// RunFunc is an example program's body: it parses args, serves until ctx is
// done and returns. If ready is not nil, it receives the listening address
// once the port accepts connections.
type RunFunc func(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error

// Main runs run with the process's arguments and a context cancelled by
// SIGINT or SIGTERM, and exits with status 1 if it fails.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}
