// Package storeflag builds a cache store from the command-line flags the
// example programs share: -store, -redis, -memcached and -memory-max-bytes.
package storeflag

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memcached"
	"github.com/seedcache/httpcache/stores/memory"
	redisstore "github.com/seedcache/httpcache/stores/redis"
	"github.com/seedcache/httpcache/stores/tiered"
)

// Kinds are the values -store accepts.
var Kinds = []string{"memory", "redis", "memcached", "tiered"}

// Config holds the parsed flags.
type Config struct {
	Kind      string // memory, redis, memcached or tiered
	RedisURL  string // for redis and tiered
	Memcached string // comma-separated host:port list, for memcached
	// MemoryMaxBytes is the memory store's byte budget, for memory and
	// for tiered's L1. If zero, memory.DefaultMaxBytes.
	MemoryMaxBytes int64
	// Logger, if set, receives what go-redis logs on its own (a failed
	// dial, a pool warning) for redis and tiered: Open makes it go-redis's
	// logger, which is process-wide (redis.SetLogger). It is also tiered's
	// logger. If nil, go-redis keeps its own, which writes to standard
	// error, and tiered logs to slog.Default().
	Logger *slog.Logger
	// KeyPrefix, if set, is the prefix of the Cache the store is for
	// (Options.KeyPrefix): tiered then announces invalidations on a
	// channel of that prefix, so that applications sharing a Redis do
	// not clear each other's L1 or wait for each other's instances. If
	// empty, tiered's default channel.
	KeyPrefix string
}

// Register defines -store, -redis, -memcached and -memory-max-bytes on fs.
func Register(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.Kind, "store", "memory", "cache store: "+strings.Join(Kinds, "|"))
	fs.StringVar(&c.RedisURL, "redis", "redis://127.0.0.1:6379/0",
		"Redis URL, for -store redis or tiered; add ?addr=host:port for each further Cluster node to use Redis Cluster")
	fs.StringVar(&c.Memcached, "memcached", "127.0.0.1:11211", "memcached servers host:port[,host:port…], for -store memcached")
	fs.Int64Var(&c.MemoryMaxBytes, "memory-max-bytes", 0,
		fmt.Sprintf("byte budget of the memory store, for -store memory and tiered's L1; 0 means %d (64 MiB)", memory.DefaultMaxBytes))
	return c
}

// Open builds the store the flags name. close releases what Open created
// (clients, subscriptions); call it after the server has shut down. Open
// does not wait for a networked store to answer: the cache fails open, so a
// store that is down at start-up only means a slower start.
func (c *Config) Open() (store httpcache.Store, close func(), err error) {
	if c.MemoryMaxBytes < 0 {
		return nil, nil, fmt.Errorf("-memory-max-bytes %d: want a number of bytes, or 0 for the default", c.MemoryMaxBytes)
	}
	switch c.Kind {
	case "memory":
		return c.memory(), func() {}, nil
	case "redis":
		client, err := RedisClient(c.RedisURL)
		if err != nil {
			return nil, nil, err
		}
		c.routeRedisLogs()
		return redisstore.New(client, redisstore.Options{}), func() { client.Close() }, nil
	case "memcached":
		servers, err := memcachedServers(c.Memcached)
		if err != nil {
			return nil, nil, err
		}
		client := memcache.New(servers...)
		// Under a third of the cache's store timeout: the client's own
		// timeouts then bound every call and the store needs no goroutine
		// per operation (see stores/memcached). Enough idle connections
		// that concurrent requests don't dial and close connections.
		client.Timeout = memcachedTimeout
		client.MaxIdleConns = 64
		return memcached.New(client, memcached.Options{}), func() { client.Close() }, nil
	case "tiered":
		client, err := RedisClient(c.RedisURL)
		if err != nil {
			return nil, nil, err
		}
		c.routeRedisLogs()
		t := tiered.New(c.memory(), redisstore.New(client, redisstore.Options{}),
			tiered.Options{PubSub: client, Logger: c.Logger, Channel: c.channel()})
		return t, func() { t.Close(); client.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("-store %q: unknown store; want one of %s", c.Kind, strings.Join(Kinds, ", "))
	}
}

// routeRedisLogs makes c.Logger go-redis's logger, if set.
func (c *Config) routeRedisLogs() {
	if c.Logger != nil {
		goredis.SetLogger(redisstore.NewLogger(c.Logger))
	}
}

// memcachedTimeout is the memcached client's Timeout: less than a third of
// store.DefaultGuardTimeout (500 ms), since a call takes up to three of
// them (dial, write and read), so that the client's own timeouts end every
// call before the cache's deadline would.
const memcachedTimeout = 160 * time.Millisecond

// memory builds the memory store, or tiered's L1, within -memory-max-bytes.
func (c *Config) memory() *memory.Store {
	return memory.New(memory.Options{MaxBytes: c.MemoryMaxBytes})
}

// RedisClient builds a go-redis client from a URL: a single node
// (redis://host:port/db, rediss:// for TLS), or a Cluster when the URL names
// further nodes with ?addr=host:port.
func RedisClient(raw string) (goredis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-redis %q: %w", raw, err)
	}
	if u.Query().Has("addr") {
		opts, err := goredis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("-redis %q: %w", raw, err)
		}
		opts.ContextTimeoutEnabled = true // see stores/redis: deadlines bound socket I/O
		opts.DialerRetries = redisDialOnce
		return goredis.NewClusterClient(opts), nil
	}
	opts, err := goredis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("-redis %q: %w", raw, err)
	}
	opts.ContextTimeoutEnabled = true
	opts.DialerRetries = redisDialOnce
	return goredis.NewClient(opts), nil
}

// redisDialOnce is the clients' DialerRetries: one dial attempt. go-redis
// otherwise dials 5 times, 100 ms apart, before a refused connection fails
// a call: a Redis that is down would then cost each request the cache's
// whole store timeout, and look to its circuit breaker like one that
// hangs, which it cuts off later (see httpcache.GuardOptions). The breaker
// does the retrying.
const redisDialOnce = 1

// memcachedServers splits and checks the -memcached list.
func memcachedServers(list string) ([]string, error) {
	var servers []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, ":") && !strings.Contains(s, "/") {
			return nil, fmt.Errorf("-memcached %q: want host:port", s)
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return nil, errors.New("-memcached: no servers given")
	}
	return servers, nil
}

// channel is tiered's invalidation channel for KeyPrefix, or "" (the
// default) without one.
func (c *Config) channel() string {
	if c.KeyPrefix == "" {
		return ""
	}
	return c.KeyPrefix + "invalidate"
}
