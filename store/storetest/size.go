package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/seedcache/httpcache/store"
)

func (s *suite) testLargeValues(t *testing.T) {
	limit := s.opts.maxValueSize()
	var sizes []int
	for _, n := range []int{255, 256, 4095, 4096, 65535, 65536, 65537, 512 << 10} {
		if n < limit {
			sizes = append(sizes, n)
		}
	}
	sizes = append(sizes, limit)
	st := s.newStore(t)
	for i, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			key := fmt.Sprintf("large-%d", n)
			v := fill(n, uint64(i))
			mustSet(t, st, key, v, longTTL)
			expectValue(t, st, key, v)
		})
	}
	// A large value overwritten by a small one, and the reverse.
	t.Run("shrink and grow", func(t *testing.T) {
		big := fill(limit, 99)
		mustSet(t, st, "resized", big, longTTL)
		mustSet(t, st, "resized", []byte("small"), longTTL)
		expectValue(t, st, "resized", []byte("small"))
		mustSet(t, st, "resized", big, longTTL)
		expectValue(t, st, "resized", big)
	})
}

// testOverLimit stores values past Options.MaxValueSize. Each must either
// round-trip or be refused with ErrTooLarge: never truncated, never stored
// corrupt, and a refusal must not leave the new value behind.
func (s *suite) testOverLimit(t *testing.T) {
	limit := s.opts.maxValueSize()
	sizes := []int{limit + 1, limit + 1<<10 + 1, 2 * limit, max(4*limit, 4<<20)}
	for i, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			st := s.newStore(t)
			v := fill(n, uint64(1000+i))
			old := []byte("old value")
			mustSet(t, st, "existing", old, longTTL)

			for _, key := range []string{"fresh", "existing"} {
				err := st.Set(context.Background(), key, v, longTTL)
				switch {
				case err == nil:
					expectValue(t, st, key, v)
				case errors.Is(err, store.ErrTooLarge):
					got, gerr := st.Get(context.Background(), key)
					switch {
					case errors.Is(gerr, store.ErrNotFound):
					case gerr != nil:
						t.Fatalf("Get(%q) after a refused Set: %v", key, gerr)
					case key == "existing" && diff(got, old) == "":
					default:
						t.Fatalf("Get(%q) after Set was refused with %v: got %d bytes; want the old value or ErrNotFound", key, err, len(got))
					}
				default:
					t.Fatalf("Set(%q, %d bytes) = %v; want nil or an error wrapping ErrTooLarge", key, n, err)
				}
			}
			// The store still works.
			mustSet(t, st, "after", []byte("ok"), longTTL)
			expectValue(t, st, "after", []byte("ok"))
		})
	}
}
