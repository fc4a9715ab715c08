package tiered

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/stores/memory"
)

// pubsubGroup starts n registered instances sharing a Redis L2 and
// channel, with copies and registrations that would live an hour: any copy
// gone sooner was dropped, and any instance that stops being waited for
// acknowledged.
func pubsubGroup(t *testing.T, n int) (client goredis.UniversalClient, l2 *redisL2, stores []*Store, l1s []*memory.Store) {
	t.Helper()
	client = newRedisClient(t, testserver.SharedRedis(t))
	l2 = &redisL2{client, newPrefix()}
	opts := Options{L1TTL: time.Hour, InstanceTTL: time.Hour, PubSub: client, Channel: l2.prefix + "invalidate"}
	for range n {
		s, l1 := addInstance(t, l2, opts)
		stores, l1s = append(stores, s), append(l1s, l1)
	}
	return client, l2, stores, l1s
}

// addInstance starts an instance on l2 with opts and waits until it is
// registered.
func addInstance(t *testing.T, l2 *redisL2, opts Options) (*Store, *memory.Store) {
	t.Helper()
	l1 := memory.New(memory.Options{})
	s := newStore(t, l1, l2, opts)
	waitLive(t, s)
	return s, l1
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

// acks returns the ids in the one acknowledgement set on channel in Redis,
// sorted, and checks that the set expires.
func acks(t *testing.T, c goredis.UniversalClient, channel string) []string {
	t.Helper()
	ctx := context.Background()
	keys, err := c.Keys(ctx, channel+":acks:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("acknowledgement keys %q, %v; want one", keys, err)
	}
	if ttl, err := c.PTTL(ctx, keys[0]).Result(); err != nil || ttl <= 0 {
		t.Fatalf("acknowledgement key's ttl = %v, %v; want one", ttl, err)
	}
	ids, err := c.SMembers(ctx, keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// ids returns the sorted ids of stores.
func ids(stores ...*Store) []string {
	var out []string
	for _, s := range stores {
		out = append(out, s.id)
	}
	slices.Sort(out)
	return out
}

// TestDropLocalCopiesTwoInstances: when A's DropLocalCopies returns, B's
// next read goes to L2. With an hour's L1TTL and InstanceTTL, the call can
// only return in time through B's acknowledgement.
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

	// B acknowledged; A, which hears its own message, did not.
	if got := acks(t, l2.c, a.channel); !slices.Equal(got, ids(b)) {
		t.Fatalf("acknowledgements in Redis: %q; want B's alone (%q)", got, b.id)
	}
	// B can drop A's copies the same way.
	staleCopies(t, l2, "k2", a, b)
	if err := b.DropLocalCopies(ctx); err != nil {
		t.Fatalf("B's DropLocalCopies: %v", err)
	}
	mustGet(t, a, "k2", "new")
}

// slowSubscriber makes s's subscriber stop, on the next "drop all"
// message of another instance, until release is called (at the latest by
// the test's cleanup, before the store's Close); entered is closed when it
// stops. A stopped subscriber reads nothing else either: not even this
// instance's heartbeats.
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
	testwait.For(t, "B's acknowledgement", func() bool {
		keys, _ := l2.c.Keys(ctx, a.channel+":acks:*").Result()
		return len(keys) == 1
	})
	if got := acks(t, l2.c, a.channel); !slices.Equal(got, ids(b)) {
		t.Fatalf("acknowledgements once B has handled the message: %q; want B's alone", got)
	}
	// Give a call that stopped waiting too soon time to return: several
	// of its polls.
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
	if got := acks(t, l2.c, a.channel); !slices.Equal(got, ids(b, c)) {
		t.Fatalf("acknowledgements: %q; want B's and C's", got)
	}
}

// TestDropLocalCopiesContextEnds: a registered instance that never
// acknowledges keeps the call from making sure; it returns ctx's error
// when ctx ends (long before L1TTL or the instance's registration end,
// after which it would have returned nil).
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
	if !strings.Contains(err.Error(), "1 of 2 other registered instances acknowledged") {
		t.Errorf("error %q does not say how many instances acknowledged", err)
	}

	// A context done at once fails at once, without clearing anything.
	done, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	if err := a.DropLocalCopies(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("DropLocalCopies with a canceled context = %v; want context.Canceled", err)
	}
}

