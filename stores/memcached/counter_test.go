package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
)

// clockFloor is a time in microseconds (November 2026), the kind of floor
// the middleware passes.
const clockFloor = 1_795_000_000_000_000

// TestAdvanceOnWire checks the commands Advance sends: gets, then add of
// the first value for a new counter, or cas of the next one for an
// existing one, each with the expiry of the ttl as Set would send it (an
// absolute time past 30 days), or 0 (never) for ttl 0, which also clears
// the expiry a counter had. The server's view of the counter's expiry
// follows.
func TestAdvanceOnWire(t *testing.T) {
	srv := testserver.Memcached(t)
	tp := &tap{}
	c, _ := newClient(t, srv.Addr())
	c.DialContext = tp.dial
	at := time.Now().Truncate(time.Second)
	s := New(c, Options{KeyPrefix: uniquePrefix(), Clock: func() time.Time { return at }})
	ctx := context.Background()
	raw := regexp.QuoteMeta(s.key("seq"))
	const month = 31 * 24 * time.Hour
	absolute := at.Add(month).Unix() + 1
	tests := []struct {
		name        string
		floor, want int64
		ttl         time.Duration
		sent        string   // a regexp
		left        [2]int64 // the server's remaining ttl in seconds, at least and at most; -1: none
	}{
		{"new counter", 0, 1, 0, fmt.Sprintf(`gets %s\r\nadd %[1]s 0 0 1\r\n1\r\n`, raw), [2]int64{-1, -1}},
		{"existing counter", 0, 2, 0, fmt.Sprintf(`gets %s\r\ncas %[1]s 0 0 1 [0-9]+\r\n2\r\n`, raw), [2]int64{-1, -1}},
		{"given a ttl", 0, 3, time.Minute, fmt.Sprintf(`gets %s\r\ncas %[1]s 0 61 1 [0-9]+\r\n3\r\n`, raw), [2]int64{59, 61}},
		{"ttl renewed", 0, 4, time.Hour, fmt.Sprintf(`gets %s\r\ncas %[1]s 0 3601 1 [0-9]+\r\n4\r\n`, raw), [2]int64{3599, 3601}},
		{"ttl shortened", 0, 5, 1500 * time.Millisecond, fmt.Sprintf(`gets %s\r\ncas %[1]s 0 3 1 [0-9]+\r\n5\r\n`, raw), [2]int64{1, 3}},
		{"ttl cleared", 0, 6, 0, fmt.Sprintf(`gets %s\r\ncas %[1]s 0 0 1 [0-9]+\r\n6\r\n`, raw), [2]int64{-1, -1}},
		{"floor ahead", clockFloor, clockFloor, 0, fmt.Sprintf(`gets %s\r\ncas %[1]s 0 0 16 [0-9]+\r\n1795000000000000\r\n`, raw), [2]int64{-1, -1}},
		{"floor behind", 5, clockFloor + 1, 0, fmt.Sprintf(`gets %s\r\ncas %[1]s 0 0 16 [0-9]+\r\n1795000000000001\r\n`, raw), [2]int64{-1, -1}},
		{"past 30 days", 0, clockFloor + 2, month, fmt.Sprintf(`gets %s\r\ncas %[1]s 0 %d 16 [0-9]+\r\n1795000000000002\r\n`, raw, absolute),
			[2]int64{int64(month/time.Second) - 5, int64(month/time.Second) + 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp.take()
			n, err := s.Advance(ctx, "seq", tt.floor, tt.ttl)
			if err != nil || n != tt.want {
				t.Fatalf("Advance(%d, ttl %v) = %d, %v; want %d", tt.floor, tt.ttl, n, err, tt.want)
			}
			counts, sent := tp.take()
			if !regexp.MustCompile(`^` + tt.sent + `$`).MatchString(sent) {
				t.Errorf("Advance sent %q; want %q", sent, tt.sent)
			}
			if counts.flights != 2 {
				t.Errorf("Advance made %d round trips; want 2", counts.flights)
			}
			if left := serverTTL(t, srv.Addr(), s.key("seq")); left < tt.left[0] || left > tt.left[1] {
				t.Errorf("server's remaining ttl of the counter = %d; want %d to %d (-1: none)", left, tt.left[0], tt.left[1])
			}
		})
	}

	t.Run("new counter with a ttl", func(t *testing.T) {
		if err := s.Delete(ctx, "seq"); err != nil {
			t.Fatal(err)
		}
		tp.take()
		if n, err := s.Advance(ctx, "seq", 0, time.Minute); err != nil || n != 1 {
			t.Fatalf("Advance = %d, %v; want 1", n, err)
		}
		want := fmt.Sprintf(`gets %s\r\nadd %[1]s 0 61 1\r\n1\r\n`, raw)
		if _, sent := tp.take(); !regexp.MustCompile(`^` + want + `$`).MatchString(sent) {
			t.Errorf("Advance sent %q; want %q", sent, want)
		}
		if left := serverTTL(t, srv.Addr(), s.key("seq")); left < 59 || left > 61 {
			t.Errorf("server's remaining ttl of the counter = %d; want about 61", left)
		}
	})

	t.Run("negative ttl", func(t *testing.T) {
		for _, ttl := range []time.Duration{-1, -time.Hour, math.MinInt64} {
			tp.take()
			n, err := s.Advance(ctx, "seq", 100, ttl)
			if !errors.Is(err, store.ErrInvalidTTL) {
				t.Errorf("Advance with ttl %v = %d, %v; want an error wrapping ErrInvalidTTL", ttl, n, err)
			}
			if counts, sent := tp.take(); counts.flights != 0 || sent != "" {
				t.Errorf("Advance with ttl %v sent %q in %d round trips; want nothing", ttl, sent, counts.flights)
			}
		}
		expectValue(t, s, "seq", []byte("1"))
	})
}

