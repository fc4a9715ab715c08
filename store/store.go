package store

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Store holds encoded cache entries. Values are opaque bytes: a store knows
// nothing of HTTP. Implementations must be safe for concurrent use, and pass
// the conformance suite in store/storetest.
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
// everyone once stored. The middleware's objects have a method Size() int,
// the bytes they hold besides the value: a store with a byte budget should
// count it (stores/memory does), or it holds several times its budget.
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

// Local is an optional interface for in-process stores whose operations
// never wait on the network (stores/memory). A local store guards itself
// (its Guarded reports true): the middleware writes to it before the
// response completes, and does not guard it with timeouts or a circuit
// breaker. Other stores are written in the background.
//
// Through LocalState every Cache using one local store shares state kept in
// process, as Caches sharing a networked store share what they keep in it.
// The middleware keeps its purge records there, so that a purge through one
// Cache reaches every Cache on the store. A local store that keeps no state
// of its own can embed a StateMap.
type Local interface {
	GuardedStore
	// LocalState returns the value kept under key (a comparable value of a
	// type the caller owns), first storing fresh() if there is none.
	// Concurrent calls for one key all return the same value.
	LocalState(key any, fresh func() any) any
}

// StateMap is a ready LocalState for a Local store: embed one (its zero
// value is ready to use, and it must not be copied after first use).
type StateMap struct{ m sync.Map }

// LocalState returns the value kept under key, first storing fresh() if
// there is none (see Local).
func (m *StateMap) LocalState(key any, fresh func() any) any {
	if v, ok := m.m.Load(key); ok {
		return v
	}
	v, _ := m.m.LoadOrStore(key, fresh())
	return v
}

// GuardedStore is an optional interface for stores that already bound their
// own operations: local stores, stores returned by Guard, and composite
// stores (stores/tiered) that guard their network calls themselves.
// httpcache.New wraps every store that is not guarded with Guard.
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
// exclusive lease on a name (Redis: SET NX PX). With
// httpcache.Options.Lease, the middleware takes a lease before filling a key
// that other processes may be filling too, so that one process runs the
// handler while the others wait for its result.
type Leaser interface {
	// Lease tries to take the lease called name for ttl on behalf of
	// token, and reports whether it got it. A ttl <= 0 is an error.
	Lease(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	// Release gives up the lease called name if token still holds it; a
	// lease that expired or passed to another token is left alone.
	Release(ctx context.Context, name, token string) error
}

// Counter is an optional interface for stores with atomic counters that
// only grow. The middleware keeps its purge clock in one — a number every
// purge advances to at least the current time in microseconds, and every
// lookup reads (with Get, as a decimal number) to tell entries stored
// before a purge from those stored after; because it follows the clock, a
// counter lost with its server is re-created past every value it had — and
// its per-tag purge markers, so that two purges of one tag racing leave the
// later one. A shared store without a Counter cannot take purges
// (Cache.Purge returns an error).
type Counter interface {
	// Advance atomically sets the counter called name to the larger of
	// floor and its current value plus one (creating it, as if it were
	// zero, when missing), and returns the new value. With ttl > 0 the
	// counter expires ttl after this call (each Advance renews it); with
	// ttl == 0 it never expires. It reads back with Get as its plain
	// decimal value.
	Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error)
}

// TagIndex is an optional interface for stores that can index keys by tag,
// so that a purge removes tagged entries at once instead of leaving them to
// be found purged when next read (Redis sets, the memory store's in-process
// index). Purges are correct without it; it only reclaims space sooner.
//
// A tag is a name in the store's key space, as Counter and Leaser names
// are: a store that keeps a tag's records under a key of their own (a Redis
// set) keys them by the tag as given, so that the caller's namespace covers
// them, and the caller keeps tags apart from the keys of values. The
// middleware names each tag under its httpcache.Options.KeyPrefix
// (KeyPrefix + "v1:tag:{" + a hash of the tag + "}"), so that Caches with
// different prefixes on one store keep separate records.
type TagIndex interface {
	// AddTags records that key, stored for ttl, carries tags. The
	// record may outlive the key; it lasts at least ttl, or until the key
	// is written again, deleted or evicted.
	AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error
	// TaggedKeys returns the keys recorded for tag (possibly including
	// keys since deleted or stored again with other tags).
	TaggedKeys(ctx context.Context, tag string) ([]string, error)
	// RemoveTags forgets the records of tags.
	RemoveTags(ctx context.Context, tags ...string) error
}

// A composite store (stores/tiered) may have the methods of an optional
// interface whether or not the store behind it can: it then reports what it
// really has through Capable, and its methods the store behind it lacks
// return an error wrapping errors.ErrUnsupported.

// Replicated is an optional interface for stores that keep copies of shared
// entries in each process (stores/tiered). The middleware finds it only on
// stores that guard themselves (GuardedStore).
type Replicated interface {
	// DropLocalCopies is called by the middleware after a purge. It must
	// not return before no process sharing the store can serve a copy
	// taken before the call — or return an error saying it could not make
	// sure.
	DropLocalCopies(ctx context.Context) error
	// GetShared reads key from the shared store alone, past this
	// process's copies, which may lag a deletion another process made.
	// The middleware uses it where such a lag would mislead it: before
	// rewriting a URL's Vary index, to check that no invalidation deleted
	// it meanwhile; and to read purge markers, which must be no older than
	// the purge clock read before them.
	GetShared(ctx context.Context, key string) ([]byte, error)
}

// Sentinel errors. Stores wrap their backend's own errors onto these so that
// callers can test with errors.Is. Their texts keep the "httpcache:" prefix
// they had when they lived in the httpcache package.
var (
	// ErrNotFound reports a cache miss: no value is stored under the key.
	ErrNotFound = errors.New("httpcache: not found")
	// ErrTooLarge reports a value the store refuses because of its size.
	// The middleware treats it as "not stored", not as a store failure.
	ErrTooLarge = errors.New("httpcache: value too large for store")
	// ErrInvalidTTL reports a Set with a ttl that is zero or negative.
	ErrInvalidTTL = errors.New("httpcache: ttl must be positive")
	// ErrCircuitOpen is returned by a guarded store while its circuit
	// breaker is open: the store failed repeatedly and is not being called
	// until a probe succeeds.
	ErrCircuitOpen = errors.New("httpcache: store circuit open")
)
