package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/seedcache/httpcache/internal/testserver"
	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/stores/redis"
)

// guard bounds how long a call that must return by its context's deadline
// may take before a test calls it hung. It only tells a hang from a return:
// the deadlines are 50 ms, and a hung go-redis call takes its ReadTimeout
// (5 s by default, set longer below where it matters).
const guard = 5 * time.Second

// within runs f and fails t if it does not return within guard.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(guard)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("%s did not return within %v", what, guard)
		return nil
	}
}

// ops are the store's calls, for fault tests that try each.
var ops = []struct {
	name string
	call func(ctx context.Context, st *redis.Store) error
}{
	{"Get", func(ctx context.Context, st *redis.Store) error { _, err := st.Get(ctx, "k"); return err }},
	{"Set", func(ctx context.Context, st *redis.Store) error { return st.Set(ctx, "k", []byte("v"), time.Minute) }},
	{"Delete", func(ctx context.Context, st *redis.Store) error { return st.Delete(ctx, "k", "l") }},
	{"GetMulti", func(ctx context.Context, st *redis.Store) error { _, err := st.GetMulti(ctx, "k", "l"); return err }},
	{"Lease", func(ctx context.Context, st *redis.Store) error {
		_, err := st.Lease(ctx, "lease", "tok", time.Minute)
		return err
	}},
	{"Release", func(ctx context.Context, st *redis.Store) error { return st.Release(ctx, "lease", "tok") }},
	{"Advance", func(ctx context.Context, st *redis.Store) error {
		_, err := st.Advance(ctx, "counter", 0, time.Minute)
		return err
	}},
	{"AddTags", func(ctx context.Context, st *redis.Store) error {
		return st.AddTags(ctx, "k", []string{"a", "b"}, time.Minute)
	}},
	{"TaggedKeys", func(ctx context.Context, st *redis.Store) error { _, err := st.TaggedKeys(ctx, "a"); return err }},
	{"RemoveTags", func(ctx context.Context, st *redis.Store) error { return st.RemoveTags(ctx, "a", "b") }},
}

// TestServerDown stops the server under a store: every call fails with an
// error that is not a miss, without hanging, and the store works again
// once the server is back.
func TestServerDown(t *testing.T) {
	srv := testserver.Redis(t)
	srv.SkipIfExternal(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	defer client.Close()
	st := redis.New(client, redis.Options{})
	ctx := context.Background()
	if err := st.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	t.Run("down", func(t *testing.T) {
		for _, op := range ops {
			t.Run(op.name, func(t *testing.T) {
				// go-redis retries the dial for about 2 s: in parallel.
				t.Parallel()
				// No deadline: the error must be the connection's own.
				err := within(t, op.name, func() error { return op.call(ctx, st) })
				if err == nil || errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s with the server down = %v; want a connection error", op.name, err)
				}
				t.Logf("%s with the server down: %v", op.name, err)
			})
		}
	})

	// With the middleware's deadline, the calls end by it.
	for _, op := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := within(t, op.name, func() error { return op.call(ctx, st) })
		cancel()
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s with the server down and a deadline = %v; want an error", op.name, err)
		}
	}

	srv.Start() // empty again: no persistence
	// The calls above may have tripped go-redis's dial breaker: once a
	// pool has seen PoolSize failed dials (10 per GOMAXPROCS; each call
	// counts once per retry), its Get fails fast with the last dial error
	// until a background probe, one a second, dials again (ConnPool.tryDial
	// in internal/pool/pool.go). So the store must work again within about
	// a second, not at once.
	start := time.Now()
	for {
		err := st.Set(ctx, "k", []byte("back"), time.Minute)
		if err == nil {
			break
		}
		if time.Since(start) > guard {
			t.Fatalf("Set %v after the server came back: %v", guard, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("Set worked again %v after the server came back", time.Since(start))
	if got, err := st.Get(ctx, "k"); err != nil || string(got) != "back" {
		t.Fatalf("Get after the server came back = %q, %v", got, err)
	}
}

// TestBlackholed puts a proxy that forwards nothing between the client and
// the server: every call must return by its context's 50 ms deadline with
// an error wrapping context.DeadlineExceeded, on a client with go-redis's
// default options (which would itself wait out its 5 s ReadTimeout, see
// TestGoRedisContextDeadline) and on one with ContextTimeoutEnabled (which
// would not notice a cancellation).
func TestBlackholed(t *testing.T) {
	for _, opts := range []goredis.Options{{}, {ContextTimeoutEnabled: true}} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", opts.ContextTimeoutEnabled), func(t *testing.T) {
			t.Parallel()
			srv := testserver.SharedRedis(t)
			proxy := testserver.NewProxy(t, srv.Addr())
			opts.Addr = proxy.Addr()
			client := goredis.NewClient(&opts)
			defer client.Close()
			st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
			if err := st.Set(context.Background(), "k", []byte("v"), time.Minute); err != nil {
				t.Fatal(err)
			}

			proxy.Block()
			for _, op := range ops {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				err := within(t, op.name, func() error { return op.call(ctx, st) })
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s on a blackholed server = %v; want an error wrapping context.DeadlineExceeded", op.name, err)
				}
			}
			// Cancellation without a deadline is honoured too.
			for _, op := range ops {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				err := within(t, op.name, func() error { return op.call(ctx, st) })
				if !errors.Is(err, context.Canceled) {
					t.Errorf("%s on a blackholed server, canceled = %v; want an error wrapping context.Canceled", op.name, err)
				}
			}

			// Once the server answers again, so does the store. (The
			// abandoned Delete may yet reach the server: "k" may be gone.)
			proxy.Unblock()
			ctx := context.Background()
			if err := st.Set(ctx, "after", []byte("ok"), time.Minute); err != nil {
				t.Fatalf("Set after Unblock: %v", err)
			}
			if got, err := st.Get(ctx, "after"); err != nil || string(got) != "ok" {
				t.Errorf("Get after Unblock = %q, %v", got, err)
			}
		})
	}
}

