package memory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// order returns the keys of s from least to most recently used, shard by
// shard; with one shard it is the store's exact LRU order.
func order(s *Store) []string {
	var keys []string
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		keys = append(keys, sh.lru.Keys()...)
		sh.mu.Unlock()
	}
	return keys
}

// recount checks that the store's counters agree with its contents and
// budgets, and that its tag index holds records of stored keys only, each
// in its tag's set and its key's list.
func recount(t *testing.T, s *Store) {
	t.Helper()
	var bytes, entries int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, e := range sh.lru.Values() {
			bytes += e.size
			entries++
		}
		for key, kt := range sh.tagged {
			bytes += kt.bytes
			_, h := s.shardFor(key)
			if kt.key != key || sh.lru.Contains(h, key) == kt.orphan || kt.orphan != inOrphans(sh, kt) || len(kt.recs) == 0 {
				sh.mu.Unlock()
				t.Fatalf("tagged key %q (orphan %v, %d records) does not match the store", key, kt.orphan, len(kt.recs))
			}
			want := keyCost(key)
			for _, r := range kt.recs {
				want += recordCost(r.set.tag)
				if r.owner != kt || sh.tags[r.set.tag] != r.set || !inSet(r) {
					sh.mu.Unlock()
					t.Fatalf("a record of key %q and tag %q is not in its set", key, r.set.tag)
				}
			}
			if kt.bytes != want {
				sh.mu.Unlock()
				t.Fatalf("key %q counts %d bytes of tags; its records make %d", key, kt.bytes, want)
			}
		}
		for tag, set := range sh.tags {
			if set.tag != tag || set.head == nil {
				sh.mu.Unlock()
				t.Fatalf("tag %q has a set for %q with head %p", tag, set.tag, set.head)
			}
			for r := set.head; r != nil; r = r.next {
				if r.set != set || sh.tagged[r.owner.key] != r.owner || !slices.Contains(r.owner.recs, r) {
					sh.mu.Unlock()
					t.Fatalf("tag %q has a record of %q that its key does not", tag, r.owner.key)
				}
			}
		}
		if err := checkCounters(sh); err != nil {
			sh.mu.Unlock()
			t.Fatal(err)
		}
		sh.mu.Unlock()
	}
	st := s.Stats()
	if st.Bytes != bytes || st.Entries != entries {
		t.Fatalf("Stats() = %+v; the shards hold %d entries of %d bytes", st, entries, bytes)
	}
	if bytes > s.maxBytes || entries > s.maxEntries {
		t.Fatalf("store holds %d entries of %d bytes; budgets are %d entries, %d bytes", entries, bytes, s.maxEntries, s.maxBytes)
	}
}

// inSet reports whether r is in its set's list.
func inSet(r *tagRecord) bool {
	for x := r.set.head; x != nil; x = x.next {
		if x == r {
			return x.prev == nil || x.prev.next == x
		}
	}
	return false
}

// inOrphans reports whether kt is in its shard's orphan list.
func inOrphans(sh *shard, kt *keyTags) bool {
	for x := sh.orphans.head; x != nil; x = x.next {
		if x == kt {
			return true
		}
	}
	return false
}

// step is one operation of an eviction scenario and the LRU order after it.
type step struct {
	op, key string // op is "set" or "get"
	size    int    // value length, for "set"
	want    []string
}

func runSteps(t *testing.T, s *Store, steps []step) {
	t.Helper()
	ctx := context.Background()
	for i, st := range steps {
		switch st.op {
		case "set":
			if err := s.Set(ctx, st.key, make([]byte, st.size), time.Hour); err != nil {
				t.Fatalf("step %d: Set(%q): %v", i, st.key, err)
			}
		case "get":
			_, err := s.Get(ctx, st.key)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("step %d: Get(%q): %v", i, st.key, err)
			}
		}
		if got := order(s); !slices.Equal(got, st.want) {
			t.Fatalf("step %d (%s %q): LRU order %q; want %q", i, st.op, st.key, got, st.want)
		}
		recount(t, s)
	}
}

func TestEvictionByEntries(t *testing.T) {
	s := New(Options{MaxEntries: 3, Shards: 1})
	runSteps(t, s, []step{
		{"set", "a", 1, []string{"a"}},
		{"set", "b", 1, []string{"a", "b"}},
		{"set", "c", 1, []string{"a", "b", "c"}},
		{"get", "a", 0, []string{"b", "c", "a"}}, // a hit refreshes a
		{"set", "d", 1, []string{"c", "a", "d"}}, // so b goes first
		{"get", "b", 0, []string{"c", "a", "d"}}, // a miss changes nothing
		{"set", "c", 1, []string{"a", "d", "c"}}, // an overwrite refreshes, evicts nothing
		{"set", "e", 1, []string{"d", "c", "e"}},
	})
	if got := s.Stats().Evictions; got != 2 {
		t.Errorf("Evictions = %d; want 2", got)
	}
}

func TestEvictionByBytes(t *testing.T) {
	// Each one-byte key with a 100-byte value costs 1+100+EntryOverhead.
	const unit = 1 + 100 + EntryOverhead
	s := New(Options{MaxBytes: 3 * unit, Shards: 1})
	runSteps(t, s, []step{
		{"set", "a", 100, []string{"a"}},
		{"set", "b", 100, []string{"a", "b"}},
		{"set", "c", 100, []string{"a", "b", "c"}},
		{"get", "a", 0, []string{"b", "c", "a"}},
		{"set", "d", 100, []string{"c", "a", "d"}},
		// Two units' worth evicts the two least recently used.
		{"set", "e", 100 + unit, []string{"d", "e"}},
		// Growing an entry in place evicts others, never itself.
		{"set", "e", 100 + 2*unit, []string{"e"}},
		// Shrinking it frees room.
		{"set", "e", 100, []string{"e"}},
		{"set", "f", 100, []string{"e", "f"}},
	})
	if got := s.Stats(); got.Evictions != 4 || got.Bytes != 2*unit {
		t.Errorf("Stats() = %+v; want 4 evictions and %d bytes", got, 2*unit)
	}
}

