package httpcache_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

var (
	lastMod = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lmStr   = lastMod.Format(http.TimeFormat)
)

// TestConditionalHits: a hit answers a matching If-None-Match (strong,
// weak, a list, *) or an unmodified If-Modified-Since with a 304 carrying
// the validators and caching fields but no representation fields;
// If-None-Match wins over If-Modified-Since, and a condition that does not
// match, or is malformed, gets the 200.
func TestConditionalHits(t *testing.T) {
	validated := func() *counter {
		return respond(200, map[string]string{
			"Cache-Control": "max-age=60", "Etag": `"v1"`, "Last-Modified": lmStr,
			"Content-Type": "text/plain", "X-Other": "o",
		}, "payload")
	}
	notModified := func(t *testing.T, res result) {
		t.Helper()
		for _, name := range []string{"Etag", "Cache-Control", "Date", "Age", "Cache-Status"} {
			if res.header.Get(name) == "" {
				t.Errorf("304 lacks %s", name)
			}
		}
		for _, name := range []string{"Content-Type", "X-Other", "Last-Modified"} {
			if res.header.Get(name) != "" {
				t.Errorf("304 carries representation field %s", name)
			}
		}
	}
	tests := []struct {
		name   string
		header []string
		status int
	}{
		{"If-None-Match matches", []string{"If-None-Match", `"v1"`}, 304},
		{"If-None-Match weak matches", []string{"If-None-Match", `W/"v1"`}, 304},
		{"If-None-Match list", []string{"If-None-Match", `"v0", "v1"`}, 304},
		{"If-None-Match star", []string{"If-None-Match", `*`}, 304},
		{"If-None-Match other", []string{"If-None-Match", `"v2"`}, 200},
		{"If-None-Match malformed", []string{"If-None-Match", `v1`}, 200},
		{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"v2"`, "If-Modified-Since", lmStr}, 200},
		{"If-Modified-Since equal", []string{"If-Modified-Since", lmStr}, 304},
		{"If-Modified-Since later", []string{"If-Modified-Since", lastMod.Add(time.Hour).Format(http.TimeFormat)}, 304},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", lastMod.Add(-time.Hour).Format(http.TimeFormat)}, 200},
		{"If-Modified-Since invalid", []string{"If-Modified-Since", "yesterday"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := notModified
			if tc.status == 200 {
				check = func(t *testing.T, res result) {
					if res.body != "payload" {
						t.Errorf("body %q", res.body)
					}
				}
			}
			scenario{handler: validated(), steps: []step{
				{req: get("/c"), calls: 1},
				{req: get("/c", tc.header...), calls: 1, hit: true, status: tc.status, check: check},
			}}.run(t)
		})
	}
}

// TestIfModifiedSinceAgainstDate: a stored response without Last-Modified
// answers If-Modified-Since from its Date (RFC 9111 §4.3.2; RFC 9110
// §13.1.3): 304 when the condition is at or after the Date — the response
// cannot have changed since it was generated — the full response when it
// is before, or when the Date is not a valid HTTP-date (then the time the
// response was received counts).
func TestIfModifiedSinceAgainstDate(t *testing.T) {
	start := newClock().Now() // the env's clock: Date is "now" at the fill
	at := func(d time.Duration) string { return start.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		date   string // the stored response's Date
		ims    string
		status int
	}{
		{"equal to Date", at(0), at(0), 304},
		{"after Date", at(0), at(time.Minute), 304},
		{"before Date", at(0), at(-50 * time.Minute), 200},
		{"older Date", at(-time.Hour), at(-30 * time.Minute), 304},
		{"invalid Date: the time received", "Fri,  2 Jan 2026 03:04:05 GMT", at(0), 304},
		{"invalid Date, condition before receipt", "Fri,  2 Jan 2026 03:04:05 GMT", at(-time.Second), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scenario{
				handler: respond(200, map[string]string{"Cache-Control": "max-age=86400", "Date": tc.date}, "payload"),
				steps: []step{
					{req: get("/d"), calls: 1},
					{req: get("/d", "If-Modified-Since", tc.ims), advance: time.Second, calls: 1, hit: true, status: tc.status},
				},
			}.run(t)
		})
	}
}

// TestConditionalOnlyFor2xx: a stored 404 is served whole to a
// conditional request whose ETag matches: 304 answers only 2xx.
func TestConditionalOnlyFor2xx(t *testing.T) {
	scenario{
		handler: respond(404, map[string]string{"Cache-Control": "max-age=60", "Etag": `"gone"`}, "no such page"),
		steps: []step{
			{req: get("/missing"), calls: 1, status: 404},
			{req: get("/missing", "If-None-Match", `"gone"`), calls: 1, hit: true, status: 404, body: str("no such page")},
		},
	}.run(t)
}

// TestHitHeaders: a miss passes the handler's Age through; a hit drops the
// hop-by-hop fields (Connection and what it names, Keep-Alive, Upgrade,
// Proxy-Authenticate), keeps the end-to-end ones, has a Date, and adds its
// time in the cache to the stored Age.
func TestHitHeaders(t *testing.T) {
	handler := respond(200, map[string]string{
		"Cache-Control": "max-age=60", "Connection": "X-Hop, close", "X-Hop": "1", "Keep-Alive": "timeout=5",
		"Proxy-Authenticate": "Basic", "Upgrade": "h2c", "X-Kept": "yes", "Age": "5",
	}, "body")
	scenario{handler: handler, steps: []step{
		{req: get("/h"), calls: 1, check: func(t *testing.T, res result) {
			if res.header.Get("Age") != "5" {
				t.Errorf("the miss passes the handler's Age through, got %q", res.header.Get("Age"))
			}
		}},
		{req: get("/h"), advance: 2 * time.Second, calls: 1, hit: true, check: func(t *testing.T, res result) {
			for _, name := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade"} {
				if v := res.header.Get(name); v != "" {
					t.Errorf("hop-by-hop %s = %q was stored", name, v)
				}
			}
			if res.header.Get("X-Kept") != "yes" {
				t.Error("end-to-end header lost")
			}
			if got := res.header.Get("Age"); got != "7" {
				t.Errorf("Age = %q, want 7 (upstream 5 + 2 resident)", got)
			}
			if got := res.header.Get("Date"); got == "" {
				t.Error("stored response has no Date")
			}
			if got := res.header.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
				t.Errorf("Content-Type = %q, want the sniffed type", got)
			}
			if got := res.header.Values("Cache-Status"); len(got) != 1 || got[0] != "httpcache; hit" {
				t.Errorf("Cache-Status = %q", got)
			}
		}},
	}}.run(t)
}

// TestCacheStatusAppendsToUpstream: the cache's Cache-Status entry is
// appended after the handler's own, on a miss and on a hit.
func TestCacheStatusAppendsToUpstream(t *testing.T) {
	handler := respond(200, map[string]string{"Cache-Control": "max-age=60", "Cache-Status": "origin-cdn; hit"}, "x")
	scenario{handler: handler, steps: []step{
		{req: get("/u"), calls: 1, check: func(t *testing.T, res result) {
			got := res.header.Values("Cache-Status")
			if len(got) != 2 || got[0] != "origin-cdn; hit" || got[1] != "httpcache; fwd=uri-miss; stored" {
				t.Errorf("Cache-Status = %q", got)
			}
		}},
		{req: get("/u"), calls: 1, hit: true, check: func(t *testing.T, res result) {
			if got := res.header.Values("Cache-Status"); len(got) != 1 {
				t.Errorf("a hit repeats the upstream's old Cache-Status: %q", got)
			}
		}},
	}}.run(t)
}

// TestCustomName: Options.Name names the cache in Cache-Status.
func TestCustomName(t *testing.T) {
	scenario{
		opts:    httpcache.Options{Name: "edge-1"},
		handler: respond(200, maxAge("60"), "x"),
		steps: []step{
			{req: get("/n"), calls: 1, check: headerIs("Cache-Status", "edge-1; fwd=uri-miss; stored")},
			{req: get("/n"), calls: 1, hit: true, check: headerIs("Cache-Status", "edge-1; hit")},
		},
	}.run(t)
}

// TestNewPanicsOnProgrammerError: New and Page panic, with the package
// prefix, on a nil store, a bad name, a negative body size or TTL.
func TestNewPanicsOnProgrammerError(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
	}{
		{"nil store", func() { httpcache.New(nil, httpcache.Options{}) }},
		{"bad name", func() { httpcache.New(newEnv(t, httpcache.Options{}).store, httpcache.Options{Name: "two words"}) }},
		{"negative body size", func() { httpcache.New(newEnv(t, httpcache.Options{}).store, httpcache.Options{MaxBodySize: -1}) }},
		{"negative TTL", func() { newEnv(t, httpcache.Options{}).cache.Page(-time.Second) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if s, ok := v.(string); !ok || !strings.HasPrefix(s, "httpcache: ") {
					t.Fatalf("panic = %v, want a message prefixed httpcache:", v)
				}
			}()
			tc.fn()
		})
	}
}

// streamer is a handler that writes its body in flushed chunks, with no
// Content-Length, as a reverse proxy in front of a streaming origin does.
func streamer(header map[string]string, between func(i int)) *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		for i := range 3 {
			io.WriteString(w, "chunk "+itoa(int64(i))+"\n")
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
			if between != nil {
				between(i)
			}
		}
	}}
}

const streamed = "chunk 0\nchunk 1\nchunk 2\n"

// TestFlushedResponseStoredWhenComplete: a response the handler flushed as
// it went is stored once it is complete, within MaxBodySize, like any
// other; requests collapsed behind the flushing leader are served its
// result.
func TestFlushedResponseStoredWhenComplete(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	c := streamer(maxAge("60"), nil)
	h := e.cache.Handler(c)
	res := do(t, h, get("/stream"))
	if res.body != streamed || res.cacheStatus() != "httpcache; fwd=uri-miss; stored" {
		t.Fatalf("first response: %q, Cache-Status %q", res.body, res.cacheStatus())
	}
	res = do(t, h, get("/stream"))
	if res.body != streamed || !isHit(res) || c.n() != 1 {
		t.Fatalf("second response: %q, Cache-Status %q, handler called %d times; want a hit", res.body, res.cacheStatus(), c.n())
	}

	t.Run("waiters behind a flushing leader", func(t *testing.T) {
		e := newEnv(t, httpcache.Options{})
		release := make(chan struct{})
		c := streamer(maxAge("60"), func(i int) {
			if i == 0 {
				<-release // mid-stream: the first chunk has gone out
			}
		})
		h := e.cache.Handler(c)
		const n = 5
		done := make(chan []*httptest.ResponseRecorder)
		go func() {
			done <- parallel(h, n, func(int) *http.Request { return httptest.NewRequest("GET", "/burst", nil) })
		}()
		testwait.For(t, "the leader to stream and the rest to wait", func() bool {
			return c.n() == 1 && e.cache.Stats().Waiting == n-1
		})
		close(release)
		for i, rec := range <-done {
			if rec.Body.String() != streamed {
				t.Fatalf("request %d: %q", i, rec.Body.String())
			}
		}
		if c.n() != 1 || e.cache.Stats().Coalesced != n-1 {
			t.Fatalf("handler called %d times, %d collapsed; want 1 and %d", c.n(), e.cache.Stats().Coalesced, n-1)
		}
	})
}

// TestStreamPastMaxStreamDurationNotStored: a flushed response still
// streaming MaxStreamDuration after its first flush is a live stream, not a
// page: it reaches its client whole and is not stored. A negative
// MaxStreamDuration stores no flushed response.
func TestStreamPastMaxStreamDurationNotStored(t *testing.T) {
	tests := []struct {
		name   string
		max    time.Duration
		took   time.Duration // between the first flush and the end
		stored bool
	}{
		{"within the default", 0, httpcache.DefaultMaxStreamDuration, true},
		{"past the default", 0, httpcache.DefaultMaxStreamDuration + time.Second, false},
		{"within the option", time.Minute, time.Minute, true},
		{"past the option", time.Second, 2 * time.Second, false},
		{"negative: never", -1, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{MaxStreamDuration: tc.max})
			c := streamer(maxAge("600"), func(i int) {
				if i == 1 {
					e.clock.Advance(tc.took)
				}
			})
			h := e.cache.Handler(c)
			if res := do(t, h, get("/live")); res.body != streamed {
				t.Fatalf("the client got %q", res.body)
			}
			res := do(t, h, get("/live"))
			if got := isHit(res); got != tc.stored {
				t.Fatalf("second request: Cache-Status %q, handler called %d times; stored = %v, want %v", res.cacheStatus(), c.n(), got, tc.stored)
			}
		})
	}
}

// TestWaitersNotHeldBehindALiveStream: requests collapsed behind a leader
// whose response turns out a live stream (past MaxStreamDuration) are not
// kept waiting for its end: they fetch for themselves.
func TestWaitersNotHeldBehindALiveStream(t *testing.T) {
	e := newEnv(t, httpcache.Options{MaxStreamDuration: time.Second})
	var leader atomic.Bool
	flushed, step, end := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once sync.Once
	finish := func() { once.Do(func() { close(end) }) }
	defer finish()
	c := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		first := leader.CompareAndSwap(false, true) // the others are waiters fetching for themselves
		streamer(maxAge("60"), func(i int) {
			switch {
			case first && i == 0:
				close(flushed) // its stream began before the clock moves
				<-step         // the waiters are waiting; the clock has moved on
			case first && i == 1:
				<-end // still streaming, past the bound
			}
		}).ServeHTTP(w, r)
	}}
	h := e.cache.Handler(c)
	leaderDone := make(chan result, 1)
	go func() { leaderDone <- do(t, h, get("/live")) }()
	select {
	case <-flushed:
	case <-time.After(15 * time.Second):
		t.Fatal("the leader never flushed")
	}
	const n = 3
	waiters := make(chan []*httptest.ResponseRecorder, 1)
	go func() {
		waiters <- parallel(h, n, func(int) *http.Request { return httptest.NewRequest("GET", "/live", nil) })
	}()
	testwait.For(t, "the waiters", func() bool { return e.cache.Stats().Waiting == n })
	e.clock.Advance(2 * time.Second)
	close(step)
	var recs []*httptest.ResponseRecorder
	testwait.For(t, "the waiters to be answered while the leader streams on", func() bool {
		select {
		case recs = <-waiters:
			return true
		default:
			return false
		}
	})
	finish()
	if res := <-leaderDone; res.body != streamed {
		t.Fatalf("the leader's client got %q", res.body)
	}
	for i, rec := range recs {
		if rec.Body.String() != streamed || strings.Contains(rec.Header().Get("Cache-Status"), "collapsed") {
			t.Fatalf("waiter %d: %q, Cache-Status %q; want its own fetch", i, rec.Body.String(), rec.Header().Get("Cache-Status"))
		}
	}
	if c.n() != n+1 {
		t.Fatalf("handler called %d times; want %d", c.n(), n+1)
	}
}

// TestEventStreamNeverStored: text/event-stream is a stream of events, not
// a page: it is never stored, Cache-Status says so at once, and a second
// client is not kept waiting behind the first one's stream.
func TestEventStreamNeverStored(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	release := make(chan struct{})
	var first atomic.Bool
	c := streamer(map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "max-age=60"}, func(i int) {
		if i == 0 && first.CompareAndSwap(false, true) {
			<-release // the first client's stream goes on
		}
	})
	h := e.cache.Handler(c)
	var once sync.Once
	end := func() { once.Do(func() { close(release) }) }
	defer end() // on failure too: the first stream must not outlive the test
	firstDone := make(chan result, 1)
	go func() { firstDone <- do(t, h, get("/events")) }()
	testwait.For(t, "the first stream", func() bool { return first.Load() })

	second := make(chan result, 1)
	go func() { second <- do(t, h, get("/events")) }()
	var res result
	testwait.For(t, "the second client's own stream, while the first goes on", func() bool {
		select {
		case res = <-second:
			return true
		default:
			return false
		}
	})
	end()
	for i, res := range []result{res, <-firstDone} {
		if res.body != streamed || !strings.Contains(res.cacheStatus(), "detail=event-stream") || strings.Contains(res.cacheStatus(), "stored") {
			t.Fatalf("response %d: %q, Cache-Status %q", i, res.body, res.cacheStatus())
		}
	}
	if c.n() != 2 {
		t.Fatalf("handler called %d times for two event streams", c.n())
	}
}

// TestTooManyTagsNeverSaidStored: a response with more tags than the cache
// keeps is not stored (storing it without some would let it survive their
// purge), and Cache-Status says so rather than "stored". The warning is
// logged at most once a second.
func TestTooManyTagsNeverSaidStored(t *testing.T) {
	tags := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(" t" + itoa(int64(i)))
		}
		return b.String()
	}
	var logged bytes.Buffer
	e := newEnv(t, httpcache.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Cache-Tag", tags(atoi(r.URL.Query().Get("n"))))
		io.WriteString(w, "x")
	}})
	for i := range 3 {
		res := do(t, h, get("/t?n=65"))
		if res.cacheStatus() != "httpcache; fwd=uri-miss; detail=tags" {
			t.Fatalf("request %d with 65 tags: Cache-Status %q", i, res.cacheStatus())
		}
	}
	if n := strings.Count(logged.String(), "too many tags"); n != 1 {
		t.Fatalf("%d warnings for three requests within a second; want 1:\n%s", n, logged.String())
	}
	do(t, h, get("/t?n=64"))
	if res := do(t, h, get("/t?n=64")); !isHit(res) {
		t.Fatalf("64 tags: Cache-Status %q; want a hit", res.cacheStatus())
	}
}

// TestHitAllocatesAtMostOnce: a fresh hit on the memory store, with and
// without Vary, costs at most one allocation (the response's header
// values, which must be its own): the key is built in a pooled buffer, and
// the decoded entry is kept with its value.
func TestHitAllocatesAtMostOnce(t *testing.T) {
	for _, vary := range []bool{false, true} {
		c := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
		if allocs := allocsPerHit(t, c, vary); allocs > 1 {
			t.Errorf("vary=%v: a hit allocates %v times, want at most 1", vary, allocs)
		}
	}
}

// allocsPerHit measures the allocations of a hit through c's Handler (the
// benchmarks' page, with or without Vary: Accept-Encoding), checking that
// every measured request was a hit.
func allocsPerHit(t *testing.T, c *httpcache.Cache, vary bool) float64 {
	t.Helper()
	h := c.Handler(pageHandler([]byte(strings.Repeat("x", 1024)), vary))
	req := httptest.NewRequest("GET", "http://example.com/articles/42?page=2", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	w := &sink{h: make(http.Header)}
	h.ServeHTTP(w, req)
	hits := c.Stats().Hits
	allocs := testing.AllocsPerRun(1000, func() {
		w.reset()
		h.ServeHTTP(w, req)
	})
	if got := c.Stats().Hits - hits; got < 1000 {
		t.Fatalf("vary=%v: %d of the runs were hits", vary, got)
	}
	return allocs
}

// TestNotModifiedFromEntryKeepsSuppressedDate: a handler that suppresses
// the Date field (Header()["Date"] = nil, as net/http documents) has its
// stored response served without one, and a 304 answered from that entry
// carries no Date either: a 304 has the Date a 200 would have had (RFC 9110
// §15.4.5), here none.
func TestNotModifiedFromEntryKeepsSuppressedDate(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	srv := httptest.NewServer(e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"v1"`)
		io.WriteString(w, "body")
	})))
	defer srv.Close()
	fetch := func(inm string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	fetch("")
	if res := fetch(""); res.StatusCode != 200 || len(res.Header["Date"]) != 0 {
		t.Fatalf("hit: %d with Date %q; want a 200 without Date", res.StatusCode, res.Header["Date"])
	}
	if res := fetch(`"v1"`); res.StatusCode != 304 || len(res.Header["Date"]) != 0 {
		t.Fatalf("conditional hit: %d with Date %q; want a 304 without Date, as the 200", res.StatusCode, res.Header["Date"])
	}
}

// TestHitOfAnOldEntryAllocatesAtMostOnce: a hit on an entry stored more than
// ten minutes ago (its Age past the ready-made values) costs at most one
// allocation, as a hit on a young one does: with long max-ages most hits
// are on such entries.
func TestHitOfAnOldEntryAllocatesAtMostOnce(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Etag", `"5f2b9c1e"`)
		w.Write([]byte(strings.Repeat("x", 1024)))
	}))
	req := httptest.NewRequest("GET", "http://example.com/articles/42", nil)
	w := &sink{h: make(http.Header)}
	h.ServeHTTP(w, req)
	e.clock.Advance(time.Hour)
	hits := e.cache.Stats().Hits
	allocs := testing.AllocsPerRun(100, func() { w.reset(); h.ServeHTTP(w, req) })
	if got := e.cache.Stats().Hits - hits; got < 100 || w.h.Get("Age") != "3600" {
		t.Fatalf("%d of the runs were hits, Age %q; want all, 3600", got, w.h.Get("Age"))
	}
	if allocs > 1 {
		t.Errorf("a hit on an hour-old entry allocates %v times, want at most 1", allocs)
	}
}
