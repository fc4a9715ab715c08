package httpcache_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// BenchmarkHitScale measures a memory-store hit as the store grows from a
// thousand to a million entries (256-byte pages, each URL its own entry),
// requests spread over all of them: the hit's cost; the garbage
// collector's cycles during the timed loop (gc-cycles) and the CPU share
// the runtime counts for them (gc-cpu-%, when a cycle ran); and what one
// full collection costs with the store that full (gc-ms: a forced
// runtime.GC after the loop, whose marking scans every pointer the stored
// entries hold). Each size fills its store first (about 10 s for a
// million), outside the timing.
//
//	go test -run '^$' -bench HitScale -benchtime 2000000x -count 6 .
func BenchmarkHitScale(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 256)
	page := pageHandler(body, false)
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run("entries="+strconv.Itoa(n), func(b *testing.B) {
			c := httpcache.New(memory.New(memory.Options{MaxBytes: 4 << 30, MaxEntries: 2 * n}), httpcache.Options{})
			h := c.Handler(page)
			reqs := make([]*http.Request, n)
			w := &sink{h: make(http.Header)}
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "http://example.com/articles/"+strconv.Itoa(i), nil)
				w.reset()
				h.ServeHTTP(w, reqs[i])
			}
			runtime.GC()
			hits := c.Stats().Hits
			gc0, all0, cycles0 := gcCPU()
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, reqs[i])
				if i++; i == n {
					i = 0
				}
			}
			b.StopTimer()
			gc1, all1, cycles1 := gcCPU()
			b.ReportMetric(float64(cycles1-cycles0), "gc-cycles")
			if all1 > all0 {
				b.ReportMetric(100*(gc1-gc0)/(all1-all0), "gc-cpu-%")
			}
			start := time.Now()
			runtime.GC()
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "gc-ms")
			if got := c.Stats().Hits - hits; got < uint64(b.N) {
				b.Fatalf("%d hits of %d requests: the store did not keep all %d entries", got, b.N, n)
			}
		})
	}
}

// gcCPU reads the CPU seconds the garbage collector has used and the
// process's total, as the runtime estimates them (it updates them at each
// cycle), and the cycles completed.
func gcCPU() (gc, total float64, cycles uint64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Float64(), s[2].Value.Uint64()
}
