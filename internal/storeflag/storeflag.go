// Package storeflag builds a cache store from the command-line flags the
// example programs share: -store, -redis and -memcached.
package storeflag

import (
	"flag"
	"fmt"
	"strings"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/memory"
)

// Kinds are the values -store accepts.
var Kinds = []string{"memory", "redis", "memcached", "tiered"}

// Config holds the parsed flags.
type Config struct {
	Kind      string // memory, redis, memcached or tiered
	RedisURL  string // for redis and tiered
	Memcached string // comma-separated host:port list, for memcached
}

// Register defines -store, -redis and -memcached on fs.
func Register(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.Kind, "store", "memory", "cache store: "+strings.Join(Kinds, "|"))
	fs.StringVar(&c.RedisURL, "redis", "redis://127.0.0.1:6379/0", "Redis URL, for -store redis or tiered")
	fs.StringVar(&c.Memcached, "memcached", "127.0.0.1:11211", "memcached servers host:port[,host:port…], for -store memcached")
	return c
}

// Open builds the store the flags name. close releases what Open created
// (clients, connections); call it after the server has shut down.
func (c *Config) Open() (store httpcache.Store, close func(), err error) {
	switch c.Kind {
	case "memory":
		return memory.New(memory.Options{}), func() {}, nil
	case "redis", "memcached", "tiered":
		return nil, nil, fmt.Errorf("-store %s: not yet supported (this build has the memory store only)", c.Kind)
	default:
		return nil, nil, fmt.Errorf("-store %q: unknown store; want one of %s", c.Kind, strings.Join(Kinds, ", "))
	}
}
