package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
)

const day = 24 * time.Hour

func TestExpiration(t *testing.T) {
	// A clock a quarter second past a whole second, so that absolute
	// expiries must be rounded up.
	now := time.Unix(1_800_000_000, 250_000_000)
	clock := func() time.Time { return now }
	tests := []struct {
		name string
		ttl  time.Duration
		want int64
	}{
		{"1 ns", 1, 2},
		{"1 ms", time.Millisecond, 2},
		{"1 s", time.Second, 2},
		{"1 s + 1 ns", time.Second + 1, 3},
		{"1.5 s", 1500 * time.Millisecond, 3},
		{"2 s", 2 * time.Second, 3},
		{"1 h", time.Hour, 3601},
		{"30 days - 1 s: the longest relative", 30*day - time.Second, 2_592_000},
		{"30 days - 1 ns: absolute", 30*day - 1, 1_800_000_000 + 2_592_000 + 1 + 1},
		{"30 days", 30 * day, 1_800_000_000 + 2_592_000 + 1 + 1},
		{"31 days", 31 * day, 1_800_000_000 + 31*86400 + 1 + 1},
		{"365 days", 365 * day, 1_800_000_000 + 365*86400 + 1 + 1},
		{"past 2038: clamped", 20 * 365 * day, math.MaxInt32},
		{"longest duration: clamped", math.MaxInt64, math.MaxInt32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expiration(tt.ttl, clock); int64(got) != tt.want {
				t.Errorf("expiration(%v) = %d; want %d", tt.ttl, got, tt.want)
			}
		})
	}
	t.Run("clock before 1970 is never read as relative", func(t *testing.T) {
		// 10 days before the epoch, 31 days from now is 1 814 400, which
		// memcached would read as a relative 21 days.
		early := func() time.Time { return time.Unix(-10*86400, 0) }
		if got := expiration(31*day, early); got != maxRelative+1 {
			t.Errorf("expiration(31 days) 10 days before the epoch = %d; want %d", got, maxRelative+1)
		}
	})
}

// TestTTLOnWire checks the expiry Set sends, exactly, and the server's own
// view of it (meta "mg <key> t", the remaining seconds).
func TestTTLOnWire(t *testing.T) {
	srv := testserver.Memcached(t)
	tp := &tap{}
	c, _ := newClient(t, srv.Addr())
	c.DialContext = tp.dial
	now := time.Now()
	s := New(c, Options{KeyPrefix: uniquePrefix(), Clock: func() time.Time { return now }})
	// Unix time of now + ttl rounded up, plus memcached's second.
	absolute := func(ttl time.Duration) int64 {
		return int64(math.Ceil(float64(now.Add(ttl).UnixNano())/1e9)) + 1
	}
	tests := []struct {
		name     string
		ttl      time.Duration
		wire     int64 // the expiry sent
		relative bool  // wire is seconds from now, not a Unix time
	}{
		{"1 ms", time.Millisecond, 2, true},
		{"1 s", time.Second, 2, true},
		{"1.5 s", 1500 * time.Millisecond, 3, true},
		{"1 h", time.Hour, 3601, true},
		{"30 days - 1 s", 30*day - time.Second, 2_592_000, true},
		{"31 days", 31 * day, absolute(31 * day), false},
		{"365 days", 365 * day, absolute(365 * day), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "ttl " + tt.name
			raw := s.key(key)
			// The server's clock may tick between Set and the check, which
			// then reads one second less: try again, up to 3 times.
			var views []int64
			for range 3 {
				tp.take()
				mustSet(t, s, key, []byte("v"), tt.ttl)
				_, sent := tp.take()
				if want := fmt.Sprintf("set %s 0 %d 1\r\nv\r\n", raw, tt.wire); sent != want {
					t.Fatalf("Set sent %q; want %q", sent, want)
				}
				expectValue(t, s, key, []byte("v")) // not instantly expired
				view := serverTTL(t, srv.Addr(), raw)
				views = append(views, view)
				want := tt.wire
				if !tt.relative {
					want -= time.Now().Unix()
				}
				// Absolute expiries meet the server's clock, which is only
				// kept to the second: allow one more second either way.
				lo, hi := want-1, want
				if !tt.relative {
					lo, hi = want-2, want+1
				}
				if view < lo || view > hi {
					t.Fatalf("server's remaining ttl = %d; want %d to %d", view, lo, hi)
				}
				if view == hi || !tt.relative {
					return
				}
			}
			t.Fatalf("server's remaining ttl was %v; want %d at least once", views, tt.wire)
		})
	}
}