// TestAdvanceDecimal checks that the counter reads back with Get as plain
// decimal: across the widths where the value grows a digit, at the 16
// digits of a time in microseconds, and up to the largest int64, past
// which Advance refuses, leaving the counter as it was.
func TestAdvanceDecimal(t *testing.T) {
	s, _ := newStore(t, Options{})
	ctx := context.Background()
	for want := int64(1); want <= 1001; want++ {
		n, err := s.Advance(ctx, "n", 0, 0)
		if err != nil || n != want {
			t.Fatalf("Advance = %d, %v; want %d", n, err, want)
		}
		expectValue(t, s, "n", []byte(strconv.FormatInt(want, 10)))
	}
	for _, step := range []struct{ floor, want int64 }{
		{clockFloor, clockFloor},
		{0, clockFloor + 1},
		{1 << 53, 1 << 53},
		{0, 1<<53 + 1}, // beyond float64's exact integers
		{math.MaxInt64 - 1, math.MaxInt64 - 1},
		{0, math.MaxInt64},
	} {
		n, err := s.Advance(ctx, "n", step.floor, 0)
		if err != nil || n != step.want {
			t.Fatalf("Advance(%d) = %d, %v; want %d", step.floor, n, err, step.want)
		}
		expectValue(t, s, "n", []byte(strconv.FormatInt(step.want, 10)))
	}
	if n, err := s.Advance(ctx, "n", 0, 0); err == nil {
		t.Errorf("Advance past the largest int64 = %d; want an error", n)
	}
	expectValue(t, s, "n", []byte(strconv.FormatInt(math.MaxInt64, 10)))
}

// TestAdvanceStoredValues runs Advance on items it did not write: a
// decimal integer counts, with leading zeros or a sign, and takes the
// expiry of Advance's ttl (none for 0) in place of its own; anything else,
// including the space-padded numbers memcached's decr leaves, is an error
// that leaves the item as it was (and is not a miss).
func TestAdvanceStoredValues(t *testing.T) {
	tests := []struct {
		name   string
		stored string
		floor  int64
		want   int64 // 0: an error
		ttl    time.Duration
	}{
		{"decimal", "41", 0, 42, 0},
		{"decimal, with a ttl", "41", 0, 42, time.Minute},
		{"leading zeros", "007", 0, 8, 0},
		{"negative", "-5", -10, -4, 0},
		{"negative below floor", "-5", 3, 3, 0},
		{"text", "not a number", 0, 0, 0},
		{"text, with a ttl", "not a number", 0, 0, time.Minute},
		{"empty", "", 0, 0, 0},
		{"fraction", "1.5", 0, 0, 0},
		{"leading space", " 12", 0, 0, 0},
		{"padded by decr", "99 ", 0, 0, 0},
		{"plus sign", "+12", 0, 0, 0},
		{"underscore", "1_000", 0, 0, 0},
		{"hex", "0x10", 0, 0, 0},
		{"exponent", "1e3", 0, 0, 0},
		{"largest int64", "9223372036854775807", 0, 0, 0},
		{"beyond int64", "99999999999999999999", 0, 0, 0},
	}
	srv := testserver.Memcached(t)
	c, _ := newClient(t, srv.Addr())
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("c%d", i)
			key := s.key(name)
			if err := c.Set(&memcache.Item{Key: key, Value: []byte(tt.stored), Expiration: 3600}); err != nil {
				t.Fatal(err)
			}
			n, err := s.Advance(ctx, name, tt.floor, tt.ttl)
			if tt.want == 0 {
				if err == nil || errors.Is(err, store.ErrNotFound) {
					t.Errorf("Advance of %q = %d, %v; want an error other than ErrNotFound", tt.stored, n, err)
				}
				expectValue(t, s, name, []byte(tt.stored))
				if ttl := serverTTL(t, srv.Addr(), key); ttl <= 0 {
					t.Errorf("server's remaining ttl after a refused Advance = %d; want the hour it had", ttl)
				}
				return
			}
			if err != nil || n != tt.want {
				t.Fatalf("Advance of %q = %d, %v; want %d", tt.stored, n, err, tt.want)
			}
			expectValue(t, s, name, []byte(strconv.FormatInt(tt.want, 10)))
			left := serverTTL(t, srv.Addr(), key)
			if tt.ttl == 0 && left != -1 {
				t.Errorf("server's remaining ttl after Advance = %d; want -1 (none)", left)
			}
			if tt.ttl != 0 && (left < 59 || left > 61) {
				t.Errorf("server's remaining ttl after Advance with a 1m ttl = %d; want about 61", left)
			}
		})
	}
}

