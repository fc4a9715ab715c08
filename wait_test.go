package httpcache_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
)

// TestWaitContextBoundsARefresh: a refresh that takes long holds Wait, but
// WaitContext gives up when its context ends, and returns once the refresh
// is done.
func TestWaitContextBoundsARefresh(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	v := newVersioned("max-age=10, stale-while-revalidate=30")
	h := e.cache.Handler(v)
	do(t, h, get("/swr"))
	e.clock.Advance(15 * time.Second)
	v.blocked.Store(true)
	do(t, h, get("/swr")) // stale, and a refresh that hangs
	testwait.For(t, "the refresh", func() bool { return v.calls.Load() == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := e.cache.WaitContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitContext with a refresh running: %v", err)
	}
	close(v.release)
	if err := e.cache.WaitContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.cache.Stats().Stores; n != 2 {
		t.Fatalf("WaitContext returned before the refresh was stored: %d stores", n)
	}
}

// TestWaitDuringTraffic: Wait may be called while requests keep starting
// refreshes (as at a shutdown with stragglers): no panic, no race (run
// under -race), and each call returns.
func TestWaitDuringTraffic(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	v := newVersioned("max-age=1, stale-while-revalidate=600")
	h := e.cache.Handler(v)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/swr", nil))
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				e.clock.Advance(2 * time.Second) // stale again: another refresh
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/swr", nil))
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	waits := 0
	for running := true; running; waits++ {
		select {
		case <-done:
			running = false
		default:
		}
		e.cache.Wait()
	}
	if v.calls.Load() < 2 {
		t.Fatal("no refresh ran: nothing overlapped the waits")
	}
	t.Logf("%d waits during %d handler calls", waits, v.calls.Load())
}
