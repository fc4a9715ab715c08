package tiered

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/internal/testwait"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/store/storetest"
	"github.com/seedcache/httpcache/stores/memory"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// The L2 stores below are minimal stand-ins for stores/redis and
// stores/memcached, enough to run this package's tests against real
// servers without depending on those packages.

// prefixes makes key prefixes (and channel names) unique within the test
// binary; shared servers outlive single tests.
var prefixes atomic.Int64

func newPrefix() string { return fmt.Sprintf("tiered-test-%d-%d:", os.Getpid(), prefixes.Add(1)) }

// redisL2 is an store.Store on Redis with a key prefix.
type redisL2 struct {
	c      goredis.UniversalClient
	prefix string
}

func (r *redisL2) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := r.c.Get(ctx, r.prefix+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, store.ErrNotFound
	}
	return v, err
}

func (r *redisL2) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return store.ErrInvalidTTL
	}
	return r.c.Set(ctx, r.prefix+key, value, ttl).Err()
}

func (r *redisL2) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	prefixed := make([]string, len(keys))
	for i, k := range keys {
		prefixed[i] = r.prefix + k
	}
	return r.c.Del(ctx, prefixed...).Err()
}

// advanceScript sets KEYS[1] to the larger of ARGV[1] and its value plus
// one, refusing where Lua's doubles would no longer count exactly (from
// 2^53, the suite's largest counter), to expire in ARGV[2] milliseconds
// (never, if 0).
var advanceScript = goredis.NewScript(`local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v >= 2^53 then
	return redis.error_reply('ERR counter at 2^53')
end
local n = math.max(v + 1, tonumber(ARGV[1]))
local ms = tonumber(ARGV[2])
if ms > 0 then
	redis.call('SET', KEYS[1], string.format('%d', n), 'PX', ms)
else
	redis.call('SET', KEYS[1], string.format('%d', n))
end
return n`)

// Advance makes redisL2 an store.Counter.
func (r *redisL2) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, store.ErrInvalidTTL
	}
	ms := int64(0)
	if ttl > 0 {
		ms = max(1, ttl.Milliseconds())
	}
	return advanceScript.Run(ctx, r.c, []string{r.prefix + name}, floor, ms).Int64()
}

// AddTags, TaggedKeys and RemoveTags make redisL2 an store.TagIndex: a
// Redis set per tag, whose expiry is only ever extended.
func (r *redisL2) AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	if ttl <= 0 {
		return store.ErrInvalidTTL
	}
	_, err := r.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, tag := range tags {
			k := r.tagKey(tag)
			p.SAdd(ctx, k, key)
			ms := ttl.Milliseconds() + 1
			p.Do(ctx, "pexpire", k, ms, "nx")
			p.Do(ctx, "pexpire", k, ms, "gt")
		}
		return nil
	})
	return err
}

func (r *redisL2) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	return r.c.SMembers(ctx, r.tagKey(tag)).Result()
}

func (r *redisL2) RemoveTags(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	keys := make([]string, len(tags))
	for i, tag := range tags {
		keys[i] = r.tagKey(tag)
	}
	return r.c.Del(ctx, keys...).Err()
}

func (r *redisL2) tagKey(tag string) string { return r.prefix + "tag:" + tag }

// memcachedL2 is an store.Store on Memcached: keys are hashed (so any
// key is legal), values past the suite's default limit refused, ttls
// rounded up to whole seconds.
type memcachedL2 struct {
	c      *memcache.Client
	prefix string
}

func (m *memcachedL2) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return m.prefix + hex.EncodeToString(sum[:])
}

func (m *memcachedL2) Get(ctx context.Context, key string) ([]byte, error) {
	it, err := m.c.Get(m.key(key))
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return it.Value, nil
}

func (m *memcachedL2) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return store.ErrInvalidTTL
	}
	if len(value) > storetest.DefaultMaxValueSize {
		return store.ErrTooLarge
	}
	return m.c.Set(&memcache.Item{Key: m.key(key), Value: value, Expiration: memcachedExpiration(ttl)})
}

