package httpcache_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/internal/testwait"
)

// versioned answers with its current version, with the Cache-Control in cc;
// while blocked is set, each call waits on release first.
type versioned struct {
	version atomic.Int64
	calls   atomic.Int64
	cc      atomic.Value // string
	status  atomic.Int64 // 0: 200
	panics  atomic.Bool
	blocked atomic.Bool
	release chan struct{}
}

func newVersioned(cc string) *versioned {
	v := &versioned{release: make(chan struct{})}
	v.cc.Store(cc)
	return v
}

func (v *versioned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.calls.Add(1)
	if v.blocked.Load() {
		<-v.release
	}
	if v.panics.Load() {
		panic("handler failed")
	}
	if s := v.status.Load(); s != 0 {
		http.Error(w, "backend down", int(s))
		return
	}
	w.Header().Set("Cache-Control", v.cc.Load().(string))
	fmt.Fprintf(w, "v%d", v.version.Load())
}

// TestStaleWhileRevalidate: within stale-while-revalidate (the directive
// or the route's grace) a stale response is served at once and refreshed
// in the background; the next request hits the refreshed one.
func TestStaleWhileRevalidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts httpcache.Options
		cc   string
	}{
		{"directive", httpcache.Options{}, "max-age=10, stale-while-revalidate=30"},
		{"route grace", httpcache.Options{Policy: httpcache.Policy{StaleWhileRevalidate: 30 * time.Second}}, "max-age=10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			v := newVersioned(tc.cc)
			h := e.cache.Handler(v)
			do(t, h, get("/swr"))
			e.clock.Advance(15 * time.Second)

			// The handler now hangs: stale responses are served at once,
			// and only one refresh runs however many requests come.
			v.version.Store(1)
			v.blocked.Store(true)
			for i := range 5 {
				res := do(t, h, get("/swr"))
				if res.body != "v0" || res.cacheStatus() != "httpcache; hit; detail=stale-while-revalidate" {
					t.Fatalf("request %d: %q %q", i, res.body, res.cacheStatus())
				}
			}
			testwait.For(t, "the refresh", func() bool { return v.calls.Load() == 2 })
			close(v.release)
			e.cache.Wait() // waits for the refresh, and its write
			if n := e.cache.Stats().Stores; n != 2 {
				t.Fatalf("Wait returned before the refresh was stored: %d stores", n)
			}
			res := do(t, h, get("/swr"))
			if res.body != "v1" || !isHit(res) || v.calls.Load() != 2 {
				t.Fatalf("after the refresh: %q %q, %d handler calls", res.body, res.cacheStatus(), v.calls.Load())
			}
			// Past the window, a stale response is not served.
			e.clock.Advance(45 * time.Second)
			if res := do(t, h, get("/swr")); res.body != "v1" || isHit(res) {
				t.Fatalf("past the window: %q %q", res.body, res.cacheStatus())
			}
		})
	}
}

// TestStaleWhileRevalidateRefreshFails: an error in the background refresh
// keeps the stale response.
func TestStaleWhileRevalidateRefreshFails(t *testing.T) {
	for _, failure := range []string{"500", "panic"} {
		t.Run(failure, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{Logger: discardLogger()})
			v := newVersioned("max-age=10, stale-while-revalidate=60")
			h := e.cache.Handler(v)
			do(t, h, get("/r"))
			e.clock.Advance(20 * time.Second)
			if failure == "500" {
				v.status.Store(500)
			} else {
				v.panics.Store(true)
			}
			do(t, h, get("/r"))
			testwait.For(t, "the failed refresh", func() bool { return v.calls.Load() == 2 })
			e.cache.Wait()
			time.Sleep(10 * time.Millisecond) // let the refresh goroutine unwind
			res := do(t, h, get("/r"))
			if res.body != "v0" || !strings.Contains(res.cacheStatus(), "stale-while-revalidate") {
				t.Fatalf("after a failed refresh: %q %q", res.body, res.cacheStatus())
			}
		})
	}
}

// TestMustRevalidateNeverServedStale: must-revalidate, proxy-revalidate
// and s-maxage forbid serving stale, whatever stale windows apply.
func TestMustRevalidateNeverServedStale(t *testing.T) {
	for _, cc := range []string{
		"max-age=10, must-revalidate, stale-while-revalidate=60, stale-if-error=60",
		"max-age=10, proxy-revalidate, stale-while-revalidate=60",
		"s-maxage=10, stale-while-revalidate=60",
	} {
		e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{StaleWhileRevalidate: time.Minute, StaleIfError: time.Minute}})
		v := newVersioned(cc)
		h := e.cache.Handler(v)
		do(t, h, get("/m"))
		e.clock.Advance(20 * time.Second)
		v.version.Store(1)
		if res := do(t, h, get("/m")); res.body != "v1" {
			t.Fatalf("%s: stale response served: %q %q", cc, res.body, res.cacheStatus())
		}
		e.clock.Advance(20 * time.Second)
		v.status.Store(503)
		if res := do(t, h, get("/m")); res.status != 503 {
			t.Fatalf("%s: stale response served on error: %d %q", cc, res.status, res.body)
		}
	}
}

