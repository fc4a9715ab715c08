package tiered

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/stores/memory"
)

// pubsubGroup starts n instances sharing a Redis L2 and channel, with
// copies that would live an hour: any copy gone sooner was dropped.
func pubsubGroup(t *testing.T, n int) (client goredis.UniversalClient, l2 *redisL2, stores []*Store, l1s []*memory.Store) {
	t.Helper()
	client = newRedisClient(t, testserver.SharedRedis(t))
	p := newPrefix()
	l2 = &redisL2{client, p}
	opts := Options{L1TTL: time.Hour, PubSub: client, Channel: p + "invalidate"}
	for range n {
		l1 := memory.New(memory.Options{})
		s := newStore(t, l1, l2, opts)
		waitSubscribed(t, s, 1)
		stores, l1s = append(stores, s), append(l1s, l1)
	}
	return client, l2, stores, l1s
}

// staleCopies makes every store hold a copy of key's value "old", then
// changes the value in L2 behind their backs (no invalidation goes out).
func staleCopies(t *testing.T, l2 *redisL2, key string, stores ...*Store) {
	t.Helper()
	mustSet(t, l2, key, "old")
	for _, s := range stores {
		mustGet(t, s, key, "old")
	}
	mustSet(t, l2, key, "new")
	for _, s := range stores {
		mustGet(t, s, key, "old") // stale, as intended
	}
}

// dropped runs DropLocalCopies on s in the background.
func dropped(ctx context.Context, s *Store) <-chan error {
	done := make(chan error, 1)
	go func() { done <- s.DropLocalCopies(ctx) }()
	return done
}

// TestDropLocalCopiesTwoInstances: when A's DropLocalCopies returns, B's
// next read goes to L2. With an hour's L1TTL, the call can only return in
// time through B's acknowledgement.
func TestDropLocalCopiesTwoInstances(t *testing.T) {
	_, l2, st, l1s := pubsubGroup(t, 2)
	a, b := st[0], st[1]
	staleCopies(t, l2, "k", a, b)
	mustSet(t, l1s[1], "only-in-b", "x") // and one copy L2 never had

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.DropLocalCopies(ctx); err != nil {
		t.Fatalf("DropLocalCopies: %v", err)
	}
	mustGet(t, b, "k", "new")
	mustGet(t, a, "k", "new")
	mustMiss(t, b, "only-in-b")

	// B acknowledged once; A's own subscriber did not acknowledge in Redis.
	waitMessages(t, a, 1)
	if n := ackCount(t, l2.c, a.channel); n != 1 {
		t.Fatalf("acknowledgements in Redis: %d; want 1 (B's)", n)
	}
	// B can drop A's copies the same way.
	staleCopies(t, l2, "k2", a, b)
	if err := b.DropLocalCopies(ctx); err != nil {
		t.Fatalf("B's DropLocalCopies: %v", err)
	}
	mustGet(t, a, "k2", "new")
}

// ackCount returns the one acknowledgement count on channel in Redis,
// and checks that it expires.
func ackCount(t *testing.T, c goredis.UniversalClient, channel string) int64 {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, channel+":ack:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("acknowledgement keys %q, %v; want one", keys, err)
	}
	if ttl, err := c.PTTL(ctx, keys[0]).Result(); err != nil || ttl <= 0 {
		t.Fatalf("acknowledgement key's ttl = %v, %v; want one", ttl, err)
	}
	n, err := c.Get(ctx, keys[0]).Int64()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// slowSubscriber makes s's subscriber stop, on the next "drop all"
// message of another instance, until release is called (at the latest by
// the test's cleanup, before the store's Close); entered is closed when it
// stops.
func slowSubscriber(t *testing.T, s *Store) (entered <-chan struct{}, release func()) {
	in, out := make(chan struct{}), make(chan struct{})
	var enter, leave sync.Once
	hook := func() {
		enter.Do(func() { close(in) })
		<-out
	}
	s.onDropAll.Store(&hook)
	release = func() { leave.Do(func() { close(out) }) }
	t.Cleanup(release)
	return in, release
}

// TestDropLocalCopiesWaitsForEveryInstance: with three instances, the call
// returns only once the slowest has cleared its L1 and acknowledged.
func TestDropLocalCopiesWaitsForEveryInstance(t *testing.T) {
	_, l2, st, _ := pubsubGroup(t, 3)
	a, b, c := st[0], st[1], st[2]
	staleCopies(t, l2, "k", a, b, c)
	entered, release := slowSubscriber(t, c)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	done := dropped(ctx, a)
	<-entered
	waitMessages(t, b, 1) // B has cleared and acknowledged
	if n := ackCount(t, l2.c, a.channel); n != 1 {
		t.Fatalf("acknowledgements once B has handled the message: %d; want 1", n)
	}
	// Give a call that stopped waiting too soon time to return: several
	// of its polls of the count.
	time.Sleep(10 * maxPoll)
	select {
	case err := <-done:
		t.Fatalf("DropLocalCopies returned (%v) while C had not cleared its L1", err)
	default:
	}
	mustGet(t, c, "k", "old") // C's copy is still there: the call must wait

	release()
	if err := <-done; err != nil {
		t.Fatalf("DropLocalCopies: %v", err)
	}
	mustGet(t, c, "k", "new")
	mustGet(t, b, "k", "new")
	if n := ackCount(t, l2.c, a.channel); n != 2 {
		t.Fatalf("acknowledgements: %d; want 2", n)
	}
}

