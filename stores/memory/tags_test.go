package memory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// tagged returns TaggedKeys(tag), sorted.
func tagged(t *testing.T, s *Store, tag string) []string {
	t.Helper()
	keys, err := s.TaggedKeys(context.Background(), tag)
	if err != nil {
		t.Fatalf("TaggedKeys(%q): %v", tag, err)
	}
	slices.Sort(keys)
	return keys
}

func expectTagged(t *testing.T, s *Store, tag string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := tagged(t, s, tag); !slices.Equal(got, want) {
		t.Fatalf("TaggedKeys(%q) = %q; want %q", tag, got, want)
	}
}

func addTags(t *testing.T, s *Store, key string, tags ...string) {
	t.Helper()
	if err := s.AddTags(context.Background(), key, tags, time.Hour); err != nil {
		t.Fatalf("AddTags(%q, %q): %v", key, tags, err)
	}
}

// indexSize returns the number of tagged keys and of tag sets in s.
func indexSize(s *Store) (keys, tags int) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		keys += len(sh.tagged)
		tags += len(sh.tags)
		sh.mu.Unlock()
	}
	return keys, tags
}

// TestTagIndexFollowsEntries: whichever way an entry leaves the store, its
// records leave with it, and the index holds nothing more than the store.
func TestTagIndexFollowsEntries(t *testing.T) {
	ctx := context.Background()
	// Each one-byte key with a 100-byte value costs 1+100+EntryOverhead,
	// and its tags keyCost("k")+recordCost("t") on top.
	const unit = 1 + 100 + EntryOverhead
	tagUnit := keyCost("k") + recordCost("t")
	tests := []struct {
		name   string
		opts   Options
		remove func(t *testing.T, s *Store, clock *fakeClock) // takes some of a, b, c away
		gone   []string                                       // what must have left
	}{
		{"delete", Options{}, func(t *testing.T, s *Store, _ *fakeClock) {
			if err := s.Delete(ctx, "a"); err != nil {
				t.Fatal(err)
			}
		}, []string{"a"}},
		{"overwrite", Options{}, func(t *testing.T, s *Store, _ *fakeClock) {
			if err := s.Set(ctx, "a", []byte("new"), time.Hour); err != nil {
				t.Fatal(err)
			}
		}, []string{"a"}},
		{"overwrite with an object", Options{}, func(t *testing.T, s *Store, _ *fakeClock) {
			if err := s.SetObject(ctx, "a", []byte("new"), 1, time.Hour); err != nil {
				t.Fatal(err)
			}
		}, []string{"a"}},
		{"eviction by entries", Options{MaxEntries: 3}, func(t *testing.T, s *Store, _ *fakeClock) {
			mustSetN(t, s, "d", 100)
		}, []string{"a"}},
		{"eviction by bytes", Options{MaxBytes: 3*unit + 3*tagUnit}, func(t *testing.T, s *Store, _ *fakeClock) {
			mustSetN(t, s, "d", 100)
		}, []string{"a"}},
		{"eviction by bytes, two at once", Options{MaxBytes: 3*unit + 3*tagUnit}, func(t *testing.T, s *Store, _ *fakeClock) {
			mustSetN(t, s, "d", int(100+unit+tagUnit))
		}, []string{"a", "b"}},
		{"tags that evict", Options{MaxBytes: 3*unit + 3*tagUnit}, func(t *testing.T, s *Store, _ *fakeClock) {
			addTags(t, s, "c", "more") // c is the newest; a goes for its record
		}, []string{"a"}},
		{"expiry found by Get", Options{}, func(t *testing.T, s *Store, clock *fakeClock) {
			clock.Advance(time.Hour)
			for _, k := range []string{"a", "b", "c"} {
				if _, err := s.Get(ctx, k); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Get(%q) after its ttl = %v; want ErrNotFound", k, err)
				}
			}
		}, []string{"a", "b", "c"}},
		{"expiry found by AddTags", Options{}, func(t *testing.T, s *Store, clock *fakeClock) {
			clock.Advance(time.Hour)
			if err := s.Set(ctx, "b", []byte("fresh"), time.Hour); err != nil {
				t.Fatal(err)
			}
			addTags(t, s, "a", "x") // a has expired: an orphan now, under x only
		}, []string{"a", "b", "c"}}, // b was overwritten, c expired unread
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			tt.opts.Clock = clock.Now
			tt.opts.Shards = 1 // one exact LRU order
			s := New(tt.opts)
			for _, k := range []string{"a", "b", "c"} {
				mustSetN(t, s, k, 100)
				addTags(t, s, k, "t")
			}
			expectTagged(t, s, "t", "a", "b", "c")
			recount(t, s)

			tt.remove(t, s, clock)
			recount(t, s)
			var want []string
			for _, k := range []string{"a", "b", "c"} {
				if !slices.Contains(tt.gone, k) {
					want = append(want, k)
				}
			}
			expectTagged(t, s, "t", want...)
			if keys, _ := indexSize(s); keys > int(s.Stats().Entries)+1 { // +1: "expiry found by AddTags" leaves an orphan
				t.Fatalf("the index holds %d keys; the store %d entries", keys, s.Stats().Entries)
			}
		})
	}
}

