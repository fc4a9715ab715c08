package httpcache_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// TestRoutePolicyStartsFromSiteWidePolicy: With starts a route's policy
// from Options.Policy and changes only what the route sets: a site-wide
// rule (here StripSetCookie and VaryCookies) holds on the route unless the
// route changes it, as it does on Page routes.
func TestRoutePolicyStartsFromSiteWidePolicy(t *testing.T) {
	e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{
		TTL:            time.Minute,
		StripSetCookie: true,
	}})
	h := &counter{fn: func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: "1"})
		w.Write([]byte("results"))
	}}
	route := e.cache.With(func(p *httpcache.Policy) { p.Query.Sort = true })(h)
	do(t, route, get("/search?b=2&a=1"))
	res := do(t, route, get("/search?a=1&b=2"))
	if !isHit(res) || h.n() != 1 {
		t.Fatalf("route with the site-wide StripSetCookie and its own Sort: %q after %d calls, want a hit after 1",
			res.cacheStatus(), h.n())
	}
	if res.header.Get("Set-Cookie") != "" {
		t.Fatalf("hit carries Set-Cookie %q", res.header.Get("Set-Cookie"))
	}

	// A route can turn a site-wide rule off.
	strict := e.cache.With(func(p *httpcache.Policy) { p.StripSetCookie = false })(h)
	if res := do(t, strict, get("/strict")); res.cacheStatus() != "httpcache; fwd=uri-miss; detail=set-cookie" {
		t.Fatalf("route turning StripSetCookie off: %q", res.cacheStatus())
	}
}

// TestPageHitNeverLooksStaleToNextCache: when a route's TTL keeps a response
// longer than its own Cache-Control allows, its hits must not carry an Age
// over that lifetime, which would make every cache after this one (a CDN)
// take it for stale (RFC 9111 §4.2.3): Age is left out. A route TTL within
// the response's own lifetime keeps the true Age.
func TestPageHitNeverLooksStaleToNextCache(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		cc      string
		advance time.Duration
		age     string // "" for none
	}{
		{"route TTL past max-age", 10 * time.Minute, "max-age=60", 2 * time.Minute, ""},
		{"route TTL past max-age, still young", 10 * time.Minute, "max-age=60", 10 * time.Second, ""},
		{"route TTL past s-maxage", 10 * time.Minute, "max-age=600, s-maxage=60", 2 * time.Minute, ""},
		{"route TTL within max-age", 10 * time.Second, "max-age=3600", 5 * time.Second, "5"},
		{"no freshness of its own", 10 * time.Minute, "", 2 * time.Minute, "120"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			h := e.cache.Page(tc.ttl)(respond(200, map[string]string{"Cache-Control": tc.cc}, "page"))
			do(t, h, get("/a"))
			e.clock.Advance(tc.advance)
			res := do(t, h, get("/a"))
			if !isHit(res) {
				t.Fatalf("Cache-Status %q, want a hit", res.cacheStatus())
			}
			if got, ok := res.header["Age"]; tc.age == "" && ok || tc.age != "" && (len(got) != 1 || got[0] != tc.age) {
				t.Fatalf("Age %q, want %q (Cache-Control %q)", got, tc.age, res.header.Get("Cache-Control"))
			}
		})
	}
}
