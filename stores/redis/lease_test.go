package redis_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/redis"
)

// leaseClients are the kinds of client the lease tests run on.
var leaseClients = []struct {
	name   string
	client func(testing.TB) goredis.UniversalClient
}{
	{"single", func(tb testing.TB) goredis.UniversalClient { return singleClient(tb) }},
	{"cluster", func(tb testing.TB) goredis.UniversalClient { return clusterClient(tb) }},
}

// recorder is a go-redis hook that counts round trips, as counter does, and
// records the arguments of every command sent on its own.
type recorder struct {
	counter
	mu   sync.Mutex
	args [][]any
}

func (r *recorder) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	count := r.counter.ProcessHook(next)
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if !isHandshake(cmd) {
			r.mu.Lock()
			r.args = append(r.args, cmd.Args())
			r.mu.Unlock()
		}
		return count(ctx, cmd)
	}
}

// since returns the names of the commands recorded since the call that
// returned mark, and a new mark.
func (r *recorder) since(mark int) (names []string, next int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.args[mark:] {
		names = append(names, fmt.Sprint(a[0]))
	}
	return names, len(r.args)
}

// last returns the arguments of the last command recorded.
func (r *recorder) last() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.args) == 0 {
		return nil
	}
	return r.args[len(r.args)-1]
}

func record(client goredis.UniversalClient) *recorder {
	r := &recorder{}
	client.AddHook(r)
	return r
}

// TestLease takes, refuses, releases and lets expire one lease, step by
// step, checking after each step who holds it in Redis itself.
func TestLease(t *testing.T) {
	const name = "lease"
	steps := []struct {
		name       string
		release    bool // Release rather than Lease
		token      string
		want       bool   // Lease's result
		wantHolder string // the key's value afterwards; "" for none
	}{
		{"free lease is taken", false, "a", true, "a"},
		{"held lease is refused to another", false, "b", false, "a"},
		{"held lease is refused to its holder", false, "a", false, "a"},
		{"release by another leaves it", true, "b", false, "a"},
		{"still refused after a foreign release", false, "c", false, "a"},
		{"release by the holder frees it", true, "a", false, ""},
		{"freed lease is taken again", false, "b", true, "b"},
		{"release by the new holder", true, "b", false, ""},
		{"release of a missing lease", true, "b", false, ""},
	}
	for _, c := range leaseClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := c.client(t)
			prefix := freshPrefix(t)
			st := redis.New(client, redis.Options{KeyPrefix: prefix})
			ctx := context.Background()
			for _, step := range steps {
				t.Run(step.name, func(t *testing.T) {
					if step.release {
						if err := st.Release(ctx, name, step.token); err != nil {
							t.Fatalf("Release(%q) = %v; want nil", step.token, err)
						}
					} else {
						got, err := st.Lease(ctx, name, step.token, time.Minute)
						if err != nil || got != step.want {
							t.Fatalf("Lease(%q) = %v, %v; want %v, nil", step.token, got, err, step.want)
						}
					}
					// KeyPrefix applies: the lease is the prefixed key.
					holder, err := client.Get(ctx, prefix+name).Result()
					if errors.Is(err, goredis.Nil) {
						holder, err = "", nil
					}
					if err != nil || holder != step.wantHolder {
						t.Fatalf("GET %s%s = %q, %v; want %q", prefix, name, holder, err, step.wantHolder)
					}
				})
			}
		})
	}
}

// TestLeaseExpiry checks that the ttl is sent in milliseconds and that the
// lease frees itself when it runs out, after which the old holder's
// Release leaves the new holder's lease alone.
func TestLeaseExpiry(t *testing.T) {
	const ttl = 50 * time.Millisecond
	for _, c := range leaseClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := c.client(t)
			rec := record(client)
			prefix := freshPrefix(t)
			st := redis.New(client, redis.Options{KeyPrefix: prefix})
			ctx := context.Background()

			if got, err := st.Lease(ctx, "l", "old", ttl); err != nil || !got {
				t.Fatalf("Lease = %v, %v; want true", got, err)
			}
			want := []any{"set", prefix + "l", "old", "nx", "px", int64(50)}
			if got := rec.last(); !slices.Equal(got, want) {
				t.Errorf("Lease sent %q; want %q", got, want)
			}
			// What Redis made of it: at most 50 ms left, or already gone on
			// a slow machine (-2), never the seconds of an EX.
			switch pttl, err := client.PTTL(ctx, prefix+"l").Result(); {
			case err != nil:
				t.Fatalf("PTTL: %v", err)
			case pttl == -2:
				t.Logf("the lease had expired before PTTL")
			case pttl <= 0 || pttl > ttl:
				t.Errorf("PTTL = %v; want in (0, %v]", pttl, ttl)
			}

			// Poll until the lease has expired: it must, within guard.
			deadline := time.Now().Add(guard)
			for {
				got, err := st.Lease(ctx, "l", "new", time.Minute)
				if err != nil {
					t.Fatalf("Lease after expiry: %v", err)
				}
				if got {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a %v lease was still held after %v", ttl, guard)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := st.Release(ctx, "l", "old"); err != nil {
				t.Fatalf("Release by the expired holder: %v", err)
			}
			if holder, err := client.Get(ctx, prefix+"l").Result(); err != nil || holder != "new" {
				t.Errorf("after the expired holder's Release, GET = %q, %v; want %q", holder, err, "new")
			}
		})
	}
}

