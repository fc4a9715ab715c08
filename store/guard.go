package store

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultGuardTimeout bounds each guarded store operation when
// GuardOptions.Timeout is zero. A store on the local network answers in
// well under a millisecond, but the deadline also runs while this process
// (or the store's) waits for a CPU: on a loaded two-core machine a healthy
// loopback store's calls took up to 300 ms now and then, and failed at
// 50 ms or 250 ms. A store that does not answer costs a request at most
// this much, and only until the circuit opens (see GuardOptions).
const DefaultGuardTimeout = 500 * time.Millisecond

// DefaultTimeoutSpan is GuardOptions.TimeoutSpan when it is zero.
const DefaultTimeoutSpan = 500 * time.Millisecond

// GuardOptions configures Guard. The zero value is what httpcache.New uses.
//
// The defaults weigh a starved process against a dead store. A store that
// is down refuses or resets connections: its calls fail at once, cost the
// request nothing, and Failures of them in a row open the circuit. A store
// that hangs (a blackholed address, a frozen server) costs each call
// Timeout, until the calls have kept timing out for TimeoutSpan: with the
// defaults, for about a second each request waits up to 500 ms per store
// call, and then only one request per Cooldown does, as the probe. Timeouts
// do not open the circuit sooner because a process starved of CPU sees a
// burst of them from a healthy store, which the next call that succeeds
// ends: opening the circuit then would cost every hit for a Cooldown.
// Lower Timeout, and TimeoutSpan, where a hung store must cost less and the
// machine has CPU to spare; raise Timeout for a distant store.
type GuardOptions struct {
	// Timeout bounds each store operation. If zero, DefaultGuardTimeout.
	Timeout time.Duration

	// Failures is how many operations in a row must fail to open the
	// circuit. If zero, 5.
	Failures int

	// TimeoutSpan is how long failures in a row must have gone on, from
	// the first of them, before one that is a timeout (Timeout passed, or
	// the store's client timed out itself) opens the circuit; until then a
	// run of timeouts, however many, leaves it closed. Other failures open
	// it as soon as there are Failures in a row. If zero,
	// DefaultTimeoutSpan.
	TimeoutSpan time.Duration

	// Cooldown is how long an open circuit fails operations at once
	// before letting one through as a probe, and again after each probe
	// that fails: caching resumes within about a Cooldown of the store
	// answering again. If zero, 1 s.
	Cooldown time.Duration

	// OnStateChange, if set, is called when the circuit opens (open is
	// true) or closes again. It runs on the goroutine whose operation
	// caused the change, outside any lock; keep it quick.
	OnStateChange func(open bool)

	// Clock returns the current time. If nil, time.Now.
	Clock func() time.Time
}

