package engine

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
	cur  *inFlight   // where new work is counted; nil: start a new one
	open []*inFlight // epochs with work still running, cur among them
}

// inFlight counts work under way: an epoch of background work, or the
// writes to one primary key (writeQueue).
type inFlight struct {
	n    int
	idle chan struct{} // closed when n drops to zero (a writeQueue's made when waited for)
}

func newInFlight() *inFlight { return &inFlight{idle: make(chan struct{})} }

// add counts new work; the caller passes what it returns to done.
func (b *background) add() *inFlight {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		b.cur = newInFlight()
		b.open = append(b.open, b.cur)
	}
	b.cur.n++
	return b.cur
}

func (b *background) done(e *inFlight) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.n--; e.n > 0 {
		return
	}
	close(e.idle)
	b.open = slices.DeleteFunc(b.open, func(o *inFlight) bool { return o == e })
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

// Wait blocks until the background work started so far has finished.
func (c *Engine) Wait() { _ = c.WaitContext(context.Background()) }

// WaitContext is Wait bounded by ctx.
func (c *Engine) WaitContext(ctx context.Context) error { return c.background.wait(ctx) }
