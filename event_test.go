package httpcache_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/faultstore"
	"github.com/seedcache/httpcache/stores/memory"
)

// events records what Options.OnEvent receives.
type events struct {
	mu   sync.Mutex
	list []httpcache.Event
}

func (e *events) add(ev httpcache.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
}

// take returns the events so far and forgets them.
func (e *events) take() []httpcache.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.list
	e.list = nil
	return l
}

// one returns the single event recorded since the last call, failing the
// test if there is not exactly one.
func (e *events) one(t *testing.T) httpcache.Event {
	t.Helper()
	l := e.take()
	if len(l) != 1 {
		t.Fatalf("got %d events, want 1: %+v", len(l), l)
	}
	return l[0]
}

// TestEventReportsEachOutcome pins the event of each kind of request: its
// outcome and detail agree with the Cache-Status the client got, and a hit
// carries the key, size, age and tags of what it served.
func TestEventReportsEachOutcome(t *testing.T) {
	var evs events
	e := newEnv(t, httpcache.Options{OnEvent: evs.add, Policy: httpcache.Policy{StaleWhileRevalidate: time.Minute}})
	page := respond(200, map[string]string{"Cache-Control": "max-age=60", "Cache-Tag": "a, b"}, "hello")
	private := respond(200, map[string]string{"Cache-Control": "private, max-age=60"}, "mine")
	mux := http.NewServeMux()
	mux.Handle("GET /pages/{id}", e.cache.Handler(page))
	mux.Handle("GET /private", e.cache.Handler(private))
	mux.Handle("POST /pages/{id}", e.cache.Handler(page))

	res := do(t, mux, get("http://example.com/pages/1"))
	ev := evs.one(t)
	if ev.Outcome != httpcache.OutcomeMiss || !ev.Stored || ev.Detail != "" {
		t.Errorf("first request: outcome %q stored %v detail %q (%s), want a stored miss", ev.Outcome, ev.Stored, ev.Detail, res.cacheStatus())
	}
	if ev.Route != "GET /pages/{id}" || ev.Size != 5 || strings.Join(ev.Tags, ",") != "a,b" || ev.Request == nil || ev.Request.URL.Path != "/pages/1" {
		t.Errorf("miss event: route %q size %d tags %q request %v", ev.Route, ev.Size, ev.Tags, ev.Request)
	}
	keys, _ := e.cache.Keys("http://example.com/pages/1")
	if len(keys) != 1 || ev.Key != keys[0] {
		t.Errorf("miss event key %q, want %q", ev.Key, keys)
	}

	e.clock.Advance(10 * time.Second)
	res = do(t, mux, get("http://example.com/pages/1"))
	ev = evs.one(t)
	if !isHit(res) || ev.Outcome != httpcache.OutcomeHit || ev.Stored {
		t.Errorf("second request: outcome %q stored %v (%s), want a hit", ev.Outcome, ev.Stored, res.cacheStatus())
	}
	if ev.Key != keys[0] || ev.Size != 5 || ev.Age != 10*time.Second || strings.Join(ev.Tags, ",") != "a,b" || ev.Duration <= 0 {
		t.Errorf("hit event: key %q size %d age %v tags %q duration %v", ev.Key, ev.Size, ev.Age, ev.Tags, ev.Duration)
	}

	e.clock.Advance(60 * time.Second) // stale, within stale-while-revalidate
	res = do(t, mux, get("http://example.com/pages/1"))
	ev = evs.one(t)
	if ev.Outcome != httpcache.OutcomeStale || ev.Detail != "stale-while-revalidate" {
		t.Errorf("stale request: outcome %q detail %q (%s)", ev.Outcome, ev.Detail, res.cacheStatus())
	}
	e.cache.Wait()
	evs.take() // the background refresh is no request: it may report nothing

	res = do(t, mux, get("http://example.com/private"))
	ev = evs.one(t)
	if ev.Outcome != httpcache.OutcomeMiss || ev.Stored || ev.Detail != "private" {
		t.Errorf("private response: outcome %q stored %v detail %q (%s), want a miss not stored for private", ev.Outcome, ev.Stored, ev.Detail, res.cacheStatus())
	}

	res = do(t, mux, get("http://example.com/pages/1", "Range", "bytes=0-1"))
	ev = evs.one(t)
	if ev.Outcome != httpcache.OutcomeBypass || ev.Detail != "range" || ev.Key != "" {
		t.Errorf("range request: outcome %q detail %q key %q (%s), want a bypass for range", ev.Outcome, ev.Detail, ev.Key, res.cacheStatus())
	}

	res = do(t, mux, get("http://example.com/pages/1").with("POST"))
	ev = evs.one(t)
	if ev.Outcome != httpcache.OutcomeMethod || ev.Route != "POST /pages/{id}" {
		t.Errorf("POST: outcome %q route %q (%s)", ev.Outcome, ev.Route, res.cacheStatus())
	}
}

