package tiered

import (
	"context"
	"slices"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
)

// TestMembership steps a membership through registrations on a clock that
// moves only when told to.
func TestMembership(t *testing.T) {
	var now int64
	m := &membership{now: func() int64 { return now }}
	clears := 0
	clear := func() { clears++ }
	type renewal struct{ sent, valid int64 }
	steps := []struct {
		name       string
		now        int64
		renew      *renewal // a heartbeat that succeeded at now
		end        bool
		wantUsable bool
		wantClears int
	}{
		{"before the first registration", 0, nil, false, false, 0},
		{"the first registration clears L1", 10, &renewal{5, 100}, false, true, 1},
		{"in use", 104, nil, false, true, 1},
		{"renewed in time: no clear", 104, &renewal{90, 100}, false, true, 1},
		{"the renewal extends it", 189, nil, false, true, 1},
		{"ended", 190, nil, false, false, 1},
		{"registered again: clears", 200, &renewal{195, 100}, false, true, 2},
		// A heartbeat that began while L1 was in use and succeeded
		// after that use ended: L1 went unused in between, and another
		// instance may have found this one unregistered then.
		{"renewal returning after the end: clears", 300, &renewal{290, 100}, false, true, 3},
		{"a late renewal never shortens it", 301, &renewal{100, 100}, false, true, 3},
		{"still in use", 389, nil, false, true, 3},
		{"Close", 389, nil, true, false, 3},
		{"a renewal after Close changes nothing", 390, &renewal{389, 100}, false, false, 3},
	}
	for _, st := range steps {
		now = st.now
		if st.renew != nil {
			m.renewed(st.renew.sent, st.renew.valid, clear)
		}
		if st.end {
			m.end()
		}
		if got := m.usable(); got != st.wantUsable || clears != st.wantClears {
			t.Fatalf("%s: usable %v, %d clears; want %v, %d", st.name, got, clears, st.wantUsable, st.wantClears)
		}
	}
	if always := newMembership(false); !always.usable() {
		t.Fatal("without PubSub, L1 is not in use")
	}
	if m := newMembership(true); m.usable() {
		t.Fatal("with PubSub, L1 is in use before any registration")
	}
}

// TestRegistry checks the registry in Redis: one sorted set scored by the
// end of each registration on the server's clock, which lasts as long as
// its longest registration and forgets ended ones.
func TestRegistry(t *testing.T) {
	ctx := context.Background()
	client, _, st, _ := pubsubGroup(t, 2)
	a := st[0]
	key := a.registryKey()

	// Scores end an hour (InstanceTTL) from the server's now.
	serverNow, err := client.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	members, err := client.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil || len(members) != 2 {
		t.Fatalf("registry %v, %v; want two members", members, err)
	}
	for _, m := range members {
		end := time.UnixMicro(int64(m.Score))
		if d := end.Sub(serverNow); d <= 50*time.Minute || d > time.Hour {
			t.Errorf("registration of %v ends %v from the server's now; want about an hour", m.Member, d)
		}
	}
	if ttl, err := client.PTTL(ctx, key).Result(); err != nil || ttl < time.Hour {
		t.Errorf("registry's ttl %v, %v; want at least the longest registration", ttl, err)
	}

	// An ended registration is not live, and the next heartbeat forgets
	// it; one that ends later is kept.
	past := float64(serverNow.Add(-time.Second).UnixMicro())
	later := float64(serverNow.Add(2 * time.Hour).UnixMicro())
	if err := client.ZAdd(ctx, key, goredis.Z{Score: past, Member: "ended"}, goredis.Z{Score: later, Member: "later"}).Err(); err != nil {
		t.Fatal(err)
	}
	live, err := a.liveInstances(ctx)
	if err != nil || slices.Contains(live, "ended") || !slices.Contains(live, "later") || len(live) != 3 {
		t.Fatalf("live instances %q, %v; want A, B and later", live, err)
	}
	beats := a.heartbeats.Load()
	a.kick <- struct{}{}
	testwait.For(t, "a heartbeat", func() bool { return a.heartbeats.Load() > beats })
	if _, err := client.ZScore(ctx, key, "ended").Result(); err != goredis.Nil {
		t.Errorf("an ended registration is still in the registry after a heartbeat (%v)", err)
	}
	if ttl, err := client.PTTL(ctx, key).Result(); err != nil || ttl < 2*time.Hour {
		t.Errorf("registry's ttl %v, %v; want at least the longest registration (2 h)", ttl, err)
	}
}

// TestLapsedInstanceClearsL1: an instance whose registration ended — here
// because its connection to Redis hung, without any purge — reads L2
// meanwhile, and clears its L1 when it registers again: another instance's
// purge may have found it unregistered and not waited for it.
func TestLapsedInstanceClearsL1(t *testing.T) {
	srv := testserver.SharedRedis(t)
	client := newRedisClient(t, srv)
	l2 := &redisL2{client, newPrefix()}
	proxy := testserver.NewProxy(t, srv.Addr())
	viaProxy := goredis.NewClient(&goredis.Options{Addr: proxy.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { viaProxy.Close() })
	b, l1b := addInstance(t, l2, Options{L1TTL: time.Hour, InstanceTTL: time.Second, PubSub: viaProxy, Channel: l2.prefix + "invalidate"})
	staleCopies(t, l2, "k", b)

	proxy.Block()
	testwait.For(t, "B's registration to end", func() bool { return !b.member.usable() })
	mustGet(t, l1b, "k", "old")
	mustGet(t, b, "k", "new")
	proxy.Unblock()
	waitLive(t, b)
	if n := b.subscriptions.Load(); n != 1 {
		// A resubscription clears L1 too, and would hide the one
		// under test.
		t.Fatalf("B resubscribed (%d confirmations); the connection should have hung, not dropped", n)
	}
	mustMiss(t, l1b, "k")
	mustGet(t, b, "k", "new")
}
