// Package storeurl opens a cache store from a URL, and from the command-line
// flags the example programs share, so that a program can name its store in
// one setting (an environment variable, a flag):
//
//	memory://?max-bytes=67108864             the in-process store
//	redis://127.0.0.1:6379/0                 Redis (rediss:// for TLS)
//	redis://10.0.0.1:7000?addr=10.0.0.2:7000 Redis Cluster: one addr per further node
//	memcached://10.0.0.1:11211,10.0.0.2:11211 a memcached pool
//	tiered+redis://127.0.0.1:6379/0?max-bytes=16777216
//	                                         an in-process L1 in front of Redis,
//	                                         invalidated over Redis pub/sub
//
// The clients it builds are configured as the stores' documentation
// recommends for the cache's guard: go-redis with ContextTimeoutEnabled
// (deadlines bound socket I/O) and one dial attempt (the guard's breaker
// does the retrying); memcached with a client timeout under a third of the
// guard's and 64 idle connections.
package storeurl

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memcached"
	"github.com/seedcache/httpcache/stores/memory"
	redisstore "github.com/seedcache/httpcache/stores/redis"
	"github.com/seedcache/httpcache/stores/tiered"
)

// Options configures Open.
type Options struct {
	// MemoryMaxBytes is the memory store's byte budget (and tiered's L1's)
	// when the URL gives no max-bytes. If zero, memory.DefaultMaxBytes.
	MemoryMaxBytes int64

	// Logger, if set, receives what go-redis logs on its own (a failed
	// dial, a pool warning): Open makes it go-redis's logger, which is
	// process-wide (redis.SetLogger). It is also tiered's logger. If nil,
	// go-redis keeps its own, which writes to standard error.
	Logger *slog.Logger

	// KeyPrefix, if set, is the Options.KeyPrefix of the Cache the store is
	// for: tiered then announces invalidations on a channel of that
	// prefix, so that applications sharing a Redis do not clear each
	// other's L1 or wait for each other's instances. If empty, tiered's
	// default channel.
	KeyPrefix string
}

// Open returns the store rawURL names (see the package documentation), and
// a func that releases what Open created (clients, subscriptions): call it
// after the server has shut down and the cache has finished its writes.
// Open does not wait for a networked store to answer: the cache fails
// open, so a store that is down at start-up only means a slower start.
func Open(rawURL string, o Options) (s store.Store, release func(), err error) {
	if o.MemoryMaxBytes < 0 {
		return nil, nil, fmt.Errorf("storeurl: MemoryMaxBytes %d: want a number of bytes, or 0 for the default", o.MemoryMaxBytes)
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		scheme, rest, _ = strings.Cut(rawURL, ":")
	}
	switch strings.ToLower(scheme) {
	case "memory":
		maxBytes, _, err := takeMaxBytes(rest, o.MemoryMaxBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("storeurl: %q: %w", redact(rawURL), err)
		}
		return memory.New(memory.Options{MaxBytes: maxBytes}), func() {}, nil
	case "redis", "rediss":
		client, err := RedisClient(rawURL)
		if err != nil {
			return nil, nil, err
		}
		o.routeRedisLogs()
		return redisstore.New(client, redisstore.Options{}), func() { client.Close() }, nil
	case "memcached":
		servers, err := memcachedServers(strings.TrimRight(rest, "/"))
		if err != nil {
			return nil, nil, fmt.Errorf("storeurl: %q: %w", redact(rawURL), err)
		}
		client := memcache.New(servers...)
		client.Timeout = MemcachedTimeout
		client.MaxIdleConns = 64 // concurrent requests don't dial and close connections
		return memcached.New(client, memcached.Options{}), func() { client.Close() }, nil
	case "tiered+redis", "tiered+rediss":
		maxBytes, redisURL, err := takeMaxBytes(rawURL[len("tiered+"):], o.MemoryMaxBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("storeurl: %q: %w", redact(rawURL), err)
		}
		client, err := RedisClient(redisURL)
		if err != nil {
			return nil, nil, err
		}
		o.routeRedisLogs()
		t := tiered.New(memory.New(memory.Options{MaxBytes: maxBytes}), redisstore.New(client, redisstore.Options{}),
			tiered.Options{PubSub: client, Logger: o.Logger, Channel: o.channel()})
		return t, func() { t.Close(); client.Close() }, nil
	}
	return nil, nil, fmt.Errorf("storeurl: %q: unknown store; want memory://, redis://, rediss://, memcached:// or tiered+redis://", redact(rawURL))
}