func mustSetN(t *testing.T, s *Store, key string, n int) {
	t.Helper()
	if err := s.Set(context.Background(), key, make([]byte, n), time.Hour); err != nil {
		t.Fatalf("Set(%q, %d bytes): %v", key, n, err)
	}
}

// TestTagIndexExpiredEntryNotListed: an entry past its ttl that no read has
// removed yet is not listed, though its records are still there.
func TestTagIndexExpiredEntryNotListed(t *testing.T) {
	clock := newFakeClock()
	s := New(Options{Clock: clock.Now})
	ctx := context.Background()
	if err := s.Set(ctx, "short", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	mustSetN(t, s, "long", 1)
	addTags(t, s, "short", "t")
	addTags(t, s, "long", "t")
	clock.Advance(time.Second)
	expectTagged(t, s, "t", "long")
	recount(t, s)
}

// TestTagIndexClear: Clear empties the index and relieves its bytes.
func TestTagIndexClear(t *testing.T) {
	s := New(Options{Shards: 4})
	for i := range 20 {
		k := fmt.Sprint("key-", i)
		if i%4 != 0 { // every fourth key is an orphan
			mustSetN(t, s, k, 10)
		}
		addTags(t, s, k, "all", fmt.Sprint("tag-", i%3))
	}
	recount(t, s)
	if len(tagged(t, s, "all")) != 20 {
		t.Fatalf("TaggedKeys(all) = %q; want 20 keys", tagged(t, s, "all"))
	}
	s.Clear()
	if st := s.Stats(); st != (Stats{}) {
		t.Fatalf("Stats() after Clear = %+v; want zero", st)
	}
	if keys, tags := indexSize(s); keys != 0 || tags != 0 {
		t.Fatalf("after Clear, the index holds %d keys and %d tags", keys, tags)
	}
	expectTagged(t, s, "all")
	for i := range s.shards {
		if s.shards[i].orphans != (orphans{}) {
			t.Fatalf("shard %d still lists orphans", i)
		}
	}
	// The index works as before.
	mustSetN(t, s, "k", 1)
	addTags(t, s, "k", "all")
	expectTagged(t, s, "all", "k")
	recount(t, s)
}

// TestTagIndexOrphans: tags of a key the store does not hold are kept, as
// store.TagIndex asks, until the key is written or deleted, they
// expire, or memory is short, when they go before any entry.
func TestTagIndexOrphans(t *testing.T) {
	ctx := context.Background()
	t.Run("set and delete drop them", func(t *testing.T) {
		s := New(Options{})
		addTags(t, s, "a", "t")
		addTags(t, s, "b", "t")
		addTags(t, s, "c", "t")
		expectTagged(t, s, "t", "a", "b", "c")
		recount(t, s)
		mustSetN(t, s, "a", 1) // the new value has not been tagged
		if err := s.Delete(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Advance(ctx, "c", 0, 0); err != nil { // a counter is not an entry: c stays tagged
			t.Fatal(err)
		}
		expectTagged(t, s, "t", "c")
		recount(t, s)
		if _, err := s.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get of an orphan = %v; want ErrNotFound", err)
		}
	})
	t.Run("own ttl", func(t *testing.T) {
		clock := newFakeClock()
		s := New(Options{Clock: clock.Now})
		if err := s.AddTags(ctx, "k", []string{"short"}, time.Second); err != nil {
			t.Fatal(err)
		}
		if err := s.AddTags(ctx, "k", []string{"long"}, time.Minute); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		expectTagged(t, s, "short")
		expectTagged(t, s, "long", "k")
		recount(t, s)
		clock.Advance(time.Minute)
		expectTagged(t, s, "long")
		// Both expired records were found and removed: nothing is left.
		if keys, tags := indexSize(s); keys != 0 || tags != 0 || s.Stats().Bytes != 0 {
			t.Fatalf("after the records expired: %d keys, %d tags, %d bytes; want none", keys, tags, s.Stats().Bytes)
		}
	})
	t.Run("evicted first", func(t *testing.T) {
		const unit = 1 + 100 + EntryOverhead
		orphan := keyCost("o1") + recordCost("t")
		s := New(Options{Shards: 1, MaxBytes: 2*unit + 2*orphan})
		mustSetN(t, s, "a", 100)
		addTags(t, s, "o1", "t")
		addTags(t, s, "o2", "t")
		mustSetN(t, s, "b", 100) // fits with both orphans
		expectTagged(t, s, "t", "o1", "o2")
		mustSetN(t, s, "c", 50) // needs room: the oldest orphan goes, not a
		expectTagged(t, s, "t", "o2")
		if got := order(s); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("entries %q; want a, b, c", got)
		}
		if ev := s.Stats().Evictions; ev != 0 {
			t.Fatalf("Evictions = %d; dropping orphans is not evicting entries", ev)
		}
		recount(t, s)
	})
}