// TestStaleIfError: within stale-if-error (the directive or the route's
// grace) a handler error is answered with the stale response.
func TestStaleIfError(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts httpcache.Options
		cc   string
	}{
		{"directive", httpcache.Options{}, "max-age=10, stale-if-error=60"},
		{"route grace", httpcache.Options{Policy: httpcache.Policy{StaleIfError: time.Minute}}, "max-age=10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			e.cache = httpcache.New(e.store, httpcache.Options{Clock: e.clock.Now, Policy: tc.opts.Policy, Logger: discardLogger()})
			v := newVersioned(tc.cc)
			h := e.cache.Handler(v)
			do(t, h, get("/e"))
			e.clock.Advance(30 * time.Second)

			v.status.Store(500)
			res := do(t, h, get("/e"))
			if res.status != 200 || res.body != "v0" || res.cacheStatus() != "httpcache; fwd=stale; fwd-status=500; detail=stale-if-error" {
				t.Fatalf("500 inside the window: %d %q %q", res.status, res.body, res.cacheStatus())
			}
			if res.header.Get("X-Content-Type-Options") != "" { // set by http.Error
				t.Fatalf("the error response's headers leaked into the stale response: %v", res.header)
			}
			v.status.Store(0)
			v.panics.Store(true)
			if res := do(t, h, get("/e")); res.status != 200 || res.body != "v0" {
				t.Fatalf("panic inside the window: %d %q", res.status, res.body)
			}

			// Outside the window the error, and the panic, go through.
			e.clock.Advance(time.Minute)
			v.panics.Store(false)
			v.status.Store(502)
			if res := do(t, h, get("/e")); res.status != 502 {
				t.Fatalf("502 outside the window: %d %q", res.status, res.body)
			}
			v.status.Store(0)
			v.panics.Store(true)
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("a panic outside the window did not reach the server")
					}
				}()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/e", nil))
			}()
		})
	}
}

// TestRevalidationWithServeContent: a handler built on http.ServeContent
// answers the cache's conditional request with 304; the entry is
// refreshed and the client gets the full response.
func TestRevalidationWithServeContent(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	content := []byte("<h1>the page</h1>")
	var calls, conditional atomic.Int64
	var cc atomic.Value
	cc.Store("max-age=10")
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("If-None-Match") != "" {
			conditional.Add(1)
		}
		w.Header().Set("Cache-Control", cc.Load().(string))
		w.Header().Set("Etag", `"page-v1"`)
		http.ServeContent(w, r, "page.html", lastMod, bytes.NewReader(content))
	}))
	do(t, h, get("/page"))
	e.clock.Advance(15 * time.Second) // stale, and kept to be revalidated

	res := do(t, h, get("/page"))
	if res.status != 200 || res.body != string(content) || conditional.Load() != 1 {
		t.Fatalf("revalidation: %d %q, %d conditional calls, %q", res.status, res.body, conditional.Load(), res.cacheStatus())
	}
	if res.cacheStatus() != "httpcache; fwd=stale; fwd-status=304; stored" || res.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("revalidated response: %q %v", res.cacheStatus(), res.header)
	}
	if s := e.cache.Stats(); s.Revalidated != 1 {
		t.Fatalf("stats %+v", s)
	}
	if res := do(t, h, get("/page")); !isHit(res) || res.header.Get("Age") != "0" || calls.Load() != 2 {
		t.Fatalf("after revalidation: %q age %q, %d calls", res.cacheStatus(), res.header.Get("Age"), calls.Load())
	}
	// The client's own conditional is answered by the cache.
	if res := do(t, h, get("/page", "If-None-Match", `"page-v1"`)); res.status != 304 || !isHit(res) {
		t.Fatalf("client conditional: %d %q", res.status, res.cacheStatus())
	}

	// A 304 that changes Cache-Control changes freshness.
	e.clock.Advance(15 * time.Second)
	cc.Store("max-age=100")
	do(t, h, get("/page"))
	e.clock.Advance(50 * time.Second)
	if res := do(t, h, get("/page")); !isHit(res) || res.header.Get("Cache-Control") != "max-age=100" {
		t.Fatalf("new max-age not applied: %q %q", res.cacheStatus(), res.header.Get("Cache-Control"))
	}
	if calls.Load() != 3 {
		t.Fatalf("%d handler calls", calls.Load())
	}
}

