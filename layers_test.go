package httpcache_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/seedcache/httpcache"
)

// TestSiteWideAndRoute: a chi app with the site-wide Handler and a Page
// route. The route's TTL decides for its requests, the response is stored
// once, and the site-wide layer serves it on the next request.
func TestSiteWideAndRoute(t *testing.T) {
	e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{TTL: 10 * time.Second}})
	var listCalls, itemCalls int
	r := chi.NewRouter()
	r.Use(e.cache.Handler)
	r.With(e.cache.Page(time.Minute)).Get("/articles", func(w http.ResponseWriter, r *http.Request) {
		listCalls++
		w.Header().Set("Cache-Control", "max-age=1")
		io.WriteString(w, "list")
	})
	r.Get("/articles/{id}", func(w http.ResponseWriter, r *http.Request) {
		itemCalls++
		io.WriteString(w, "item "+chi.URLParam(r, "id"))
	})

	res := do(t, r, get("/articles"))
	if got := res.header.Values("Cache-Status"); len(got) != 1 || got[0] != "httpcache; fwd=uri-miss; stored" {
		t.Fatalf("nested layers: Cache-Status %q, want one member", got)
	}
	e.clock.Advance(30 * time.Second) // past max-age=1 and the site TTL, within the route's
	if res := do(t, r, get("/articles")); !isHit(res) || listCalls != 1 {
		t.Fatalf("route TTL not applied: %q, %d calls", res.cacheStatus(), listCalls)
	}
	if s := e.cache.Stats(); s.Stores != 1 {
		t.Fatalf("stored %d times, want once", s.Stores)
	}
	e.clock.Advance(31 * time.Second)
	if res := do(t, r, get("/articles")); isHit(res) || listCalls != 2 {
		t.Fatalf("route TTL overrun: %q", res.cacheStatus())
	}

	// A route without Page gets the site-wide heuristic TTL.
	do(t, r, get("/articles/7"))
	e.clock.Advance(5 * time.Second)
	if res := do(t, r, get("/articles/7")); !isHit(res) || res.body != "item 7" {
		t.Fatalf("site-wide TTL: %q %q", res.body, res.cacheStatus())
	}
	e.clock.Advance(5 * time.Second)
	if res := do(t, r, get("/articles/7")); isHit(res) || itemCalls != 2 {
		t.Fatalf("site-wide TTL overrun: %q", res.cacheStatus())
	}
}

// TestRouteWithOwnKeyOptions: a nested route with different query options
// looks up and stores under its own keys.
func TestRouteWithOwnKeyOptions(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	calls := 0
	route := e.cache.With(func(p *httpcache.Policy) {
		p.TTL, p.Query.Deny = time.Minute, []string{"utm_source"}
	})
	h := e.cache.Handler(route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		io.WriteString(w, "x")
	})))
	do(t, h, get("/p?id=1&utm_source=a"))
	if res := do(t, h, get("/p?id=1&utm_source=b")); !isHit(res) || calls != 1 {
		t.Fatalf("route key options not used: %q, %d calls", res.cacheStatus(), calls)
	}
}

// TestOverHTTP1AndHTTP2 runs a miss, a hit, a HEAD hit and a 304 through
// real servers.
func TestOverHTTP1AndHTTP2(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		e := newEnv(t, httpcache.Options{})
		c := respond(200, map[string]string{"Cache-Control": "max-age=60", "Etag": `"e"`}, "over the wire")
		srv := httptest.NewUnstartedServer(e.cache.Handler(c))
		srv.EnableHTTP2 = h2
		srv.StartTLS()
		defer srv.Close()
		fetch := func(method string, hdr ...string) (*http.Response, string) {
			req, _ := http.NewRequest(method, srv.URL+"/w", nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		if resp, body := fetch("GET"); body != "over the wire" || resp.Header.Get("Cache-Status") != "httpcache; fwd=uri-miss; stored" {
			t.Fatalf("h2=%v miss: %q %q", h2, body, resp.Header.Get("Cache-Status"))
		}
		resp, body := fetch("GET")
		if body != "over the wire" || resp.Header.Get("Cache-Status") != "httpcache; hit" || resp.Header.Get("Age") != "0" {
			t.Fatalf("h2=%v hit: %q %v", h2, body, resp.Header)
		}
		if resp, body := fetch("HEAD"); body != "" || resp.ContentLength != 13 || resp.Header.Get("Cache-Status") != "httpcache; hit" {
			t.Fatalf("h2=%v HEAD: %q %d %v", h2, body, resp.ContentLength, resp.Header)
		}
		if resp, _ := fetch("GET", "If-None-Match", `"e"`); resp.StatusCode != 304 {
			t.Fatalf("h2=%v conditional: %d", h2, resp.StatusCode)
		}
		if c.n() != 1 {
			t.Fatalf("h2=%v: handler called %d times", h2, c.n())
		}
	}
}

// TestNestedLayerSameKeyNoDeadlock: an inner layer (a route of With) whose
// key for the request is the outer layer's key does not wait on the outer
// layer's own flight: the request returns without its context expiring.
func TestNestedLayerSameKeyNoDeadlock(t *testing.T) {
	e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{TTL: time.Minute, Query: httpcache.QueryOptions{Sort: true}}})
	route := e.cache.With(func(p *httpcache.Policy) {
		p.TTL, p.Query = time.Minute, httpcache.QueryOptions{Sort: true, Deny: []string{"utm_source"}}
	})
	h := e.cache.Handler(route(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p?id=1", nil).WithContext(ctx))
	if ctx.Err() != nil {
		t.Fatal("request returned only when its context expired: deadlocked on its own flight")
	}
}

// TestTakeoverKeepsInnerRequest: when the outer layer hands its flight to
// an inner one below http.StripPrefix, the handler is called with the
// request the inner layer received (/items), not the outer one's.
func TestTakeoverKeepsInnerRequest(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var seen string
	inner := e.cache.Page(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.URL.Path
		io.WriteString(w, "path "+r.URL.Path)
	}))
	h := e.cache.Handler(http.StripPrefix("/api", inner))
	res := do(t, h, get("/api/items"))
	if seen != "/items" {
		t.Fatalf("handler saw %q, want /items (body %q, %q)", seen, res.body, res.cacheStatus())
	}
}

// TestSubRequestNotTakenOver: a handler that makes a sub-request through
// the same Cache with its request's context gets the sub-request served as
// a request of its own, not taken for a nested layer of the page (which
// recursed without end).
func TestSubRequestNotTakenOver(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var h http.Handler
	depth := 0
	h = e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Path == "/fragment" {
			io.WriteString(w, "fragment")
			return
		}
		if depth++; depth > 20 { // without this guard: fatal stack overflow
			io.WriteString(w, "recursed")
			return
		}
		sub := httptest.NewRecorder()
		h.ServeHTTP(sub, httptest.NewRequest("GET", "/fragment", nil).WithContext(r.Context()))
		io.WriteString(w, "page+"+sub.Body.String())
	}))
	res := do(t, h, get("/page"))
	if depth != 1 || res.body != "page+fragment" {
		t.Fatalf("depth %d, body %q", depth, res.body)
	}
}

// TestTimeoutHandlerBetweenLayers: an http.TimeoutHandler between two
// layers gives up on the inner one while it still runs; the layers race on
// nothing (the test is meant for -race).
func TestTimeoutHandlerBetweenLayers(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	inner := e.cache.Page(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(w, "slow")
	}))
	h := e.cache.Handler(http.TimeoutHandler(inner, 10*time.Millisecond, "timeout"))
	do(t, h, get("/t"))
	time.Sleep(100 * time.Millisecond)
}
