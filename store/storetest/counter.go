package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// maxCounter is the largest counter value a store must keep exactly: 2^53,
// where float64 stops holding every integer, so that a store that advances
// counters in double-precision arithmetic (Redis's Lua scripts) conforms.
// The middleware's counters hold times in microseconds, about 2^50 today.
const maxCounter = 1 << 53

// counterStore returns a new store and the same store as a Counter,
// skipping t if the store does not implement it.
func (s *suite) counterStore(t *testing.T) (store.Store, store.Counter) {
	t.Helper()
	return storeAs(t, s, "Counter", func(c store.Caps) store.Counter { return c.Counter })
}

// mustAdvance advances a counter that never expires (ttl 0).
func mustAdvance(t *testing.T, c store.Counter, name string, floor int64) int64 {
	t.Helper()
	return mustAdvanceTTL(t, c, name, floor, 0)
}

func mustAdvanceTTL(t *testing.T, c store.Counter, name string, floor int64, ttl time.Duration) int64 {
	t.Helper()
	n, err := c.Advance(context.Background(), name, floor, ttl)
	if err != nil {
		t.Fatalf("Advance(%s, %d, ttl %v): %v", showKey(name), floor, ttl, err)
	}
	return n
}

// expectAdvance checks that Advance(name, floor, 0) returns want and leaves
// the counter reading want.
func expectAdvance(t *testing.T, st store.Store, c store.Counter, name string, floor, want int64) {
	t.Helper()
	expectAdvanceTTL(t, st, c, name, floor, 0, want)
}

// expectAdvanceTTL checks that Advance(name, floor, ttl) returns want and
// leaves the counter reading want.
func expectAdvanceTTL(t *testing.T, st store.Store, c store.Counter, name string, floor int64, ttl time.Duration, want int64) {
	t.Helper()
	if got := mustAdvanceTTL(t, c, name, floor, ttl); got != want {
		t.Fatalf("Advance(%s, %d, ttl %v) = %d; want %d", showKey(name), floor, ttl, got, want)
	}
	expectCount(t, st, name, want)
}

// expectCount checks that Get of the counter name returns n in decimal, as
// the middleware reads its purge clock.
func expectCount(t *testing.T, st store.Store, name string, n int64) {
	t.Helper()
	expectValue(t, st, name, []byte(strconv.FormatInt(n, 10)))
}

// Concurrent Advance calls: counterGoroutines goroutines of counterCalls
// calls each.
const (
	counterGoroutines = 16
	counterCalls      = 50
)

// clockFloor is a time in microseconds (November 2026), the kind of floor
// the middleware passes.
const clockFloor = 1_795_000_000_000_000