// TestTagIndexBudget: records count against MaxBytes; RemoveTags gives the
// bytes back; tags that could never fit are refused whole.
func TestTagIndexBudget(t *testing.T) {
	ctx := context.Background()
	s := New(Options{MaxBytes: 4096, Shards: 1})
	mustSetN(t, s, "k", 10)
	base := s.Stats().Bytes
	addTags(t, s, "k", "a", "bb", "a") // a duplicate counts once
	if got, want := s.Stats().Bytes-base, keyCost("k")+recordCost("a")+recordCost("bb"); got != want {
		t.Fatalf("the tags count %d bytes; want %d", got, want)
	}
	addTags(t, s, "k", "bb") // already there: no change
	if got, want := s.Stats().Bytes-base, keyCost("k")+recordCost("a")+recordCost("bb"); got != want {
		t.Fatalf("after tagging again, the tags count %d bytes; want %d", got, want)
	}
	if err := s.RemoveTags(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Stats().Bytes-base, keyCost("k")+recordCost("bb"); got != want {
		t.Fatalf("after RemoveTags(a), the tags count %d bytes; want %d", got, want)
	}
	recount(t, s)
	if err := s.RemoveTags(ctx, "bb"); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Bytes; got != base {
		t.Fatalf("after removing every tag, Bytes = %d; want %d", got, base)
	}

	huge := []string{strings.Repeat("x", 4096)}
	if err := s.AddTags(ctx, "k", append([]string{"small"}, huge...), time.Hour); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("AddTags past MaxBytes = %v; want ErrTooLarge", err)
	}
	expectTagged(t, s, "small") // none recorded
	if err := s.AddTags(ctx, "orphan", huge, time.Hour); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("AddTags past MaxBytes for an orphan = %v; want ErrTooLarge", err)
	}
	recount(t, s)

	if err := s.AddTags(ctx, "k", []string{"t"}, 0); !errors.Is(err, store.ErrInvalidTTL) {
		t.Fatalf("AddTags with ttl 0 = %v; want ErrInvalidTTL", err)
	}
}

// TestTagIndexConcurrent mixes every operation on small stores (run it
// with -race); the index must match the store afterwards.
func TestTagIndexConcurrent(t *testing.T) {
	for _, shards := range []int{1, 8} {
		t.Run(fmt.Sprintf("%d shards", shards), func(t *testing.T) {
			clock := newFakeClock()
			s := New(Options{MaxBytes: 24 << 10, MaxEntries: 40, Shards: shards, Clock: clock.Now})
			ctx := context.Background()
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(g), 11))
					for range 2000 {
						key := fmt.Sprint("key-", r.IntN(80))
						tag := fmt.Sprint("tag-", r.IntN(6))
						var err error
						switch op := r.IntN(20); {
						case op < 5:
							err = s.Set(ctx, key, make([]byte, r.IntN(200)), time.Duration(1+r.IntN(30))*time.Millisecond)
						case op < 10:
							err = s.AddTags(ctx, key, []string{tag, "all"}, time.Duration(1+r.IntN(30))*time.Millisecond)
						case op < 13:
							_, err = s.Get(ctx, key)
							if errors.Is(err, store.ErrNotFound) {
								err = nil
							}
						case op < 15:
							var keys []string
							if keys, err = s.TaggedKeys(ctx, tag); err == nil {
								for _, k := range keys {
									if !strings.HasPrefix(k, "key-") {
										err = fmt.Errorf("TaggedKeys lists %q", k)
									}
								}
							}
						case op < 16:
							err = s.RemoveTags(ctx, tag)
						case op < 17:
							err = s.Delete(ctx, key)
						case op < 18:
							clock.Advance(time.Millisecond)
						case op < 19:
							_, err = s.Advance(ctx, "counter", int64(r.IntN(3000)), time.Duration(r.IntN(3))*time.Millisecond)
						default:
							if r.IntN(10) == 0 {
								s.Clear()
							}
						}
						if err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			recount(t, s)
		})
	}
}

// TestTagIndexRefusedWhole: tags refused for their size change nothing,
// not even the lifetime of records the key had already.
func TestTagIndexRefusedWhole(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := New(Options{MaxBytes: 4096, Clock: clock.Now})
	if err := s.AddTags(ctx, "k", []string{"t"}, time.Second); err != nil {
		t.Fatal(err)
	}
	err := s.AddTags(ctx, "k", []string{"t", strings.Repeat("x", 4096)}, time.Hour)
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("AddTags past MaxBytes = %v; want ErrTooLarge", err)
	}
	clock.Advance(time.Second)
	expectTagged(t, s, "t") // still its first ttl
	recount(t, s)
}
