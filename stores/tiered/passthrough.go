package tiered

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/seedcache/httpcache/store"
)

var (
	_ store.Counter    = (*Store)(nil)
	_ store.TagIndex   = (*Store)(nil)
	_ store.Replicated = (*Store)(nil)
)

// errNoCounter and errNoTagIndex are returned when L2 lacks the optional
// interface: the Store claims every interface statically, whatever its L2.
// Both wrap errors.ErrUnsupported.
var (
	errNoCounter  = fmt.Errorf("tiered: L2 has no counters (it is not an store.Counter): %w", errors.ErrUnsupported)
	errNoTagIndex = fmt.Errorf("tiered: L2 has no tag index (it is not an store.TagIndex): %w", errors.ErrUnsupported)
)

// optional is how the Store reaches an optional interface T of L2.
type optional[T any] struct {
	impl    T
	ok      bool // L2 has T
	bounded bool // impl is the guard's, which bounds calls itself
}

// reach finds T on L2: on the guarded L2 if the guard passes T through, so
// that its timeout and circuit breaker apply; else on L2 as New was given
// it, with each call bounded by the Store's own timeout. Whether L2 has T
// is decided on L2 as given: a guard may claim T statically for every
// store it wraps.
func reach[T any](given, guarded store.Store) optional[T] {
	if _, ok := given.(T); !ok {
		return optional[T]{}
	}
	if t, ok := guarded.(T); ok {
		return optional[T]{impl: t, ok: true, bounded: true}
	}
	t, _ := given.(T)
	return optional[T]{impl: t, ok: true}
}

// bound returns ctx bounded by timeout, unless o's calls are bounded
// already.
func (o optional[T]) bound(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if o.bounded {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}

// Advance advances the counter called name in L2, the store every
// instance shares (see store.Counter), with ttl passed through, and
// drops this instance's copy of it, telling the others to drop theirs.
// With an L2 that has no counters it returns an error wrapping
// errors.ErrUnsupported.
//
// Get reads a counter like any value: from L1 when L1 has a copy. The
// middleware reads its purge clock on every lookup, and a copy keeps that
// off the network; it changes only when a purge advances it, and every
// purge ends with DropLocalCopies, which removes every instance's copy
// before the purge returns (the message Advance publishes removes them
// sooner still, one Redis hop after it). So a copy is current between
// purges, and during one it may lag by at most the purge's own duration.
// Like any copy filled from L2, one of a counter with a ttl may outlive
// the counter in L2 by up to L1TTL.
func (s *Store) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	if !s.counter.ok {
		return 0, errNoCounter
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	bctx, cancel := s.counter.bound(ctx, s.pubTimeout)
	n, err := s.counter.impl.Advance(bctx, name, floor, ttl)
	cancel()
	s.drop([]string{name})
	// A lost message only delays the other instances' dropping of their
	// copies until DropLocalCopies, which reports its own failures: the
	// counter has advanced, and that must not be reported as failed.
	if perr := s.publish(ctx, err, name); perr != nil {
		s.log.Warn("tiered: cannot tell other instances that a counter advanced; their copies go at the next DropLocalCopies",
			slog.Any("error", perr))
	}
	return n, err
}

// AddTags records tags for key in L2's tag index. With an L2 that has no
// tag index it returns an error wrapping errors.ErrUnsupported.
func (s *Store) AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	if !s.tags.ok {
		return errNoTagIndex
	}
	ctx, cancel := s.tags.bound(ctx, s.pubTimeout)
	defer cancel()
	return s.tags.impl.AddTags(ctx, key, tags, ttl)
}

// TaggedKeys returns the keys L2's tag index records for tag. With an L2
// that has no tag index it returns an error wrapping errors.ErrUnsupported.
func (s *Store) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	if !s.tags.ok {
		return nil, errNoTagIndex
	}
	ctx, cancel := s.tags.bound(ctx, s.pubTimeout)
	defer cancel()
	return s.tags.impl.TaggedKeys(ctx, tag)
}

// RemoveTags forgets tags in L2's tag index. With an L2 that has no tag
// index it returns an error wrapping errors.ErrUnsupported.
func (s *Store) RemoveTags(ctx context.Context, tags ...string) error {
	if !s.tags.ok {
		return errNoTagIndex
	}
	ctx, cancel := s.tags.bound(ctx, s.pubTimeout)
	defer cancel()
	return s.tags.impl.RemoveTags(ctx, tags...)
}
