package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

func mustAdvance(t *testing.T, s *Store, name string, floor int64) int64 {
	t.Helper()
	return mustAdvanceTTL(t, s, name, floor, 0)
}

func mustAdvanceTTL(t *testing.T, s *Store, name string, floor int64, ttl time.Duration) int64 {
	t.Helper()
	n, err := s.Advance(context.Background(), name, floor, ttl)
	if err != nil {
		t.Fatalf("Advance(%q, %d, ttl %v): %v", name, floor, ttl, err)
	}
	return n
}

// TestCounterSurvivesEviction: a counter is never evicted, whatever the
// budgets, expiry or Clear; it is not counted in them; Delete removes it.
func TestCounterSurvivesEviction(t *testing.T) {
	for _, shards := range []int{1, 16} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			ctx := context.Background()
			clock := newFakeClock()
			s := New(Options{MaxEntries: 2, MaxBytes: 4 * EntryOverhead, Shards: shards, Clock: clock.Now})
			for want := int64(1); want <= 3; want++ {
				if got := mustAdvance(t, s, "seq", 0); got != want {
					t.Fatalf("Advance = %d; want %d", got, want)
				}
			}
			if st := s.Stats(); st != (Stats{}) {
				t.Fatalf("Stats() with only a counter = %+v; want zero", st)
			}
			for i := range 100 { // far past both budgets
				mustSetN(t, s, fmt.Sprint("key-", i), i)
			}
			clock.Advance(400 * 24 * time.Hour)
			s.Clear()
			mustGet(t, s, "seq", "3")
			if got := mustAdvance(t, s, "seq", 0); got != 4 {
				t.Fatalf("Advance after eviction pressure, a long wait and Clear = %d; want 4", got)
			}
			if s.Stats().Evictions == 0 {
				t.Fatal("nothing was evicted: the budgets were never reached")
			}
			recount(t, s)

			if err := s.Delete(ctx, "seq"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "seq"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get after Delete = %v; want ErrNotFound", err)
			}
			if got := mustAdvance(t, s, "seq", 0); got != 1 {
				t.Fatalf("Advance after Delete = %d; want 1", got)
			}
		})
	}
}

func mustGet(t *testing.T, s *Store, key, want string) {
	t.Helper()
	v, obj, err := s.GetObject(context.Background(), key)
	if err != nil || string(v) != want || obj != nil {
		t.Fatalf("GetObject(%q) = %q, %v, %v; want %q and no object", key, v, obj, err, want)
	}
}

// TestCounterAndEntries: a counter and an entry never share a name. Set
// replaces a counter (as Redis SET does), and Advance takes over an entry
// holding a decimal number (as Redis INCR does) but not any other.
func TestCounterAndEntries(t *testing.T) {
	ctx := context.Background()
	s := New(Options{})
	mustAdvance(t, s, "n", 0)
	v, _ := s.Get(ctx, "n")
	mustAdvance(t, s, "n", 0)
	if string(v) != "1" {
		t.Fatalf("a value Get returned changed to %q after Advance; values are read-only", v)
	}

	if err := s.Set(ctx, "n", []byte("41"), time.Hour); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, "n", "41")
	if got := mustAdvance(t, s, "n", 0); got != 42 {
		t.Fatalf("Advance of an entry holding 41 = %d; want 42", got)
	}
	if st := s.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("Stats() = %+v; the entry became a counter and should not count", st)
	}
	mustGet(t, s, "n", "42")

	if err := s.SetObject(ctx, "text", []byte("forty-two"), "obj", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx, "text", 0, 0); err == nil {
		t.Fatal("Advance of an entry holding text succeeded")
	}
	if v, obj, err := s.GetObject(ctx, "text"); err != nil || string(v) != "forty-two" || obj != "obj" {
		t.Fatalf("after the refused Advance, GetObject = %q, %v, %v; want the entry untouched", v, obj, err)
	}

	if err := s.Set(ctx, "max", []byte(strconv.FormatInt(math.MaxInt64, 10)), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx, "max", 0, 0); err == nil {
		t.Fatal("Advance past MaxInt64 succeeded")
	}
	mustGet(t, s, "max", strconv.FormatInt(math.MaxInt64, 10))
	recount(t, s)
}