// TestEventReportsRevalidatedAndCollapsed pins the events of a stale
// response confirmed by a 304, and of requests answered from another
// request's fetch.
func TestEventReportsRevalidatedAndCollapsed(t *testing.T) {
	var evs events
	e := newEnv(t, httpcache.Options{OnEvent: evs.add})
	h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("body"))
	}})
	do(t, h, get("http://example.com/r"))
	evs.take()
	e.clock.Advance(90 * time.Second) // stale, still kept for revalidation
	res := do(t, h, get("http://example.com/r"))
	if ev := evs.one(t); ev.Outcome != httpcache.OutcomeRevalidated || ev.Size != 4 {
		t.Errorf("revalidated: outcome %q size %d (%s)", ev.Outcome, ev.Size, res.cacheStatus())
	}

	g := newGate(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte("v1"))
	})
	slow := e.cache.Handler(g)
	first := lead(t, slow, g, "http://example.com/slow")
	bodies := collapse(t, e.cache, slow, "http://example.com/slow", 2)
	close(g.release)
	expectAll(t, bodies, 2, "v1")
	if b := <-first; b != "v1" {
		t.Fatalf("leader got %q", b)
	}
	var led, collapsed int
	for _, ev := range evs.take() {
		switch ev.Outcome {
		case httpcache.OutcomeMiss:
			led++
		case httpcache.OutcomeCollapsed:
			collapsed++
			if ev.Size != 2 {
				t.Errorf("collapsed event size %d, want 2", ev.Size)
			}
		default:
			t.Errorf("unexpected outcome %q", ev.Outcome)
		}
	}
	if led != 1 || collapsed != 2 {
		t.Errorf("%d misses and %d collapsed, want 1 and 2", led, collapsed)
	}
}

// TestEventReportsStoreError pins that a lookup the store failed says so:
// the event carries the store's error, and OnStoreOp saw the failed get.
func TestEventReportsStoreError(t *testing.T) {
	var evs events
	var mu sync.Mutex
	var ops []httpcache.StoreOp
	s := &faultstore.Script{}
	boom := errors.New("boom")
	s.FailWith(boom)
	c := httpcache.New(s, httpcache.Options{OnEvent: evs.add, Logger: discardLogger(), OnStoreOp: func(op httpcache.StoreOp) {
		mu.Lock()
		ops = append(ops, op)
		mu.Unlock()
	}})
	h := c.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60"}, "x"))
	res := do(t, h, get("http://example.com/a"))
	ev := evs.one(t)
	if !errors.Is(ev.StoreError, boom) || ev.Outcome != httpcache.OutcomeMiss || ev.Stored {
		t.Errorf("event: outcome %q stored %v store error %v (%s), want a miss with the store's error", ev.Outcome, ev.Stored, ev.StoreError, res.cacheStatus())
	}
	mu.Lock()
	defer mu.Unlock()
	var failedGet bool
	for _, op := range ops {
		failedGet = failedGet || (op.Op == "get" || op.Op == "get-multi") && errors.Is(op.Err, boom)
	}
	if !failedGet {
		t.Errorf("store ops %+v: no failed get reported", ops)
	}
}

