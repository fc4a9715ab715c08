package httpcache_test

import (
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/redis"
)

// Ten replicas behind a load balancer share one Redis. When a popular page
// expires, each would call the backend once for it (each coalesces its own
// requests); with a fill lease, the first replica to miss fetches and the
// others wait up to Wait for its response to appear in Redis. The example
// needs a Redis server, so it has no "Output:" comment.
func ExampleLeaseOptions() {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	cache := httpcache.New(redis.New(client, redis.Options{}), httpcache.Options{
		Lease: httpcache.LeaseOptions{
			TTL:  5 * time.Second,       // longest a slow fetch holds the others back
			Wait: 2 * time.Second,       // then a waiting replica fetches itself
			Poll: 20 * time.Millisecond, // how often it looks meanwhile
		},
	})
	http.Handle("/reports/", cache.Page(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("an expensive report"))
	})))
}