// meddler is a Client.DialContext whose connections call before with the
// verb of each request just before sending it, so that a test can change
// the counter between Advance's gets and its cas or add.
type meddler struct {
	mu     sync.Mutex
	verbs  []string
	before func(verb string)
}

func (m *meddler) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &meddlerConn{Conn: c, m: m}, nil
}

// sent returns the verbs sent so far, and forgets them.
func (m *meddler) sent() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.verbs
	m.verbs = nil
	return v
}

type meddlerConn struct {
	net.Conn
	m *meddler
}

// Write sees each request whole: gomemcache buffers a command with its
// data and flushes it in one write.
func (c *meddlerConn) Write(p []byte) (int, error) {
	verb, _, _ := bytes.Cut(p, []byte(" "))
	c.m.mu.Lock()
	c.m.verbs = append(c.m.verbs, string(verb))
	c.m.mu.Unlock()
	if c.m.before != nil {
		c.m.before(string(verb))
	}
	return c.Conn.Write(p)
}

// TestAdvanceConflicts has another client write the counter between
// Advance's read and its write: Advance reads it again and advances the
// new value, and gives up with an error, leaving the other client's value,
// if that happens on every attempt.
func TestAdvanceConflicts(t *testing.T) {
	srv := testserver.Memcached(t)
	other, _ := newClient(t, srv.Addr())
	m := &meddler{}
	c, _ := newClient(t, srv.Addr())
	c.DialContext = m.dial
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	ctx := context.Background()

	// meddle makes the next times writes of verb find the counter name
	// changed to value, by set (or, for a missing counter, by add).
	meddle := func(name, verb string, times int, value int64) {
		m.before = func(v string) {
			if v != verb || times == 0 {
				return
			}
			times--
			it := &memcache.Item{Key: s.key(name), Value: strconv.AppendInt(nil, value, 10)}
			var err error
			if verb == "add" {
				err = other.Add(it)
			} else {
				err = other.Set(it)
			}
			if err != nil {
				t.Errorf("meddling %s: %v", verb, err)
			}
			value += 10
		}
	}
	tests := []struct {
		name   string
		verb   string // the write to meddle with
		times  int
		value  int64 // what the other client writes, then 10 more each time
		floor  int64
		want   int64 // 0: an error
		sent   []string
		stored int64
	}{
		{"created meanwhile", "add", 1, 50, 0, 51, []string{"gets", "add", "gets", "cas"}, 51},
		{"created meanwhile, floor ahead", "add", 1, 50, 100, 100, []string{"gets", "add", "gets", "cas"}, 100},
		{"written meanwhile", "cas", 2, 200, 0, 211, []string{"gets", "cas", "gets", "cas", "gets", "cas"}, 211},
		{"written past the floor meanwhile", "cas", 1, 500, 300, 501, []string{"gets", "cas", "gets", "cas"}, 501},
		{"written on every attempt", "cas", advanceAttempts, 1000, 0, 0, nil, int64(1000 + 10*(advanceAttempts-1))},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("c%d", i)
			if tt.verb == "cas" {
				if _, err := s.Advance(ctx, name, 0, 0); err != nil {
					t.Fatal(err)
				}
			}
			meddle(name, tt.verb, tt.times, tt.value)
			defer func() { m.before = nil }()
			m.sent()
			n, err := s.Advance(ctx, name, tt.floor, 0)
			sent := m.sent()
			if tt.want == 0 {
				if err == nil {
					t.Errorf("Advance = %d; want an error after %d attempts", n, advanceAttempts)
				}
				if len(sent) != 2*advanceAttempts {
					t.Errorf("Advance sent %d requests (%q); want %d", len(sent), sent, 2*advanceAttempts)
				}
			} else {
				if err != nil || n != tt.want {
					t.Errorf("Advance(%d) = %d, %v; want %d", tt.floor, n, err, tt.want)
				}
				if fmt.Sprint(sent) != fmt.Sprint(tt.sent) {
					t.Errorf("Advance sent %q; want %q", sent, tt.sent)
				}
			}
			expectValue(t, s, name, []byte(strconv.FormatInt(tt.stored, 10)))
		})
	}
}

