package memory

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/seedcache/httpcache/internal/fakeclock"

	"go.uber.org/goleak"

	"github.com/seedcache/httpcache/purgetest"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/store/storetest"
)

// TestMain fails the package if any test leaves a goroutine behind: the
// store must not start one.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)) }

func TestConformance(t *testing.T) {
	clock := newFakeClock()
	tests := []struct {
		name  string
		store Options
		suite storetest.Options
	}{
		{"default", Options{Clock: clock.Now}, storetest.Options{Advance: clock.Advance}},
		{"one shard", Options{Clock: clock.Now, Shards: 1}, storetest.Options{Advance: clock.Advance}},
		{
			// Values past 1 MiB are refused with ErrTooLarge.
			"1 MiB budget",
			Options{Clock: clock.Now, MaxBytes: 1 << 20, MaxEntries: 1000},
			storetest.Options{Advance: clock.Advance, MaxValueSize: 1<<20 - 1<<10},
		},
		{"real clock", Options{}, storetest.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.suite.Advance == nil && testing.Short() {
				t.Skip("sleeps for real; skipped in -short mode")
			}
			fresh := func(t *testing.T) store.Store { return New(tt.store) }
			storetest.Run(t, fresh, tt.suite)
			t.Run("Purge", func(t *testing.T) { purgetest.Run(t, fresh) })
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name                 string
		opts                 Options
		maxBytes, maxEntries int64
		shards               int
	}{
		{"zero", Options{}, DefaultMaxBytes, DefaultMaxEntries, DefaultShards},
		{"set", Options{MaxBytes: 1000, MaxEntries: 10, Shards: 1}, 1000, 10, 1},
		{"shards rounded up", Options{Shards: 3}, DefaultMaxBytes, DefaultMaxEntries, 4},
		{"power of two", Options{Shards: 32}, DefaultMaxBytes, DefaultMaxEntries, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.opts)
			if s.maxBytes != tt.maxBytes || s.maxEntries != tt.maxEntries || len(s.shards) != tt.shards {
				t.Errorf("New(%+v): MaxBytes %d, MaxEntries %d, %d shards; want %d, %d, %d",
					tt.opts, s.maxBytes, s.maxEntries, len(s.shards), tt.maxBytes, tt.maxEntries, tt.shards)
			}
		})
	}
}

func TestNewPanicsOnNegativeOptions(t *testing.T) {
	for _, opts := range []Options{{MaxBytes: -1}, {MaxEntries: -1}, {Shards: -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", opts)
				}
			}()
			New(opts)
		}()
	}
}

// TestDoneContext checks the store's side of the storetest contract: a
// done context makes every method return ctx.Err() itself, untouched.
func TestDoneContext(t *testing.T) {
	s := New(Options{})
	bg := context.Background()
	if err := s.Set(bg, "k", []byte("old"), time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Get", func() error { _, err := s.Get(ctx, "k"); return err }},
		{"GetObject", func() error { _, _, err := s.GetObject(ctx, "k"); return err }},
		{"Set", func() error { return s.Set(ctx, "k", []byte("new"), time.Hour) }},
		{"SetObject", func() error { return s.SetObject(ctx, "k", []byte("new"), 1, time.Hour) }},
		{"Delete", func() error { return s.Delete(ctx, "k") }},
		{"Advance", func() error { _, err := s.Advance(ctx, "k", 0, 0); return err }},
		{"AddTags", func() error { return s.AddTags(ctx, "k", []string{"t"}, time.Hour) }},
		{"TaggedKeys", func() error { _, err := s.TaggedKeys(ctx, "t"); return err }},
		{"RemoveTags", func() error { return s.RemoveTags(ctx, "t") }},
	}
	for _, c := range calls {
		if err := c.call(); err != context.Canceled {
			t.Errorf("%s with a canceled context = %v; want context.Canceled", c.name, err)
		}
	}
	if v, err := s.Get(bg, "k"); err != nil || string(v) != "old" {
		t.Errorf("after calls with a canceled context, Get = %q, %v; want the old value", v, err)
	}
}

func TestExpiryBoundary(t *testing.T) {
	clock := newFakeClock()
	s := New(Options{Clock: clock.Now})
	ctx := context.Background()
	const ttl = 10 * time.Second
	if err := s.SetObject(ctx, "k", []byte("v"), "obj", ttl); err != nil {
		t.Fatal(err)
	}
	clock.Advance(ttl - time.Nanosecond)
	if v, obj, err := s.GetObject(ctx, "k"); err != nil || string(v) != "v" || obj != "obj" {
		t.Fatalf("1ns before expiry: GetObject = %q, %v, %v; want a hit", v, obj, err)
	}
	clock.Advance(time.Nanosecond)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("at expiry: Get = %v; want ErrNotFound", err)
	}
	// The expired entry was removed by the read, not merely hidden.
	if st := s.Stats(); st.Entries != 0 || st.Bytes != 0 || st.Evictions != 0 {
		t.Errorf("after the expired read: %+v; want an empty store and no eviction", st)
	}
}

func TestClockDefaultsToTimeNow(t *testing.T) {
	s := New(Options{})
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v"), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get 1ms after a 1ns ttl = %v; want ErrNotFound", err)
	}
}

// TestShardSize checks that a shard fills a 64-byte cache line exactly on
// 64-bit platforms, so that neighbouring shards' locks never share one
// (lru.go lays the fields out for it).
func TestShardSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("laid out for 64-bit platforms")
	}
	if n := unsafe.Sizeof(shard{}); n != 64 {
		t.Errorf("a shard is %d bytes; want 64", n)
	}
}

// TestEntryLivesItsTTLOnAClockThatStartedFarAway: an entry lives its ttl on
// Options.Clock whatever that clock read when the store was made — here
// the zero time.Time, as a clock set only after New (an injected clock
// whose time is filled in later) reads, and then a date of today.
func TestEntryLivesItsTTLOnAClockThatStartedFarAway(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var now time.Time // zero until set
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := New(Options{Clock: clock})
	mu.Lock()
	now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	mu.Unlock()
	if err := s.Set(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get at once of an entry stored for an hour = %q, %v; want \"v\"", v, err)
	}
	mustAdvanceTTL(t, s, "c", 0, time.Hour)
	mustGet(t, s, "c", "1")
}
