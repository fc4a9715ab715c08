package httpcache_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// TestStoredEntryHeapObjects pins how many heap objects a response kept in
// the memory store costs: every collection marks each of them, so a store
// of a million entries costs the garbage collector what it holds in
// objects, not bytes (BenchmarkHitScale measures the time). A stored
// response is six allocations: its value (the encoding), its key, the
// decoded entry, its header's two arrays, and the one string all its
// header names and values, tags and Vary names are substrings of (a copy,
// so that a string kept by a caller never keeps the value and its body
// alive); the store keeps its entries in one array of slots, not a list
// node each. The runtime counts about five live objects per entry for
// them. It counted 7.3 while the header was a map holding strings of its
// own and the store's list had a node per entry.
func TestStoredEntryHeapObjects(t *testing.T) {
	const n = 20_000
	body := bytes.Repeat([]byte("x"), 256)
	paths := make([]string, n)
	for i := range paths {
		paths[i] = "/articles/" + strconv.Itoa(i)
	}
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	w := &sink{h: make(http.Header)}
	runtime.GC()
	before, _ := liveHeap()
	c := httpcache.New(memory.New(memory.Options{MaxBytes: 1 << 30, MaxEntries: 2 * n}), httpcache.Options{})
	h := c.Handler(pageHandler(body, false))
	for _, p := range paths {
		w.reset()
		r.URL.Path, r.RequestURI = p, p
		h.ServeHTTP(w, r)
	}
	runtime.GC()
	after, _ := liveHeap()
	runtime.KeepAlive(c)
	if s := c.Stats(); s.Misses != n {
		t.Fatalf("%d misses, want %d", s.Misses, n)
	}
	perEntry := float64(after-before) / n
	t.Logf("%.2f heap objects per stored entry", perEntry)
	if perEntry > 5.5 {
		t.Errorf("%.2f heap objects per stored entry, want at most 5.5", perEntry)
	}
}

// heapHeldUntil returns the bytes of live heap that release lets go: the
// heap after full collections before it, less the heap after it.
func heapHeldUntil(release func()) int64 {
	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC() // and the pooled buffers
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	held := heap()
	release()
	return held - heap()
}
