package httpcache_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seedcache/httpcache"
)

// TestNotStored covers responses that reach the client but must not be
// stored, and requests that bypass the cache.
func TestNotStored(t *testing.T) {
	big := strings.Repeat("b", 2048)
	tests := []struct {
		name   string
		opts   httpcache.Options
		fn     func(w http.ResponseWriter, r *http.Request)
		req    request
		body   string // the client gets all of it
		detail string // expected in Cache-Status
	}{
		{
			name: "body over the limit", opts: httpcache.Options{MaxBodySize: 1024},
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, big[:1000])
				io.WriteString(w, big[1000:])
			},
			req: get("/big"), body: big, detail: "fwd=uri-miss",
		},
		{
			name: "declared Content-Length over the limit", opts: httpcache.Options{MaxBodySize: 1024},
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Content-Length", "2048")
				io.WriteString(w, big)
			},
			req: get("/big"), body: big, detail: "detail=too-large",
		},
		{
			name: "event stream",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
				io.WriteString(w, "data: 1\n\n")
				http.NewResponseController(w).Flush()
				io.WriteString(w, "data: 2\n\n")
			},
			req: get("/events"), body: "data: 1\n\ndata: 2\n\n", detail: "fwd=uri-miss; detail=event-stream",
		},
		{
			name: "trailers announced",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Trailer", "X-Checksum")
				io.WriteString(w, "data")
				w.Header().Set("X-Checksum", "abc")
			},
			req: get("/trailer"), body: "data", detail: "fwd=uri-miss; detail=trailers",
		},
		{
			name: "short body for its Content-Length",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Content-Length", "10")
				io.WriteString(w, "short")
			},
			req: get("/short"), body: "short", detail: "fwd=uri-miss",
		},
		{
			name: "trailers set late",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "data")
				w.Header().Set(http.TrailerPrefix+"X-Checksum", "abc")
			},
			req: get("/trailer"), body: "data", detail: "fwd=uri-miss",
		},
		{
			name: "request Cache-Control: no-store",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "x")
			},
			req: get("/r", "Cache-Control", "no-store"), body: "x", detail: "detail=request-no-store",
		},
		{
			name: "Authorization without public",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "x")
			},
			req: get("/a", "Authorization", "Bearer t"), body: "x", detail: "detail=authorization",
		},
		{
			name: "Range request bypasses",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "x")
			},
			req: get("/range", "Range", "bytes=0-0"), body: "x", detail: "fwd=bypass; detail=range",
		},
		{
			name: "Upgrade request bypasses",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "x")
			},
			req: get("/ws", "Upgrade", "websocket", "Connection", "Upgrade"), body: "x", detail: "fwd=bypass; detail=upgrade",
		},
		{
			name: "If-Match is for the origin",
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "x")
			},
			req: get("/pre", "If-Match", `"x"`), body: "x", detail: "fwd=bypass; detail=precondition",
		},
		{
			name: "Bypass func",
			opts: httpcache.Options{Bypass: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/admin") }},
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "x")
			},
			req: get("/admin/x"), body: "x", detail: "fwd=bypass; detail=policy",
		},
		{
			name: "BypassCookies",
			opts: httpcache.Options{BypassCookies: []string{"session"}},
			fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "x")
			},
			req: get("/", "Cookie", "_ga=1; session=abc"), body: "x", detail: "fwd=bypass; detail=cookie",
		},
		{
			name: "no freshness and no TTL",
			fn:   func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") },
			req:  get("/plain"), body: "x", detail: "detail=no-freshness",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			c := &counter{fn: tc.fn}
			h := e.cache.Handler(c)
			for i := 1; i <= 2; i++ {
				res := do(t, h, tc.req)
				if res.body != tc.body {
					t.Fatalf("request %d: client got %d bytes, want %d", i, len(res.body), len(tc.body))
				}
				if !strings.Contains(res.cacheStatus(), tc.detail) {
					t.Fatalf("request %d: Cache-Status %q lacks %q", i, res.cacheStatus(), tc.detail)
				}
				if c.n() != int64(i) {
					t.Fatalf("request %d: handler called %d times: the response was stored", i, c.n())
				}
			}
			if s := e.cache.Stats(); s.Stores != 0 || s.Hits != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestBypassCookieOnlyWhenPresent makes sure an unrelated cookie does not
// bypass the cache.
func TestBypassCookieOnlyWhenPresent(t *testing.T) {
	scenario{
		opts:    httpcache.Options{BypassCookies: []string{"session"}},
		handler: respond(200, maxAge("60"), "x"),
		steps: []step{
			{req: get("/", "Cookie", "_ga=1; sessionx=2"), calls: 1},
			{req: get("/", "Cookie", "_ga=1"), calls: 1, hit: true},
		},
	}.run(t)
}

// TestPanicStoresNothing: a handler that panics stores nothing, and the
// panic reaches the server unchanged.
func TestPanicStoresNothing(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	boom := errors.New("boom")
	panics := true
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "partial")
		if panics {
			panic(boom)
		}
	}))
	func() {
		defer func() {
			if v := recover(); v != boom {
				t.Fatalf("recovered %v, want the handler's own panic value", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p", nil))
	}()
	panics = false
	if res := do(t, h, get("/p")); isHit(res) {
		t.Fatal("a panicking handler's partial response was stored")
	}
	if s := e.cache.Stats(); s.Stores != 1 {
		t.Fatalf("stores = %d, want 1 (only the second, normal response)", s.Stores)
	}
}

// failingWriter fails every write, as a writer to a gone client does.
type failingWriter struct{ http.ResponseWriter }

func (f failingWriter) Write([]byte) (int, error) { return 0, errors.New("client gone") }

// TestFailedWriteStoresNothing: a response whose write to the client
// failed is not stored.
func TestFailedWriteStoresNothing(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	c := respond(200, maxAge("60"), "x")
	h := e.cache.Handler(c)
	h.ServeHTTP(failingWriter{httptest.NewRecorder()}, httptest.NewRequest("GET", "/f", nil))
	if res := do(t, h, get("/f")); isHit(res) || c.n() != 2 {
		t.Fatalf("a response whose write failed was stored (%q)", res.cacheStatus())
	}
}

// TestHeadersFromAbove: headers that middleware above the cache sets on every
// request (CORS, request IDs) are not replayed from the stored copy.
func TestHeadersFromAbove(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	inner := e.cache.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60", "X-App": "1"}, "x"))
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		inner.ServeHTTP(w, r)
	})
	do(t, outer, get("/cors", "Origin", "https://a.example", "X-Request-Id", "1"))
	res := do(t, outer, get("/cors", "Origin", "https://b.example", "X-Request-Id", "2"))
	if !isHit(res) {
		t.Fatalf("not a hit: %q", res.cacheStatus())
	}
	if got := res.header.Get("Access-Control-Allow-Origin"); got != "https://b.example" {
		t.Fatalf("ACAO = %q: replayed from the first request", got)
	}
	if got := res.header.Get("X-Request-Id"); got != "2" {
		t.Fatalf("X-Request-Id = %q: replayed from the first request", got)
	}
	if res.header.Get("X-App") != "1" {
		t.Fatal("the handler's own header was not stored")
	}
}

// TestHitHeaderIsolation: editing a served hit's header must not reach the
// stored entry.
func TestHitHeaderIsolation(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(respond(200, map[string]string{"Cache-Control": "max-age=60", "Vary": "Accept"}, "x"))
	edit := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		w.Header().Add("Vary", "Origin")
		w.Header().Set("Cache-Control", "no-store")
	})
	for i := 0; i < 3; i++ {
		do(t, edit, get("/i"))
	}
	res := do(t, h, get("/i"))
	if got := res.header.Values("Vary"); len(got) != 1 || got[0] != "Accept" {
		t.Fatalf("stored Vary changed to %q", got)
	}
	if got := res.header.Get("Cache-Control"); got != "max-age=60" {
		t.Fatalf("stored Cache-Control changed to %q", got)
	}
}
