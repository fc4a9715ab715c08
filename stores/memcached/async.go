package memcached

import (
	"context"
	"fmt"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// call returns f(c, arg), or an error wrapping ctx.Err() as soon as ctx is
// done. A done ctx returns at once without calling f. A ctx that can be
// done later makes f run in a goroutine of its own, which the caller may
// leave behind: it ends within the client's timeouts (see the package
// documentation), and its result goes into a buffered channel that no one
// has to read. A ctx that can never be done costs no goroutine.
//
// f is a plain function of the client and one argument, not a closure, so
// that the common path (no goroutine) allocates nothing for it.
func call[A, T any](ctx context.Context, c *memcache.Client, arg A, f func(*memcache.Client, A) (T, error)) (T, error) {
	return callOn(ctx, c, runsApart(ctx, c), arg, f)
}

// runsApart reports whether call runs f on a goroutine of its own, which
// may outlive the call: f must then not use memory the caller reuses.
func runsApart(ctx context.Context, c *memcache.Client) bool {
	return ctx.Done() != nil && !boundedByClient(ctx, c)
}

// callOn is call with runsApart decided by the caller.
func callOn[A, T any](ctx context.Context, c *memcache.Client, apart bool, arg A, f func(*memcache.Client, A) (T, error)) (T, error) {
	var zero T
	if ctx.Err() != nil {
		return zero, ctxError(ctx)
	}
	if !apart {
		return f(c, arg)
	}
	done := ctx.Done()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f(c, arg)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-done:
		return zero, ctxError(ctx)
	}
}

// clientSteps is how many Client.Timeout periods one call can take at most:
// dialling, writing the request, reading the reply.
const clientSteps = 3

// boundedByClient reports whether the client's own timeouts end the call
// before ctx's deadline would: then it runs on the caller's goroutine,
// saving the hand-off to another goroutine and back, which costs tens of
// microseconds on a busy machine. A ctx that can be cancelled without a
// deadline, or whose deadline comes sooner, still gets the goroutine.
func boundedByClient(ctx context.Context, c *memcache.Client) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return false
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = memcache.DefaultTimeout
	}
	return time.Until(deadline) >= clientSteps*timeout
}

// ctxError returns ctx.Err() of a done ctx, wrapping also its cause when
// that is a different error, so that both errors.Is(err, ctx.Err()) and
// errors.Is(err, context.Cause(ctx)) hold.
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && cause != err {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
