package httpcache_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seedcache/httpcache"
)

// TestQueryAllowDenySemicolon: Allow and Deny never drop a pair containing
// ';', behind which an origin that also splits at ';' reads another
// parameter.
func TestQueryAllowDenySemicolon(t *testing.T) {
	// An origin reading '&' and ';' alike, the last value winning.
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := ""
		for _, p := range strings.FieldsFunc(r.URL.RawQuery, func(c rune) bool { return c == '&' || c == ';' }) {
			if k, v, _ := strings.Cut(p, "="); k == "id" {
				id = v
			}
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "item "+id)
	})
	for _, tc := range []struct {
		q    httpcache.QueryOptions
		evil string
	}{
		{httpcache.QueryOptions{Deny: []string{"utm_source"}}, "/p?id=1&utm_source=x;id=666"},
		{httpcache.QueryOptions{Allow: []string{"id"}}, "/p?id=1&x=y;id=666"},
	} {
		e := newEnv(t, httpcache.Options{Policy: httpcache.Policy{Query: tc.q}})
		h := e.cache.Handler(origin)
		do(t, h, get(tc.evil))
		if res := do(t, h, get("/p?id=1")); res.body != "item 1" {
			t.Errorf("%+v: /p?id=1 got %q (%s)", tc.q, res.body, res.cacheStatus())
		}
		// The options still do their work on ordinary pairs.
		do(t, h, get("/p?id=2&utm_source=a&x=a"))
		if res := do(t, h, get("/p?id=2&utm_source=b&x=b")); tc.q.Allow != nil && !isHit(res) {
			t.Errorf("%+v: an ordinary pair not allowed was keyed: %q", tc.q, res.cacheStatus())
		}
		do(t, h, get("/p?id=3&utm_source=a"))
		if res := do(t, h, get("/p?id=3&utm_source=b")); !isHit(res) {
			t.Errorf("%+v: the ordinary pair was keyed: %q", tc.q, res.cacheStatus())
		}
	}
}

// TestVaryLinesKeptApart: for a header that is not a list, a value split
// across two field lines at its comma is another request: a handler
// reading Header.Get sees the first line alone.
func TestVaryLinesKeptApart(t *testing.T) {
	const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "User-Agent")
		if r.Header.Get("User-Agent") == chrome {
			io.WriteString(w, "page for chrome")
			return
		}
		io.WriteString(w, "unsupported browser")
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header["User-Agent"] = []string{ // the Chrome UA split at its comma
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML",
		"like Gecko) Chrome/120.0 Safari/537.36",
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	if res := do(t, h, get("/", "User-Agent", chrome)); res.body != "page for chrome" {
		t.Fatalf("Chrome got %q (%s)", res.body, res.cacheStatus())
	}
	if res := do(t, h, get("/", "User-Agent", chrome)); !isHit(res) || res.body != "page for chrome" {
		t.Fatalf("Chrome's variant not stored: %q %q", res.body, res.cacheStatus())
	}
}

// TestVaryCookieValuesKept: without an allow-list, Vary: Cookie keys the
// cookies byte for byte within each pair: net/http hands a value's spaces
// and commas to the handler, so "sid=a, b" and "sid=a,b" are two users.
func TestVaryCookieValuesKept(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie("sid")
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Cookie")
		io.WriteString(w, "account of "+ck.Value)
	}))
	do(t, h, get("/account", "Cookie", "sid=a, b"))
	if res := do(t, h, get("/account", "Cookie", "sid=a,b")); res.body != "account of a,b" {
		t.Fatalf(`Cookie "sid=a,b" got %q (%s)`, res.body, res.cacheStatus())
	}
}