// TestCounterConcurrent: concurrent Advance calls with floor 0, on one
// counter and several, under eviction pressure from concurrent Sets,
// return distinct values with none missing.
func TestCounterConcurrent(t *testing.T) {
	s := New(Options{MaxEntries: 8, Shards: 4})
	ctx := context.Background()
	const goroutines, calls = 8, 500
	names := []string{"a", "b", "c"}
	results := make([][]int64, len(names))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			got := make([][]int64, len(names))
			for i := range calls {
				j := (g + i) % len(names)
				n, err := s.Advance(ctx, names[j], 0, 0)
				if err != nil {
					t.Error(err)
					return
				}
				got[j] = append(got[j], n)
				_ = s.Set(ctx, fmt.Sprint("filler-", g, "-", i), []byte("x"), time.Hour)
			}
			mu.Lock()
			defer mu.Unlock()
			for j := range names {
				results[j] = append(results[j], got[j]...)
			}
		})
	}
	wg.Wait()
	total := 0
	for j, name := range names {
		seen := make(map[int64]bool)
		for _, n := range results[j] {
			if seen[n] {
				t.Fatalf("Advance(%q) returned %d twice", name, n)
			}
			seen[n] = true
		}
		for n := int64(1); n <= int64(len(results[j])); n++ {
			if !seen[n] {
				t.Fatalf("Advance(%q) never returned %d of 1..%d", name, n, len(results[j]))
			}
		}
		mustGet(t, s, name, strconv.Itoa(len(results[j])))
		total += len(results[j])
	}
	if total != goroutines*calls {
		t.Fatalf("%d Advance calls returned; want %d", total, goroutines*calls)
	}
	recount(t, s)
}

// TestCounterFloor: Advance goes to the floor when it is ahead, and one
// past the counter otherwise, also on an entry it takes over.
func TestCounterFloor(t *testing.T) {
	ctx := context.Background()
	s := New(Options{})
	for _, step := range []struct{ floor, want int64 }{
		{0, 1}, {100, 100}, {50, 101}, {102, 102}, {102, 103}, {-5, 104}, {math.MaxInt64 - 1, math.MaxInt64 - 1},
	} {
		if got := mustAdvance(t, s, "n", step.floor); got != step.want {
			t.Fatalf("Advance(%d) = %d; want %d", step.floor, got, step.want)
		}
		mustGet(t, s, "n", strconv.FormatInt(step.want, 10))
	}
	if got := mustAdvance(t, s, "n", math.MaxInt64); got != math.MaxInt64 {
		t.Fatalf("Advance to MaxInt64 = %d", got)
	}
	if _, err := s.Advance(ctx, "n", math.MaxInt64, 0); err == nil {
		t.Fatal("Advance past MaxInt64 succeeded")
	}
	if err := s.Set(ctx, "e", []byte("7"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := mustAdvance(t, s, "e", 5); got != 8 {
		t.Fatalf("Advance(5) of an entry holding 7 = %d; want 8", got)
	}
	if got := mustAdvance(t, s, "fresh", -3); got != 1 {
		t.Fatalf("Advance(-3) of a missing counter = %d; want 1", got)
	}
}

// checkCounters checks that sh's counters and its heap of expiring ones
// agree: each counter under its own name, in the heap at its index if and
// only if it has an expiry, and the heap ordered by expiry. The caller
// holds sh's lock.
func checkCounters(sh *shard) error {
	inHeap := 0
	for name, c := range sh.counters {
		if c.name != name {
			return fmt.Errorf("counter %q is named %q", name, c.name)
		}
		if (c.expires != never) != (c.index >= 0) {
			return fmt.Errorf("counter %q expires at %d but has heap index %d", name, c.expires, c.index)
		}
		if c.index >= 0 {
			inHeap++
			if sh.expiring == nil || c.index >= len(*sh.expiring) || (*sh.expiring)[c.index] != c {
				return fmt.Errorf("counter %q is not at its index %d in the heap", name, c.index)
			}
		}
	}
	if sh.expiring != nil {
		h := *sh.expiring
		if len(h) != inHeap {
			return fmt.Errorf("the heap holds %d counters; %d counters have an expiry", len(h), inHeap)
		}
		for i := 1; i < len(h); i++ {
			if h[(i-1)/2].expires > h[i].expires {
				return fmt.Errorf("the heap is out of order at %d", i)
			}
		}
	} else if inHeap > 0 {
		return fmt.Errorf("%d counters have an expiry, and there is no heap", inHeap)
	}
	return nil
}

// heldCounters returns how many counters the store holds, expired or not.
func heldCounters(s *Store) int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.counters)
		sh.mu.Unlock()
	}
	return n
}