// TestStoreOpReportsReadsAndWrites pins OnStoreOp on a healthy store: a
// miss reads and writes, a purge is recorded, and none is an error.
func TestStoreOpReportsReadsAndWrites(t *testing.T) {
	var mu sync.Mutex
	count := map[string]int{}
	c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{OnStoreOp: func(op httpcache.StoreOp) {
		mu.Lock()
		defer mu.Unlock()
		if op.Err != nil {
			t.Errorf("op %s failed: %v", op.Op, op.Err)
		}
		count[op.Op]++
	}})
	h := c.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60"}, "x"))
	do(t, h, get("http://example.com/a"))
	do(t, h, get("http://example.com/a"))
	if err := c.PurgeURL(t.Context(), "http://example.com/a"); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	mu.Lock()
	defer mu.Unlock()
	if count["get"] < 2 || count["set"] < 1 || count["purge"] != 1 {
		t.Errorf("store ops %v: want at least 2 gets, 1 set and 1 purge", count)
	}
}

// TestEventOncePerRequestThroughNestedLayers pins that layers of one Cache
// nested around a handler report a request once.
func TestEventOncePerRequestThroughNestedLayers(t *testing.T) {
	var evs events
	e := newEnv(t, httpcache.Options{OnEvent: evs.add})
	h := e.cache.Handler(e.cache.Page(time.Minute)(respond(200, nil, "x")))
	do(t, h, get("http://example.com/n"))
	if ev := evs.one(t); ev.Outcome != httpcache.OutcomeMiss || !ev.Stored || ev.Size != 1 {
		t.Errorf("nested miss: outcome %q stored %v size %d", ev.Outcome, ev.Stored, ev.Size)
	}
	do(t, h, get("http://example.com/n"))
	if ev := evs.one(t); ev.Outcome != httpcache.OutcomeHit {
		t.Errorf("nested hit: outcome %q", ev.Outcome)
	}
}

// TestHitWithEventHookAllocatesAtMostOnce pins that an event hook adds no
// allocation to a hit (TestHitAllocatesAtMostOnce): events are recycled.
func TestHitWithEventHookAllocatesAtMostOnce(t *testing.T) {
	var n int
	c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{OnEvent: func(ev httpcache.Event) { n++ }})
	allocs := allocsPerHit(t, c, false)
	if n < 1000 {
		t.Fatalf("%d events for 1001 requests", n)
	}
	if allocs > 1 {
		t.Errorf("a hit with an event hook allocates %v times, want at most 1", allocs)
	}
}

// TestEventNotWrittenAfterItIsReported pins that a request's event is left
// alone once reported: a layer of the Cache that an http.TimeoutHandler
// between layers runs on its own goroutine, still fetching after the
// outer layer answered (and recycled the event), must not write what it
// stores into that event, which another request may be using by then.
func TestEventNotWrittenAfterItIsReported(t *testing.T) {
	// One P: the recycled event is the one the next request takes.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var evs events
	e := newEnv(t, httpcache.Options{OnEvent: evs.add})
	inner := e.cache.Page(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Cache-Tag", "late")
		w.WriteHeader(http.StatusNoContent) // no body: complete, and stored
	}))
	h := e.cache.Handler(http.TimeoutHandler(inner, 10*time.Millisecond, "timeout"))
	bypass := e.cache.Handler(respond(200, nil, "x"))
	do(t, h, get("http://example.com/t"))
	keys, err := e.cache.Keys("http://example.com/t")
	if err != nil {
		t.Fatal(err)
	}
	stored := func() bool {
		for _, k := range keys {
			if _, err := e.store.Get(context.Background(), k); err == nil {
				return true
			}
		}
		return false
	}
	// Requests that take recycled events, until the late layer has
	// stored its response, and a few more.
	for n := 0; n < 20; {
		do(t, bypass, get("http://example.com/b", "Range", "bytes=0-1"))
		if stored() {
			n++
		}
	}
	for _, ev := range evs.take() {
		if ev.Request.URL.Path == "/b" && (len(ev.Tags) > 0 || ev.Size != 0) {
			t.Errorf("the event of a bypass of /b reports tags %q, size %d", ev.Tags, ev.Size)
		}
	}
}