func (s *suite) testCounter(t *testing.T) {
	s.counterStore(t) // skip at once if the store has no counters

	t.Run("sequence", func(t *testing.T) {
		st, c := s.counterStore(t)
		expectMiss(t, st, "n")
		for want := int64(1); want <= 12; want++ { // past one digit
			expectAdvance(t, st, c, "n", 0, want)
		}
	})
	t.Run("floor", func(t *testing.T) {
		st, c := s.counterStore(t)
		for _, step := range []struct {
			name        string
			floor, want int64
		}{
			{"missing, floor 0", 0, 1},
			{"floor 0", 0, 2},
			{"floor 0 again", 0, 3},
			{"floor ahead", 100, 100},
			{"floor behind", 50, 101},
			{"floor one ahead", 102, 102},
			{"floor equal", 102, 103},
			{"floor just behind", 103, 104},
			{"negative floor", -5, 105},
			{"floor far ahead", clockFloor, clockFloor},
			{"past the floor", 0, clockFloor + 1},
		} {
			if got := mustAdvance(t, c, "n", step.floor); got != step.want {
				t.Fatalf("%s: Advance(%d) = %d; want %d", step.name, step.floor, got, step.want)
			}
			expectCount(t, st, "n", step.want)
		}
		// A missing counter starts at the floor, or at 1 below it.
		expectAdvance(t, st, c, "fresh", clockFloor, clockFloor)
		expectAdvance(t, st, c, "fresh 1", 1, 1)
		expectAdvance(t, st, c, "fresh negative", -7, 1)
	})
	t.Run("large values", func(t *testing.T) {
		st, c := s.counterStore(t)
		expectAdvance(t, st, c, "n", maxCounter-2, maxCounter-2)
		expectAdvance(t, st, c, "n", 0, maxCounter-1)
		expectAdvance(t, st, c, "n", 0, maxCounter)
		// Past maxCounter a store may refuse, but never count wrong.
		switch n, err := c.Advance(context.Background(), "n", 0, 0); {
		case err != nil:
			expectCount(t, st, "n", maxCounter)
		case n != maxCounter+1:
			t.Fatalf("Advance past 2^53 = %d; want %d or an error", n, int64(maxCounter+1))
		default:
			expectCount(t, st, "n", maxCounter+1)
		}
		// Odd values next to 2^53 (and not just powers of two) are exact.
		expectAdvance(t, st, c, "odd", maxCounter-11, maxCounter-11)
		expectAdvance(t, st, c, "odd", maxCounter-11, maxCounter-10)
		expectAdvance(t, st, c, "odd", maxCounter-3, maxCounter-3)
	})
	t.Run("independent names", func(t *testing.T) {
		st, c := s.counterStore(t)
		for _, name := range []string{"a", "a", "ab", "a", "b"} {
			mustAdvance(t, c, name, 0)
		}
		mustAdvance(t, c, "c", 100)
		expectCount(t, st, "a", 3)
		expectCount(t, st, "ab", 1)
		expectCount(t, st, "b", 1)
		expectCount(t, st, "c", 100)
		expectMiss(t, st, "d")
	})
	t.Run("odd names", func(t *testing.T) {
		st, c := s.counterStore(t)
		names := oddKeys()
		for i, name := range names {
			for range i%3 + 1 {
				mustAdvance(t, c, name, 0)
			}
		}
		for i, name := range names {
			expectCount(t, st, name, int64(i%3+1))
		}
	})
	t.Run("delete restarts", func(t *testing.T) {
		st, c := s.counterStore(t)
		mustAdvance(t, c, "n", clockFloor)
		mustDelete(t, st, "n")
		expectMiss(t, st, "n")
		expectAdvance(t, st, c, "n", 0, 1)
	})
	t.Run("concurrent", func(t *testing.T) {
		st, c := s.counterStore(t)
		const total = counterGoroutines * counterCalls
		seen := advanceConcurrently(t, c, "shared", func(int, int) int64 { return 0 })
		if t.Failed() {
			return
		}
		for n := int64(1); n <= total; n++ {
			if seen[n] != 1 {
				t.Errorf("Advance returned %d %d times; want exactly once", n, seen[n])
			}
		}
		if len(seen) != total {
			t.Errorf("Advance returned %d distinct values; want %d (1 to %d)", len(seen), total, total)
		}
		expectCount(t, st, "shared", total)
	})
	t.Run("concurrent floors", func(t *testing.T) {
		// Half the goroutines pass floor 0, the other half a clock in
		// microseconds, as the middleware does: the counter then runs
		// ahead of the clock (floors behind it) and falls behind it
		// (floors ahead) by turns.
		st, c := s.counterStore(t)
		start := time.Now()
		seen := advanceConcurrently(t, c, "shared", func(g, _ int) int64 {
			if g%2 == 0 {
				return 0
			}
			return clockFloor + time.Since(start).Microseconds()
		})
		if t.Failed() {
			return
		}
		var largest int64
		for n, times := range seen {
			if times != 1 {
				t.Errorf("Advance returned %d %d times; want at most once", n, times)
			}
			largest = max(largest, n)
		}
		expectCount(t, st, "shared", largest)
	})
	t.Run("done context", func(t *testing.T) {
		for _, dc := range doneContexts(t) {
			t.Run(dc.name, func(t *testing.T) {
				ctx := dc.ctx
				st, c := s.counterStore(t)
				for _, name := range []string{"n", "m"} {
					mustAdvance(t, c, name, 5)
				}
				for _, tt := range []struct {
					name       string
					old, floor int64 // old 0: missing
					ttl        time.Duration
				}{{"n", 5, 0, 0}, {"m", 5, 100, longTTL}, {"fresh", 0, 0, 0}, {"fresh floor", 0, 100, longTTL}} {
					next := max(tt.old+1, tt.floor)
					n, err := within(t, "Advance", func() (int64, error) { return c.Advance(ctx, tt.name, tt.floor, tt.ttl) })
					switch {
					case err == nil:
						if n != next {
							t.Fatalf("Advance(%q, %d) = %d; want %d", tt.name, tt.floor, n, next)
						}
						expectCount(t, st, tt.name, next)
					case errors.Is(err, ctx.Err()):
						// Advanced once or not at all.
						nextDec := []byte(strconv.FormatInt(next, 10))
						if tt.old == 0 {
							checkHolds(t, st, tt.name, true, nextDec)
						} else {
							checkHolds(t, st, tt.name, false, []byte(strconv.FormatInt(tt.old, 10)), nextDec)
						}
					default:
						t.Fatalf("Advance(%q, %d) = %d, %v; want a count or an error wrapping %v", tt.name, tt.floor, n, err, ctx.Err())
					}
				}
			})
		}
	})
	t.Run("invalid ttl", func(t *testing.T) {
		st, c := s.counterStore(t)
		mustAdvance(t, c, "n", 5)
		mustAdvanceTTL(t, c, "limited", 5, longTTL)
		for _, ttl := range []time.Duration{-1, -time.Second, math.MinInt64} {
			for _, name := range []string{"n", "limited", "fresh"} {
				n, err := c.Advance(context.Background(), name, 100, ttl)
				if !errors.Is(err, store.ErrInvalidTTL) {
					t.Fatalf("Advance(%q, 100, ttl %v) = %d, %v; want an error wrapping ErrInvalidTTL", name, ttl, n, err)
				}
			}
			// Refused, so nothing changed.
			expectCount(t, st, "n", 5)
			expectCount(t, st, "limited", 5)
			expectMiss(t, st, "fresh")
		}
	})
	if s.opts.Advance != nil { // the sleeping TTL case checks counters too
		t.Run("no expiry", func(t *testing.T) {
			st, c := s.counterStore(t)
			mustAdvance(t, c, "n", 0)
			s.opts.Advance(400 * day) // past memcached's 30-day edge, and any default ttl
			expectCount(t, st, "n", 1)
			expectAdvance(t, st, c, "n", 0, 2)
		})
		t.Run("ttl", s.testCounterTTL)
	}
}