// TestCounterTTL follows counters advanced with ttls on the store's clock:
// each lives until its last Advance plus its ttl (to the nanosecond, like
// an entry), reads as missing from then on and starts again from nothing;
// ttl 0 makes a counter permanent again; a negative ttl is refused.
func TestCounterTTL(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(Options{Clock: clock.Now})
	const ttl = 10 * time.Second

	mustAdvanceTTL(t, s, "n", 0, ttl)
	clock.Advance(ttl - time.Nanosecond)
	mustGet(t, s, "n", "1")
	clock.Advance(time.Nanosecond)
	if _, err := s.Get(ctx, "n"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get at the counter's expiry = %v; want ErrNotFound", err)
	}
	if got := heldCounters(s); got != 0 {
		t.Fatalf("after the read that found it expired, the store holds %d counters; want 0", got)
	}
	if got := mustAdvanceTTL(t, s, "n", 0, ttl); got != 1 {
		t.Fatalf("Advance of an expired counter = %d; want 1", got)
	}

	// Each Advance renews the ttl, with its own.
	clock.Advance(ttl - time.Nanosecond)
	if got := mustAdvanceTTL(t, s, "n", 0, 2*ttl); got != 2 {
		t.Fatalf("Advance = %d; want 2", got)
	}
	clock.Advance(2*ttl - time.Nanosecond)
	mustGet(t, s, "n", "2")
	clock.Advance(time.Nanosecond)
	// Advance finds it expired without a read first.
	if got := mustAdvanceTTL(t, s, "n", 5, ttl); got != 5 {
		t.Fatalf("Advance(5) of an expired counter = %d; want 5", got)
	}

	// ttl 0 clears the expiry; a ttl gives one back.
	if got := mustAdvance(t, s, "n", 0); got != 6 {
		t.Fatalf("Advance = %d; want 6", got)
	}
	clock.Advance(400 * 24 * time.Hour)
	mustGet(t, s, "n", "6")
	mustAdvanceTTL(t, s, "n", 0, ttl)
	clock.Advance(ttl)
	if _, err := s.Get(ctx, "n"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a permanent counter given a ttl, after it = %v; want ErrNotFound", err)
	}

	// A negative ttl changes nothing.
	mustAdvance(t, s, "m", 3)
	for _, ttl := range []time.Duration{-1, math.MinInt64} {
		if _, err := s.Advance(ctx, "m", 10, ttl); !errors.Is(err, store.ErrInvalidTTL) {
			t.Fatalf("Advance with ttl %v = %v; want ErrInvalidTTL", ttl, err)
		}
		if _, err := s.Advance(ctx, "fresh", 10, ttl); !errors.Is(err, store.ErrInvalidTTL) {
			t.Fatalf("Advance of a new counter with ttl %v = %v; want ErrInvalidTTL", ttl, err)
		}
	}
	mustGet(t, s, "m", "3")
	if _, err := s.Get(ctx, "fresh"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after a refused Advance = %v; want ErrNotFound", err)
	}

	// The longest ttl does not overflow into the past.
	mustAdvanceTTL(t, s, "long", 0, math.MaxInt64)
	clock.Advance(100 * 365 * 24 * time.Hour)
	mustGet(t, s, "long", "1")
	recount(t, s)
}

// TestCounterTTLAndEntries: Set replaces a counter that has a ttl, and
// Delete removes it, taking it out of the heap; a counter alive with a
// ttl is never evicted for space.
func TestCounterTTLAndEntries(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(Options{Clock: clock.Now, MaxEntries: 2, Shards: 1})
	mustAdvanceTTL(t, s, "set", 0, time.Hour)
	mustAdvanceTTL(t, s, "deleted", 0, time.Hour)
	mustAdvanceTTL(t, s, "kept", 0, time.Hour)
	if err := s.Set(ctx, "set", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "deleted"); err != nil {
		t.Fatal(err)
	}
	recount(t, s)
	if got := heldCounters(s); got != 1 {
		t.Fatalf("the store holds %d counters; want 1 (kept)", got)
	}
	for i := range 50 { // far past MaxEntries
		mustSetN(t, s, fmt.Sprint("key-", i), 1)
	}
	clock.Advance(time.Hour - time.Nanosecond)
	mustGet(t, s, "kept", "1")
	if got := mustAdvanceTTL(t, s, "kept", 0, time.Hour); got != 2 {
		t.Fatalf("Advance of a counter kept under eviction pressure = %d; want 2", got)
	}
	recount(t, s)
}

