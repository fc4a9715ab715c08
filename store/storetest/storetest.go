package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// DefaultMaxValueSize is the value size the suite checks when
// Options.MaxValueSize is zero: memcached's default 1 MiB item limit less
// room for its item header and a 250-byte key.
const DefaultMaxValueSize = 1<<20 - 1<<10

// Options describes the store under test.
type Options struct {
	// Advance moves the clock of every store that newStore returns
	// forward by d (subtests run one at a time, so one fake clock can
	// serve them all). If nil, the TTL cases sleep for real: about 2 s
	// (5 s for a Counter with a TTLGranularity of 1s).
	Advance func(d time.Duration)

	// MaxValueSize is the largest value the store promises to hold.
	// If zero, DefaultMaxValueSize.
	MaxValueSize int

	// TTLGranularity is how much longer than its ttl the store may keep a
	// value: a store that rounds ttls up to whole seconds and expires on a
	// one-second clock (memcached) sets 1s. If zero, expiry is exact to
	// the millisecond: with Advance, a value is checked present at
	// ttl-1ms and absent at ttl.
	TTLGranularity time.Duration
}

func (o Options) maxValueSize() int {
	if o.MaxValueSize > 0 {
		return o.MaxValueSize
	}
	return DefaultMaxValueSize
}

// Run runs the conformance suite against stores made by newStore. newStore
// is called once per subtest, with that subtest's t, and must return a
// store whose keys do not collide with those of other calls (a fresh store,
// or one key prefix per call).
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opts Options) {
	t.Helper()
	if opts.MaxValueSize < 0 || opts.TTLGranularity < 0 {
		panic("storetest: negative MaxValueSize or TTLGranularity")
	}
	s := &suite{newStore: newStore, opts: opts}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Miss", s.testMiss},
		{"SetGet", s.testSetGet},
		{"Overwrite", s.testOverwrite},
		{"Delete", s.testDelete},
		{"EmptyValue", s.testEmptyValue},
		{"SetCopiesValue", s.testSetCopiesValue},
		{"Keys", s.testKeys},
		{"LargeValues", s.testLargeValues},
		{"OverLimit", s.testOverLimit},
		{"InvalidTTL", s.testInvalidTTL},
		{"TTL", s.testTTL},
		{"DoneContext", s.testDoneContext},
		{"Concurrent", s.testConcurrent},
		{"Object", s.testObject},
		{"Counter", s.testCounter},
		{"TagIndex", s.testTagIndex},
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}

// suite carries Run's arguments to the cases.
type suite struct {
	newStore func(t *testing.T) store.Store
	opts     Options
}

// objectStore returns a new store as an ObjectStore, skipping t if the
// store does not implement it.
func (s *suite) objectStore(t *testing.T) store.ObjectStore {
	t.Helper()
	_, os := storeAs(t, s, "ObjectStore", func(c store.Caps) store.ObjectStore { return c.Objects })
	return os
}

// storeAs returns a new store, and the capability named name that pick
// takes from its store.Probe, skipping t if the store does not have it.
func storeAs[T comparable](t *testing.T, s *suite, name string, pick func(store.Caps) T) (store.Store, T) {
	t.Helper()
	st := s.newStore(t)
	v := pick(store.Probe(st))
	var none T
	if v == none {
		t.Skip("store does not implement store." + name)
	}
	return st, v
}

// longTTL is the ttl of values that must outlive a subtest.
const longTTL = time.Hour

func mustSet(t *testing.T, st store.Store, key string, value []byte, ttl time.Duration) {
	t.Helper()
	if err := st.Set(context.Background(), key, value, ttl); err != nil {
		t.Fatalf("Set(%s, %d bytes, %v): %v", showKey(key), len(value), ttl, err)
	}
}

func mustDelete(t *testing.T, st store.Store, keys ...string) {
	t.Helper()
	if err := st.Delete(context.Background(), keys...); err != nil {
		t.Fatalf("Delete(%d keys): %v", len(keys), err)
	}
}

// expectValue checks that key holds exactly want.
func expectValue(t *testing.T, st store.Store, key string, want []byte) {
	t.Helper()
	got, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v; want %d bytes", showKey(key), err, len(want))
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("Get(%s): %s", showKey(key), d)
	}
}

// expectMiss checks that key holds nothing.
func expectMiss(t *testing.T, st store.Store, key string) {
	t.Helper()
	got, err := st.Get(context.Background(), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s) = %d bytes, %v; want an error wrapping ErrNotFound", showKey(key), len(got), err)
	}
}

// diff describes how got differs from want, or returns "" if they are
// equal, without printing megabytes of data.
func diff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("got %d bytes, want %d; first difference at offset %d (got %s, want %s)",
		len(got), len(want), i, excerpt(got, i), excerpt(want, i))
}

func excerpt(b []byte, i int) string {
	end := min(i+16, len(b))
	if i >= end {
		return "end of value"
	}
	return fmt.Sprintf("%q", b[i:end])
}

// showKey abbreviates long keys in messages.
func showKey(key string) string {
	if len(key) > 40 {
		return fmt.Sprintf("%q…(%d bytes)", key[:32], len(key))
	}
	return fmt.Sprintf("%q", key)
}

// fill returns n pseudo-random bytes determined by seed. The first 256
// bytes (or all n, if fewer) are a permutation of all byte values, so every
// value of 256 bytes or more contains every byte value.
func fill(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	perm := r.Perm(256)
	i := 0
	for ; i < n && i < 256; i++ {
		b[i] = byte(perm[i])
	}
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for ; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}