// testCounterTTL checks, on the injected clock, that a counter advanced
// with a ttl lives at least that long after its last Advance and is gone
// at most TTLGranularity later, and that ttl 0 makes it permanent again.
func (s *suite) testCounterTTL(t *testing.T) {
	g := s.opts.TTLGranularity
	advance := s.opts.Advance
	// A counter is there until ttl-tick and gone at ttl+g; then it
	// starts again from nothing.
	for _, ttl := range []time.Duration{tick, time.Second, 1500 * time.Millisecond, 31 * day, 365 * day} {
		t.Run(fmt.Sprint(ttl), func(t *testing.T) {
			st, c := s.counterStore(t)
			expectAdvanceTTL(t, st, c, "n", 0, ttl, 1)
			expectAdvanceTTL(t, st, c, "n", clockFloor, ttl, clockFloor)
			advance(ttl - tick)
			expectCount(t, st, "n", clockFloor)
			advance(tick + g)
			expectMiss(t, st, "n")
			expectAdvanceTTL(t, st, c, "n", 0, ttl, 1)
		})
	}
	// Long enough that a renewal just before the first expiry outlives
	// it by more than the granularity: 2*ttl-2*tick > ttl+g.
	ttl := time.Second + g
	t.Run("each Advance renews", func(t *testing.T) {
		st, c := s.counterStore(t)
		mustAdvanceTTL(t, c, "n", 0, ttl)
		advance(ttl - tick)
		expectAdvanceTTL(t, st, c, "n", 0, ttl, 2)
		advance(ttl - tick) // past the first Advance's expiry
		expectCount(t, st, "n", 2)
		expectAdvanceTTL(t, st, c, "n", 0, ttl, 3)
		advance(ttl - tick)
		expectCount(t, st, "n", 3)
		advance(tick + g)
		expectMiss(t, st, "n")
		expectAdvanceTTL(t, st, c, "n", 0, ttl, 1)
	})
	t.Run("ttl 0 makes it permanent", func(t *testing.T) {
		st, c := s.counterStore(t)
		mustAdvanceTTL(t, c, "n", 0, ttl)
		expectAdvanceTTL(t, st, c, "n", 0, 0, 2)
		advance(400 * day)
		expectCount(t, st, "n", 2)
		expectAdvance(t, st, c, "n", 0, 3)
	})
	t.Run("ttl after none", func(t *testing.T) {
		st, c := s.counterStore(t)
		mustAdvance(t, c, "n", 0)
		expectAdvanceTTL(t, st, c, "n", 0, ttl, 2)
		advance(ttl - tick)
		expectCount(t, st, "n", 2)
		advance(tick + g)
		expectMiss(t, st, "n")
	})
	t.Run("counters expire apart", func(t *testing.T) {
		st, c := s.counterStore(t)
		mustAdvanceTTL(t, c, "short", 0, ttl)
		mustAdvanceTTL(t, c, "long", 0, 3*ttl)
		mustAdvance(t, c, "forever", 0)
		advance(ttl + g)
		expectMiss(t, st, "short")
		expectCount(t, st, "long", 1)
		advance(2 * ttl)
		expectMiss(t, st, "long")
		expectCount(t, st, "forever", 1)
	})
}

