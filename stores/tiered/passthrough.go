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

var _ store.Capable = (*Store)(nil)

// Caps reports what the Store really has: objects (kept with L1 copies),
// Guarded and Replicated always, and Leaser, Counter and Tags when L2 has
// them (its methods for them exist whatever L2 is).
func (s *Store) Caps() store.Caps {
	c := store.Caps{Objects: s, Guarded: s, Replicated: s}
	if s.leaser != nil {
		c.Leaser = s
	}
	if s.counter != nil {
		c.Counter = s
	}
	if s.tags != nil {
		c.Tags = s
	}
	return c
}

// errNoCounter and errNoTagIndex are returned when L2 lacks the optional
// interface: the Store has the methods of every interface, whatever its
// L2 (Caps says which L2 really has). Both wrap errors.ErrUnsupported.
var (
	errNoCounter  = fmt.Errorf("tiered: L2 has no counters (it is not an store.Counter): %w", errors.ErrUnsupported)
	errNoTagIndex = fmt.Errorf("tiered: L2 has no tag index (it is not an store.TagIndex): %w", errors.ErrUnsupported)
)

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
// Purge markers it reads with GetShared: a check against them is taken as
// good up to the clock read before it, which a lagging copy of a marker
// would belie.
// Like any copy filled from L2, one of a counter with a ttl may outlive
// the counter in L2 by up to L1TTL.
func (s *Store) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	if s.counter == nil {
		return 0, errNoCounter
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.counter.Advance(ctx, name, floor, ttl)
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
	if s.tags == nil {
		return errNoTagIndex
	}
	return s.tags.AddTags(ctx, key, tags, ttl)
}

// TaggedKeys returns the keys L2's tag index records for tag. With an L2
// that has no tag index it returns an error wrapping errors.ErrUnsupported.
func (s *Store) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	if s.tags == nil {
		return nil, errNoTagIndex
	}
	return s.tags.TaggedKeys(ctx, tag)
}

// RemoveTags forgets tags in L2's tag index. With an L2 that has no tag
// index it returns an error wrapping errors.ErrUnsupported.
func (s *Store) RemoveTags(ctx context.Context, tags ...string) error {
	if s.tags == nil {
		return errNoTagIndex
	}
	return s.tags.RemoveTags(ctx, tags...)
}
