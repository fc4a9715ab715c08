package storeurl

import (
	"flag"
	"fmt"
	"strings"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/memory"
)

// Kinds are the values the -store flag accepts.
var Kinds = []string{"memory", "redis", "memcached", "tiered"}

// Flags are the store flags the example programs share: -store,
// -redis, -memcached and -memory-max-bytes.
type Flags struct {
	Kind           string // memory, redis, memcached or tiered
	RedisURL       string // for redis and tiered
	Memcached      string // comma-separated host:port list, for memcached
	MemoryMaxBytes int64  // the memory store's byte budget, also tiered's L1's; 0: the default
}

// RegisterFlags defines -store, -redis, -memcached and -memory-max-bytes on
// fs, and returns where their values go once fs is parsed.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Kind, "store", "memory", "cache store: "+strings.Join(Kinds, "|"))
	fs.StringVar(&f.RedisURL, "redis", "redis://127.0.0.1:6379/0",
		"Redis URL, for -store redis or tiered; add ?addr=host:port for each further Cluster node to use Redis Cluster")
	fs.StringVar(&f.Memcached, "memcached", "127.0.0.1:11211", "memcached servers host:port[,host:port…], for -store memcached")
	fs.Int64Var(&f.MemoryMaxBytes, "memory-max-bytes", 0,
		fmt.Sprintf("byte budget of the memory store, for -store memory and tiered's L1; 0 means %d (64 MiB)", memory.DefaultMaxBytes))
	return f
}

// URL is the store URL the flags name (see Open).
func (f *Flags) URL() (string, error) {
	switch f.Kind {
	case "memory":
		return "memory://", nil
	case "redis":
		return f.redisURL("")
	case "memcached":
		if _, err := memcachedServers(f.Memcached); err != nil {
			return "", fmt.Errorf("-memcached %q: %w", f.Memcached, err)
		}
		return "memcached://" + f.Memcached, nil
	case "tiered":
		return f.redisURL("tiered+")
	}
	return "", fmt.Errorf("-store %q: unknown store; want one of %s", f.Kind, strings.Join(Kinds, ", "))
}

// Open opens the store the flags name, as Open does its URL, with
// -memory-max-bytes for o.MemoryMaxBytes.
func (f *Flags) Open(o Options) (store.Store, func(), error) {
	if f.MemoryMaxBytes < 0 {
		return nil, nil, fmt.Errorf("-memory-max-bytes %d: want a number of bytes, or 0 for the default", f.MemoryMaxBytes)
	}
	u, err := f.URL()
	if err != nil {
		return nil, nil, err
	}
	o.MemoryMaxBytes = f.MemoryMaxBytes
	return Open(u, o)
}

// redisURL is -redis behind prefix, once checked to be a Redis URL.
func (f *Flags) redisURL(prefix string) (string, error) {
	if !strings.HasPrefix(f.RedisURL, "redis://") && !strings.HasPrefix(f.RedisURL, "rediss://") {
		return "", fmt.Errorf("-redis %q: want a redis:// or rediss:// URL", redact(f.RedisURL))
	}
	return prefix + f.RedisURL, nil
}
