package tiered

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seedcache/httpcache/store"
)

// Get returns the value stored under key: L1's copy if there is one, at no
// network cost, or else L2's, which then fills L1. The slice is read-only.
// While this instance may not use L1 (with PubSub: before it is
// registered, or once its registration is failing; see Options.PubSub),
// Get reads L2 alone.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	v, _, err := s.GetObject(ctx, key)
	return v, err
}

// GetObject is Get that also returns the object kept with L1's copy: the
// one given to SetObject or AttachObject, or nil.
func (s *Store) GetObject(ctx context.Context, key string) ([]byte, any, error) {
	if !s.member.usable() {
		v, err := s.l2.Get(ctx, key)
		return v, nil, err
	}
	v, obj, err := s.l1.GetObject(ctx, key)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return v, obj, err // a hit, or ctx is done
	}
	st := s.fence.stripe(key)
	gen := st.begin()
	v, err = s.l2.Get(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	// Our own copy, kept by L1 and returned, so that the middleware's
	// AttachObject(key, v, decoded) finds this very slice in L1 and later
	// hits skip decoding.
	v = bytes.Clone(v)
	// L2's remaining ttl is unknown (a Redis GET does not return it), so
	// the copy may outlive the value in L2 by up to L1TTL. That is safe:
	// the middleware checks every entry's own freshness before serving it.
	// A fill that L1 went out of use during is dropped: L1 is cleared
	// before it is used again, and the fence would refuse it then anyway.
	st.fill(gen, func() {
		if s.member.usable() {
			_ = s.l1.SetObject(context.Background(), key, v, nil, s.l1TTL)
		}
	})
	return v, nil, nil
}

// GetShared reads key from L2 alone (store.Replicated): this
// instance's L1 copy may lag a write, deletion or counter advance another
// instance made, whose message has not arrived yet.
func (s *Store) GetShared(ctx context.Context, key string) ([]byte, error) {
	return s.l2.Get(ctx, key)
}

// AttachObject keeps obj with L1's copy of key, if that copy is still the
// slice GetObject returned; otherwise it does nothing.
func (s *Store) AttachObject(key string, value []byte, obj any) {
	s.l1.AttachObject(key, value, obj)
}

// Set stores value under key in L2 and a copy in L1, and tells the other
// instances to drop their copies. An error from L2 or from publishing is
// returned, but L1 is written all the same (unless L2 refused the value as
// too large, or L1 is out of use), so that this instance keeps caching
// through an L2 outage for as long as it may use L1.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.set(ctx, key, value, nil, ttl, true)
}

// SetObject is Set that keeps obj with the L1 copy; L2 gets the bytes. It
// takes ownership of value, which L1 keeps: the caller must not modify it.
func (s *Store) SetObject(ctx context.Context, key string, value []byte, obj any, ttl time.Duration) error {
	return s.set(ctx, key, value, obj, ttl, false)
}

// set writes L2 first and L1 second: L1 is written under the fence once
// L2's outcome is known, so that a fill that read the old value from L2
// while L2 was being written cannot land after it (see fence), and so that
// a value L2 refuses is not kept in L1 either.
func (s *Store) set(ctx context.Context, key string, value []byte, obj any, ttl time.Duration, clone bool) error {
	if ttl <= 0 {
		return fmt.Errorf("tiered: set with ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	st := s.fence.stripe(key)
	gen := st.begin()
	err := s.l2.Set(ctx, key, value, ttl)
	st.invalidateSince(gen, func(untouched bool) {
		if untouched && !errors.Is(err, store.ErrTooLarge) && s.member.usable() &&
			s.setL1(key, value, obj, ttl, clone) == nil {
			return
		}
		// A stale copy must not stay behind a value L2 refused, one L1
		// refused, or one another write may have overtaken; and while
		// L1 is out of use, nothing is written to it.
		_ = s.l1.Delete(context.Background(), key)
	})
	return errors.Join(err, s.publish(ctx, err, key))
}

// setL1 writes L1 for the smaller of ttl and L1TTL. It uses a context of
// its own: once L2 has been written, L1 must follow even if ctx is done.
func (s *Store) setL1(key string, value []byte, obj any, ttl time.Duration, clone bool) error {
	ttl = min(ttl, s.l1TTL)
	if clone {
		return s.l1.Set(context.Background(), key, value, ttl)
	}
	return s.l1.SetObject(context.Background(), key, value, obj, ttl)
}

// Delete removes keys from L2, then from L1, and tells the other instances
// to drop their copies. L1 copies go even if L2 fails.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	err := s.l2.Delete(ctx, keys...)
	s.drop(keys)
	return errors.Join(err, s.publish(ctx, err, keys...))
}

// drop removes keys from L1, fencing off fills that are in flight.
func (s *Store) drop(keys []string) {
	for _, key := range keys {
		s.fence.stripe(key).invalidate(func() { _ = s.l1.Delete(context.Background(), key) })
	}
}
