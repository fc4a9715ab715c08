package httpcache

import (
	"context"
	"errors"
	"time"
)

// Store holds encoded cache entries. Values are opaque bytes: a store knows
// nothing of HTTP. Implementations must be safe for concurrent use.
//
// A slice returned by Get is read-only for the caller. Set must not keep the
// caller's slice after it returns.
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
