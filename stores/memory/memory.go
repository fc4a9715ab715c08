// Package memory is an in-process store.Store: an LRU cache bounded in
// bytes and entries, with a ttl per entry.
//
// Entries expire lazily: a read at or after an entry's expiry time (on
// Options.Clock) is a miss and removes the entry, and expired entries that
// are never read again leave as the least recently used. The store starts
// no goroutine and needs no Close.
//
// Values are kept as slices and handed back without copying, so a hit
// does not allocate; callers must treat them as read-only, as
// store.Store requires.
//
// The store is also a store.Counter, whose counters are never evicted
// while they are alive (see Advance), and a store.TagIndex whose records leave with their
// entries and count against MaxBytes (see AddTags). Both live under the
// shard locks the entries use: neither adds a lock to Get.
package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/bits"
	"time"
	"unsafe"

	"github.com/seedcache/httpcache/store"
)

// Defaults for the zero values of Options.
//
// DefaultShards is 16 because sharding measured better where it matters, on
// parallel hits, and costs little elsewhere. On the 2-CPU development
// machine (AMD EPYC, GOMAXPROCS=2, under load from other builds; best and
// median of 12 runs, ns/op, 1024 keys of 68 bytes, 4 KiB values):
//
//	benchmark                  1 shard      16 shards    64 shards
//	GetParallel                158 / 189    113 / 153    106 / 128
//	MixedParallel (10% Set)    297 / 389    223 / 276    226 / 291
//	Get (serial)               139 / 160    145 / 187    151 / 183
//	Set (serial, overwrite)   1388 / 1712  1472 / 1908  1334 / 1780
//
// Hits allocate nothing in every configuration. The gain grows with the
// number of CPUs contending for one lock; the price is that eviction is LRU
// within a shard rather than across the store (Options.Shards = 1 restores
// the exact order). More than 16 shards gained little here.
const (
	DefaultMaxBytes   = 64 << 20
	DefaultMaxEntries = 100_000
	DefaultShards     = 16
)

// EntryOverhead is the number of bytes each entry counts against
// Options.MaxBytes besides its key and value: its slot in its shard's array
// (96 bytes on 64-bit platforms, and the room a growing array keeps ahead)
// and in the index map; measured about 115 a filled array in, 192 is what
// a just-doubled array and map can reach (TestEntryOverhead keeps it
// honest).
const EntryOverhead = 192

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// MaxBytes bounds the bytes held: the sum over entries of key length,
	// value size (the capacity of the array it is kept in), EntryOverhead
	// and, for an object kept with the value (SetObject, AttachObject) that
	// has a method Size() int, what it reports — httpcache's decoded
	// responses do — and the tag index's bytes (see TagOverhead), so that
	// the live heap the store holds stays near MaxBytes. The least recently used entries are evicted to stay
	// under it, and an entry larger than MaxBytes on its own is refused
	// with an error wrapping store.ErrTooLarge. Counters (see Advance)
	// are not counted.
	// If zero, DefaultMaxBytes (64 MiB).
	MaxBytes int64

	// MaxEntries bounds the number of entries, evicting the least recently
	// used. If zero, DefaultMaxEntries (100 000).
	MaxEntries int

	// Clock tells the time against which ttls are set and checked.
	// If nil, time.Now.
	Clock func() time.Time

	// Shards is the number of independently locked LRU lists, rounded up
	// to a power of two; a key's shard is chosen by a hash of the key.
	// More shards let parallel hits proceed without waiting on one lock;
	// the budgets stay global and exact, but the eviction order is least
	// recently used within the shard being written rather than across
	// the whole store. 1 gives one exact LRU order.
	// If zero, DefaultShards (16).
	Shards int
}

// Store is an in-process store.ObjectStore. It is safe for concurrent
// use. Create one with New.
type Store struct {
	maxBytes   int64
	maxEntries int64
	clock      func() time.Time
	epoch      time.Time // with the default clock, what now counts from
	epochNano  int64     // epoch in Unix nanoseconds
	seed       maphash.Seed
	shardMask  uint64
	shards     []shard
	tallies
	state store.StateMap // LocalState
}

var (
	_ store.ObjectStore  = (*Store)(nil)
	_ store.Local        = (*Store)(nil)
	_ store.GuardedStore = (*Store)(nil)
	_ store.Counter      = (*Store)(nil)
	_ store.TagIndex     = (*Store)(nil)
)

// New returns a Store configured by opts. It panics if a size in opts is
// negative.
func New(opts Options) *Store {
	if opts.MaxBytes < 0 || opts.MaxEntries < 0 || opts.Shards < 0 {
		panic(fmt.Sprintf("memory: negative option in %+v", opts))
	}
	s := &Store{
		maxBytes:   orDefault(opts.MaxBytes, DefaultMaxBytes),
		maxEntries: int64(orDefault(opts.MaxEntries, DefaultMaxEntries)),
		clock:      opts.Clock,
		seed:       maphash.MakeSeed(),
	}
	if s.clock == nil {
		s.clock = time.Now
		s.epoch = time.Now()
		s.epochNano = s.epoch.UnixNano()
	}
	n := 1 << bits.Len(uint(orDefault(opts.Shards, DefaultShards)-1))
	s.shardMask = uint64(n - 1)
	s.shards = make([]shard, n)
	for i := range s.shards {
		s.shards[i].init()
	}
	return s
}

// now is the time on Options.Clock in Unix nanoseconds, which every expiry
// in the store is kept in. With the default clock it is the store's
// creation time plus what the monotonic clock has counted since
// (time.Time.Sub uses it when both times have it, and they are less than
// 292 years apart), so that a step of the wall clock neither prolongs
// entries nor ends them early; another clock is read as it is.
func (s *Store) now() int64 {
	if s.epoch.IsZero() { // a clock of the caller's
		return s.clock().UnixNano()
	}
	return s.epochNano + int64(time.Since(s.epoch))
}