// TestEventOfCacheNestedInAnotherOfTheSameName pins the outcome of a
// Cache's own request when another Cache with the same Name (the default,
// "httpcache") encloses it: the inner one's hit is a hit in its event,
// though the outer one's member ("fwd=uri-miss; stored") comes last in
// Cache-Status; and the outer one's miss is a miss.
func TestEventOfCacheNestedInAnotherOfTheSameName(t *testing.T) {
	var outerEvs, innerEvs events
	clk := newClock()
	outer := httpcache.New(memory.New(memory.Options{Clock: clk.Now}), httpcache.Options{Clock: clk.Now, OnEvent: outerEvs.add})
	inner := httpcache.New(memory.New(memory.Options{Clock: clk.Now}), httpcache.Options{Clock: clk.Now, OnEvent: innerEvs.add})
	page := inner.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60"}, "x"))
	do(t, page, get("http://example.com/p")) // stored by the inner Cache
	innerEvs.take()
	res := do(t, outer.Handler(page), get("http://example.com/p"))
	if got := res.header.Values("Cache-Status"); len(got) != 2 || got[0] != "httpcache; hit" {
		t.Fatalf("Cache-Status %q", got)
	}
	if ev := innerEvs.one(t); ev.Outcome != httpcache.OutcomeHit || ev.Stored {
		t.Errorf("inner Cache's event: outcome %q stored %v, want a hit", ev.Outcome, ev.Stored)
	}
	if ev := outerEvs.one(t); ev.Outcome != httpcache.OutcomeMiss || !ev.Stored {
		t.Errorf("outer Cache's event: outcome %q stored %v, want a stored miss", ev.Outcome, ev.Stored)
	}
}

// TestEventTagsDoNotPinStoredResponses: an observer that keeps the tags
// it is given (a count of hits per tag, say) keeps those few bytes alive,
// not the stored responses they came with: once the responses have left
// the store, their bodies go with them.
func TestEventTagsDoNotPinStoredResponses(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap; skipped in -short mode")
	}
	const n, bodyLen = 32, 256 << 10
	var mu sync.Mutex
	kept := map[string]int{} // hits per tag, keyed by the event's own strings
	observe := func(ev httpcache.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, tag := range ev.Tags {
			kept[tag]++
		}
	}
	e := newEnv(t, httpcache.Options{OnEvent: observe})
	body := strings.Repeat("b", bodyLen)
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpcache.Tag(r, "tag-"+r.URL.Path[1:])
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte(body))
	}))
	for i := range n {
		url := "http://example.com/" + strconv.Itoa(i)
		do(t, h, get(url))
		if res := do(t, h, get(url)); !isHit(res) {
			t.Fatalf("%s: %s, want a hit", url, res.cacheStatus())
		}
	}
	e.store.Clear()
	pinned := heapHeldUntil(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(kept) != n {
			t.Fatalf("%d tags kept, want %d", len(kept), n)
		}
		clear(kept)
	})
	runtime.KeepAlive(h)
	t.Logf("the kept tags hold %d bytes", pinned)
	if pinned > n*bodyLen/4 {
		t.Fatalf("%d tags of a few bytes kept %d bytes alive (the responses' bodies are %d bytes in all)", n, pinned, n*bodyLen)
	}
}
