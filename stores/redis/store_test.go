package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/redis"
)

// setArgs is a hook that records the arguments of every SET.
type setArgs struct {
	counter // for DialHook and ProcessPipelineHook
	args    chan []any
}

func (h *setArgs) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if cmd.Name() == "set" {
			h.args <- cmd.Args()
		}
		return next(ctx, cmd)
	}
}

func TestSetTTLRounding(t *testing.T) {
	client := singleClient(t)
	hook := &setArgs{args: make(chan []any, 1)}
	client.AddHook(hook)
	prefix := freshPrefix(t)
	st := redis.New(client, redis.Options{KeyPrefix: prefix})
	ctx := context.Background()

	tests := []struct {
		ttl    time.Duration
		wantPX int64
	}{
		{time.Nanosecond, 1},
		{time.Millisecond, 1},
		{time.Millisecond + 1, 2},
		{999 * time.Microsecond, 1},
		{time.Second, 1000},
		{1500 * time.Millisecond, 1500},
		{2*time.Second + 100*time.Microsecond, 2001},
		{time.Hour, 3_600_000},
		{365 * 24 * time.Hour, 31_536_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.ttl.String(), func(t *testing.T) {
			key := "ttl-" + tt.ttl.String()
			if err := st.Set(ctx, key, []byte("v"), tt.ttl); err != nil {
				t.Fatalf("Set: %v", err)
			}
			// The command sent: SET key value PX ms, always PX.
			args := <-hook.args
			if len(args) != 5 || args[3] != "px" || args[4] != tt.wantPX {
				t.Errorf("Set with ttl %v sent %q; want SET key value px %d", tt.ttl, args, tt.wantPX)
			}
			// What Redis made of it.
			pttl, err := client.PTTL(ctx, prefix+key).Result()
			if err != nil {
				t.Fatalf("PTTL: %v", err)
			}
			want := time.Duration(tt.wantPX) * time.Millisecond
			if tt.wantPX >= 1000 && (pttl > want || pttl < want-500*time.Millisecond) {
				t.Errorf("PTTL after Set with ttl %v = %v; want at most %v and close to it", tt.ttl, pttl, want)
			}
			if tt.wantPX < 1000 && pttl > want {
				t.Errorf("PTTL after Set with ttl %v = %v; want at most %v", tt.ttl, pttl, want)
			}
		})
	}
}

// TestRefusedSetSendsNothing checks that a Set refused for its ttl or its
// size sends no command: a missing or zero ttl would mean "forever" to Redis.
func TestRefusedSetSendsNothing(t *testing.T) {
	client := singleClient(t)
	c := count(client)
	st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t), MaxValueSize: 10})
	ctx := context.Background()
	tests := []struct {
		name  string
		value []byte
		ttl   time.Duration
		want  error
	}{
		{"zero ttl", []byte("v"), 0, store.ErrInvalidTTL},
		{"negative ttl", []byte("v"), -time.Millisecond, store.ErrInvalidTTL},
		{"too large", make([]byte, 11), time.Minute, store.ErrTooLarge},
		{"too large, zero ttl", make([]byte, 11), 0, store.ErrInvalidTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.roundTrips()
			err := st.Set(ctx, "k", tt.value, tt.ttl)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Set = %v; want an error wrapping %v", err, tt.want)
			}
			if n := c.roundTrips() - before; n != 0 {
				t.Errorf("refused Set made %d round trips; want 0", n)
			}
		})
	}
	if err := st.Set(ctx, "k", make([]byte, 10), time.Minute); err != nil {
		t.Errorf("Set of exactly MaxValueSize bytes: %v", err)
	}
}

func TestDefaultMaxValueSize(t *testing.T) {
	client := singleClient(t)
	st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
	ctx := context.Background()
	big := make([]byte, redis.DefaultMaxValueSize+1)
	if err := st.Set(ctx, "k", big, time.Minute); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("Set of DefaultMaxValueSize+1 bytes = %v; want ErrTooLarge", err)
	}
	big = big[:redis.DefaultMaxValueSize]
	big[len(big)-1] = 'x'
	if err := st.Set(ctx, "k", big, time.Minute); err != nil {
		t.Fatalf("Set of DefaultMaxValueSize bytes: %v", err)
	}
	got, err := st.Get(ctx, "k")
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get = %d bytes, %v; want the %d bytes set", len(got), err, len(big))
	}
}