// Guard returns s with every operation bounded by o.Timeout and behind a
// circuit breaker: after o.Failures failures in a row (timeouts among them
// only once they have gone on for o.TimeoutSpan) it stops calling s and
// fails at once with ErrCircuitOpen, until o.Cooldown has passed; then one
// operation probes s, and the circuit closes if it succeeds. A miss
// (ErrNotFound), a refused value (ErrTooLarge, ErrInvalidTTL) and a caller
// whose own context ended are not failures of the store.
//
// httpcache.New guards every store that is not a GuardedStore; use Guard
// directly to guard the network half of a composite store. The result is
// Capable: its Caps are Guarded and Circuit (it is a GuardedStore and a
// CircuitReporter), and those of Multi, Leaser, Counter and Tags that s has
// (Probe(s)), each called through the guard. It keeps no objects, is not
// Local, and is not Replicated, whatever s is.
func Guard(s Store, o GuardOptions) Store {
	if s == nil {
		panic("httpcache: Guard called with a nil Store")
	}
	if o.Timeout < 0 || o.Failures < 0 || o.TimeoutSpan < 0 || o.Cooldown < 0 {
		panic("httpcache: GuardOptions has a negative field")
	}
	g := &guarded{store: s, inner: Probe(s), timeout: orDefault(o.Timeout, DefaultGuardTimeout)}
	g.breaker.init(o)
	if g.inner.Multi != nil {
		return &guardedMulti{guarded: g, multi: g.inner.Multi}
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
	inner   Caps // store's
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
	_ Capable         = (*guarded)(nil)
	_ Capable         = (*guardedMulti)(nil)
)

// Caps reports the guard itself for each capability of the store it guards
// that it passes through, and as Guarded and Circuit. The guard has the
// methods of Leaser, Counter and TagIndex whatever the store it guards:
// Probe, not a type assertion, tells whether that store has them.
func (g *guarded) Caps() Caps { return g.caps(g) }

// Caps is the guard's Caps with the guard's GetMulti.
func (g *guardedMulti) Caps() Caps {
	c := g.caps(g)
	c.Multi = g
	return c
}

// guard is what Guard returns: *guarded or *guardedMulti.
type guard interface {
	GuardedStore
	CircuitReporter
	Leaser
	Counter
	TagIndex
}

// caps are the Caps of self, the guard Guard returned.
func (g *guarded) caps(self guard) Caps {
	c := Caps{Guarded: self, Circuit: self}
	if g.inner.Leaser != nil {
		c.Leaser = self
	}
	if g.inner.Counter != nil {
		c.Counter = self
	}
	if g.inner.Tags != nil {
		c.Tags = self
	}
	return c
}

// errUnsupported is returned by a guarded store for an optional operation
// the store underneath does not have.
var errUnsupported = fmt.Errorf("httpcache: the store does not support this operation: %w", errors.ErrUnsupported)

var (
	_ Counter  = (*guarded)(nil)
	_ TagIndex = (*guarded)(nil)
)

// Advance advances a counter on the guarded store, if it is a Counter.
func (g *guarded) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	s := g.inner.Counter
	if s == nil {
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
	s := g.inner.Tags
	if s == nil {
		return errUnsupported
	}
	return g.do(ctx, func(ctx context.Context) error { return s.AddTags(ctx, key, tags, ttl) })
}

// TaggedKeys lists a tag's keys on the guarded store, if it is a TagIndex.
func (g *guarded) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	s := g.inner.Tags
	if s == nil {
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
	s := g.inner.Tags
	if s == nil {
		return errUnsupported
	}
	return g.do(ctx, func(ctx context.Context) error { return s.RemoveTags(ctx, tags...) })
}

// Lease takes a lease on the guarded store. A store that is not a Leaser
// grants every lease: there is nothing to coordinate with.
func (g *guarded) Lease(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	l := g.inner.Leaser
	if l == nil {
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
	l := g.inner.Leaser
	if l == nil {
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
	r := succeeded
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrTooLarge), errors.Is(err, ErrInvalidTTL):
	case isTimeout(err):
		// The store's own answer, if it has one, comes first: a client
		// that kept retrying a refused dial until the deadline returns
		// the refusal.
		r = timedOut
	default:
		r = failed
	}
	g.breaker.record(probe, r)
	return err
}

// isTimeout reports whether err says it is a timeout, as net.Error,
// context.DeadlineExceeded and os.ErrDeadlineExceeded do: the guard's
// deadline passed, or a store client whose own timeout is shorter gave up.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
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

// outcome is what an operation says about the store.
type outcome int

const (
	succeeded outcome = iota // an answer, a miss among them
	failed                   // an error: refused, reset, an error reply, a panic
	timedOut                 // no answer in time: a hung store, or a starved process
)

// breaker is a consecutive-failure circuit breaker. Closed, it costs one
// atomic load per operation; failures and state changes take a lock.
type breaker struct {
	open      atomic.Bool
	failures  atomic.Int64 // in a row
	threshold int64
	span      time.Duration // how long timeouts in a row must go on to open it
	cooldown  time.Duration
	now       func() time.Time
	notify    func(open bool)

	mu      sync.Mutex
	first   time.Time // when the failures in a row began
	until   time.Time // while open: when a probe may go
	probing bool      // a probe is in flight
}

func (b *breaker) init(o GuardOptions) {
	b.threshold = int64(orDefault(o.Failures, 5))
	b.span = orDefault(o.TimeoutSpan, DefaultTimeoutSpan)
	b.cooldown = orDefault(o.Cooldown, time.Second)
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
func (b *breaker) record(probe bool, r outcome) {
	if !probe && r == succeeded {
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
		return
	}
	changed, open := false, false
	b.mu.Lock()
	switch {
	case probe && r == succeeded: // the store is back
		b.probing = false
		b.open.Store(false)
		b.failures.Store(0)
		changed, open = true, false
	case probe: // still down: wait again
		b.probing = false
		b.until = b.now().Add(b.cooldown)
	default:
		now := b.now()
		n := b.failures.Add(1)
		if n == 1 {
			b.first = now
		}
		// A run of timeouts opens the circuit only once it has lasted:
		// a starved process sees a burst of them that a success ends.
		if n >= b.threshold && !b.open.Load() && (r != timedOut || now.Sub(b.first) >= b.span) {
			b.open.Store(true)
			b.until = now.Add(b.cooldown)
			changed, open = true, true
		}
	}
	b.mu.Unlock()
	if changed && b.notify != nil {
		b.notify(open)
	}
}