// takeMaxBytes reads and removes the max-bytes query parameter of raw (a
// URL, or the part of one after its scheme), returning def without one.
func takeMaxBytes(raw string, def int64) (int64, string, error) {
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return def, raw, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return 0, "", err
	}
	maxBytes := def
	if v := q.Get("max-bytes"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, "", fmt.Errorf("max-bytes %q: want a number of bytes", v)
		}
		maxBytes = n
	}
	q.Del("max-bytes")
	if len(q) == 0 {
		return maxBytes, base, nil
	}
	return maxBytes, base + "?" + q.Encode(), nil
}

// routeRedisLogs makes o.Logger go-redis's logger, if set.
func (o Options) routeRedisLogs() {
	if o.Logger != nil {
		goredis.SetLogger(redisstore.NewLogger(o.Logger))
	}
}

// channel is tiered's invalidation channel for KeyPrefix, or "" (the
// default) without one.
func (o Options) channel() string {
	if o.KeyPrefix == "" {
		return ""
	}
	return o.KeyPrefix + "invalidate"
}

// MemcachedTimeout is the memcached client's Timeout that Open sets: less
// than a third of store.DefaultGuardTimeout (500 ms), since a call takes up
// to three of them (dial, write and read), so that the client's own
// timeouts end every call before the cache's deadline would.
const MemcachedTimeout = 160 * time.Millisecond

// RedisClient builds a go-redis client from a URL: a single node
// (redis://host:port/db, rediss:// for TLS), or a Cluster when the URL names
// further nodes with ?addr=host:port. It enables ContextTimeoutEnabled (see
// stores/redis) and dials once per attempt (see store.GuardOptions).
func RedisClient(raw string) (goredis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("storeurl: Redis URL %q: %w", redact(raw), err)
	}
	if u.Query().Has("addr") {
		opts, err := goredis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("storeurl: Redis URL %q: %w", redact(raw), err)
		}
		opts.ContextTimeoutEnabled = true
		opts.DialerRetries = redisDialOnce
		return goredis.NewClusterClient(opts), nil
	}
	opts, err := goredis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("storeurl: Redis URL %q: %w", redact(raw), err)
	}
	opts.ContextTimeoutEnabled = true
	opts.DialerRetries = redisDialOnce
	return goredis.NewClient(opts), nil
}

// redisDialOnce is the clients' DialerRetries: one dial attempt. go-redis
// otherwise dials 5 times, 100 ms apart, before a refused connection fails
// a call: a Redis that is down would then cost each request the cache's
// whole store timeout, and look to its circuit breaker like one that
// hangs, which it cuts off later (see store.GuardOptions). The breaker does
// the retrying.
const redisDialOnce = 1

// memcachedServers splits and checks a comma-separated host:port list.
func memcachedServers(list string) ([]string, error) {
	var servers []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !strings.Contains(s, ":") && !strings.Contains(s, "/") {
			return nil, fmt.Errorf("memcached server %q: want host:port", s)
		}
		servers = append(servers, s)
	}
	if len(servers) == 0 {
		return nil, errors.New("no memcached servers given")
	}
	return servers, nil
}

// redact returns raw with the password of its user information, if any,
// replaced by "xxxxx", as url.URL.Redacted does, also for a URL that does
// not parse: errors quote store URLs, and logs keep errors.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	auth, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		auth, tail = rest[:i], rest[i:]
	}
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		if name, _, hasPassword := strings.Cut(auth[:at], ":"); hasPassword {
			auth = name + ":xxxxx" + auth[at:]
		}
	}
	return scheme + "://" + auth + tail
}
