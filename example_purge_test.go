package httpcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// Tag pages with what they show, and purge every page that shows an article
// when it changes: in every process sharing the store, before PurgeTags
// returns.
func ExampleCache_PurgeTags() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	title := "Hello"

	r := chi.NewRouter()
	r.Use(cache.Handler)
	r.Get("/articles/42", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Cache-Tag", "article:42") // for the cache; never sent to the client
		fmt.Fprint(w, title)
	})
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		httpcache.Tag(r, "article:42", "home") // the same, in code
		fmt.Fprintf(w, "Latest: %s", title)
	})
	get := func(path string) {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%-12s %-14q %s\n", path, rec.Body.String(), rec.Header().Get("Cache-Status"))
	}

	get("/articles/42")
	get("/")
	title = "Hello, world" // the article is edited...
	get("/")               // ...but the cached page still shows the old title
	if err := cache.PurgeTags(context.Background(), "article:42"); err != nil {
		fmt.Println(err) // the store could not record the purge: retry
	}
	get("/articles/42")
	get("/")
	// Output:
	// /articles/42 "Hello"        httpcache; fwd=uri-miss; stored
	// /            "Latest: Hello" httpcache; fwd=uri-miss; stored
	// /            "Latest: Hello" httpcache; hit
	// /articles/42 "Hello, world" httpcache; fwd=uri-miss; stored
	// /            "Latest: Hello, world" httpcache; fwd=uri-miss; stored
}

// Take purges over HTTP, on a path of its own: PURGE with a bearer token,
// for a URL (the path after the prefix) or for tags (the Cache-Tag header).
func ExampleCache_PurgeHandler() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	mux := http.NewServeMux()
	mux.Handle("/_purge/", http.StripPrefix("/_purge", cache.PurgeHandler("s3cret")))
	mux.Handle("/", cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Cache-Tag", "pages")
		fmt.Fprint(w, "page")
	})))
	do := func(method, target string, header ...string) {
		req := httptest.NewRequest(method, target, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		line := fmt.Sprint(method, " ", target, " ", rec.Code, " ", strings.TrimSpace(rec.Body.String()))
		if s := rec.Header().Get("Cache-Status"); s != "" {
			line += " | " + s
		}
		fmt.Println(line)
	}

	do("GET", "/a")
	do("PURGE", "/_purge/a", "Authorization", "Bearer wrong")
	do("GET", "/a")
	do("PURGE", "/_purge/a", "Authorization", "Bearer s3cret")
	do("GET", "/a")
	do("PURGE", "/_purge/", "Authorization", "Bearer s3cret", "Cache-Tag", "pages")
	do("GET", "/a")
	// Output:
	// GET /a 200 page | httpcache; fwd=uri-miss; stored
	// PURGE /_purge/a 401 unauthorized
	// GET /a 200 page | httpcache; hit
	// PURGE /_purge/a 200 purged URL http://example.com/a and https://example.com/a
	// GET /a 200 page | httpcache; fwd=uri-miss; stored
	// PURGE /_purge/ 200 purged tags ["pages"]
	// GET /a 200 page | httpcache; fwd=uri-miss; stored
}