// TestExpiredCountersLeave: counters that expired unread leave the store
// when Advance, Set or Clear next takes their shard's lock, so that
// counters made with ttls (a purge marker per tag) hold memory only while
// they are alive; permanent counters stay.
func TestExpiredCountersLeave(t *testing.T) {
	ctx := context.Background()
	const n = 1000
	tests := []struct {
		name  string
		sweep func(s *Store) // after the counters have expired
	}{
		{"Advance", func(s *Store) {
			for i := range s.shards { // one Advance in each shard
				for j := 0; ; j++ {
					name := fmt.Sprint("sweeper-", j)
					if sh, _ := s.shardFor(name); sh == &s.shards[i] {
						mustAdvanceTTL(t, s, name, 0, time.Hour)
						break
					}
				}
			}
		}},
		{"Set", func(s *Store) {
			for i := range s.shards { // one Set in each shard
				for j := 0; ; j++ {
					key := fmt.Sprint("key-", j)
					if sh, _ := s.shardFor(key); sh == &s.shards[i] {
						mustSetN(t, s, key, 1)
						break
					}
				}
			}
		}},
		{"Clear", func(s *Store) { s.Clear() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := New(Options{Clock: clock.Now, Shards: 4})
			for i := range n {
				mustAdvanceTTL(t, s, fmt.Sprint("marker-", i), 0, time.Duration(1+i%7)*time.Second)
			}
			mustAdvance(t, s, "clock", 0)
			recount(t, s)
			clock.Advance(7 * time.Second)
			if got := heldCounters(s); got != n+1 {
				t.Fatalf("before any call, the store holds %d counters; want %d", got, n+1)
			}
			tt.sweep(s)
			recount(t, s)
			want := 1 // the permanent one
			if tt.name == "Advance" {
				want += len(s.shards) // the sweepers
			}
			if got := heldCounters(s); got != want {
				t.Fatalf("after %s in every shard, the store holds %d counters; want %d", tt.name, got, want)
			}
			mustGet(t, s, "clock", "1")
			if _, err := s.Get(ctx, "marker-0"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get of an expired counter = %v; want ErrNotFound", err)
			}
			for i := range s.shards {
				if h := s.shards[i].expiring; h != nil && tt.name != "Advance" {
					t.Errorf("shard %d keeps a heap of %d (capacity %d) with no counter to expire", i, len(*h), cap(*h))
				}
			}
		})
	}
}

// TestCounterTTLRandom runs random Advance, Set, Delete, Get and Clear
// calls with random ttls against a model of what each counter holds and
// when it expires, checking the heap at every step.
func TestCounterTTLRandom(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(Options{Clock: clock.Now, Shards: 2})
	type model struct {
		n       int64
		expires time.Time // zero: never
	}
	want := map[string]model{}
	alive := func(name string) (model, bool) {
		m, ok := want[name]
		if ok && !m.expires.IsZero() && !clock.Now().Before(m.expires) {
			delete(want, name)
			return model{}, false
		}
		return m, ok
	}
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 20000 {
		name := fmt.Sprint("c", r.IntN(40))
		switch op := r.IntN(20); {
		case op < 10:
			ttl := time.Duration(r.IntN(4)) * time.Second // 0: never
			m, _ := alive(name)
			got := mustAdvanceTTL(t, s, name, 0, ttl)
			if got != m.n+1 {
				t.Fatalf("step %d: Advance(%s) = %d; want %d", step, name, got, m.n+1)
			}
			m.n = got
			m.expires = time.Time{}
			if ttl > 0 {
				m.expires = clock.Now().Add(ttl)
			}
			want[name] = m
		case op < 12:
			if err := s.Set(ctx, name, []byte("x"), time.Hour); err != nil {
				t.Fatal(err)
			}
			delete(want, name)
			if err := s.Delete(ctx, name); err != nil { // entries are not modelled
				t.Fatal(err)
			}
		case op < 13:
			if err := s.Delete(ctx, name); err != nil {
				t.Fatal(err)
			}
			delete(want, name)
		case op < 18:
			clock.Advance(time.Duration(r.IntN(500)) * time.Millisecond)
		case op < 19:
			m, ok := alive(name)
			v, err := s.Get(ctx, name)
			if ok != (err == nil) || (ok && string(v) != strconv.FormatInt(m.n, 10)) {
				t.Fatalf("step %d: Get(%s) = %q, %v; want %d (alive: %v)", step, name, v, err, m.n, ok)
			}
		default:
			s.Clear()
		}
		if step%100 == 0 {
			recount(t, s)
		}
	}
	recount(t, s)
}

// TestCounterWithTTLExpiresAfterTheClockWentBack: a counter given a ttl
// expires ttl later on Options.Clock even if that clock had gone back
// before the store's creation time by exactly the ttl (a clock stepped
// back by an NTP correction, a test clock moved around): its expiry must
// not be mistaken for "never".
func TestCounterWithTTLExpiresAfterTheClockWentBack(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(Options{Clock: clock.Now})
	const ttl = time.Minute
	clock.Advance(-ttl)
	mustAdvanceTTL(t, s, "marker", 0, ttl)
	clock.Advance(ttl)
	if _, err := s.Get(ctx, "marker"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get at the counter's expiry = %v; want ErrNotFound", err)
	}
	clock.Advance(1000 * time.Hour)
	if v, err := s.Get(ctx, "marker"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get 1000h after the counter's expiry = %q, %v; want ErrNotFound", v, err)
	}
}
