package httpcache

import (
	"context"
	"errors"
	"time"
)

// Store holds encoded cache entries. Values are opaque bytes: a store knows
// nothing of HTTP. Implementations must be safe for concurrent use, and pass
// the conformance suite in stores/storetest.
//
// Keys are arbitrary byte strings: a store whose backend limits keys (length,
// spaces, control bytes) must map them to legal keys itself, without letting
// two keys collide. A slice returned by Get is read-only for the caller. Set
// must not keep the caller's slice after it returns. A value lives at least
// its ttl unless deleted or evicted for space, and possibly a little longer
// on stores with coarse timers. When ctx is done, an operation either returns
// an error wrapping ctx.Err() promptly or completes as it would have; a
// refused Set may leave the old value in place or remove it.
type Store interface {
	// Get returns the value stored under key, or an error wrapping
	// ErrNotFound when there is none (or it has expired).
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl. A ttl <= 0 is an error
	// (ErrInvalidTTL), never "forever". A value the store cannot hold is
	// refused with an error wrapping ErrTooLarge.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes keys. Keys that are not stored are not an error.
	Delete(ctx context.Context, keys ...string) error
}

// ObjectStore is an optional interface for in-process stores (such as
// stores/memory) that can keep a decoded form of a value next to its bytes, so
// that a hit skips decoding. Objects are opaque to the store and read-only to
// everyone once stored.
type ObjectStore interface {
	Store
	// GetObject is Get that also returns the object stored by SetObject
	// with the value, or nil if the value was stored by Set.
	GetObject(ctx context.Context, key string) (value []byte, obj any, err error)
	// SetObject is Set that keeps obj with the value. Unlike Set, it takes
	// ownership of value: the caller must not modify it afterwards.
	SetObject(ctx context.Context, key string, value []byte, obj any, ttl time.Duration) error
	// AttachObject keeps obj with the value stored under key, if that value
	// is still the very slice GetObject returned (same array, same
	// length); otherwise it does nothing. The middleware calls it after
	// decoding a value that came without an object, so that later hits
	// skip decoding.
	AttachObject(key string, value []byte, obj any)
}

// LocalStore is an optional interface for stores whose operations never
// wait on the network (stores/memory). The middleware writes to a local
// store before the response completes, and does not guard it with timeouts
// or a circuit breaker. Other stores are written in the background.
type LocalStore interface {
	Local() bool
}

// GuardedStore is an optional interface for stores that already bound their
// own operations: local stores, stores returned by Guard, and composite
// stores (stores/tiered) that guard their network calls themselves. New
// wraps every store that is not guarded with Guard.
type GuardedStore interface {
	Guarded() bool
}

// MultiGetter is an optional interface for stores that can read several keys
// in one round trip (Redis MGET, memcached multi-get). The middleware uses it
// to read a URL's Vary index and the expected variant together, so that a hit
// costs one round trip with or without Vary. Keys it reads together share the
// part between the first "{" and the next "}" (a Redis Cluster hash tag).
type MultiGetter interface {
	// GetMulti returns the values stored under keys, in the same order: a
	// nil element for a key with no value, a non-nil (possibly empty) one
	// otherwise. An error means nothing could be read.
	GetMulti(ctx context.Context, keys ...string) ([][]byte, error)
}

// Leaser is an optional interface for shared stores that can grant a short
// exclusive lease on a name (Redis: SET NX PX). With Options.Lease, the
// middleware takes a lease before filling a key that other processes may be
// filling too, so that one process runs the handler while the others wait
// for its result.
type Leaser interface {
	// Lease tries to take the lease called name for ttl on behalf of
	// token, and reports whether it got it. A ttl <= 0 is an error.
	Lease(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	// Release gives up the lease called name if token still holds it; a
	// lease that expired or passed to another token is left alone.
	Release(ctx context.Context, name, token string) error
}

// Sentinel errors. Stores wrap their backend's own errors onto these so that
// callers can test with errors.Is.
var (
	// ErrNotFound reports a cache miss: no value is stored under the key.
	ErrNotFound = errors.New("httpcache: not found")
	// ErrTooLarge reports a value the store refuses because of its size.
	// The middleware treats it as "not stored", not as a store failure.
	ErrTooLarge = errors.New("httpcache: value too large for store")
	// ErrInvalidTTL reports a Set with a ttl that is zero or negative.
	ErrInvalidTTL = errors.New("httpcache: ttl must be positive")
	// ErrCorruptEntry reports a stored value that is not a valid entry of
	// this package's format (foreign, truncated or damaged). The middleware
	// treats it as a miss and deletes it.
	ErrCorruptEntry = errors.New("httpcache: corrupt cache entry")
)
