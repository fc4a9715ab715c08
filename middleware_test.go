package httpcache_test

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

func httpsState() *tls.ConnectionState { return &tls.ConnectionState{HandshakeComplete: true} }

// step is one request in a scenario, and what must come of it.
type step struct {
	req     request
	advance time.Duration // clock moves before the request
	calls   int64         // handler calls so far, after the request
	hit     bool          // served from cache
	status  int           // expected status, if not zero
	body    *string       // expected body, if not nil
	check   func(t *testing.T, res result)
}

func str(s string) *string { return &s }

// scenario runs steps against handler wrapped by wrap(cache).
type scenario struct {
	name    string
	opts    httpcache.Options
	handler *counter
	wrap    func(c *httpcache.Cache, h http.Handler) http.Handler
	steps   []step
}

func (sc scenario) run(t *testing.T) {
	e := newEnv(t, sc.opts)
	wrap := sc.wrap
	if wrap == nil {
		wrap = func(c *httpcache.Cache, h http.Handler) http.Handler { return c.Handler(h) }
	}
	h := wrap(e.cache, sc.handler)
	for i, st := range sc.steps {
		e.clock.Advance(st.advance)
		res := do(t, h, st.req)
		if got := sc.handler.n(); got != st.calls {
			t.Fatalf("step %d (%s %s): handler called %d times, want %d (Cache-Status %q)",
				i, st.req.method, st.req.url, got, st.calls, res.cacheStatus())
		}
		if got := isHit(res); got != st.hit {
			t.Fatalf("step %d (%s %s): hit = %v, want %v (Cache-Status %q)",
				i, st.req.method, st.req.url, got, st.hit, res.cacheStatus())
		}
		if st.status != 0 && res.status != st.status {
			t.Fatalf("step %d: status %d, want %d", i, res.status, st.status)
		}
		if st.body != nil && res.body != *st.body {
			t.Fatalf("step %d: body %q, want %q", i, res.body, *st.body)
		}
		if st.check != nil {
			st.check(t, res)
		}
	}
}

func maxAge(secs string) map[string]string {
	return map[string]string{"Cache-Control": "max-age=" + secs}
}

func page(ttl time.Duration) func(c *httpcache.Cache, h http.Handler) http.Handler {
	return func(c *httpcache.Cache, h http.Handler) http.Handler { return c.Page(ttl)(h) }
}

