// Package serve starts the example programs in tests.
package serve

import (
	"context"
	"io"
	"testing"
	"time"
)

// RunFunc is an example program's body: it parses args, serves until ctx is
// done and returns. If ready is not nil, it receives the listening address
// once the port accepts connections.
type RunFunc func(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error

// ShutdownTimeout bounds how long a program is given to shut down at the
// end of a test, beyond its own shutdown bound (10 s in the examples).
const ShutdownTimeout = 15 * time.Second

// Start runs run with args in the background for a test, waits until it is
// listening, and returns its address. At the end of the test it cancels run
// and checks that it shut down cleanly.
func Start(tb testing.TB, run RunFunc, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, args, io.Discard, ready) }()
	select {
	case addr := <-ready:
		tb.Cleanup(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					tb.Errorf("run: %v", err)
				}
			case <-time.After(ShutdownTimeout):
				tb.Error("did not shut down")
			}
		})
		return addr
	case err := <-errc:
		cancel()
		tb.Fatalf("run: %v", err)
	case <-time.After(15 * time.Second):
		cancel()
		tb.Fatal("did not start listening")
	}
	return ""
}