// serverTTL asks the server at addr how many seconds key has left.
func serverTTL(t *testing.T, addr, key string) int64 {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, guard)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(guard))
	if _, err := fmt.Fprintf(conn, "mg %s t\r\n", key); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != "HD" || !strings.HasPrefix(f[1], "t") {
		t.Fatalf("mg %s t: %q; want HD t<seconds>", key, line)
	}
	n, err := strconv.ParseInt(f[1][1:], 10, 64)
	if err != nil {
		t.Fatalf("mg %s t: %q: %v", key, line, err)
	}
	return n
}

// TestTTLExpiry shows on the server's own clock that a value with a 1 ms
// or 1 s ttl lives more than 1 s and at most 2 s, with one short sleep.
func TestTTLExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps for 2 s; skipped in -short mode")
	}
	s, _ := newStore(t, Options{})
	v := []byte("v")
	start := time.Now()
	mustSet(t, s, "1ms", v, time.Millisecond)
	mustSet(t, s, "1s", v, time.Second)
	mustSet(t, s, "3s", v, 3*time.Second)
	setDone := time.Now()

	// memcached's clock ticks every second; a value sent with expiry 2
	// goes at the second tick after it was set: after more than 1 s.
	time.Sleep(time.Until(start.Add(950 * time.Millisecond)))
	if time.Since(setDone) < time.Second {
		for _, k := range []string{"1ms", "1s", "3s"} {
			expectValue(t, s, k, v)
		}
	} else {
		t.Logf("too slow to check the values before 1 s")
	}
	// ... and at most 2 s after it was set.
	time.Sleep(time.Until(setDone.Add(2*time.Second + 150*time.Millisecond)))
	expectMiss(t, s, "1ms")
	expectMiss(t, s, "1s")
	expectValue(t, s, "3s", v)
}

// TestRefusedSendsNothing checks that a Set refused for its ttl or size,
// and any call with a done context, sends nothing at all.
func TestRefusedSendsNothing(t *testing.T) {
	tp := &tap{}
	c, _ := newClient(t, testserver.Memcached(t).Addr())
	c.DialContext = tp.dial
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	bg := context.Background()
	canceled, cancel := context.WithCancelCause(bg)
	cause := errors.New("client went away")
	cancel(cause)

	calls := []struct {
		name string
		call func() error
		want []error
	}{
		{"ttl 0", func() error { return s.Set(bg, "k", []byte("v"), 0) }, []error{store.ErrInvalidTTL}},
		{"ttl -1 ns", func() error { return s.Set(bg, "k", []byte("v"), -1) }, []error{store.ErrInvalidTTL}},
		{"ttl MinInt64", func() error { return s.Set(bg, "k", []byte("v"), math.MinInt64) }, []error{store.ErrInvalidTTL}},
		{"too large", func() error { return s.Set(bg, "k", make([]byte, DefaultMaxItemSize), time.Hour) }, []error{store.ErrTooLarge}},
		{"done Get", func() error { _, err := s.Get(canceled, "k"); return err }, []error{context.Canceled, cause}},
		{"done Set", func() error { return s.Set(canceled, "k", []byte("v"), time.Hour) }, []error{context.Canceled, cause}},
		{"done Delete", func() error { return s.Delete(canceled, "k") }, []error{context.Canceled, cause}},
		{"done Delete of two", func() error { return s.Delete(canceled, "k", "l") }, []error{context.Canceled, cause}},
		{"done Delete of none", func() error { return s.Delete(canceled) }, []error{context.Canceled, cause}},
		{"done GetMulti", func() error { _, err := s.GetMulti(canceled, "k", "l"); return err }, []error{context.Canceled, cause}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
			}
			if n, sent := tp.take(); n != (counts{}) || sent != "" {
				t.Errorf("sent %q (%+v); want nothing", sent, n)
			}
		})
	}
}
