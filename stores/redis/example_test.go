package redis_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/redis"
)

// The examples need a Redis server, so they have no "Output:" comment: go
// test compiles them but does not run them.

func Example() {
	// ContextTimeoutEnabled lets the store skip its guard goroutine for
	// calls with a deadline (see the package documentation).
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close() // the store never closes it
	s := redis.New(client, redis.Options{KeyPrefix: "myapp:"})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Set(ctx, "greeting", []byte("hello"), time.Minute); err != nil {
		fmt.Println("set:", err)
		return
	}
	v, err := s.Get(ctx, "greeting")
	fmt.Printf("%s %v\n", v, err)

	_, err = s.Get(ctx, "missing")
	fmt.Println(errors.Is(err, store.ErrNotFound))
}

// A Redis Cluster works the same way; keys that share a {hash tag} are read
// together with one MGET on one node.
func ExampleStore_GetMulti() {
	client := goredis.NewClusterClient(&goredis.ClusterOptions{
		Addrs:                 []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	s := redis.New(client, redis.Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	values, err := s.GetMulti(ctx, "{page:42}:vary", "{page:42}:variant:gzip")
	if err != nil {
		fmt.Println("getmulti:", err)
		return
	}
	for _, v := range values {
		fmt.Println(v != nil) // false for a missing key
	}
}

// go-redis logs some failures itself (a dial that failed), to standard
// error by default; the application can send them to its slog logger. The
// logger is process-wide, so this is set once, by the program, not by a
// library.
func ExampleNewLogger() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	goredis.SetLogger(redis.NewLogger(logger))

	client := goredis.NewClient(&goredis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true,
		DialerRetries:         1, // a refused connection fails the call at once
	})
	defer client.Close()
	_ = redis.New(client, redis.Options{})
}
