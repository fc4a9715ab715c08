package storeurl_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/storeurl"
)

// A cache on the store a URL names — here the memory store with a 16 MiB
// budget; in production, say, os.Getenv("CACHE_STORE") holding
// "tiered+redis://10.0.0.5:6379/0".
func ExampleOpen() {
	s, release, err := storeurl.Open("memory://?max-bytes=16777216", storeurl.Options{})
	if err != nil {
		panic(err)
	}
	defer release()
	cache := httpcache.New(s, httpcache.Options{})
	h := cache.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "hello")
	}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		fmt.Println(rec.Header().Get("Cache-Status"))
	}
	// Output:
	// httpcache; fwd=uri-miss; stored
	// httpcache; hit
}
