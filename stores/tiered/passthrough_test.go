package tiered

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestCounterPassThrough: counters live in L2. The instance that
// increments drops its own copy at once, and the others on its message.
func TestCounterPassThrough(t *testing.T) {
	ctx := context.Background()
	_, l2, st, l1s := pubsubGroup(t, 2)
	a, b := st[0], st[1]
	if n, err := a.Advance(ctx, "seq", 0, 0); err != nil || n != 1 {
		t.Fatalf("Advance = %d, %v; want 1", n, err)
	}
	mustGet(t, l2, "seq", "1")
	mustGet(t, a, "seq", "1")
	mustGet(t, b, "seq", "1")
	mustGet(t, l1s[1], "seq", "1") // B keeps a copy

	if n, err := a.Advance(ctx, "seq", 2, 0); err != nil || n != 2 {
		t.Fatalf("Advance(2) = %d, %v; want 2", n, err)
	}
	mustGet(t, a, "seq", "2") // no wait: A dropped its own copy
	testwait.For(t, "B to drop its copy of the counter", func() bool {
		v, err := b.Get(ctx, "seq")
		return err == nil && string(v) == "2"
	})
	if n, err := b.Advance(ctx, "seq", 0, 0); err != nil || n != 3 {
		t.Fatalf("B's Advance = %d, %v; want 3", n, err)
	}

	// The ttl reaches L2.
	if n, err := a.Advance(ctx, "marker", 7, time.Hour); err != nil || n != 7 {
		t.Fatalf("Advance with a ttl = %d, %v; want 7", n, err)
	}
	if ttl, err := l2.c.PTTL(ctx, l2.prefix+"marker").Result(); err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("the counter's ttl in L2 = %v, %v; want up to an hour", ttl, err)
	}
	if ttl, err := l2.c.PTTL(ctx, l2.prefix+"seq").Result(); err != nil || ttl != -1 {
		t.Fatalf("ttl in L2 of a counter advanced with ttl 0 = %v, %v; want none", ttl, err)
	}
}

// TestTagIndexPassThrough: tags recorded through one instance are seen by
// the others, since they live in L2.
func TestTagIndexPassThrough(t *testing.T) {
	ctx := context.Background()
	_, _, st, _ := pubsubGroup(t, 2)
	a, b := st[0], st[1]
	mustSet(t, a, "k1", "v")
	if err := a.AddTags(ctx, "k1", []string{"t", "u"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.AddTags(ctx, "k2", []string{"t"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	keys, err := b.TaggedKeys(ctx, "t")
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []string{"k1", "k2"}) {
		t.Fatalf("TaggedKeys(t) = %q, %v; want k1, k2", keys, err)
	}
	if err := b.RemoveTags(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string][]string{"t": nil, "u": {"k1"}} {
		if keys, err := a.TaggedKeys(ctx, tag); err != nil || !slices.Equal(keys, want) {
			t.Fatalf("TaggedKeys(%q) = %q, %v; want %q", tag, keys, err, want)
		}
	}
}

// TestWithoutCounterOrTagIndex: over an L2 that has neither, the Store's
// methods fail with errors.ErrUnsupported, without calling L2.
func TestWithoutCounterOrTagIndex(t *testing.T) {
	ctx := context.Background()
	l2 := &counting{Store: plainL2{memory.New(memory.Options{})}}
	s := newStore(t, memory.New(memory.Options{}), l2, Options{})
	_, advanceErr := s.Advance(ctx, "n", 0, 0)
	_, taggedErr := s.TaggedKeys(ctx, "t")
	for name, err := range map[string]error{
		"Advance":    advanceErr,
		"AddTags":    s.AddTags(ctx, "k", []string{"t"}, time.Hour),
		"TaggedKeys": taggedErr,
		"RemoveTags": s.RemoveTags(ctx, "t"),
	} {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("%s = %v; want an error wrapping errors.ErrUnsupported", name, err)
		}
	}
	if n := l2.gets.Load() + l2.sets.Load() + l2.deletes.Load(); n != 0 {
		t.Errorf("%d calls reached L2", n)
	}
}

// fakeCounter is an L2 with counters whose Advance waits for ctx to end.
type fakeCounter struct{ store.Store }

func (fakeCounter) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestCapsOfL2: the Store reports Counter, Tags and Leaser only when its L2
// has them, and reaches L2's through the guard, under its timeout.
func TestCapsOfL2(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		l2                    store.Store
		counter, tags, leaser bool
	}{
		{"plain L2", plainL2{memory.New(memory.Options{})}, false, false, false},
		{"L2 with counters", fakeCounter{memory.New(memory.Options{})}, true, false, false},
		{"memory L2", memory.New(memory.Options{}), true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, memory.New(memory.Options{}), tc.l2, Options{})
			c := store.Probe(s)
			if c.Objects == nil || c.Guarded == nil || c.Replicated == nil || c.Local != nil || c.Multi != nil {
				t.Errorf("Caps = %+v; want objects, guarded and replicated, neither local nor multi-get", c)
			}
			if (c.Counter != nil) != tc.counter || (c.Tags != nil) != tc.tags || (c.Leaser != nil) != tc.leaser {
				t.Errorf("counter %v, tags %v, leaser %v; want %v, %v, %v",
					c.Counter != nil, c.Tags != nil, c.Leaser != nil, tc.counter, tc.tags, tc.leaser)
			}
		})
	}

	// L2's counter is called through the guard, under its timeout.
	s := newStore(t, memory.New(memory.Options{}), fakeCounter{memory.New(memory.Options{})}, Options{
		Guard: store.GuardOptions{Timeout: 20 * time.Millisecond},
	})
	err := within(t, waitTimeout, func() error { _, err := s.Advance(context.Background(), "n", 0, 0); return err })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Advance on a hanging L2 = %v; want context.DeadlineExceeded from the guard's timeout", err)
	}
}

// TestGetShared: GetShared reads L2 alone, past an L1 copy that lags a
// change made behind this instance's back.
func TestGetShared(t *testing.T) {
	ctx := context.Background()
	_, l2, st, _ := pubsubGroup(t, 1)
	a := st[0]
	mustSet(t, a, "k", "old")
	mustGet(t, a, "k", "old")
	if err := l2.Set(ctx, "k", []byte("new"), time.Hour); err != nil { // no message
		t.Fatal(err)
	}
	mustGet(t, a, "k", "old") // L1's copy
	if v, err := a.GetShared(ctx, "k"); err != nil || string(v) != "new" {
		t.Fatalf("GetShared = %q, %v; want L2's %q", v, err, "new")
	}
	if err := l2.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetShared(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetShared after L2's delete: %v, want ErrNotFound", err)
	}
}