// TestDropLocalCopiesUnacknowledgedUntilL1TTL: a registered instance that
// never acknowledges, and whose registration outlasts L1TTL, makes the
// call wait until every copy has expired, and then succeed.
func TestDropLocalCopiesUnacknowledgedUntilL1TTL(t *testing.T) {
	client := newRedisClient(t, testserver.SharedRedis(t))
	l2 := &redisL2{client, newPrefix()}
	const l1TTL = 300 * time.Millisecond
	opts := Options{L1TTL: l1TTL, InstanceTTL: time.Hour, PubSub: client, Channel: l2.prefix + "invalidate"}
	a, _ := addInstance(t, l2, opts)
	b, _ := addInstance(t, l2, opts)
	slowSubscriber(t, b)

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	start := time.Now()
	if err := a.DropLocalCopies(ctx); err != nil {
		t.Fatalf("DropLocalCopies = %v; want nil once L1TTL has passed", err)
	}
	if d := time.Since(start); d < l1TTL {
		t.Fatalf("DropLocalCopies returned after %v, before L1TTL (%v), without B's acknowledgement", d, l1TTL)
	}
}

// TestDropLocalCopiesIgnoresStraySubscribers: a subscriber of the channel
// that is not a registered instance (a monitoring tool, a store of an
// older version) is not waited for: it keeps no copies this package
// serves.
func TestDropLocalCopiesIgnoresStraySubscribers(t *testing.T) {
	client, l2, st, _ := pubsubGroup(t, 2)
	a, b := st[0], st[1]
	stray := client.Subscribe(context.Background(), a.channel)
	t.Cleanup(func() { stray.Close() })
	if _, err := stray.Receive(context.Background()); err != nil { // the confirmation
		t.Fatal(err)
	}
	staleCopies(t, l2, "k", b)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.DropLocalCopies(ctx); err != nil {
		t.Fatalf("DropLocalCopies: %v", err)
	}
	mustGet(t, b, "k", "new")
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestUnregisteredInstanceReadsL2: an instance whose PubSub client cannot
// reach Redis never registers, so it never uses its L1: every read goes to
// L2, and another instance's purge is seen at once, though the purging
// instance neither reaches nor waits for it. This was the hole: such an
// instance used to keep serving its copies, and the purge to return at
// once.
func TestUnregisteredInstanceReadsL2(t *testing.T) {
	_, l2, st, _ := pubsubGroup(t, 1)
	a := st[0]
	dead := goredis.NewClient(&goredis.Options{Addr: deadAddr(t), MaxRetries: -1})
	t.Cleanup(func() { dead.Close() })
	l1b := memory.New(memory.Options{})
	counted := &counting{Store: l2}
	b := newStore(t, l1b, counted, Options{L1TTL: time.Hour, PubSub: dead, Channel: a.channel})

	mustSet(t, l2, "k", "old")
	for range 3 {
		mustGet(t, b, "k", "old")
	}
	if n := counted.gets.Load(); n != 3 {
		t.Fatalf("3 reads on an unregistered instance made %d L2 reads; want 3", n)
	}
	mustMiss(t, l1b, "k")
	// A write through B reaches L2 (and fails to publish), not L1.
	if err := b.Set(context.Background(), "w", []byte("v"), time.Hour); err == nil {
		t.Fatal("Set with an unreachable PubSub succeeded; want the publish error")
	}
	mustMiss(t, l1b, "w")
	mustGet(t, b, "w", "v")

	mustSet(t, l2, "k", "new")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.DropLocalCopies(ctx); err != nil {
		t.Fatalf("DropLocalCopies: %v", err)
	}
	mustGet(t, b, "k", "new")
	if live, err := a.liveInstances(ctx); err != nil || !slices.Equal(live, ids(a)) {
		t.Fatalf("registered instances %q, %v; want A alone", live, err)
	}
	if b.member.usable() || b.heartbeats.Load() != 0 {
		t.Fatalf("an instance that never reached Redis is registered (%d heartbeats)", b.heartbeats.Load())
	}
}

// TestDropLocalCopiesWaitsForDeadSubscription: B registers, then its
// subscription dies — its subscriber stops reading, or its connection
// hangs — so it misses A's message. A's call must not return nil while B
// may still serve its old copy: with an hour's L1TTL, it returns once B's
// registration has ended, by which time B no longer uses its L1 (which
// still holds the copy) and reads L2. When B recovers, it clears its L1
// before using it again.
func TestDropLocalCopiesWaitsForDeadSubscription(t *testing.T) {
	const instanceTTL = time.Second
	tests := []struct {
		name string
		// kill makes B's subscription dead; it returns what revives it.
		kill func(t *testing.T, b *Store, proxy *testserver.Proxy) (revive func())
	}{
		{"subscriber stops reading", func(t *testing.T, b *Store, _ *testserver.Proxy) func() {
			_, release := slowSubscriber(t, b)
			return release
		}},
		{"connection hangs", func(t *testing.T, _ *Store, proxy *testserver.Proxy) func() {
			proxy.Block()
			return proxy.Unblock
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testserver.SharedRedis(t)
			client := newRedisClient(t, srv)
			l2 := &redisL2{client, newPrefix()}
			opts := Options{L1TTL: time.Hour, InstanceTTL: instanceTTL, PubSub: client, Channel: l2.prefix + "invalidate"}
			a, _ := addInstance(t, l2, opts)
			// B reaches L2 directly, and the channel and registry through
			// a proxy that can hang.
			proxy := testserver.NewProxy(t, srv.Addr())
			viaProxy := goredis.NewClient(&goredis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true})
			t.Cleanup(func() { viaProxy.Close() })
			opts.PubSub = viaProxy
			b, l1b := addInstance(t, l2, opts)
			staleCopies(t, l2, "k", b)

			revive := tt.kill(t, b, proxy)
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := a.DropLocalCopies(ctx); err != nil {
				t.Fatalf("DropLocalCopies = %v; want nil once B's registration has ended", err)
			}
			if b.member.usable() {
				t.Fatal("DropLocalCopies returned while B may still use its L1")
			}
			mustGet(t, l1b, "k", "old") // B still holds the copy...
			mustGet(t, b, "k", "new")   // ...but does not serve it

			revive()
			testwait.For(t, "B to register again", func() bool { return b.member.usable() })
			mustMiss(t, l1b, "k")
			mustGet(t, b, "k", "new")
		})
	}
}