// TestDropLocalCopiesContextEnds: an instance that never acknowledges
// keeps the call from making sure; it returns ctx's error when ctx ends
// (long before L1TTL, after which it would have returned nil).
func TestDropLocalCopiesContextEnds(t *testing.T) {
	_, _, st, _ := pubsubGroup(t, 3)
	a, c := st[0], st[2]
	entered, _ := slowSubscriber(t, c) // never released before cleanup

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := a.DropLocalCopies(ctx)
	<-entered
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DropLocalCopies = %v; want an error wrapping context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "1 of 2 other instances acknowledged") {
		t.Errorf("error %q does not say how many instances acknowledged", err)
	}

	// A context done at once fails at once, without clearing anything.
	done, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if err := a.DropLocalCopies(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("DropLocalCopies with a canceled context = %v; want context.Canceled", err)
	}
}

// TestDropLocalCopiesClosedInstance: an instance that no longer listens
// cannot tell whether PUBLISH counted it, so it does not trust the count:
// it fails when ctx ends before L1TTL has passed, even though every other
// instance acknowledged.
func TestDropLocalCopiesClosedInstance(t *testing.T) {
	_, l2, st, _ := pubsubGroup(t, 2)
	a, b := st[0], st[1]
	staleCopies(t, l2, "k", b)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := a.DropLocalCopies(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "own message received: false") {
		t.Fatalf("DropLocalCopies on a closed instance = %v; want a deadline error saying its message did not come back", err)
	}
	mustGet(t, b, "k", "new") // B did hear it
}

// TestDropLocalCopiesUnacknowledgedUntilL1TTL: a receiver that never
// acknowledges (here a bare subscriber of the channel) makes the call wait
// until every copy has expired, and then succeed.
func TestDropLocalCopiesUnacknowledgedUntilL1TTL(t *testing.T) {
	client := newRedisClient(t, testserver.SharedRedis(t))
	p := newPrefix()
	const l1TTL = 300 * time.Millisecond
	opts := Options{L1TTL: l1TTL, PubSub: client, Channel: p + "invalidate"}
	a := newStore(t, memory.New(memory.Options{}), &redisL2{client, p}, opts)
	waitSubscribed(t, a, 1)
	stray := client.Subscribe(context.Background(), opts.Channel)
	t.Cleanup(func() { stray.Close() })
	if _, err := stray.Receive(context.Background()); err != nil { // the confirmation
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	start := time.Now()
	if err := a.DropLocalCopies(ctx); err != nil {
		t.Fatalf("DropLocalCopies = %v; want nil once L1TTL has passed", err)
	}
	if d := time.Since(start); d < l1TTL {
		t.Fatalf("DropLocalCopies returned after %v, before L1TTL (%v), without every acknowledgement", d, l1TTL)
	}
}

// TestDropLocalCopiesWithoutPubSub: with no way to reach the other
// instances, the call waits until their copies have expired.
func TestDropLocalCopiesWithoutPubSub(t *testing.T) {
	client := memcache.New(testserver.SharedMemcached(t).Addr())
	t.Cleanup(func() { client.Close() })
	const l1TTL = 300 * time.Millisecond
	p := newPrefix()
	l2 := &memcachedL2{client, p}
	l1a := memory.New(memory.Options{})
	a := newStore(t, l1a, l2, Options{L1TTL: l1TTL})
	b := newStore(t, memory.New(memory.Options{}), l2, Options{L1TTL: l1TTL})
	mustSet(t, l2, "k", "old")
	mustGet(t, b, "k", "old")
	mustSet(t, a, "mine", "v")
	mustSet(t, l2, "k", "new")

	if err := a.DropLocalCopies(context.Background()); err != nil {
		t.Fatalf("DropLocalCopies: %v", err)
	}
	mustGet(t, b, "k", "new")
	mustMiss(t, l1a, "mine") // A cleared its own L1

	// A deadline before L1TTL is an error.
	mustGet(t, b, "k", "new")
	ctx, cancel := context.WithTimeout(context.Background(), l1TTL/10)
	defer cancel()
	if err := a.DropLocalCopies(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DropLocalCopies with a deadline before L1TTL = %v; want context.DeadlineExceeded", err)
	}
}

// TestDropAllMessage: a malformed "drop all" message clears L1 as any
// malformed message does; this instance's own message clears nothing
// (L1 was cleared before it was sent).
func TestDropAllMessage(t *testing.T) {
	l1 := memory.New(memory.Options{})
	s := newStore(t, l1, memory.New(memory.Options{}), Options{L1TTL: time.Hour})
	mustSet(t, s, "k", "v")
	s.receive(encodeDropAll(s.id, "ack"))
	mustGet(t, l1, "k", "v")
	s.receive(dropAllPrefix + "\x05short")
	mustMiss(t, l1, "k")
	mustSet(t, s, "k", "v")
	s.receive(encodeDropAll("another instance", "ack")) // no PubSub: no acknowledgement to send
	mustMiss(t, l1, "k")
}