// TestDjangoBehaviours checks the behaviours Django's cache tests pin down,
// in this package's terms.
func TestDjangoBehaviours(t *testing.T) {
	echoURL := func() *counter {
		return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Write([]byte(r.Host + r.URL.RequestURI()))
		}}
	}
	tests := []scenario{
		{
			name:    "miss then hit, handler run once",
			handler: respond(200, maxAge("60"), "hello"),
			steps: []step{
				{req: get("/a"), calls: 1, body: str("hello")},
				{req: get("/a"), calls: 1, hit: true, body: str("hello")},
			},
		},
		{
			name:    "query string is part of the key",
			handler: echoURL(),
			steps: []step{
				{req: get("/q?a=1"), calls: 1, body: str("example.com/q?a=1")},
				{req: get("/q?a=2"), calls: 2, body: str("example.com/q?a=2")},
				{req: get("/q?a=1"), calls: 2, hit: true, body: str("example.com/q?a=1")},
			},
		},
		{
			name:    "two hosts never share an entry",
			handler: echoURL(),
			steps: []step{
				{req: get("http://one.example/p"), calls: 1, body: str("one.example/p")},
				{req: get("http://two.example/p"), calls: 2, body: str("two.example/p")},
				{req: get("http://one.example/p"), calls: 2, hit: true, body: str("one.example/p")},
			},
		},
		{
			name:    "https and http never share",
			handler: echoURL(),
			steps: []step{
				{req: get("http://example.com/s"), calls: 1},
				{req: request{method: "GET", url: "https://example.com/s", tls: true}, calls: 2},
				{req: request{method: "GET", url: "https://example.com/s", tls: true}, calls: 2, hit: true},
			},
		},
		{
			name:    "private response not stored",
			handler: respond(200, map[string]string{"Cache-Control": "private, max-age=60"}, "mine"),
			steps: []step{
				{req: get("/p"), calls: 1, check: statusHas("detail=private")},
				{req: get("/p"), calls: 2},
			},
		},
		{
			name:    "response setting a cookie not stored by default",
			handler: respond(200, map[string]string{"Cache-Control": "max-age=60", "Set-Cookie": "sid=1"}, "x"),
			steps: []step{
				{req: get("/c"), calls: 1, check: statusHas("detail=set-cookie")},
				{req: get("/c"), calls: 2},
			},
		},
		{
			name:    "StripSetCookie stores without the cookie",
			opts:    httpcache.Options{Policy: httpcache.Policy{StripSetCookie: true}},
			handler: respond(200, map[string]string{"Cache-Control": "max-age=60", "Set-Cookie": "sid=1"}, "x"),
			steps: []step{
				{req: get("/c"), calls: 1, check: headerIs("Set-Cookie", "sid=1")},
				{req: get("/c"), calls: 1, hit: true, check: headerIs("Set-Cookie", "")},
			},
		},
		{
			name:    "cache_page(3) outlives the response's max-age=1",
			handler: respond(200, maxAge("1"), "x"),
			wrap:    page(3 * time.Second),
			steps: []step{
				{req: get("/t"), calls: 1},
				{req: get("/t"), advance: time.Second, calls: 1, hit: true,
					check: headerIs("Cache-Control", "max-age=1")},
				{req: get("/t"), advance: 2 * time.Second, calls: 2},
			},
		},
		{
			name:    "cache_page(1) cuts the response's max-age=3 short",
			handler: respond(200, maxAge("3"), "x"),
			wrap:    page(time.Second),
			steps: []step{
				{req: get("/t"), calls: 1},
				{req: get("/t"), advance: 500 * time.Millisecond, calls: 1, hit: true},
				{req: get("/t"), advance: 500 * time.Millisecond, calls: 2},
			},
		},
		{
			name:    "max-age alone: fresh until max-age",
			handler: respond(200, maxAge("2"), "x"),
			steps: []step{
				{req: get("/m"), calls: 1},
				{req: get("/m"), advance: 1999 * time.Millisecond, calls: 1, hit: true, check: headerIs("Age", "1")},
				{req: get("/m"), advance: time.Millisecond, calls: 2},
			},
		},
		{
			name:    "HEAD after GET is served from the GET entry",
			handler: respond(200, maxAge("60"), "body"),
			steps: []step{
				{req: get("/h"), calls: 1},
				{req: get("/h").with("HEAD"), calls: 1, hit: true, body: str(""),
					check: headerIs("Content-Length", "4")},
			},
		},
		{
			name:    "GET after a HEAD-only request runs the handler",
			handler: respond(200, maxAge("60"), "body"),
			steps: []step{
				{req: get("/h").with("HEAD"), calls: 1},
				{req: get("/h"), calls: 2, body: str("body")},
				{req: get("/h"), calls: 2, hit: true, body: str("body")},
			},
		},
		{
			name:    "304 from the handler is passed through and not stored",
			handler: respond(304, map[string]string{"Cache-Control": "max-age=60", "Etag": `"v1"`}, ""),
			steps: []step{
				{req: get("/n", "If-None-Match", `"v1"`), calls: 1, status: 304},
				{req: get("/n", "If-None-Match", `"v1"`), calls: 2, status: 304},
			},
		},
		{
			name:    "cache_page(0) stores nothing",
			handler: respond(200, maxAge("60"), "x"),
			wrap:    page(0),
			steps: []step{
				{req: get("/z"), calls: 1, check: statusHas("detail=ttl-zero")},
				{req: get("/z"), calls: 2},
			},
		},
		{
			name:    "Vary: * is never served",
			handler: respond(200, map[string]string{"Cache-Control": "max-age=60", "Vary": "*"}, "x"),
			steps: []step{
				{req: get("/v"), calls: 1, check: statusHas("detail=vary-star")},
				{req: get("/v"), calls: 2},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func statusHas(part string) func(t *testing.T, res result) {
	return func(t *testing.T, res result) {
		t.Helper()
		if !strings.Contains(res.cacheStatus(), part) {
			t.Errorf("Cache-Status %q lacks %q", res.cacheStatus(), part)
		}
	}
}

func headerIs(name, want string) func(t *testing.T, res result) {
	return func(t *testing.T, res result) {
		t.Helper()
		if got := res.header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