func TestTooLarge(t *testing.T) {
	const maxBytes = 1000
	s := New(Options{MaxBytes: maxBytes, Shards: 1})
	ctx := context.Background()
	if err := s.Set(ctx, "old", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	fits := maxBytes - EntryOverhead - len("k")
	for _, n := range []int{fits + 1, maxBytes, 10 * maxBytes} {
		err := s.Set(ctx, "k", make([]byte, n), time.Hour)
		if !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("Set of a %d-byte value with MaxBytes %d = %v; want ErrTooLarge", n, maxBytes, err)
		}
		if err := s.SetObject(ctx, "old", make([]byte, n), nil, time.Hour); !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("SetObject of a %d-byte value with MaxBytes %d = %v; want ErrTooLarge", n, maxBytes, err)
		}
	}
	// The refused overwrites left the old value alone.
	if v, err := s.Get(ctx, "old"); err != nil || string(v) != "v" {
		t.Errorf("Get(old) = %q, %v; want the old value", v, err)
	}
	// A long key counts too.
	if err := s.Set(ctx, strings.Repeat("k", maxBytes), nil, time.Hour); !errors.Is(err, store.ErrTooLarge) {
		t.Errorf("Set with a key of MaxBytes bytes = %v; want ErrTooLarge", err)
	}
	// An entry of exactly MaxBytes fits, in place of everything else.
	if err := s.Set(ctx, "k", make([]byte, fits), time.Hour); err != nil {
		t.Fatalf("Set of an entry of exactly MaxBytes: %v", err)
	}
	if got := order(s); !slices.Equal(got, []string{"k"}) {
		t.Errorf("after the entry of MaxBytes, the store holds %q; want only k", got)
	}
	recount(t, s)
}

func TestAccounting(t *testing.T) {
	s := New(Options{})
	ctx := context.Background()
	mustSet := func(key string, n int) {
		t.Helper()
		if err := s.Set(ctx, key, make([]byte, n), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	want := func(entries, bytes int64) {
		t.Helper()
		if st := s.Stats(); st != (Stats{Entries: entries, Bytes: bytes}) {
			t.Fatalf("Stats() = %+v; want %d entries, %d bytes, no evictions", st, entries, bytes)
		}
	}
	mustSet("ab", 100)
	want(1, 2+100+EntryOverhead)
	mustSet("ab", 10) // an overwrite replaces the old size
	want(1, 2+10+EntryOverhead)
	mustSet("c", 0)
	want(2, 2+10+1+2*EntryOverhead)
	if err := s.Delete(ctx, "ab", "missing", "ab"); err != nil {
		t.Fatal(err)
	}
	want(1, 1+EntryOverhead)
	if err := s.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	want(0, 0)
}

// TestShardedBudgets checks that sharding keeps the budgets global and
// exact: whichever shards the keys land in, the store never holds more
// than its budgets once a Set has returned, and its counters are true.
func TestShardedBudgets(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"by entries", Options{MaxEntries: 50, Shards: 16}},
		{"by bytes", Options{MaxBytes: 20 << 10, Shards: 16}},
		{"one entry", Options{MaxEntries: 1, Shards: 16}},
		{"one entry's bytes", Options{MaxBytes: 2*EntryOverhead + 8, Shards: 16}},
		{"more shards than entries", Options{MaxEntries: 5, Shards: 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.opts)
			r := rand.New(rand.NewPCG(1, 2))
			ctx := context.Background()
			for i := range 2000 {
				key := fmt.Sprintf("key-%d", r.IntN(300))
				if err := s.Set(ctx, key, make([]byte, r.IntN(EntryOverhead)), time.Hour); err != nil {
					t.Fatalf("Set %d: %v", i, err)
				}
				recount(t, s)
				// The entry just set is never the one evicted.
				if _, err := s.Get(ctx, key); err != nil {
					t.Fatalf("Get of the key just set: %v", err)
				}
			}
			if s.Stats().Evictions == 0 {
				t.Error("no evictions: the budgets were never reached")
			}
		})
	}
}

// sized is an object kept with a value that reports its heap size, as
// httpcache's decoded responses do.
type sized int

func (s sized) Size() int { return int(s) }

// TestAttachObjectStaysWithinMaxBytes: an object attached to a stored value
// counts against MaxBytes, so attaching one to an entry that already fills
// the budget must not leave the store holding more than MaxBytes (an entry
// larger than MaxBytes on its own is refused by Set and SetObject alike).
func TestAttachObjectStaysWithinMaxBytes(t *testing.T) {
	const maxBytes = 1000
	s := New(Options{MaxBytes: maxBytes, Shards: 1})
	ctx := context.Background()
	fits := maxBytes - EntryOverhead - len("k")
	if err := s.Set(ctx, "k", make([]byte, fits), time.Hour); err != nil {
		t.Fatal(err)
	}
	v, _, err := s.GetObject(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	s.AttachObject("k", v, sized(500))
	// Hits only from now on: nothing else would evict.
	for range 3 {
		if _, _, err := s.GetObject(ctx, "k"); err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Bytes > maxBytes {
		t.Errorf("after AttachObject, Stats() = %+v: %d bytes held with MaxBytes %d", st, st.Bytes, maxBytes)
	}
	recount(t, s)
}
