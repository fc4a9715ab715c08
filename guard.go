package httpcache

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// ErrCircuitOpen is returned by a guarded store while its circuit breaker is
// open: the store failed repeatedly and is not being called until a probe
// succeeds.
var ErrCircuitOpen = errors.New("httpcache: store circuit open")

// DefaultGuardTimeout bounds each guarded store operation when
// GuardOptions.Timeout is zero: a cache that waits longer than that for its
// store makes slow pages slower.
const DefaultGuardTimeout = 50 * time.Millisecond

// GuardOptions configures Guard. The zero value is what New uses.
type GuardOptions struct {
	// Timeout bounds each store operation. If zero, DefaultGuardTimeout.
	Timeout time.Duration

	// Failures is how many operations in a row must fail to open the
	// circuit. If zero, 5.
	Failures int

	// Cooldown is how long an open circuit fails operations at once
	// before letting one through as a probe. Each failed probe doubles it,
	// up to 30 times its value. If zero, 1 s.
	Cooldown time.Duration

	// OnStateChange, if set, is called when the circuit opens (open is
	// true) or closes again. It runs on the goroutine whose operation
	// caused the change, outside any lock; keep it quick.
	OnStateChange func(open bool)

	// Clock returns the current time. If nil, time.Now.
	Clock func() time.Time
}

// Guard returns s with every operation bounded by o.Timeout and behind a
// circuit breaker: after o.Failures failures in a row it stops calling s and
// fails at once with ErrCircuitOpen, until o.Cooldown has passed; then one
// operation probes s, and the circuit closes if it succeeds. A miss
// (ErrNotFound), a refused value (ErrTooLarge, ErrInvalidTTL) and a caller
// whose own context ended are not failures of the store.
//
// New guards every store that is not a GuardedStore; use Guard directly to
// guard the network half of a composite store. The result is a GuardedStore
// and a CircuitReporter, and a MultiGetter when s is.
func Guard(s Store, o GuardOptions) Store {
	if s == nil {
		panic("httpcache: Guard called with a nil Store")
	}
	if o.Timeout < 0 || o.Failures < 0 || o.Cooldown < 0 {
		panic("httpcache: GuardOptions has a negative field")
	}
	g := &guarded{store: s, timeout: orDefault(o.Timeout, DefaultGuardTimeout)}
	g.breaker.init(o)
	if m, ok := s.(MultiGetter); ok {
		return &guardedMulti{guarded: g, multi: m}
	}
	return g
}

// CircuitReporter is an optional interface for guarded stores that can say
// whether their circuit breaker is open (stores returned by Guard). While it
// is, the middleware writes nothing, and tells clients so (Cache-Status
// detail=circuit-open) instead of promising "stored".
type CircuitReporter interface {
	// CircuitOpen reports whether the circuit is open now: operations
	// fail at once with ErrCircuitOpen, but for a probe once the cooldown
	// has passed. It must be cheap: it is asked on every miss.
	CircuitOpen() bool
}

func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

type guarded struct {
	store   Store
	timeout time.Duration
	breaker breaker
}

type guardedMulti struct {
	*guarded
	multi MultiGetter
}

var (
	_ GuardedStore    = (*guarded)(nil)
	_ CircuitReporter = (*guarded)(nil)
	_ MultiGetter     = (*guardedMulti)(nil)
	_ Leaser          = (*guarded)(nil)
)

// errUnsupported is returned by a guarded store for an optional operation
// the store underneath does not have.
var errUnsupported = fmt.Errorf("httpcache: the store does not support this operation: %w", errors.ErrUnsupported)

var (
	_ Counter  = (*guarded)(nil)
	_ TagIndex = (*guarded)(nil)
)

// Advance advances a counter on the guarded store, if it is a Counter.
func (g *guarded) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	s, ok := g.store.(Counter)
	if !ok {
		return 0, errUnsupported
	}
	var n int64
	err := g.do(ctx, func(ctx context.Context) (err error) {
		n, err = s.Advance(ctx, name, floor, ttl)
		return err
	})
	return n, err
}

// AddTags records tags on the guarded store, if it is a TagIndex.
func (g *guarded) AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	s, ok := g.store.(TagIndex)
	if !ok {
		return errUnsupported
	}
	return g.do(ctx, func(ctx context.Context) error { return s.AddTags(ctx, key, tags, ttl) })
}

// TaggedKeys lists a tag's keys on the guarded store, if it is a TagIndex.
func (g *guarded) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	s, ok := g.store.(TagIndex)
	if !ok {
		return nil, errUnsupported
	}
	var keys []string
	err := g.do(ctx, func(ctx context.Context) (err error) {
		keys, err = s.TaggedKeys(ctx, tag)
		return err
	})
	return keys, err
}

// RemoveTags forgets tags on the guarded store, if it is a TagIndex.
func (g *guarded) RemoveTags(ctx context.Context, tags ...string) error {
	s, ok := g.store.(TagIndex)
	if !ok {
		return errUnsupported
	}
	return g.do(ctx, func(ctx context.Context) error { return s.RemoveTags(ctx, tags...) })
}

