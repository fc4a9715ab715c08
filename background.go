package httpcache

import (
	"context"
	"slices"
	"sync"
)

// background counts work running after the response that started it (store
// writes, stale-while-revalidate refreshes), for Cache.Wait. Work is counted
// in epochs: a wait closes the current one, so that it waits for the work
// started before it and not for work that keeps starting under load. Unlike
// a sync.WaitGroup it may be waited on while new work starts.
type background struct {
	mu   sync.Mutex
	cur  *epoch   // where new work is counted; nil: start a new one
	open []*epoch // epochs with work still running, cur among them
}

// epoch is the work started between two waits.
type epoch struct {
	n    int
	idle chan struct{} // closed when n drops to zero
}

// add counts new work; the caller passes what it returns to done.
func (b *background) add() *epoch {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		b.cur = &epoch{idle: make(chan struct{})}
		b.open = append(b.open, b.cur)
	}
	b.cur.n++
	return b.cur
}

func (b *background) done(e *epoch) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.n--; e.n > 0 {
		return
	}
	close(e.idle)
	b.open = slices.DeleteFunc(b.open, func(o *epoch) bool { return o == e })
	if b.cur == e {
		b.cur = nil
	}
}

// wait returns nil once the work started before the call has finished, or
// ctx's error when it ends first.
func (b *background) wait(ctx context.Context) error {
	b.mu.Lock()
	started := slices.Clone(b.open)
	b.cur = nil // work from now on is counted apart
	b.mu.Unlock()
	for _, e := range started {
		select {
		case <-e.idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
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
