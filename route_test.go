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
