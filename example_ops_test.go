package httpcache_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// serveTo serves one GET of target through h with the given header fields
// and returns the recorded response.
func serveTo(h http.Handler, target string, kv ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// The hit ratio an operator expects: Hits/(Hits+Misses). Responses the
// application keeps out of the cache (private, no-store, …) count as
// Uncacheable, requests never looked up as Bypasses or OtherMethods.
func ExampleCache_Stats() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/account" {
			w.Header().Set("Cache-Control", "private")
		} else {
			w.Header().Set("Cache-Control", "max-age=60")
		}
		fmt.Fprint(w, "page")
	}))
	for _, path := range []string{"/", "/", "/", "/about", "/account"} {
		serveTo(h, path)
	}
	serveTo(h, "/", "Range", "bytes=0-1")

	s := cache.Stats()
	fmt.Printf("hits %d, misses %d, uncacheable %d, bypasses %d\n", s.Hits, s.Misses, s.Uncacheable, s.Bypasses)
	fmt.Printf("hit ratio %.2f\n", float64(s.Hits)/float64(s.Hits+s.Misses))
	// Output:
	// hits 2, misses 2, uncacheable 1, bypasses 1
	// hit ratio 0.50
}

// Requests from logged-in users (a session cookie) never touch the cache,
// while anonymous visitors share the cached page.
func ExampleOptions_bypassCookies() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{
		Policy:        httpcache.Policy{TTL: time.Minute},
		BypassCookies: []string{"sessionid"},
	})
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "page")
	}))
	fmt.Println(serveTo(h, "/").Header().Get("Cache-Status"))
	fmt.Println(serveTo(h, "/").Header().Get("Cache-Status"))
	fmt.Println(serveTo(h, "/", "Cookie", "sessionid=alice").Header().Get("Cache-Status"))
	// Output:
	// httpcache; fwd=uri-miss; stored
	// httpcache; hit
	// httpcache; fwd=bypass; detail=cookie
}

// A page negotiated on Accept-Language is keyed on the whole list, but with
// Options.Languages naming the languages it is written in, lists that
// differ only in languages the site does not serve share it.
func ExampleOptions_languages() {
	served := []string{"en", "fr"}
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{Languages: served})
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprint(w, "page") // negotiated between en and fr
	}))
	for _, al := range []string{"fr, de;q=0.8, en;q=0.5", "fr, ja;q=0.8, en;q=0.5", "en"} {
		fmt.Println(al, "|", serveTo(h, "/", "Accept-Language", al).Header().Get("Cache-Status"))
	}
	// Output:
	// fr, de;q=0.8, en;q=0.5 | httpcache; fwd=uri-miss; stored
	// fr, ja;q=0.8, en;q=0.5 | httpcache; hit
	// en | httpcache; fwd=vary-miss; stored
}

// Graceful shutdown: stop the server first, then let the cache finish the
// writes and background refreshes still under way, within a deadline.
func ExampleCache_WaitContext() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{})
	srv := &http.Server{Addr: "127.0.0.1:0", Handler: cache.Handler(http.NotFoundHandler())}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil { // after ListenAndServe has returned ErrServerClosed
		fmt.Println("shutdown:", err)
	}
	if err := cache.WaitContext(ctx); err != nil {
		fmt.Println("cache writes still running:", err)
	}
	fmt.Println("done")
	// Output:
	// done
}

// stale-while-revalidate: once a page is stale, the next request is served
// the stale copy at once while one background request refreshes it.
func ExamplePolicy_staleWhileRevalidate() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cache := httpcache.New(memory.New(memory.Options{Clock: clock}), httpcache.Options{Clock: clock})
	version := 0
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		version++
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
		fmt.Fprintf(w, "v%d", version)
	}))
	serveTo(h, "/")
	now = now.Add(20 * time.Second) // stale, within its 60 s window
	rec := serveTo(h, "/")
	fmt.Println(rec.Body.String(), "|", rec.Header().Get("Cache-Status"))
	cache.Wait() // the background refresh
	rec = serveTo(h, "/")
	fmt.Println(rec.Body.String(), "|", rec.Header().Get("Cache-Status"))
	// Output:
	// v1 | httpcache; hit; detail=stale-while-revalidate
	// v2 | httpcache; hit
}

// An event hook sees every request with its outcome: here a log line for
// each request that was not a hit, saying why. contrib/prometheus and
// contrib/otel are ready-made hooks.
func ExampleOptions_onEvent() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{
		OnEvent: func(ev httpcache.Event) {
			if ev.Outcome == httpcache.OutcomeHit {
				return
			}
			fmt.Printf("%s %s: %s stored=%v detail=%q\n", ev.Route, ev.Request.URL.Path, ev.Outcome, ev.Stored, ev.Detail)
		},
	})
	mux := http.NewServeMux()
	mux.Handle("GET /articles/{id}", cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "article")
	})))
	mux.Handle("GET /account", cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private")
		fmt.Fprint(w, "yours")
	})))
	serveTo(mux, "/articles/1")
	serveTo(mux, "/articles/1")
	serveTo(mux, "/account")
	serveTo(mux, "/articles/1", "Range", "bytes=0-1")
	// Output:
	// GET /articles/{id} /articles/1: miss stored=true detail=""
	// GET /account /account: miss stored=false detail="private"
	// GET /articles/{id} /articles/1: bypass stored=false detail="range"
}

// A response that says Vary: Cookie is stored once per distinct value of
// the cookies Policy.VaryCookies names, so that analytics cookies do not
// split the cache while a theme cookie does.
func ExamplePolicy_varyCookies() {
	cache := httpcache.New(memory.New(memory.Options{}), httpcache.Options{
		Policy: httpcache.Policy{VaryCookies: []string{"theme"}},
	})
	calls := 0
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		theme := "light"
		if c, err := r.Cookie("theme"); err == nil {
			theme = c.Value
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("Vary", "Cookie")
		fmt.Fprint(w, theme)
	}))
	for _, cookie := range []string{"theme=dark; _ga=1", "theme=dark; _ga=2", "theme=light; _ga=1"} {
		rec := serveTo(h, "/", "Cookie", cookie)
		fmt.Printf("%s: %s (%s)\n", cookie, rec.Body, rec.Header().Get("Cache-Status"))
	}
	fmt.Println("handler calls:", calls)
	// Output:
	// theme=dark; _ga=1: dark (httpcache; fwd=uri-miss; stored)
	// theme=dark; _ga=2: dark (httpcache; hit)
	// theme=light; _ga=1: light (httpcache; fwd=vary-miss; stored)
	// handler calls: 2
}