// TestLeaseTTL checks the ttl rounding and that a ttl <= 0 is refused
// without a round trip: Redis would refuse PX 0 and a negative PX, and a
// lease without an expiry would outlive a crashed holder.
func TestLeaseTTL(t *testing.T) {
	for _, c := range leaseClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := c.client(t)
			rec := record(client)
			st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
			ctx := context.Background()
			tests := []struct {
				name    string
				ttl     time.Duration
				wantPX  int64 // 0: refused
				wantErr error
			}{
				{"zero", 0, 0, store.ErrInvalidTTL},
				{"negative", -time.Millisecond, 0, store.ErrInvalidTTL},
				{"one nanosecond", time.Nanosecond, 1, nil},
				{"just over a millisecond", time.Millisecond + 1, 2, nil},
				{"a second and a half", 1500 * time.Millisecond, 1500, nil},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := rec.roundTrips()
					got, err := st.Lease(ctx, tt.name, "tok", tt.ttl)
					trips := rec.roundTrips() - before
					if tt.wantErr != nil {
						if got || !errors.Is(err, tt.wantErr) {
							t.Errorf("Lease with ttl %v = %v, %v; want false and an error wrapping %v", tt.ttl, got, err, tt.wantErr)
						}
						if trips != 0 {
							t.Errorf("refused Lease made %d round trips; want 0", trips)
						}
						return
					}
					if err != nil || !got {
						t.Fatalf("Lease with ttl %v = %v, %v; want true", tt.ttl, got, err)
					}
					if args := rec.last(); len(args) != 6 || args[4] != "px" || args[5] != tt.wantPX {
						t.Errorf("Lease with ttl %v sent %q; want px %d", tt.ttl, args, tt.wantPX)
					}
				})
			}
		})
	}
}

// TestLeasePrefix checks that stores with different prefixes hold
// different leases of one name, and that a store without a prefix uses the
// name as it is.
func TestLeasePrefix(t *testing.T) {
	client := singleClient(t)
	base := freshPrefix(t)
	a := redis.New(client, redis.Options{KeyPrefix: base + "a:"})
	b := redis.New(client, redis.Options{KeyPrefix: base + "b:"})
	plain := redis.New(client, redis.Options{})
	ctx := context.Background()
	for _, tt := range []struct {
		st   *redis.Store
		name string
		key  string
	}{
		{a, "l", base + "a:l"},
		{b, "l", base + "b:l"},
		{plain, base + "l", base + "l"},
	} {
		if got, err := tt.st.Lease(ctx, tt.name, "tok-"+tt.key, time.Minute); err != nil || !got {
			t.Fatalf("Lease(%q) = %v, %v; want true: no other prefix holds it", tt.name, got, err)
		}
		if holder, err := client.Get(ctx, tt.key).Result(); err != nil || holder != "tok-"+tt.key {
			t.Errorf("GET %s = %q, %v; want the lease's token", tt.key, holder, err)
		}
		if err := tt.st.Release(ctx, tt.name, "tok-"+tt.key); err != nil {
			t.Fatal(err)
		}
		if n, err := client.Exists(ctx, tt.key).Result(); err != nil || n != 0 {
			t.Errorf("EXISTS %s after Release = %d, %v; want 0", tt.key, n, err)
		}
	}
}

// TestLeaseRace has many goroutines race for one lease: exactly one wins.
func TestLeaseRace(t *testing.T) {
	const racers = 20
	for _, c := range leaseClients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := c.client(t)
			st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
			ctx := context.Background()
			if err := client.Ping(ctx).Err(); err != nil { // dial before the race
				t.Fatal(err)
			}
			start := make(chan struct{})
			won := make(chan string, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() {
					token := fmt.Sprintf("racer-%d", i)
					<-start
					got, err := st.Lease(ctx, "race", token, time.Minute)
					if err != nil {
						t.Errorf("Lease by %s: %v", token, err)
					}
					if got {
						won <- token
					}
				})
			}
			close(start)
			wg.Wait()
			close(won)
			var winners []string
			for w := range won {
				winners = append(winners, w)
			}
			if len(winners) != 1 {
				t.Fatalf("%d of %d racers got the lease (%q); want exactly one", len(winners), racers, winners)
			}
		})
	}
}

// TestReleaseScriptCache checks Release on a server that does not have the
// script cached: EVALSHA, NOSCRIPT, then EVAL, which caches it, so that the
// next Release is one EVALSHA.
func TestReleaseScriptCache(t *testing.T) {
	srv := testserver.Redis(t) // fresh: no scripts cached
	srv.SkipIfExternal(t)      // an external server may have it cached already
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer client.Close()
	rec := record(client)
	prefix := freshPrefix(t)
	st := redis.New(client, redis.Options{KeyPrefix: prefix})
	ctx := context.Background()

	mark := 0
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"first Release", []string{"evalsha", "eval"}},
		{"second Release", []string{"evalsha"}},
	} {
		if got, err := st.Lease(ctx, "l", "tok", time.Minute); err != nil || !got {
			t.Fatalf("Lease = %v, %v; want true", got, err)
		}
		_, mark = rec.since(mark)
		if err := st.Release(ctx, "l", "tok"); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var sent []string
		sent, mark = rec.since(mark)
		if !slices.Equal(sent, tt.want) {
			t.Errorf("%s sent %q; want %q", tt.name, sent, tt.want)
		}
		if n, err := client.Exists(ctx, prefix+"l").Result(); err != nil || n != 0 {
			t.Errorf("EXISTS after %s = %d, %v; want 0", tt.name, n, err)
		}
	}
}
