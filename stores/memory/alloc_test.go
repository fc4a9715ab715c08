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
		calls := []struct {
			name string
			f    func()
		}{
			{"Get", func() { _, _ = s.Get(live, "key") }},
			{"GetObject", func() { _, _, _ = s.GetObject(live, "key") }},
			{"Get miss", func() { _, _ = s.Get(live, "missing") }},
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
