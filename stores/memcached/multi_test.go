package memcached

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/internal/testserver"
)

// keyOn returns a store key starting with base that s sends to the server
// at addr.
func keyOn(t *testing.T, s *Store, ss *memcache.ServerList, addr, base string) string {
	t.Helper()
	for i := range 1000 {
		k := fmt.Sprintf("%s-%d", base, i)
		a, err := ss.PickServer(s.key(k))
		if err != nil {
			t.Fatal(err)
		}
		if a.String() == addr {
			return k
		}
	}
	t.Fatalf("no key %q… goes to %s", base, addr)
	return ""
}

func TestGetMulti(t *testing.T) {
	servers := testserver.MemcachedPool(t, 2)
	c, ss := newClient(t, addrs(servers)...)
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	ctx := context.Background()
	a0 := keyOn(t, s, ss, servers[0].Addr(), "a")
	b0 := keyOn(t, s, ss, servers[0].Addr(), "b")
	a1 := keyOn(t, s, ss, servers[1].Addr(), "a")
	e1 := keyOn(t, s, ss, servers[1].Addr(), "empty")
	m0 := keyOn(t, s, ss, servers[0].Addr(), "missing")
	m1 := keyOn(t, s, ss, servers[1].Addr(), "missing")
	stored := map[string][]byte{a0: []byte("a0"), b0: []byte("b0"), a1: []byte("a1"), e1: {}}
	for k, v := range stored {
		mustSet(t, s, k, v, longTTL)
	}

	tests := []struct {
		name string
		keys []string
	}{
		{"no keys", nil},
		{"one server", []string{b0, a0}},
		{"both servers, in order", []string{a0, a1, b0}},
		{"missing keys", []string{m0, a0, m1, a1}},
		{"only missing", []string{m0, m1}},
		{"empty value", []string{e1, a0}},
		{"duplicates", []string{a1, a0, a1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.GetMulti(ctx, tt.keys...)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || len(got) != len(tt.keys) {
				t.Fatalf("GetMulti(%d keys) = %d values (nil: %v); want %d", len(tt.keys), len(got), got == nil, len(tt.keys))
			}
			for i, k := range tt.keys {
				want, ok := stored[k]
				switch {
				case !ok && got[i] != nil:
					t.Errorf("value %d (%q) = %q; want nil for a missing key", i, k, got[i])
				case ok && (got[i] == nil || string(got[i]) != string(want)):
					t.Errorf("value %d (%q) = %q (nil: %v); want %q, not nil", i, k, got[i], got[i] == nil, want)
				}
			}
		})
	}
	t.Run("Get of an empty value is not nil", func(t *testing.T) {
		v, err := s.Get(ctx, e1)
		if err != nil || v == nil || len(v) != 0 {
			t.Fatalf("Get(empty) = %q (nil: %v), %v; want an empty non-nil slice", v, v == nil, err)
		}
	})
}

// TestGetMultiRoundTrips counts what a GetMulti of two keys costs on the
// wire: one request per server involved, and when the keys are on two
// servers the two requests are in flight together (each server is behind
// a proxy that delays every chunk by 50 ms, so that they overlap for sure).
func TestGetMultiRoundTrips(t *testing.T) {
	servers := testserver.MemcachedPool(t, 2)
	var proxies []string
	for _, srv := range servers {
		p := testserver.NewProxy(t, srv.Addr())
		p.SetDelay(50 * time.Millisecond)
		proxies = append(proxies, p.Addr())
	}
	tp := &tap{}
	c, ss := newClient(t, proxies...)
	c.DialContext = tp.dial
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	ctx := context.Background()
	a0 := keyOn(t, s, ss, proxies[0], "a")
	b0 := keyOn(t, s, ss, proxies[0], "b")
	a1 := keyOn(t, s, ss, proxies[1], "a")
	for _, k := range []string{a0, b0, a1} {
		mustSet(t, s, k, []byte(k), longTTL) // also opens a connection to each server
	}

	tests := []struct {
		name string
		run  func() error
		want counts
	}{
		{"GetMulti, one server", func() error { _, err := s.GetMulti(ctx, a0, b0); return err },
			counts{flights: 1, maxInFlight: 1}},
		{"GetMulti, two servers", func() error { _, err := s.GetMulti(ctx, a0, a1); return err },
			counts{flights: 2, maxInFlight: 2}},
		{"two Gets", func() error {
			if _, err := s.Get(ctx, a0); err != nil {
				return err
			}
			_, err := s.Get(ctx, a1)
			return err
		}, counts{flights: 2, maxInFlight: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp.take()
			if err := tt.run(); err != nil {
				t.Fatal(err)
			}
			got, sent := tp.take()
			t.Logf("%+v, sent %q", got, sent)
			got.writes, got.reads = 0, 0 // buffering detail
			if got != tt.want {
				t.Errorf("counts %+v; want %+v", got, tt.want)
			}
		})
	}
}
