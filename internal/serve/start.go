package serve

import (
	"context"
	"io"
	"testing"
	"time"
)

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
			case <-time.After(ShutdownTimeout + 5*time.Second):
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
