package httpcache_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

// TestAbsoluteFormSchemeNotBelieved: "GET https://host/ HTTP/1.1" sent over
// plain HTTP is keyed as http: the redirect to https the handler answers
// such a request with must never reach HTTPS clients.
func TestAbsoluteFormSchemeNotBelieved(t *testing.T) {
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil { // the usual HTTP->HTTPS redirect
			w.Header().Set("Cache-Control", "max-age=3600")
			http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "secure home")
	}))
	plain := httptest.NewServer(h)
	defer plain.Close()
	conn, err := net.Dial("tcp", plain.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently {
		t.Fatalf("precondition: plain-HTTP request answered %d", resp.StatusCode)
	}
	res := do(t, h, request{method: "GET", url: "https://example.com/", header: map[string]string{}, tls: true})
	if res.status != 200 || res.body != "secure home" {
		t.Fatalf("HTTPS client got %d Location=%q (%s)", res.status, res.header.Get("Location"), res.cacheStatus())
	}
}

// TestHostSpellings: http.ServeMux routes "EXAMPLE.COM" and "example.com."
// to its catch-all, not to its "example.com/" pattern; requests with such
// a host bypass the cache, so their responses never reach example.com's
// visitors.
func TestHostSpellings(t *testing.T) {
	for _, other := range []string{"EXAMPLE.COM", "example.com."} {
		t.Run(other, func(t *testing.T) {
			e := newEnv(t, httpcache.Options{})
			mux := http.NewServeMux()
			mux.HandleFunc("example.com/", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "example.com home")
			})
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				io.WriteString(w, "default site")
			})
			h := e.cache.Handler(mux)
			r := httptest.NewRequest("GET", "http://example.com/", nil)
			r.Host = other
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Body.String() != "default site" {
				t.Fatalf("precondition: the mux served %q to Host %q", rec.Body.String(), other)
			}
			if cs := rec.Header().Get("Cache-Status"); cs != "httpcache; fwd=bypass; detail=host" {
				t.Fatalf("Host %q: Cache-Status %q", other, cs)
			}
			if res := do(t, h, get("http://example.com/")); res.body != "example.com home" {
				t.Fatalf("Host example.com got %q (%s): the response for Host %q", res.body, res.cacheStatus(), other)
			}
		})
	}
}

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

// TestPurgeReachesHostSpellings: a purge or an invalidation of a URL
// reaches every spelling of its host that a request may use: only the
// plain one is ever stored, and the purge URL's host is read as plain.
func TestPurgeReachesHostSpellings(t *testing.T) {
	var version atomic.Int64
	e := newEnv(t, httpcache.Options{})
	h := e.cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "v%d", version.Load())
	}))
	spellings := []string{"example.com", "Example.COM", "example.com.", "example.com:80"}
	serve := func(host string) string {
		r := httptest.NewRequest("GET", "http://example.com/a", nil)
		r.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Body.String()
	}
	for _, host := range spellings {
		serve(host)
	}
	version.Add(1)
	if err := e.cache.PurgeURL(context.Background(), "http://EXAMPLE.com./a"); err != nil {
		t.Fatal(err)
	}
	for _, host := range spellings {
		if body := serve(host); body != "v1" {
			t.Errorf("Host %q after the purge: %q, want v1", host, body)
		}
	}
	version.Add(1)
	r := httptest.NewRequest("POST", "http://example.com/a", nil)
	r.Host = "Example.com"
	h.ServeHTTP(httptest.NewRecorder(), r)
	for _, host := range spellings {
		if body := serve(host); body != "v2" {
			t.Errorf("Host %q after a POST: %q, want v2", host, body)
		}
	}
}

// TestInvalidatedIndexNotRewritten: a GET that read a URL's Vary index
// before a POST invalidated the URL, and whose variant outlives that
// index, must not rewrite it: the variants stored before the POST would
// be reachable again.
func TestInvalidatedIndexNotRewritten(t *testing.T) {
	var version atomic.Int64
	var h http.Handler
	e := newEnv(t, httpcache.Options{})
	h = e.cache.Handler(postBumps(&version, func(w http.ResponseWriter, r *http.Request) {
		lang := r.Header.Get("Accept-Language")
		maxAge := 100
		if lang == "en" {
			maxAge = 1000 // outlives the index the fr response wrote
			if r.Header.Get("X-Post-Meanwhile") != "" {
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "http://example.com/a", nil))
			}
		}
		w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", maxAge))
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "%s v%d", lang, version.Load())
	}))
	do(t, h, get("http://example.com/a", "Accept-Language", "fr"))
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "fr")); !isHit(res) {
		t.Fatalf("fr not stored: %q", res.cacheStatus())
	}
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "en", "X-Post-Meanwhile", "1")); res.body != "en v1" {
		t.Fatalf("en: %q", res.body)
	}
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "fr")); res.body != "fr v1" {
		t.Fatalf("after the POST invalidated /a, fr served %q (%s)", res.body, res.cacheStatus())
	}
	// The URL is cached again afterwards.
	do(t, h, get("http://example.com/a", "Accept-Language", "en"))
	if res := do(t, h, get("http://example.com/a", "Accept-Language", "en")); !isHit(res) || res.body != "en v1" {
		t.Fatalf("en after: %q (%s)", res.body, res.cacheStatus())
	}
}