// TestCloseDeregisters: a closed instance leaves the registry, so that
// other instances' DropLocalCopies do not wait for it; it no longer uses
// its L1 (it can hear no invalidations), and reads L2.
func TestCloseDeregisters(t *testing.T) {
	_, l2, st, l1s := pubsubGroup(t, 3)
	a, b, c := st[0], st[1], st[2]
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if live, err := a.liveInstances(ctx); err != nil || !slices.Equal(slices.Sorted(slices.Values(live)), ids(a, b, c)) {
		t.Fatalf("registered instances %q, %v; want all three", live, err)
	}
	staleCopies(t, l2, "k", b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if live, err := a.liveInstances(ctx); err != nil || !slices.Equal(slices.Sorted(slices.Values(live)), ids(a, c)) {
		t.Fatalf("registered instances after B's Close %q, %v; want A and C", live, err)
	}
	mustMiss(t, l1s[1], "k") // Close cleared B's L1
	mustGet(t, b, "k", "new")
	mustGet(t, b, "k", "new")
	mustMiss(t, l1s[1], "k") // and B no longer fills it

	// B would never acknowledge now; C does.
	if err := a.DropLocalCopies(ctx); err != nil {
		t.Fatalf("DropLocalCopies: %v", err)
	}
	if got := acks(t, l2.c, a.channel); !slices.Equal(got, ids(c)) {
		t.Fatalf("acknowledgements: %q; want C's alone", got)
	}

	// A closed instance's own DropLocalCopies still works: it clears
	// nothing of its own, and the others acknowledge.
	staleCopies(t, l2, "k2", c)
	if err := b.DropLocalCopies(ctx); err != nil {
		t.Fatalf("DropLocalCopies of a closed instance: %v", err)
	}
	mustGet(t, c, "k2", "new")
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

// TestDropLocalCopiesCluster: with a Redis Cluster client, whose PUBLISH
// counts the receivers of one node only, the registry still names every
// instance, so that the call returns on acknowledgements (an hour's L1TTL
// and InstanceTTL leave nothing else to return on).
func TestDropLocalCopiesCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster; skipped in -short mode")
	}
	cluster := testserver.SharedRedisCluster(t)
	client := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cluster.Addrs()})
	t.Cleanup(func() { client.Close() })
	l2 := &redisL2{client, newPrefix()}
	opts := Options{L1TTL: time.Hour, InstanceTTL: time.Hour, PubSub: client, Channel: l2.prefix + "invalidate"}
	var st []*Store
	for range 3 {
		s, _ := addInstance(t, l2, opts)
		st = append(st, s)
	}
	a, b, c := st[0], st[1], st[2]
	staleCopies(t, l2, "k", b, c)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := a.DropLocalCopies(ctx); err != nil {
		t.Fatalf("DropLocalCopies: %v", err)
	}
	mustGet(t, b, "k", "new")
	mustGet(t, c, "k", "new")
}