// TestAdvanceStopsWhenAbandoned runs advance, as the goroutine of an
// Advance whose context ended would, with the counter written under its
// first cas and the context ending then: it sends no second attempt.
func TestAdvanceStopsWhenAbandoned(t *testing.T) {
	srv := testserver.Memcached(t)
	other, _ := newClient(t, srv.Addr())
	m := &meddler{}
	c, _ := newClient(t, srv.Addr())
	c.DialContext = m.dial
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	if _, err := s.Advance(context.Background(), "n", 0, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m.before = func(verb string) {
		if verb == "cas" {
			if err := other.Set(&memcache.Item{Key: s.key("n"), Value: []byte("100")}); err != nil {
				t.Errorf("meddling: %v", err)
			}
			cancel()
		}
	}
	m.sent()
	n, err := advance(c, advanceArgs{ctx: ctx, key: s.key("n"), clock: time.Now, turn: make(chan struct{}, 1)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("advance = %d, %v; want an error wrapping context.Canceled", n, err)
	}
	if sent := m.sent(); fmt.Sprint(sent) != "[gets cas]" {
		t.Errorf("advance sent %q; want one attempt (gets, cas)", sent)
	}
	m.before = nil
	expectValue(t, s, "n", []byte("100"))
}

// TestAdvanceTakesTurns checks that one Store's concurrent Advance calls
// on a counter never make each other's cas fail: each costs one gets and
// one cas (or, for the first, add), however many run at once.
func TestAdvanceTakesTurns(t *testing.T) {
	m := &meddler{}
	c, _ := newClient(t, testserver.Memcached(t).Addr())
	c.DialContext = m.dial
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	const goroutines, calls = 8, 25
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				if _, err := s.Advance(context.Background(), "n", 0, 0); err != nil {
					t.Errorf("Advance: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	counts := map[string]int{}
	for _, verb := range m.sent() {
		counts[verb]++
	}
	if want := map[string]int{"gets": goroutines * calls, "add": 1, "cas": goroutines*calls - 1}; fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("%d Advance calls sent %v; want %v", goroutines*calls, counts, want)
	}
	expectValue(t, s, "n", []byte(strconv.Itoa(goroutines*calls)))
}

// TestAdvanceWaitsForTurn holds one Advance between its gets and its cas:
// another Advance on the same counter waits for its turn, and gives up
// when its context ends, promptly and having sent nothing.
func TestAdvanceWaitsForTurn(t *testing.T) {
	m := &meddler{}
	c, _ := newClient(t, testserver.Memcached(t).Addr())
	c.DialContext = m.dial
	s := New(c, Options{KeyPrefix: uniquePrefix()})
	if _, err := s.Advance(context.Background(), "n", 0, 0); err != nil {
		t.Fatal(err)
	}
	holding, release := make(chan struct{}), make(chan struct{})
	m.before = func(verb string) {
		if verb == "cas" {
			close(holding)
			<-release
		}
	}
	first := make(chan error, 1)
	go func() {
		_, err := s.Advance(context.Background(), "n", 0, 0)
		first <- err
	}()
	<-holding
	m.sent()
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}},
		{"far deadline, canceled", func() (context.Context, context.CancelFunc) {
			// Far enough for the client's timeouts to bound the call,
			// so that it runs on the caller's goroutine.
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			err := within(t, "Advance", func() error { _, err := s.Advance(ctx, "n", 0, 0); return err })
			if err == nil || !errors.Is(err, ctx.Err()) {
				t.Errorf("Advance while another holds the turn = %v; want the context's error", err)
			}
		})
	}
	if sent := m.sent(); len(sent) != 0 {
		t.Errorf("Advance calls waiting for their turn sent %q; want nothing", sent)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("the Advance holding the turn: %v", err)
	}
	expectValue(t, s, "n", []byte("2"))
}
