package httpcache_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// BenchmarkHitScale measures a memory-store hit as the store grows from a
// thousand to a million entries (256-byte pages, each URL its own entry),
// requests spread over all of them, and what the entries cost the garbage
// collector.
//
// With load=hits every request is a hit, allocating only its own header
// values; with
// load=server each request also leaves 2 KiB of garbage, as a net/http
// server's own work for a request does (its request, header map, buffers),
// so that collections run as they would in a server and each one marks
// what the store holds.
//
// Reported besides the hit's cost: gc-cycles during the timed loop;
// gc-cpu-%, the share of the process's CPU the runtime counts for the
// collector over the loop, and gc-ns/op, that CPU time per request (the
// runtime updates its count at the end of each cycle: run enough requests
// for several); objects/entry and heap-B/entry, the live heap
// objects and bytes the filled store holds per entry (load-independent:
// what every collection must mark); gc-ms, the wall time of one forced
// full collection with the store that full; and p50-ns and p99-ns, the
// median and 99th percentile of one request's time, every 64th request
// timed on its own (collections and all). The requests are one reused
// *http.Request whose path changes, so that the heap measured is the
// store's. Each size fills its store first (about 10 s for a million),
// outside the timing.
//
//	go test -run '^$' -bench HitScale -benchtime 2000000x -count 6 .
func BenchmarkHitScale(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 256)
	page := pageHandler(body, false)
	for _, load := range []string{"hits", "server"} {
		for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
			b.Run("load="+load+"/entries="+strconv.Itoa(n), func(b *testing.B) {
				paths := make([]string, n)
				for i := range paths {
					paths[i] = "/articles/" + strconv.Itoa(i)
				}
				r := httptest.NewRequest("GET", "http://example.com/", nil)
				runtime.GC()
				objs0, bytes0 := liveHeap()
				c := httpcache.New(memory.New(memory.Options{MaxBytes: 4 << 30, MaxEntries: 2 * n}), httpcache.Options{})
				h := c.Handler(page)
				w := &sink{h: make(http.Header)}
				serve := func(i int) {
					w.reset()
					r.URL.Path = paths[i]
					r.RequestURI = paths[i]
					h.ServeHTTP(w, r)
				}
				for i := range paths {
					serve(i)
				}
				runtime.GC()
				objs1, bytes1 := liveHeap()
				hits := c.Stats().Hits
				gc0, all0, cycles0 := gcCPU()
				b.ReportAllocs()
				b.ResetTimer()
				i, k := 0, 0
				samples := make([]time.Duration, 0, b.N/latencyEvery+1)
				for b.Loop() {
					if load == "server" {
						garbage = make([]byte, 2048)
					}
					if k++; k%latencyEvery == 0 {
						start := time.Now()
						serve(i)
						samples = append(samples, time.Since(start))
					} else {
						serve(i)
					}
					if i++; i == n {
						i = 0
					}
				}
				b.StopTimer()
				if len(samples) > 0 {
					slices.Sort(samples)
					b.ReportMetric(float64(samples[len(samples)/2]), "p50-ns")
					b.ReportMetric(float64(samples[len(samples)*99/100]), "p99-ns")
				}
				gc1, all1, cycles1 := gcCPU()
				b.ReportMetric(float64(objs1-objs0)/float64(n), "objects/entry")
				b.ReportMetric(float64(bytes1-bytes0)/float64(n), "heap-B/entry")
				b.ReportMetric(float64(cycles1-cycles0), "gc-cycles")
				if all1 > all0 {
					b.ReportMetric(100*(gc1-gc0)/(all1-all0), "gc-cpu-%")
				}
				b.ReportMetric((gc1-gc0)*1e9/float64(b.N), "gc-ns/op")
				start := time.Now()
				runtime.GC()
				b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "gc-ms")
				if got := c.Stats().Hits - hits; got < uint64(b.N) || w.status != http.StatusOK || w.n != len(body) {
					b.Fatalf("%d hits of %d requests (last: %d, %d bytes): the store did not keep all %d entries", got, b.N, w.status, w.n, n)
				}
				runtime.KeepAlive(c)
			})
		}
	}
}

// latencyEvery is how often BenchmarkHitScale times one request on its
// own, for the p50 and p99 of a request's time (which then include two
// clock reads, about 100 ns on the development VM).
const latencyEvery = 64

// garbage is where load=server's per-request allocation goes, so that the
// compiler cannot keep it on the stack.
var garbage []byte

// gcCPU reads the CPU seconds the garbage collector has used and the
// process's total, as the runtime estimates them (it updates them at each
// cycle), and the cycles completed.
func gcCPU() (gc, total float64, cycles uint64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Float64(), s[2].Value.Uint64()
}

// liveHeap reads the heap's objects and bytes as of the last collection
// (call it right after runtime.GC).
func liveHeap() (objects, bytes uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/objects:objects"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}
