package tiered

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// heldL2 is an in-process L2 whose Get, while hold is set, reads its value
// and then waits to be released before returning it: a reply on its way
// back while other things happen. It is guarded already, so that no
// timeout cuts the wait short.
type heldL2 struct {
	store.Store
	hold     bool
	entered  chan struct{}
	released chan struct{}
}

func newHeldL2() *heldL2 {
	return &heldL2{Store: memory.New(memory.Options{}), entered: make(chan struct{}), released: make(chan struct{})}
}

func (h *heldL2) Guarded() bool { return true }

func (h *heldL2) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := h.Store.Get(ctx, key)
	if h.hold {
		h.entered <- struct{}{}
		<-h.released
	}
	return v, err
}

// keyInOtherStripe returns a key whose fence stripe is not key's.
func keyInOtherStripe(s *Store, key string) string {
	for i := 0; ; i++ {
		if k := fmt.Sprint("other-", i); s.fence.stripe(k) != s.fence.stripe(key) {
			return k
		}
	}
}

// TestFillRacesInvalidation holds an L1 miss's read of L2 after it has read
// the old value, makes something happen meanwhile, and then lets the fill
// go on: the old value must land in L1 only if nothing touched the key.
func TestFillRacesInvalidation(t *testing.T) {
	ctx := context.Background()
	const key = "k"
	other := func(keys ...string) string { return encodeInvalidation("another instance", keys) }
	tests := []struct {
		name   string
		during func(t *testing.T, s *Store, l2 *heldL2)
		wantL1 string // "" for a miss
		after  string // what Get returns afterwards; "" for a miss
	}{
		{"nothing happens", func(t *testing.T, s *Store, l2 *heldL2) {}, "old", "old"},
		{"another instance writes", func(t *testing.T, s *Store, l2 *heldL2) {
			mustSet(t, l2.Store, key, "new")
			s.receive(other(key))
		}, "", "new"},
		{"another instance deletes", func(t *testing.T, s *Store, l2 *heldL2) {
			if err := l2.Store.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			s.receive(other("a", key, "b"))
		}, "", ""},
		{"this instance writes", func(t *testing.T, s *Store, l2 *heldL2) {
			mustSet(t, s, key, "new")
		}, "new", "new"},
		{"this instance deletes", func(t *testing.T, s *Store, l2 *heldL2) {
			if err := s.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}, "", ""},
		{"resubscribed after a gap", func(t *testing.T, s *Store, l2 *heldL2) {
			s.subscribed(true)
		}, "", "old"},
		{"malformed message", func(t *testing.T, s *Store, l2 *heldL2) {
			s.receive("not an invalidation")
		}, "", "old"},
		{"this instance's own message", func(t *testing.T, s *Store, l2 *heldL2) {
			s.receive(encodeInvalidation(s.id, []string{key}))
		}, "old", "old"},
		{"a key in another stripe", func(t *testing.T, s *Store, l2 *heldL2) {
			s.receive(other(keyInOtherStripe(s, key)))
		}, "old", "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l1, l2 := memory.New(memory.Options{}), newHeldL2()
			s := newStore(t, l1, l2, Options{L1TTL: time.Hour})
			mustSet(t, l2.Store, key, "old")

			l2.hold = true
			type result struct {
				v   []byte
				err error
			}
			got := make(chan result, 1)
			go func() {
				v, err := s.Get(ctx, key)
				got <- result{v, err}
			}()
			<-l2.entered // the old value has been read
			tt.during(t, s, l2)
			close(l2.released)
			if r := <-got; r.err != nil || string(r.v) != "old" {
				t.Fatalf("the held Get = %q, %v; want the old value it read", r.v, r.err)
			}
			l2.hold = false

			if tt.wantL1 == "" {
				mustMiss(t, l1, key)
			} else {
				mustGet(t, l1, key, tt.wantL1)
			}
			if tt.after == "" {
				mustMiss(t, s, key)
			} else {
				mustGet(t, s, key, tt.after)
			}
		})
	}
}

// TestSetRacesInvalidation: a local write whose L2 write is overtaken by
// another instance's must not leave its own value in L1.
func TestSetRacesInvalidation(t *testing.T) {
	ctx := context.Background()
	l1 := memory.New(memory.Options{})
	l2 := &hookedL2{Store: memory.New(memory.Options{})}
	s := newStore(t, l1, l2, Options{L1TTL: time.Hour})
	l2.afterSet = func() {
		// Another instance writes after us and publishes; its message
		// arrives before our Set has written L1.
		mustSet(t, l2.Store, "k", "theirs")
		s.receive(encodeInvalidation("another instance", []string{"k"}))
	}
	if err := s.Set(ctx, "k", []byte("ours"), time.Hour); err != nil {
		t.Fatal(err)
	}
	mustMiss(t, l1, "k")
	mustGet(t, s, "k", "theirs")
}

// hookedL2 is an in-process, guarded L2 that runs afterSet after each Set.
type hookedL2 struct {
	store.Store
	afterSet func()
}

func (h *hookedL2) Guarded() bool { return true }

func (h *hookedL2) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	err := h.Store.Set(ctx, key, value, ttl)
	if h.afterSet != nil && !errors.Is(err, store.ErrInvalidTTL) {
		h.afterSet()
	}
	return err
}