// TestAbandonedCommandEnds checks the bound on the goroutine a call leaves
// behind when its context ends first: it finishes within the client's own
// ReadTimeout.
func TestAbandonedCommandEnds(t *testing.T) {
	srv := testserver.Redis(t)
	proxy := testserver.NewProxy(t, srv.Addr())
	const readTimeout = 300 * time.Millisecond
	client := goredis.NewClient(&goredis.Options{Addr: proxy.Addr(), ReadTimeout: readTimeout})
	defer client.Close()
	hook := &finished{done: make(chan time.Time, 10)}
	st := redis.New(client, redis.Options{KeyPrefix: freshPrefix(t)})
	if _, err := st.GetMulti(context.Background(), "warm", "up"); err != nil {
		t.Fatal(err)
	}
	client.AddHook(hook)

	proxy.Block()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := st.Get(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get = %v; want context.DeadlineExceeded", err)
	}
	returned := time.Since(start)
	select {
	case end := <-hook.done:
		t.Logf("Get returned after %v; its command ended after %v", returned, end.Sub(start))
	case <-time.After(guard):
		t.Fatalf("the abandoned GET had not ended %v later (ReadTimeout %v)", guard, readTimeout)
	}
}

// finished is a go-redis hook that reports when each command ends.
type finished struct{ done chan time.Time }

func (h *finished) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *finished) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

func (h *finished) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		h.done <- time.Now()
		return err
	}
}

// TestAbandonedSetKeepsNoSlice checks that a Set that returned its
// context's error while its value was still being written (to a server
// that stopped reading) does not go on to write the caller's slice as it
// is by then: the value that finally lands is the one passed, or none.
func TestAbandonedSetKeepsNoSlice(t *testing.T) {
	for _, opts := range []goredis.Options{{}, {ContextTimeoutEnabled: true}} {
		t.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", opts.ContextTimeoutEnabled), func(t *testing.T) {
			srv := testserver.SharedRedis(t)
			proxy := testserver.NewProxy(t, srv.Addr())
			opts.Addr = proxy.Addr()
			client := goredis.NewClient(&opts)
			defer client.Close()
			prefix := freshPrefix(t)
			st := redis.New(client, redis.Options{KeyPrefix: prefix})
			if err := client.Ping(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			hook := &finished{done: make(chan time.Time, 4)}
			client.AddHook(hook)

			// Larger than the loopback socket buffers, so that the write
			// blocks until Unblock.
			value := bytes.Repeat([]byte("original"), redis.DefaultMaxValueSize/8)
			proxy.Block()
			// Time enough to start writing (copying 16 MiB is slow under
			// -race), before the deadline passes.
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			err := within(t, "Set", func() error { return st.Set(ctx, "k", value, time.Minute) })
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Set = %v; want context.DeadlineExceeded", err)
			}
			for i := range value {
				value[i] = 'X'
			}
			proxy.Unblock()

			select {
			case <-hook.done: // the SET has ended, whichever way
			case <-time.After(2 * guard):
				t.Fatalf("the abandoned SET had not ended %v after Unblock", 2*guard)
			}
			got, err := client.Get(context.Background(), prefix+"k").Result()
			switch {
			case errors.Is(err, goredis.Nil):
				t.Logf("the abandoned SET did not land")
			case err != nil:
				t.Fatalf("GET: %v", err)
			case got != strings.Repeat("original", redis.DefaultMaxValueSize/8):
				t.Fatalf("the abandoned SET stored a changed value (%d bytes, first %q)", len(got), got[:min(16, len(got))])
			default:
				t.Logf("the abandoned SET landed with the value passed")
			}
		})
	}
}
