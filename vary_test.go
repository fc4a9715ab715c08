package httpcache_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/seedcache/httpcache"
)

// greet answers in the request's language and varies on it, spelling the
// Vary header the way the spell function says on each call.
func greet(spell func(call int64) string) *counter {
	c := &counter{}
	c.fn = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", spell(c.n()))
		fmt.Fprintf(w, "hello in %q", r.Header.Get("Accept-Language"))
	}
	return c
}

func TestVary(t *testing.T) {
	fixed := func(v string) func(int64) string { return func(int64) string { return v } }
	tests := []scenario{
		{
			name:    "each language its own variant",
			handler: greet(fixed("Accept-Language")),
			steps: []step{
				{req: get("/g", "Accept-Language", "en-GB,en;q=0.8"), calls: 1, check: statusHas("fwd=uri-miss; stored")},
				{req: get("/g", "Accept-Language", "fr"), calls: 2, body: str(`hello in "fr"`), check: statusHas("fwd=vary-miss; stored")},
				{req: get("/g", "Accept-Language", "en-GB"), calls: 2, hit: true, body: str(`hello in "en-GB,en;q=0.8"`)},
				{req: get("/g", "Accept-Language", "FR"), calls: 2, hit: true, body: str(`hello in "fr"`)},
			},
		},
		{
			name:    "missing header differs from empty header",
			handler: greet(fixed("Accept-Language")),
			steps: []step{
				{req: get("/g"), calls: 1, body: str(`hello in ""`)},
				{req: get("/g", "Accept-Language", ""), calls: 2},
				{req: get("/g"), calls: 2, hit: true},
				{req: get("/g", "Accept-Language", ""), calls: 2, hit: true},
			},
		},
		{
			name: "Vary names in any case and order give the same key",
			handler: greet(func(call int64) string {
				if call%2 == 1 {
					return "Accept-Language, X-Device"
				}
				return "x-device ,ACCEPT-LANGUAGE"
			}),
			steps: []step{
				{req: get("/g", "Accept-Language", "de"), calls: 1},
				{req: get("/g", "Accept-Language", "it"), calls: 2},
				// Had the second spelling started a new index, the
				// first variant would be unreachable now.
				{req: get("/g", "Accept-Language", "de"), calls: 2, hit: true, body: str(`hello in "de"`)},
				{req: get("/g", "Accept-Language", "it"), calls: 2, hit: true, body: str(`hello in "it"`)},
			},
		},
		{
			name:    "Vary: Cookie with an allow-list ignores other cookies",
			opts:    httpcache.Options{Policy: httpcache.Policy{VaryCookies: []string{"lang"}}},
			handler: respond(200, map[string]string{"Cache-Control": "max-age=60", "Vary": "Cookie"}, "x"),
			steps: []step{
				{req: get("/k", "Cookie", "lang=en; _ga=1"), calls: 1},
				{req: get("/k", "Cookie", "_ga=2; lang=en"), calls: 1, hit: true},
				{req: get("/k", "Cookie", "lang=de; _ga=1"), calls: 2},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

// TestVaryListChanges checks that when a URL's Vary list changes, no request
// is ever served a variant chosen under the old list.
func TestVaryListChanges(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	var varyOn atomic.Value
	varyOn.Store("Accept-Language")
	var calls atomic.Int64
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		v := varyOn.Load().(string)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", v)
		fmt.Fprintf(w, "%s=%s", v, r.Header.Get(v))
	}))
	req := func(lang, user string) request {
		return get("/page", "Accept-Language", lang, "X-User", user)
	}
	if res := do(t, h, req("en", "alice")); res.body != "Accept-Language=en" {
		t.Fatalf("got %q", res.body)
	}
	// The application now varies on X-User instead.
	varyOn.Store("X-User")
	e.clock.Advance(10 * 1e9)
	if res := do(t, h, req("en", "bob")); res.body != "Accept-Language=en" || !isHit(res) {
		t.Fatalf("before the URL is refetched the stored variant stands: %q %q", res.body, res.cacheStatus())
	}
	// A request whose variant is not stored fetches the new Vary list;
	// from then on the old variants are unreachable.
	if res := do(t, h, req("de", "carol")); res.body != "X-User=carol" {
		t.Fatalf("got %q", res.body)
	}
	for _, user := range []string{"alice", "bob"} {
		res := do(t, h, req("en", user))
		if res.body != "X-User="+user {
			t.Fatalf("user %s served %q (%s): a variant of the old Vary list", user, res.body, res.cacheStatus())
		}
	}
	if res := do(t, h, req("fr", "bob")); res.body != "X-User=bob" || !isHit(res) {
		t.Fatalf("new variant not served: %q %q", res.body, res.cacheStatus())
	}
}