// TestNoCacheRevalidatesEveryTime: a no-cache response with a validator is
// stored and revalidated on every use.
func TestNoCacheRevalidatesEveryTime(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var calls atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Cache-Control", "no-cache, max-age=600")
		w.Header().Set("Etag", `"nc"`)
		if r.Header.Get("If-None-Match") == `"nc"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "body")
	}))
	do(t, h, get("/nc"))
	for i := range 3 {
		res := do(t, h, get("/nc"))
		if res.status != 200 || res.body != "body" || res.cacheStatus() != "httpcache; fwd=stale; fwd-status=304; stored" {
			t.Fatalf("use %d: %d %q %q", i, res.status, res.body, res.cacheStatus())
		}
	}
	if calls.Load() != 4 {
		t.Fatalf("%d handler calls, want one per use", calls.Load())
	}
}

// TestGenerateETag: with GenerateETag, a stored response without an ETag
// gets one from its body, which conditional requests can match.
func TestGenerateETag(t *testing.T) {
	e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{GenerateETag: true}})
	h := e.cache.Handler(respond(200, maxAge("60"), "same body"))
	do(t, h, get("/g"))
	res := do(t, h, get("/g"))
	etag := res.header.Get("Etag")
	if !isHit(res) || len(etag) < 10 || etag[0] != '"' {
		t.Fatalf("hit without a generated ETag: %q", etag)
	}
	if res := do(t, h, get("/g", "If-None-Match", etag)); res.status != 304 {
		t.Fatalf("conditional with the generated ETag: %d", res.status)
	}
}

// TestNotModifiedNoLongerStorable: a 304 that makes its variant
// unstorable (no-store) serves the stored body this once and drops that
// variant alone; the URL's other variants stay hits.
func TestNotModifiedNoLongerStorable(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var calls, conditional atomic.Int64
	var noStore atomic.Bool
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		lang := r.Header.Get("Accept-Language")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Etag", `"`+lang+`"`)
		if lang == "fr" {
			w.Header().Set("Cache-Control", "max-age=1000")
		} else {
			w.Header().Set("Cache-Control", "max-age=10")
		}
		if r.Header.Get("If-None-Match") == `"`+lang+`"` {
			conditional.Add(1)
			if noStore.Load() {
				w.Header().Set("Cache-Control", "no-store")
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "page in "+lang)
	}))
	do(t, h, get("/page", "Accept-Language", "en"))
	do(t, h, get("/page", "Accept-Language", "fr"))
	e.clock.Advance(15 * time.Second) // en stale, fr fresh
	noStore.Store(true)

	res := do(t, h, get("/page", "Accept-Language", "en"))
	if res.status != 200 || res.body != "page in en" || conditional.Load() != 1 {
		t.Fatalf("revalidated: %d %q, %d conditional calls, %q", res.status, res.body, conditional.Load(), res.cacheStatus())
	}
	if res.cacheStatus() != "httpcache; fwd=stale; fwd-status=304" {
		t.Fatalf("Cache-Status %q, want the stale copy served, not stored", res.cacheStatus())
	}
	if res := do(t, h, get("/page", "Accept-Language", "fr")); !isHit(res) || res.body != "page in fr" {
		t.Fatalf("the other variant: %q %q", res.cacheStatus(), res.body)
	}
	noStore.Store(false)
	res = do(t, h, get("/page", "Accept-Language", "en"))
	if res.status != 200 || res.body != "page in en" || conditional.Load() != 1 || isHit(res) {
		t.Fatalf("after the drop: %d %q %q, %d conditional calls", res.status, res.body, res.cacheStatus(), conditional.Load())
	}
	if calls.Load() != 4 {
		t.Fatalf("%d handler calls, want 4", calls.Load())
	}
}

// TestStaleIfErrorStatuses: stale-if-error stands in for the errors RFC
// 5861 §4 names (500, 502, 503, 504), not for other 5xx answers.
func TestStaleIfErrorStatuses(t *testing.T) {
	for _, tc := range []struct {
		status int
		stale  bool
	}{{500, true}, {502, true}, {503, true}, {504, true}, {501, false}, {505, false}, {507, false}} {
		e := newEnv(t, httpcache.Options{})
		v := newVersioned("max-age=10, stale-if-error=100")
		h := e.cache.Handler(v)
		do(t, h, get("/a"))
		e.clock.Advance(15 * time.Second)
		v.status.Store(int64(tc.status))
		res := do(t, h, get("/a"))
		if got := res.status == 200 && res.body == "v0"; got != tc.stale {
			t.Errorf("handler answered %d: client got %d %q (%s)", tc.status, res.status, res.body, res.cacheStatus())
		}
	}
}

// TestNotModifiedMustIdentifyStored: a 304 updates the stored response
// only when its validators identify it (RFC 9111 §4.3.4); otherwise the
// handler is asked again without conditions.
func TestNotModifiedMustIdentifyStored(t *testing.T) {
	for _, tc := range []struct {
		name         string
		first, on304 map[string]string
		field, bad   string
	}{
		{
			name:  "stored has no ETag, 304 has a strong one",
			first: map[string]string{"Cache-Control": "max-age=10", "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
			on304: map[string]string{"Cache-Control": "max-age=10", "ETag": `"new"`},
			field: "Etag", bad: `"new"`,
		},
		{
			name:  "stored ETag is weak, 304 has the strong one",
			first: map[string]string{"Cache-Control": "max-age=10", "ETag": `W/"x"`},
			on304: map[string]string{"Cache-Control": "max-age=10", "ETag": `"x"`},
			field: "Etag", bad: `"x"`,
		},
		{
			name:  "no ETags, 304 has another Last-Modified",
			first: map[string]string{"Cache-Control": "max-age=10", "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"},
			on304: map[string]string{"Cache-Control": "max-age=10", "Last-Modified": "Tue, 02 Jan 2024 00:00:00 GMT"},
			field: "Last-Modified", bad: "Tue, 02 Jan 2024 00:00:00 GMT",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			calls := 0
			h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
				calls++
				hd := tc.first
				if calls > 1 {
					hd = tc.on304
				}
				for k, v := range hd {
					w.Header().Set(k, v)
				}
				if calls > 1 && (r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "") {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				io.WriteString(w, fmt.Sprintf("body %d", calls))
			}})
			do(t, h, get("/a"))
			e.clock.Advance(15 * time.Second) // stale, still kept
			res := do(t, h, get("/a"))
			if res.body != "body 3" || res.header.Get(tc.field) != tc.bad {
				t.Errorf("got %q with %s %q (%s), want the handler's full answer", res.body, tc.field, res.header.Get(tc.field), res.cacheStatus())
			}
			if res := do(t, h, get("/a")); !isHit(res) || res.body != "body 3" {
				t.Errorf("then %q (%s), want a hit on the full answer", res.body, res.cacheStatus())
			}
		})
	}
	// A 304 whose validators do identify it still updates it.
	e := newEnv(t, httpcache.Options{})
	calls := 0
	h := e.cache.Handler(&counter{fn: func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `W/"x"`)
		w.Header().Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
		if r.Header.Get("If-None-Match") == `W/"x"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "body")
	}})
	do(t, h, get("/a"))
	e.clock.Advance(15 * time.Second)
	if res := do(t, h, get("/a")); res.cacheStatus() != "httpcache; fwd=stale; fwd-status=304; stored" || calls != 2 {
		t.Fatalf("matching 304: %q after %d calls", res.cacheStatus(), calls)
	}
}

// TestRequestMaxAgeRefusesStale: with RequestDirectives, a client's
// max-age without max-stale refuses a stale response, even one the
// response's stale-while-revalidate allows (RFC 9111 §5.2.1.1).
func TestRequestMaxAgeRefusesStale(t *testing.T) {
	e := newEnv(t, httpcache.Options{RequestDirectives: true})
	v := newVersioned("max-age=10, stale-while-revalidate=60")
	h := e.cache.Handler(v)
	do(t, h, get("/a"))
	e.clock.Advance(20 * time.Second) // age 20 > lifetime 10: stale
	v.version.Store(1)
	res := do(t, h, get("/a", "Cache-Control", "max-age=100"))
	e.cache.Wait()
	if res.body != "v1" {
		t.Fatalf("stale response served to max-age=100 without max-stale: %q (%s)", res.body, res.cacheStatus())
	}
	// With max-stale, it may be.
	e.clock.Advance(20 * time.Second)
	v.version.Store(2)
	res = do(t, h, get("/a", "Cache-Control", "max-age=100, max-stale=60"))
	e.cache.Wait()
	if res.body != "v1" {
		t.Fatalf("max-stale=60 did not allow the stale response: %q (%s)", res.body, res.cacheStatus())
	}
}
