package httpcache_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	search := cache.With(httpcache.Policy{
		TTL:            time.Minute,
		OverrideMaxAge: true,
		Query:          httpcache.QueryOptions{Sort: true, Deny: []string{"utm_source", "fbclid"}},
		StripSetCookie: true,
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