func TestKeyPrefix(t *testing.T) {
	client := singleClient(t)
	base := freshPrefix(t)
	a := redis.New(client, redis.Options{KeyPrefix: base + "a:"})
	b := redis.New(client, redis.Options{KeyPrefix: base + "b:"})
	ctx := context.Background()
	for _, kv := range []struct {
		st *redis.Store
		v  string
	}{{a, "from a"}, {b, "from b"}} {
		if err := kv.st.Set(ctx, "k", []byte(kv.v), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// Each store sees its own value, under its own Redis key.
	for _, kv := range []struct {
		st     *redis.Store
		prefix string
		v      string
	}{{a, base + "a:", "from a"}, {b, base + "b:", "from b"}} {
		if got, err := kv.st.Get(ctx, "k"); err != nil || string(got) != kv.v {
			t.Errorf("Get = %q, %v; want %q", got, err, kv.v)
		}
		if got, err := client.Get(ctx, kv.prefix+"k").Result(); err != nil || got != kv.v {
			t.Errorf("GET %sk = %q, %v; want %q", kv.prefix, got, err, kv.v)
		}
	}
	// Deleting and multi-getting through one leaves the other alone.
	if err := a.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a.Get after a.Delete = %v; want ErrNotFound", err)
	}
	if got, err := b.GetMulti(ctx, "k"); err != nil || len(got) != 1 || string(got[0]) != "from b" {
		t.Errorf("b.GetMulti after a.Delete = %q, %v; want [from b]", got, err)
	}
	// Without a prefix the key is used as it is.
	plain := redis.New(client, redis.Options{})
	if err := plain.Set(ctx, base+"plain", []byte("p"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := client.Get(ctx, base+"plain").Result(); err != nil || got != "p" {
		t.Errorf("GET of a key set without a prefix = %q, %v", got, err)
	}
}

// TestClientStaysOpen checks that the store never closes its client, even
// after a call abandoned to its context.
func TestClientStaysOpen(t *testing.T) {
	client := singleClient(t)
	func() {
		st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
		ctx, cancel := context.WithCancel(context.Background())
		_ = st.Set(ctx, "k", []byte("v"), time.Minute)
		_, _ = st.Get(ctx, "k")
		_, _ = st.GetMulti(ctx, "k", "l")
		cancel()
		_, _ = st.Get(ctx, "k")
		_ = st.Delete(context.Background(), "k")
	}()
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("client after the store is done: %v", err)
	}
}

func TestNewPanics(t *testing.T) {
	tests := []struct {
		name   string
		client goredis.UniversalClient
		opts   redis.Options
	}{
		{"nil client", nil, redis.Options{}},
		{"negative MaxValueSize", goredis.NewClient(&goredis.Options{}), redis.Options{MaxValueSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("New did not panic")
				} else if msg := fmt.Sprint(r); len(msg) < 6 || msg[:6] != "redis:" {
					t.Errorf("panic %q has no package prefix", msg)
				}
			}()
			redis.New(tt.client, tt.opts)
		})
		if tt.client != nil {
			tt.client.Close()
		}
	}
}

// TestClusterDeleteManySlots deletes keys spread over every node of the
// cluster in one call: one DEL per slot, in one pipeline, never a CROSSSLOT
// error.
func TestClusterDeleteManySlots(t *testing.T) {
	client := clusterClient(t)
	st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
	ctx := context.Background()
	var keys []string
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("key-%d", i))
	}
	// Some keys share a slot through a hash tag, others do not exist.
	keys = append(keys, "{tag}a", "{tag}b", "{tag}c", "missing-1", "missing-2", "key-7")
	for _, k := range keys[:len(keys)-3] {
		if err := st.Set(ctx, k, []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	clusterHook := count(client)
	nodeHooks := countNodes(t, client)

	if err := st.Delete(ctx, keys...); err != nil {
		t.Fatalf("Delete of %d keys in many slots: %v", len(keys), err)
	}
	if got := clusterHook.pipelines.Load(); got != 1 || clusterHook.commands.Load() != 0 {
		t.Errorf("Delete made %d pipelines and %d single commands; want one pipeline",
			got, clusterHook.commands.Load())
	}
	for addr, h := range nodeHooks {
		if n := h.roundTrips(); n != 1 {
			t.Errorf("node %s got %d round trips; want one (200 keys reach every node)", addr, n)
		}
	}
	got, err := st.GetMulti(ctx, keys...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != nil {
			t.Errorf("%s still holds %q after Delete", keys[i], v)
		}
	}
}

// countNodes adds a counter to each master of a cluster client, by address.
func countNodes(t *testing.T, client *goredis.ClusterClient) map[string]*counter {
	t.Helper()
	var mu sync.Mutex // ForEachMaster calls fn in parallel
	hooks := make(map[string]*counter)
	err := client.ForEachMaster(context.Background(), func(_ context.Context, node *goredis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		hooks[node.Options().Addr] = count(node)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(hooks) < 2 {
		t.Fatalf("cluster has %d masters; want several", len(hooks))
	}
	return hooks
}
