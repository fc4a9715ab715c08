package httpcache_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// Cache a whole stdlib mux: responses that state their freshness
// (Cache-Control: max-age here) are stored and served from cache.
func ExampleCache_Handler() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})

	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "hello")
	})
	h := cache.Handler(mux) // http.ListenAndServe(addr, h)

	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/hello", nil))
		fmt.Println(rec.Body.String(), "|", rec.Header().Get("Cache-Status"))
	}
	// Output:
	// hello | httpcache; fwd=uri-miss; stored
	// hello | httpcache; hit
}

// Cache one chi route for five minutes, Django cache_page style: the route's
// TTL applies even though the handler says nothing about caching.
func ExampleCache_Page() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})

	calls := 0
	r := chi.NewRouter()
	r.With(cache.Page(5*time.Minute)).Get("/articles", func(w http.ResponseWriter, r *http.Request) {
		calls++
		fmt.Fprintf(w, "articles (render #%d)", calls)
	})

	for range 3 {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/articles", nil))
		fmt.Println(rec.Body.String())
	}
	// Output:
	// articles (render #1)
	// articles (render #1)
	// articles (render #1)
}

// A site-wide cache for a chi app, with a per-route policy that ignores
// tracking parameters in the key and stores responses that set cookies,
// without their cookies.
func ExampleCache_With() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{
		Policy: httpcache.Policy{TTL: 30 * time.Second}, // for responses that don't say
	})

	r := chi.NewRouter()
	r.Use(cache.Handler)
	search := cache.With(func(p *httpcache.Policy) { // starts from Options.Policy
		p.TTL, p.OverrideMaxAge = time.Minute, true
		p.Query = httpcache.QueryOptions{Sort: true, Deny: []string{"utm_source", "fbclid"}}
		p.StripSetCookie = true
	})
	r.With(search).Get("/search", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: "1"})
		fmt.Fprintf(w, "results for %s", r.URL.Query().Get("q"))
	})

	for _, target := range []string{"/search?q=go&utm_source=mail", "/search?fbclid=x&q=go"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
		fmt.Printf("%s | %s | cookie %q\n", rec.Body.String(), rec.Header().Get("Cache-Status"), rec.Header().Get("Set-Cookie"))
	}
	// Output:
	// results for go | httpcache; fwd=uri-miss; stored | cookie "seen=1"
	// results for go | httpcache; hit | cookie ""
}

// A handler built on http.ServeContent revalidates for free: once its
// response is stale, the cache asks with If-None-Match, ServeContent answers
// 304 without reading the content, and the cache serves its stored copy
// with its freshness renewed.
func ExampleCache_revalidation() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cache := httpcache.New(memory.New(memory.Options{Clock: clock}), httpcache.Options{Clock: clock})

	reads := 0
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"v1"`)
		http.ServeContent(w, r, "doc.txt", now, readCounter{&reads, strings.NewReader("the document")})
	}))

	for _, wait := range []time.Duration{0, 0, 90 * time.Second} {
		now = now.Add(wait)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/doc.txt", nil))
		fmt.Printf("%d %q | %s | content read %d times\n", rec.Code, rec.Body.String(), rec.Header().Get("Cache-Status"), reads)
	}
	// Output:
	// 200 "the document" | httpcache; fwd=uri-miss; stored | content read 1 times
	// 200 "the document" | httpcache; hit | content read 1 times
	// 200 "the document" | httpcache; fwd=stale; fwd-status=304; stored | content read 1 times
}

// readCounter is an io.ReadSeeker over s that counts the reads that return
// content.
type readCounter struct {
	n *int
	*strings.Reader
}

func (rc readCounter) Read(p []byte) (int, error) {
	n, err := rc.Reader.Read(p)
	if n > 0 {
		*rc.n++
	}
	return n, err
}
