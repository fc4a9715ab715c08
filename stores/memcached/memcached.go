package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/store"
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// KeyPrefix goes before every key the store sends, values and
	// counters alike, putting the whole store under a namespace of its own
	// on servers shared with other users. It is not needed to keep
	// applications that cache through httpcache apart: each Cache's
	// httpcache.Options.KeyPrefix covers everything it writes, and is the
	// one prefix to set for that. It must be a legal memcached key of at
	// most MaxKeyPrefixLen bytes: no spaces or control bytes. If empty,
	// keys have no prefix.
	KeyPrefix string

	// MaxItemSize is the servers' item size limit in bytes (memcached's -I
	// option). Values that would make a larger item are refused with an
	// error wrapping store.ErrTooLarge; see ItemOverhead.
	// If zero, DefaultMaxItemSize (1 MiB).
	MaxItemSize int

	// Clock tells the time from which ttls over 30 days are turned into
	// absolute expiry times; shorter ttls are sent relative and expire on
	// the server's clock. If nil, time.Now.
	Clock func() time.Time
}

// Store is an store.Store, an store.MultiGetter and an
// store.Counter on a memcached client; not an store.TagIndex, since
// memcached has no sets (see the package documentation). It is safe for
// concurrent use. Create one with New.
type Store struct {
	client      *memcache.Client
	prefix      string
	maxItemSize int
	clock       func() time.Time
	seed        maphash.Seed                // picks a key's turn in advancing
	advancing   [advanceTurns]chan struct{} // see Advance
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.MultiGetter = (*Store)(nil)
	_ store.Counter     = (*Store)(nil)
)

// errNotFound is what Get returns on a miss; one value, so that a miss
// does not allocate.
var errNotFound = fmt.Errorf("memcached: %w", store.ErrNotFound)

// New returns a Store on client, configured by opts. The client stays the
// caller's: the store never closes it. New panics if client is nil or opts
// is invalid: a KeyPrefix that is too long or has spaces or control bytes,
// or a MaxItemSize that is negative or below memcached's 1024-byte minimum.
func New(client *memcache.Client, opts Options) *Store {
	if client == nil {
		panic("memcached: New called with a nil *memcache.Client")
	}
	if len(opts.KeyPrefix) > MaxKeyPrefixLen {
		panic(fmt.Sprintf("memcached: KeyPrefix is %d bytes; at most %d fit before a hashed key", len(opts.KeyPrefix), MaxKeyPrefixLen))
	}
	if !legalBytes(opts.KeyPrefix) {
		panic(fmt.Sprintf("memcached: KeyPrefix %q has a space or control byte, which memcached keys cannot hold", opts.KeyPrefix))
	}
	if opts.MaxItemSize < 0 || (opts.MaxItemSize > 0 && opts.MaxItemSize < minItemSize) {
		panic(fmt.Sprintf("memcached: MaxItemSize %d is below memcached's minimum of %d", opts.MaxItemSize, minItemSize))
	}
	s := &Store{
		client:      client,
		prefix:      opts.KeyPrefix,
		maxItemSize: opts.MaxItemSize,
		clock:       opts.Clock,
		seed:        maphash.MakeSeed(),
	}
	for i := range s.advancing {
		s.advancing[i] = make(chan struct{}, 1)
	}
	if s.maxItemSize == 0 {
		s.maxItemSize = DefaultMaxItemSize
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	return s
}

// key returns the memcached key for a store key.
func (s *Store) key(key string) string { return mapKey(s.prefix, key) }

// Get returns the value stored under key, or an error wrapping
// store.ErrNotFound if there is none. The slice is the caller's; an
// empty stored value comes back empty and non-nil.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	it, err := call(ctx, s.client, s.key(key), get)
	switch {
	case err == nil:
		return nonNil(it.Value), nil
	case errors.Is(err, memcache.ErrCacheMiss):
		return nil, errNotFound
	default:
		return nil, fmt.Errorf("memcached: get: %w", err)
	}
}

// GetMulti returns the values stored under keys, in order: nil for a key
// with no value, a non-nil (possibly empty) slice otherwise. It sends one
// "gets" command to each server that holds any of the keys, in parallel.
// If any server fails, it returns only an error.
func (s *Store) GetMulti(ctx context.Context, keys ...string) ([][]byte, error) {
	mapped := s.keys(keys)
	items, err := call(ctx, s.client, mapped, getMulti)
	if err != nil {
		return nil, fmt.Errorf("memcached: get multi: %w", err)
	}
	values := make([][]byte, len(keys))
	for i, k := range mapped {
		if it, ok := items[k]; ok {
			values[i] = nonNil(it.Value)
		}
	}
	return values, nil
}

// Set stores value under key for ttl, rounded up to whole seconds plus
// one (see the package documentation). A ttl <= 0 is refused with an error
// wrapping store.ErrInvalidTTL, and a value too large for an item with
// one wrapping store.ErrTooLarge, in both cases before anything is
// sent. Set does not keep value.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("memcached: set with ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	k := s.key(key)
	if err := s.checkSize(k, len(value)); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("memcached: set: %w", ctxError(ctx))
	}
	apart := runsApart(ctx, s.client)
	if apart {
		// The write may outlive Set: it must not read the caller's
		// slice after Set has returned.
		value = bytes.Clone(value)
	}
	item := &memcache.Item{Key: k, Value: value, Expiration: expiration(ttl, s.clock)}
	if _, err := callOn(ctx, s.client, apart, item, set); err != nil {
		if isTooLarge(err) {
			return fmt.Errorf("memcached: set: the server refused a %d-byte item (is its -I below MaxItemSize %d?): %w: %w",
				len(k)+len(value)+ItemOverhead, s.maxItemSize, store.ErrTooLarge, err)
		}
		return fmt.Errorf("memcached: set: %w", err)
	}
	return nil
}

// isTooLarge reports whether err is memcached's refusal of an item over
// its -I limit, which gomemcache reports only as an unexpected reply line.
func isTooLarge(err error) bool {
	return strings.Contains(err.Error(), "SERVER_ERROR object too large for cache")
}

// nonNil returns v, or an empty non-nil slice if v is nil: present values
// are never nil.
func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}