// memcachedExpiration is ttl as memcached's Expiration, as stores/memcached
// makes it: whole seconds, rounded up, plus one for memcached's clock,
// which may tick right after the set; past 30 days, a Unix time, which
// memcached reads as one.
func memcachedExpiration(ttl time.Duration) int32 {
	secs := int64((ttl+time.Second-1)/time.Second) + 1
	if secs > 30*24*3600 {
		secs += time.Now().Unix()
	}
	return int32(secs)
}

func (m *memcachedL2) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if err := m.c.Delete(m.key(k)); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
			return err
		}
	}
	return nil
}

// Advance makes memcachedL2 an store.Counter: gets and cas, or add
// for a missing counter, until no other client got in between. It has no
// tag index.
func (m *memcachedL2) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, store.ErrInvalidTTL
	}
	key := m.key(name)
	exp := int32(0)
	if ttl > 0 {
		exp = memcachedExpiration(ttl)
	}
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		it, err := m.c.Get(key)
		switch {
		case errors.Is(err, memcache.ErrCacheMiss):
			n := max(1, floor)
			err = m.c.Add(&memcache.Item{Key: key, Value: []byte(strconv.FormatInt(n, 10)), Expiration: exp})
			if err == nil {
				return n, nil
			}
			if !errors.Is(err, memcache.ErrNotStored) {
				return 0, err
			}
		case err != nil:
			return 0, err
		default:
			v, err := strconv.ParseInt(string(it.Value), 10, 64)
			if err != nil {
				return 0, err
			}
			n := max(v+1, floor)
			it.Value = []byte(strconv.FormatInt(n, 10))
			it.Expiration = exp
			err = m.c.CompareAndSwap(it)
			if err == nil {
				return n, nil
			}
			if !errors.Is(err, memcache.ErrCASConflict) && !errors.Is(err, memcache.ErrNotStored) {
				return 0, err
			}
		}
	}
}

// plainL2 hides every optional interface of the store it holds.
type plainL2 struct{ store.Store }

// counting counts the calls that reach an L2.
type counting struct {
	store.Store
	gets, sets, deletes atomic.Int64
}

func (c *counting) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key)
}

func (c *counting) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	c.sets.Add(1)
	return c.Store.Set(ctx, key, value, ttl)
}

func (c *counting) Delete(ctx context.Context, keys ...string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, keys...)
}

// newRedisClient returns a client of srv that the test's cleanup closes.
func newRedisClient(t testing.TB, srv *testserver.Server) goredis.UniversalClient {
	t.Helper()
	opt, err := goredis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// newStore returns a tiered store that the test's cleanup closes.
func newStore(t testing.TB, l1 *memory.Store, l2 store.Store, opts Options) *Store {
	t.Helper()
	s := New(l1, l2, opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// waitTimeout bounds every wait for something asynchronous: a message to
// be handled, a server to be back. It only tells a hang from progress.
const waitTimeout = testwait.Timeout

// waitSubscribed waits until s has had n subscriptions confirmed.
func waitSubscribed(t testing.TB, s *Store, n int64) {
	t.Helper()
	testwait.For(t, fmt.Sprintf("subscription %d", n), func() bool { return s.subscriptions.Load() >= n })
}

// waitLive waits until s is registered and may use its L1.
func waitLive(t testing.TB, s *Store) {
	t.Helper()
	testwait.For(t, "the store to be registered", s.member.usable)
}

// mustGet fails t unless key holds want in st.
func mustGet(t testing.TB, st store.Store, key, want string) {
	t.Helper()
	got, err := st.Get(context.Background(), key)
	if err != nil || string(got) != want {
		t.Fatalf("Get(%q) = %q, %v; want %q", key, got, err, want)
	}
}

// mustMiss fails t unless key is a miss in st.
func mustMiss(t testing.TB, st store.Store, key string) {
	t.Helper()
	if got, err := st.Get(context.Background(), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

func mustSet(t testing.TB, st store.Store, key, value string) {
	t.Helper()
	if err := st.Set(context.Background(), key, []byte(value), time.Hour); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}
