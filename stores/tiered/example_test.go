package tiered_test

import (
	"io"
	"net/http"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
	"github.com/seedcache/httpcache/stores/tiered"
)

// sharedStore stands for the store that every instance of the application
// shares, such as one from stores/redis or stores/memcached.
var sharedStore func(client goredis.UniversalClient) store.Store

// Each instance of an application keeps its hot responses in its own
// memory and shares all of them through Redis. A write or purge on one
// instance reaches the others' memory at once through Redis pub/sub.
// (Not run: it needs Redis.)
func Example() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close() // after the store's Close, which leaves it open

	store := tiered.New(
		memory.New(memory.Options{MaxBytes: 32 << 20}),
		sharedStore(client),
		tiered.Options{PubSub: client}, // L1 copies live 2 s at most
	)
	defer store.Close()

	cache := httpcache.New(store, httpcache.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "hello")
	})
	_ = cache.Handler(mux) // http.ListenAndServe(addr, cache.Handler(mux))
}
