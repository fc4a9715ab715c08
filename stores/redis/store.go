package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
)

// DefaultMaxValueSize is the largest value a Store holds when
// Options.MaxValueSize is zero: 16 MiB.
//
// Redis itself takes strings of up to 512 MB, but a value that large is a
// hazard for a cache: Redis is single-threaded, and go-redis reads a whole
// reply into memory before returning it, so a huge value stalls the other
// commands on its connection (and, on the server, every client) while it is
// copied, and one Get of it allocates its full size in the application.
// Responses larger than 16 MiB are better served by the origin.
const DefaultMaxValueSize = 16 << 20

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// KeyPrefix is prepended to every key the store writes — values,
	// counters, leases and tag sets alike — putting the whole store under
	// a namespace of its own, in a Redis shared with other data. It is not
	// needed to keep applications that cache through httpcache apart: each
	// Cache's httpcache.Options.KeyPrefix covers everything it writes, and
	// is the one prefix to set for that. It should contain no "{": the
	// first "{…}" of a key is its Redis Cluster hash tag, and a "{" in the
	// prefix would replace the tags of the middleware's keys, putting
	// every key in one slot or splitting keys that are read together over
	// several commands (still correctly). If empty, keys are used as they
	// are.
	KeyPrefix string

	// MaxValueSize is the largest value, in bytes, that Set stores; larger
	// values are refused with an error wrapping store.ErrTooLarge.
	// If zero, DefaultMaxValueSize (16 MiB).
	MaxValueSize int

	// TagPruneInterval is how many AddTags calls of the Store go by
	// between two prunings of a tag set: every TagPruneInterval-th call
	// also checks up to 100 random members of one of its tags' sets and
	// removes those whose keys are gone (see AddTags). 1 prunes on every
	// call; a negative value never prunes.
	// If zero, DefaultTagPruneInterval (32).
	TagPruneInterval int
}

// Store is an store.Store, an store.MultiGetter, an
// store.Leaser, an store.Counter and an store.TagIndex on a
// go-redis client. It is safe for concurrent use. Create one with New.
type Store struct {
	client           goredis.UniversalClient
	prefix           string
	maxValueSize     int
	route            route
	honoursDeadlines bool          // see guarded
	pruneEvery       uint64        // Options.TagPruneInterval; 0: never
	addTagsCalls     atomic.Uint64 // picks the AddTags calls that prune
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.MultiGetter = (*Store)(nil)
	_ store.Leaser      = (*Store)(nil)
	_ store.Counter     = (*Store)(nil)
	_ store.TagIndex    = (*Store)(nil)
)

// New returns a Store that keeps its values in client. The store never
// closes client. New panics if client is nil or opts.MaxValueSize is
// negative.
func New(client goredis.UniversalClient, opts Options) *Store {
	if client == nil {
		panic("redis: New with a nil client")
	}
	if opts.MaxValueSize < 0 {
		panic(fmt.Sprintf("redis: negative MaxValueSize %d", opts.MaxValueSize))
	}
	s := &Store{
		client:       client,
		prefix:       opts.KeyPrefix,
		maxValueSize: opts.MaxValueSize,
		route:        routeFor(client),

		honoursDeadlines: honoursDeadlines(client),
	}
	if s.maxValueSize == 0 {
		s.maxValueSize = DefaultMaxValueSize
	}
	switch {
	case opts.TagPruneInterval == 0:
		s.pruneEvery = DefaultTagPruneInterval
	case opts.TagPruneInterval > 0:
		s.pruneEvery = uint64(opts.TagPruneInterval)
	}
	return s
}

// errNotFound is the error of every miss. It is built once: a miss is
// common, and its message names no key.
var errNotFound = fmt.Errorf("httpcache/redis: get: %w", store.ErrNotFound)

// Get returns the value stored under key. The slice is the one go-redis
// read the reply into, handed back without a copy: the caller must not
// modify it.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("httpcache/redis: get: %w", err)
	}
	cmd := goredis.NewStringCmd(ctx, "get", s.key(key))
	if err := s.exec(ctx, cmd); err != nil {
		if errors.Is(err, goredis.Nil) {
			return nil, errNotFound
		}
		return nil, s.fail(ctx, "get", err)
	}
	return bytesOf(cmd.Val()), nil
}

// Set stores value under key for ttl, rounded up to a whole millisecond.
// It refuses a ttl <= 0 with an error wrapping store.ErrInvalidTTL, and
// a value over Options.MaxValueSize with one wrapping store.ErrTooLarge,
// without sending anything.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("httpcache/redis: set: ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	if len(value) > s.maxValueSize {
		return fmt.Errorf("httpcache/redis: set: %d-byte value over the %d-byte limit: %w",
			len(value), s.maxValueSize, store.ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("httpcache/redis: set: %w", err)
	}
	if s.guarded(ctx) {
		// The command may still be written after Set has returned.
		value = bytes.Clone(value)
	}
	// PX, always: go-redis's Set would send EX for whole seconds and
	// truncate sub-millisecond ttls.
	cmd := goredis.NewStatusCmd(ctx, "set", s.key(key), value, "px", ttlMillis(ttl))
	if err := s.exec(ctx, cmd); err != nil {
		return s.fail(ctx, "set", err)
	}
	return nil
}

// ttlMillis returns ttl in milliseconds, rounded up: never 0 for a
// positive ttl.
func ttlMillis(ttl time.Duration) int64 {
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return ms
}

// Delete removes keys with DEL, one command per group of keys that may
// share one (see the package documentation), all in one pipeline. Keys
// that are not stored are not an error.
//
// It sends DEL rather than UNLINK: UNLINK only defers freeing values made
// of many allocations (lists, sets, hashes), while a string is freed at
// once either way, and DEL works on every Redis version and proxy.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.del(ctx, "delete", "del", s.keys(keys))
}

// del deletes the Redis keys full (at least one) for op (Delete,
// RemoveTags) with verb (DEL or UNLINK): one command per group of keys that
// may share one, all in one pipeline.
func (s *Store) del(ctx context.Context, op, verb string, full []string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("httpcache/redis: %s: %w", op, err)
	}
	groups := s.route.partition(full)
	var cmds []goredis.Cmder
	if groups == nil {
		cmds = []goredis.Cmder{goredis.NewIntCmd(ctx, keyArgs(verb, full)...)}
	} else {
		cmds = make([]goredis.Cmder, len(groups))
		for i, g := range groups {
			cmds[i] = goredis.NewIntCmd(ctx, keyArgsAt(verb, full, g)...)
		}
	}
	if err := s.exec(ctx, cmds...); err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// fail wraps err, a failure of op, making sure that it wraps ctx.Err() when
// ctx is done, in case go-redis reports what the context's end caused (a
// read cut short, a connection closed) as some other error.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("httpcache/redis: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("httpcache/redis: %s: %w", op, err)
}

// bytesOf returns the bytes of a reply string without copying them, as
// go-redis's own StringCmd.Bytes does. That is safe because nobody writes
// to them: go-redis reads each bulk reply into a fresh allocation and never
// changes it afterwards, and callers of Get and GetMulti must treat the
// slices as read-only (store.Store). An empty string gives an empty,
// non-nil slice, which GetMulti needs to tell an empty value from a
// missing one.
func bytesOf(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