// Lease takes a lease on the guarded store. A store that is not a Leaser
// grants every lease: there is nothing to coordinate with.
func (g *guarded) Lease(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	l, ok := g.store.(Leaser)
	if !ok {
		return true, nil
	}
	var got bool
	err := g.do(ctx, func(ctx context.Context) (err error) {
		got, err = l.Lease(ctx, name, token, ttl)
		return err
	})
	return got, err
}

// Release gives up a lease on the guarded store.
func (g *guarded) Release(ctx context.Context, name, token string) error {
	l, ok := g.store.(Leaser)
	if !ok {
		return nil
	}
	return g.do(ctx, func(ctx context.Context) error { return l.Release(ctx, name, token) })
}

// CircuitOpen reports whether the breaker is open: one atomic load.
func (g *guarded) CircuitOpen() bool { return g.breaker.open.Load() }

// Guarded reports true: the store is bounded already.
func (g *guarded) Guarded() bool { return true }

// Get reads key from the guarded store.
func (g *guarded) Get(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := g.do(ctx, func(ctx context.Context) (err error) {
		v, err = g.store.Get(ctx, key)
		return err
	})
	return v, err
}

// Set writes key to the guarded store.
func (g *guarded) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return g.do(ctx, func(ctx context.Context) error { return g.store.Set(ctx, key, value, ttl) })
}

// Delete removes keys from the guarded store.
func (g *guarded) Delete(ctx context.Context, keys ...string) error {
	return g.do(ctx, func(ctx context.Context) error { return g.store.Delete(ctx, keys...) })
}

// GetMulti reads keys from the guarded store in one round trip.
func (g *guardedMulti) GetMulti(ctx context.Context, keys ...string) ([][]byte, error) {
	var vs [][]byte
	err := g.do(ctx, func(ctx context.Context) (err error) {
		vs, err = g.multi.GetMulti(ctx, keys...)
		return err
	})
	return vs, err
}

// do runs op under the timeout and the breaker.
func (g *guarded) do(ctx context.Context, op func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	probe, ok := g.breaker.allow()
	if !ok {
		return ErrCircuitOpen
	}
	tctx, cancel := context.WithTimeout(ctx, g.timeout)
	err := recovering(tctx, op)
	cancel()
	if ctx.Err() != nil {
		// The caller gave up: that says nothing about the store, good
		// or bad.
		g.breaker.abandon(probe)
		return err
	}
	failed := err != nil &&
		!errors.Is(err, ErrNotFound) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrInvalidTTL)
	g.breaker.record(probe, failed)
	return err
}

// recovering runs op, turning a panic (a bug in a store's client, say) into
// an error: a failure the breaker counts, on a request served by the handler
// or a background write that would otherwise take the process down.
func recovering(ctx context.Context, op func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("httpcache: store panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return op(ctx)
}

// breaker is a consecutive-failure circuit breaker. Closed, it costs one
// atomic load per operation; state changes take a lock.
type breaker struct {
	open      atomic.Bool
	failures  atomic.Int64
	threshold int64
	base      time.Duration
	now       func() time.Time
	notify    func(open bool)

	mu       sync.Mutex
	until    time.Time     // while open: when a probe may go
	cooldown time.Duration // current cooldown
	probing  bool          // a probe is in flight
}

func (b *breaker) init(o GuardOptions) {
	b.threshold = int64(orDefault(o.Failures, 5))
	b.base = orDefault(o.Cooldown, time.Second)
	b.cooldown = b.base
	b.now = o.Clock
	if b.now == nil {
		b.now = time.Now
	}
	b.notify = o.OnStateChange
}

// allow reports whether an operation may run, and whether it is the probe of
// an open circuit.
func (b *breaker) allow() (probe, ok bool) {
	if !b.open.Load() {
		return false, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open.Load() {
		return false, true
	}
	if b.probing || b.now().Before(b.until) {
		return false, false
	}
	b.probing = true
	return true, true
}

// abandon notes an operation whose caller gave up: a probe among them lets
// the next operation probe instead.
func (b *breaker) abandon(probe bool) {
	if probe {
		b.mu.Lock()
		b.probing = false
		b.mu.Unlock()
	}
}

// record notes an operation's outcome.
func (b *breaker) record(probe, failed bool) {
	if !probe && !failed {
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
		return
	}
	changed, open := false, false
	b.mu.Lock()
	switch {
	case probe && !failed: // the store is back
		b.probing = false
		b.open.Store(false)
		b.failures.Store(0)
		b.cooldown = b.base
		changed, open = true, false
	case probe: // still down: wait longer
		b.probing = false
		b.cooldown = min(2*b.cooldown, 30*b.base)
		b.until = b.now().Add(b.cooldown)
	case b.failures.Add(1) >= b.threshold && !b.open.Load():
		b.open.Store(true)
		b.until = b.now().Add(b.cooldown)
		changed, open = true, true
	}
	b.mu.Unlock()
	if changed && b.notify != nil {
		b.notify(open)
	}
}
