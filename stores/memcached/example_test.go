package memcached_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memcached"
)

// A cache on a pool of two memcached servers. The example has no Output
// comment because it needs running servers: it is compiled, not run.
func Example() {
	client := memcache.New("10.0.0.1:11211", "10.0.0.2:11211")
	client.Timeout = 200 * time.Millisecond // bounds each socket step
	client.MaxIdleConns = 16                // about the peak parallel requests
	s := memcached.New(client, memcached.Options{KeyPrefix: "myapp:"})

	// The store on its own: every call takes a context, and returns its
	// error as soon as the context is done.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Set(ctx, "greeting", []byte("hello"), time.Minute); err != nil {
		log.Print(err)
	}
	switch v, err := s.Get(ctx, "greeting"); {
	case errors.Is(err, store.ErrNotFound):
		fmt.Println("miss")
	case err != nil:
		log.Print(err)
	default:
		fmt.Printf("%s\n", v)
	}

	// As the middleware's store.
	cache := httpcache.New(s, httpcache.Options{})
	mux := http.NewServeMux()
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", cache.Handler(mux)))
}