// orDefault returns v, or def if v is zero.
func orDefault[T int | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Get returns the value stored under key. The slice is the store's own:
// the caller must not modify it. Get does not allocate.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	v, _, err := s.GetObject(ctx, key)
	return v, err
}

// GetObject returns the value stored under key and the object stored with
// it by SetObject, or nil if it was stored by Set. It does not allocate.
func (s *Store) GetObject(ctx context.Context, key string) (value []byte, obj any, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	now := s.now()
	sh, h := s.shardFor(key)
	sh.mu.Lock()
	e, ok := sh.lru.Get(h, key)
	if ok && now >= e.expires {
		sh.lru.Remove(h, key)
		s.forget(sh, key, e)
		ok = false
	}
	if !ok {
		// A counter is read like an entry. The lookup is one probe of
		// a map that is empty in all shards but a counter's.
		if c := sh.counters[key]; c != nil {
			if c.expired(now) {
				sh.dropCounter(c)
			} else {
				e, ok = entry{value: c.text}, true
			}
		}
	}
	sh.mu.Unlock()
	if !ok {
		return nil, nil, store.ErrNotFound
	}
	return e.value, e.obj, nil
}

// AttachObject keeps obj with the value under key if that value is still
// the slice GetObject returned (same array and length); otherwise, or if
// the entry has gone, it does nothing. The object's size counts against
// the budgets, which may evict other entries; an object that would make the
// entry larger than MaxBytes on its own is not kept.
func (s *Store) AttachObject(key string, value []byte, obj any) {
	sh, h := s.shardFor(key)
	sh.mu.Lock()
	e, ok := sh.lru.Peek(h, key)
	if !ok || len(e.value) != len(value) || unsafe.SliceData(e.value) != unsafe.SliceData(value) {
		sh.mu.Unlock()
		return
	}
	grown := objectSize(obj) - objectSize(e.obj)
	if e.size+grown > s.maxBytes {
		// With its object the entry would be over MaxBytes on its
		// own: it stays as it is (hits keep decoding its value).
		sh.mu.Unlock()
		return
	}
	e.obj = obj
	e.size += grown
	sh.lru.Add(h, key, e)
	s.bytes.Add(grown)
	s.evictFrom(sh)
	sh.mu.Unlock()
	if s.overBudget() {
		s.evictElsewhere(sh)
	}
}

// entrySize is what an entry counts against MaxBytes, besides its tags:
// its key, the whole array its value is kept in, EntryOverhead, and what
// its object holds (objectSize).
func entrySize(key string, value []byte, obj any) int64 {
	return int64(len(key)) + int64(cap(value)) + EntryOverhead + objectSize(obj)
}

// objectSize is what an object kept with a value says it holds on the heap
// besides that value, through a method Size() int; zero for other objects.
// httpcache's decoded entries have one, so that the budget bounds what the
// store really holds, not only the bytes it was given.
func objectSize(obj any) int64 {
	if o, ok := obj.(interface{ Size() int }); ok {
		return int64(max(0, o.Size()))
	}
	return 0
}

// LocalState returns the value kept under key, first storing fresh() if
// there is none: state that every Cache using the store shares (their
// purge records), as Caches sharing a Redis server share what they keep in
// it. Clear leaves it.
//
// The store is a store.Local: it never waits on the network, so the
// middleware writes to it synchronously and does not guard it.
func (s *Store) LocalState(key any, fresh func() any) any {
	return s.state.LocalState(key, fresh)
}

// Guarded reports true: an in-process store needs no timeout or circuit
// breaker.
func (s *Store) Guarded() bool { return true }

// Set stores a copy of value under key for ttl. A value refused for its
// size or ttl leaves the key as it was.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.set(ctx, key, value, nil, ttl, true)
}

// SetObject stores value and obj under key for ttl. It keeps value itself,
// not a copy: the caller must not modify it afterwards.
func (s *Store) SetObject(ctx context.Context, key string, value []byte, obj any, ttl time.Duration) error {
	return s.set(ctx, key, value, obj, ttl, false)
}

func (s *Store) set(ctx context.Context, key string, value []byte, obj any, ttl time.Duration, copyValue bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("memory: set with ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	if copyValue {
		value = append(make([]byte, 0, len(value)), value...) // cap == len
	}
	size := entrySize(key, value, obj)
	if size > s.maxBytes {
		return fmt.Errorf("memory: entry of %d bytes (%d-byte key, %d-byte value) over MaxBytes %d: %w",
			size, len(key), len(value), s.maxBytes, store.ErrTooLarge)
	}
	now := s.now()
	e := entry{value: value, obj: obj, expires: expiryNano(now, ttl), size: size}
	sh, h := s.shardFor(key)
	s.insert(sh, h, key, e, now)
	return nil
}

// Delete removes keys, with their tag records, and counters of those
// names. Keys that are not stored are not an error.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, key := range keys {
		sh, h := s.shardFor(key)
		sh.mu.Lock()
		if e, ok := sh.lru.Peek(h, key); ok {
			sh.lru.Remove(h, key)
			s.forget(sh, key, e)
		} else {
			s.bytes.Add(-sh.untag(key)) // an orphan's records
		}
		sh.dropCounterNamed(key)
		sh.mu.Unlock()
	}
	return nil
}

// shardFor returns key's shard and key's hash, which chooses the shard and
// finds the key within it.
func (s *Store) shardFor(key string) (*shard, uint64) {
	h := maphash.String(s.seed, key)
	return &s.shards[h&s.shardMask], h
}