// advanceConcurrently calls Advance on name from counterGoroutines
// goroutines, counterCalls times each, with the floor that floor(goroutine,
// call) returns, and counts how often each value came back. It checks what
// each call can check on its own: that it returned a value no smaller than
// its floor, and larger than the goroutine's previous call did.
func advanceConcurrently(t *testing.T, c store.Counter, name string, floor func(g, i int) int64) map[int64]int {
	t.Helper()
	var mu sync.Mutex
	seen := make(map[int64]int, counterGoroutines*counterCalls)
	var wg sync.WaitGroup
	for g := range counterGoroutines {
		wg.Go(func() {
			got := make([]int64, 0, counterCalls)
			for i := range counterCalls {
				f := floor(g, i)
				n, err := c.Advance(context.Background(), name, f, 0)
				if err != nil {
					t.Errorf("Advance(%d): %v", f, err)
					return
				}
				if err := checkAdvanced(got, f, n); err != nil {
					t.Error(err)
					return
				}
				got = append(got, n)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, n := range got {
				seen[n]++
			}
		})
	}
	wg.Wait()
	return seen
}

// checkAdvanced checks the value n that Advance returned for floor, after
// it returned earlier on the same goroutine.
func checkAdvanced(earlier []int64, floor, n int64) error {
	if n < floor {
		return fmt.Errorf("Advance(%d) = %d; want at least the floor", floor, n)
	}
	if len(earlier) > 0 && n <= earlier[len(earlier)-1] {
		return fmt.Errorf("Advance(%d) = %d after %d on the same goroutine; want more", floor, n, earlier[len(earlier)-1])
	}
	return nil
}
