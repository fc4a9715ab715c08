package memory

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// TestHitDoesNotAllocate guards the cache-hit hot path.
func TestHitDoesNotAllocate(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation changes allocation counts")
	}
	for _, shards := range []int{1, 16} {
		s := New(Options{Shards: shards})
		live, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := s.SetObject(live, "key", []byte("value"), "obj", time.Hour); err != nil {
			t.Fatal(err)
		}
		// Tags and counters in the store do not change the hit path.
		if err := s.AddTags(live, "key", []string{"tag"}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Advance(live, "counter", 0, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Advance(live, "marker", 0, time.Hour); err != nil {
			t.Fatal(err)
		}
		calls := []struct {
			name string
			f    func()
		}{
			{"Get", func() { _, _ = s.Get(live, "key") }},
			{"GetObject", func() { _, _, _ = s.GetObject(live, "key") }},
			{"Get miss", func() { _, _ = s.Get(live, "missing") }},
			{"Get of a counter", func() { _, _ = s.Get(live, "counter") }},
			{"Get of a counter with a ttl", func() { _, _ = s.Get(live, "marker") }},
		}
		for _, c := range calls {
			if n := testing.AllocsPerRun(1000, c.f); n != 0 {
				t.Errorf("%d shards: %s allocates %v times per call; want 0", shards, c.name, n)
			}
		}
	}
}

// TestEntryOverhead checks that EntryOverhead covers what an entry really
// costs on the heap besides its key and value, without overstating it much.
func TestEntryOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap; skipped in -short mode")
	}
	const n, keyLen, valueLen = 20000, 16, 100
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%0*d", keyLen-4, i)
	}
	value := make([]byte, valueLen)
	s := New(Options{MaxEntries: n, Shards: 1})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, k := range keys {
		if err := s.Set(context.Background(), k, value, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc)/n - keyLen - valueLen
	t.Logf("measured overhead: %.0f bytes per entry; EntryOverhead = %d", perEntry, EntryOverhead)
	if perEntry > EntryOverhead+16 || perEntry < EntryOverhead/2 {
		t.Errorf("measured overhead %.0f bytes per entry; EntryOverhead = %d is off", perEntry, EntryOverhead)
	}
}

// TestTagOverhead checks that what the tag index counts against MaxBytes
// covers what it really costs on the heap, without overstating it much
// where TagOverhead is meant to be exact (tags no other key carries).
func TestTagOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap; skipped in -short mode")
	}
	tests := []struct {
		name       string
		tagsPerKey int
		shared     bool // every key carries the same tags
	}{
		{"one tag of its own", 1, false},
		{"eight tags of its own", 8, false},
		{"eight shared tags", 8, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 10000
			keys, tags := make([]string, n), make([][]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("key-%012d", i)
				for j := range tt.tagsPerKey {
					if tt.shared {
						tags[i] = append(tags[i], fmt.Sprintf("tag-%d", j))
					} else {
						tags[i] = append(tags[i], fmt.Sprintf("tag-%d-%d", i, j))
					}
				}
			}
			ctx := context.Background()
			s := New(Options{MaxEntries: n, Shards: 1})
			for _, k := range keys {
				if err := s.Set(ctx, k, nil, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			charged := s.Stats().Bytes
			for i, k := range keys {
				if err := s.AddTags(ctx, k, tags[i], time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			charged = s.Stats().Bytes - charged
			runtime.KeepAlive(s)
			runtime.KeepAlive(keys) // the caller's strings, which the store must not pin
			runtime.KeepAlive(tags)
			used := float64(after.HeapAlloc - before.HeapAlloc)
			t.Logf("%.0f bytes on the heap per key; %.0f charged (TagOverhead = %d)", used/n, float64(charged)/n, TagOverhead)
			if used > float64(charged)+16*n {
				t.Errorf("the index uses %.0f bytes per key but charges %.0f: TagOverhead = %d is too small",
					used/n, float64(charged)/n, TagOverhead)
			}
			if !tt.shared && float64(charged) > 1.25*used {
				t.Errorf("the index uses %.0f bytes per key but charges %.0f: TagOverhead = %d is too large",
					used/n, float64(charged)/n, TagOverhead)
			}
		})
	}
}
