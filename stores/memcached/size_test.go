package memcached

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
)

// TestItemSizeBoundary stores the largest value the store accepts on a
// real server at the default -I 1m, and checks that the store refuses one
// byte more without sending it, and that memcached itself refuses that
// item: the store's limit is exactly the server's.
func TestItemSizeBoundary(t *testing.T) {
	srv := testserver.Memcached(t)
	tests := []struct {
		name   string
		prefix string
		key    string
	}{
		{"short readable key", uniquePrefix(), "big"},
		// A hashed key under the longest prefix: a 250-byte memcached key.
		{"250-byte hashed key", longestPrefix(), "big value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp := &tap{}
			c, _ := newClient(t, srv.Addr())
			c.DialContext = tp.dial
			s := New(c, Options{KeyPrefix: tt.prefix})
			raw := s.key(tt.key)
			if tt.key == "big value" && len(raw) != maxKeyLen {
				t.Fatalf("mapped key is %d bytes; want %d", len(raw), maxKeyLen)
			}
			largest := DefaultMaxItemSize - ItemOverhead - len(raw)
			t.Logf("memcached key of %d bytes: largest value %d bytes", len(raw), largest)

			v := bytes.Repeat([]byte{'x'}, largest+1)
			mustSet(t, s, tt.key, v[:largest], longTTL)
			expectValue(t, s, tt.key, v[:largest])

			tp.take()
			err := s.Set(context.Background(), tt.key, v, longTTL)
			if !errors.Is(err, store.ErrTooLarge) {
				t.Fatalf("Set of %d bytes = %v; want ErrTooLarge", len(v), err)
			}
			if n, _ := tp.take(); n.writes != 0 {
				t.Errorf("a refused Set wrote %d times; want nothing sent", n.writes)
			}
			expectValue(t, s, tt.key, v[:largest]) // untouched

			// memcached refuses that item too (and drops the old value).
			err = c.Set(&memcache.Item{Key: raw, Value: v, Expiration: 60})
			if err == nil || !isTooLarge(err) {
				t.Fatalf("raw Set of the refused item = %v; want memcached's SERVER_ERROR object too large", err)
			}
		})
	}
}

// longestPrefix returns a unique key prefix of MaxKeyPrefixLen bytes.
func longestPrefix() string {
	p := uniquePrefix()
	return p + strings.Repeat("p", MaxKeyPrefixLen-len(p))
}

// TestServerRefusesTooLarge configures a larger MaxItemSize than the
// server's -I: the server's refusal wraps ErrTooLarge too.
func TestServerRefusesTooLarge(t *testing.T) {
	s, _ := newStore(t, Options{MaxItemSize: 2 << 20})
	mustSet(t, s, "k", []byte("old"), longTTL)
	err := s.Set(context.Background(), "k", make([]byte, 3<<19), longTTL)
	if !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Set of 1.5 MiB on a 1 MiB server = %v; want ErrTooLarge", err)
	}
	t.Logf("error: %v", err)
	// memcached drops the old value when it refuses a new one.
	expectMiss(t, s, "k")
	mustSet(t, s, "k", []byte("after"), time.Minute)
	expectValue(t, s, "k", []byte("after"))
}
