package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

func mustAdvance(t *testing.T, s *Store, name string, floor int64) int64 {
	t.Helper()
	n, err := s.Advance(context.Background(), name, floor)
	if err != nil {
		t.Fatalf("Advance(%q, %d): %v", name, floor, err)
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
			if _, err := s.Get(ctx, "seq"); !errors.Is(err, httpcache.ErrNotFound) {
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
	if _, err := s.Advance(ctx, "text", 0); err == nil {
		t.Fatal("Advance of an entry holding text succeeded")
	}
	if v, obj, err := s.GetObject(ctx, "text"); err != nil || string(v) != "forty-two" || obj != "obj" {
		t.Fatalf("after the refused Advance, GetObject = %q, %v, %v; want the entry untouched", v, obj, err)
	}

	if err := s.Set(ctx, "max", []byte(strconv.FormatInt(math.MaxInt64, 10)), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Advance(ctx, "max", 0); err == nil {
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
				n, err := s.Advance(ctx, names[j], 0)
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
	if _, err := s.Advance(ctx, "n", math.MaxInt64); err == nil {
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
