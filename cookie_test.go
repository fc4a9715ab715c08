package httpcache_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// greetUser is a page built from the request's cookie that says nothing
// about caching: the "/account/x.css" of web cache deception.
func greetUser(header map[string]string) *counter {
	return &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		user := "anonymous"
		if c, err := r.Cookie("user"); err == nil {
			user = c.Value
		}
		w.Write([]byte("hello " + user))
	}}
}

// TestCookieResponseNotStoredUnderDefaultTTL: a response to a request
// carrying a Cookie is stored under a lifetime of the cache's choosing (a
// route's Page TTL, or Policy.TTL for a response that says nothing) only if
// it says public, or says Vary: Cookie (and is then keyed by the cookies).
// Otherwise it may be built from the cookie, and served to everyone it
// would be another user's page. A response with a lifetime of its own is
// the origin's word that it may be shared, and is stored.
func TestCookieResponseNotStoredUnderDefaultTTL(t *testing.T) {
	site := httpcache.Options{Policy: httpcache.Policy{TTL: time.Minute}}
	page := func(c *httpcache.Cache, h http.Handler) http.Handler { return c.Page(time.Minute)(h) }
	for _, tc := range []struct {
		name   string
		opts   httpcache.Options
		wrap   func(c *httpcache.Cache, h http.Handler) http.Handler
		header map[string]string
		shared bool // the second user is served the first one's page
	}{
		{name: "Policy.TTL", opts: site},
		{name: "Page", wrap: page},
		{name: "Page over max-age", wrap: page, header: map[string]string{"Cache-Control": "max-age=60"}},
		{name: "Policy.TTL, public", opts: site, header: map[string]string{"Cache-Control": "public"}, shared: true},
		{name: "Page, public", wrap: page, header: map[string]string{"Cache-Control": "public"}, shared: true},
		{name: "own max-age", header: map[string]string{"Cache-Control": "max-age=60"}, shared: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			h := greetUser(tc.header)
			var wrapped http.Handler
			if tc.wrap != nil {
				wrapped = tc.wrap(e.cache, h)
			} else {
				wrapped = e.cache.Handler(h)
			}
			first := do(t, wrapped, get("/account/x.css", "Cookie", "user=alice"))
			if first.body != "hello alice" {
				t.Fatalf("alice: %q", first.body)
			}
			second := do(t, wrapped, get("/account/x.css", "Cookie", "user=bob"))
			if shared := second.body == "hello alice"; shared != tc.shared {
				t.Fatalf("bob served %q (Cache-Status %q after alice's %q); shared = %v, want %v",
					second.body, second.cacheStatus(), first.cacheStatus(), shared, tc.shared)
			}
			if !tc.shared && first.cacheStatus() != "httpcache; fwd=uri-miss; detail=cookie" {
				t.Errorf("alice's Cache-Status %q, want detail=cookie", first.cacheStatus())
			}
		})
	}
}

// TestCookieResponseVaryingOnCookieStoredPerCookie: under a default TTL, a
// response that says Vary: Cookie is stored per value of the cookies in
// Policy.VaryCookies, and never served to another user.
func TestCookieResponseVaryingOnCookieStoredPerCookie(t *testing.T) {
	e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{TTL: time.Minute, VaryCookies: []string{"user"}}})
	h := greetUser(map[string]string{"Vary": "Cookie"})
	wrapped := e.cache.Handler(h)
	for i, step := range []struct {
		cookie, body string
		calls        int64
	}{
		{"user=alice; _ga=1", "hello alice", 1},
		{"user=bob; _ga=2", "hello bob", 2},
		{"user=alice; _ga=3", "hello alice", 2},
		{"user=bob", "hello bob", 2},
	} {
		res := do(t, wrapped, get("/account", "Cookie", step.cookie))
		if res.body != step.body || h.n() != step.calls {
			t.Fatalf("step %d (%s): %q after %d calls (Cache-Status %q), want %q after %d",
				i, step.cookie, res.body, h.n(), res.cacheStatus(), step.body, step.calls)
		}
	}
}

// TestCookieRevalidationKeepsStoredEntry: a request with a Cookie that
// revalidates an entry stored for everyone under a default TTL is answered
// from it, and leaves it stored: its cookie keeps the 304's freshened copy
// from the store, but is no reason to drop what every other client is
// served (else any client could empty the cache).
func TestCookieRevalidationKeepsStoredEntry(t *testing.T) {
	e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{TTL: time.Minute}})
	c := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("page"))
	}}
	h := e.cache.Handler(c)
	do(t, h, get("/p"))
	e.clock.Advance(90 * time.Second) // stale, kept for revalidation
	if res := do(t, h, get("/p", "Cookie", "session=alice")); res.body != "page" {
		t.Fatalf("the cookie's request: %q (Cache-Status %q)", res.body, res.cacheStatus())
	}
	res := do(t, h, get("/p"))
	if res.body != "page" || res.cacheStatus() != "httpcache; fwd=stale; fwd-status=304; stored" {
		t.Fatalf("the next anonymous request: %q, Cache-Status %q; want the stored entry revalidated", res.body, res.cacheStatus())
	}
}
