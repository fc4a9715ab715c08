package httpcache

import (
	"context"
	"sync"
)

// background counts work running after the response that started it (store
// writes, stale-while-revalidate refreshes), for Cache.Wait. Unlike a
// sync.WaitGroup it may be waited on while new work starts: a refresh
// begun by a request that came in during the wait is simply waited for
// too, or not, without a panic.
type background struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to zero; nil while it is zero
}

func (b *background) add() {
	b.mu.Lock()
	if b.n == 0 {
		b.idle = make(chan struct{})
	}
	b.n++
	b.mu.Unlock()
}

func (b *background) done() {
	b.mu.Lock()
	if b.n--; b.n == 0 {
		close(b.idle)
		b.idle = nil
	}
	b.mu.Unlock()
}

// wait returns nil once no work is running, or ctx's error when it ends
// first.
func (b *background) wait(ctx context.Context) error {
	b.mu.Lock()
	idle := b.idle
	b.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait blocks until the background work started so far has finished: writes
// to the store, and stale-while-revalidate refreshes with their writes.
// Tests call it before expecting a hit from a networked store. A refresh
// runs the handler, for up to Options.RefreshTimeout (30 s by default): at
// shutdown, use WaitContext to bound the wait.
func (c *Cache) Wait() { _ = c.WaitContext(context.Background()) }

// WaitContext is Wait bounded by ctx: it returns ctx's error if ctx ends
// first. Call it after the server has shut down, so that the responses
// fetched last are stored:
//
//	srv.Shutdown(ctx)
//	cache.WaitContext(ctx)
func (c *Cache) WaitContext(ctx context.Context) error { return c.background.wait(ctx) }
