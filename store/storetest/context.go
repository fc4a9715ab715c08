package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

// promptly bounds how long a call with a done context may take. It is far
// above any real store's latency and only tells a hang from a return.
const promptly = 10 * time.Second

// within runs f and fails t if it does not return promptly.
func within[T any](t *testing.T, what string, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(promptly):
		t.Fatalf("%s with a done context did not return within %v", what, promptly)
		panic("unreachable")
	}
}

// withinErr is within for a call that returns only an error.
func withinErr(t *testing.T, what string, f func() error) error {
	t.Helper()
	_, err := within(t, what, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// isCtxErr reports whether err is, or wraps, the error of ctx (done).
func isCtxErr(ctx context.Context, err error) bool { return err != nil && errors.Is(err, ctx.Err()) }

// doneContexts returns contexts that are already done, in each way a
// context can be.
func doneContexts(t *testing.T) []struct {
	name string
	ctx  context.Context
} {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	t.Cleanup(cancel)
	caused, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(errors.New("storetest: client went away"))
	return []struct {
		name string
		ctx  context.Context
	}{
		{"canceled", canceled},
		{"deadline exceeded", expired},
		{"canceled with cause", caused},
	}
}

// checkHolds checks that key holds one of allowed, or nothing if mayMiss:
// what an operation that returned the context's error may leave behind.
func checkHolds(t *testing.T, st store.Store, key string, mayMiss bool, allowed ...[]byte) {
	t.Helper()
	got, err := st.Get(context.Background(), key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !mayMiss {
			t.Fatalf("Get(%q) = ErrNotFound; want one of %q", key, allowed)
		}
	case err != nil:
		t.Fatalf("Get(%q): %v", key, err)
	case !slices.ContainsFunc(allowed, func(a []byte) bool { return diff(got, a) == "" }):
		t.Fatalf("Get(%q) = %q; want one of %q (or a miss: %v)", key, got, allowed, mayMiss)
	}
}

func (s *suite) testDoneContext(t *testing.T) {
	for _, c := range doneContexts(t) {
		t.Run(c.name, func(t *testing.T) {
			ctx := c.ctx
			st := s.newStore(t)
			old, nu := []byte("old"), []byte("new")
			for _, k := range []string{"get", "set", "delete"} {
				mustSet(t, st, k, old, longTTL)
			}

			got, err := within(t, "Get", func() ([]byte, error) { return st.Get(ctx, "get") })
			if !isCtxErr(ctx, err) {
				if err != nil {
					t.Fatalf("Get(present key) = %v; want the value or an error wrapping %v", err, ctx.Err())
				}
				if d := diff(got, old); d != "" {
					t.Fatalf("Get(present key): %s", d)
				}
			}
			_, err = within(t, "Get", func() ([]byte, error) { return st.Get(ctx, "missing") })
			if !isCtxErr(ctx, err) && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get(missing key) = %v; want ErrNotFound or an error wrapping %v", err, ctx.Err())
			}

			err = withinErr(t, "Set", func() error { return st.Set(ctx, "set", nu, longTTL) })
			switch {
			case err == nil:
				expectValue(t, st, "set", nu)
			case isCtxErr(ctx, err):
				checkHolds(t, st, "set", false, old, nu)
			default:
				t.Fatalf("Set = %v; want nil or an error wrapping %v", err, ctx.Err())
			}
			err = withinErr(t, "Set", func() error { return st.Set(ctx, "fresh", nu, longTTL) })
			switch {
			case err == nil:
				expectValue(t, st, "fresh", nu)
			case isCtxErr(ctx, err):
				checkHolds(t, st, "fresh", true, nu)
			default:
				t.Fatalf("Set = %v; want nil or an error wrapping %v", err, ctx.Err())
			}

			err = withinErr(t, "Delete", func() error { return st.Delete(ctx, "delete", "missing") })
			switch {
			case err == nil:
				expectMiss(t, st, "delete")
			case isCtxErr(ctx, err):
				checkHolds(t, st, "delete", true, old)
			default:
				t.Fatalf("Delete = %v; want nil or an error wrapping %v", err, ctx.Err())
			}

			if os := store.Probe(st).Objects; os != nil {
				s.checkObjectDoneContext(t, ctx, os)
			}
		})
	}
}

func (s *suite) checkObjectDoneContext(t *testing.T, ctx context.Context, os store.ObjectStore) {
	t.Helper()
	v, obj := []byte("object value"), &object{"done context"}
	err := withinErr(t, "SetObject", func() error {
		return os.SetObject(ctx, "object", v, obj, longTTL)
	})
	switch {
	case err == nil:
		expectObject(t, os, "object", v, obj)
	case isCtxErr(ctx, err):
		checkHolds(t, os, "object", true, v)
	default:
		t.Fatalf("SetObject = %v; want nil or an error wrapping %v", err, ctx.Err())
	}

	stored := &object{"stored"}
	if err := os.SetObject(context.Background(), "stored", v, stored, longTTL); err != nil {
		t.Fatalf("SetObject: %v", err)
	}
	type pair struct {
		v   []byte
		obj any
	}
	p, err := within(t, "GetObject", func() (pair, error) {
		v, obj, err := os.GetObject(ctx, "stored")
		return pair{v, obj}, err
	})
	if !isCtxErr(ctx, err) {
		if err != nil {
			t.Fatalf("GetObject(present key) = %v; want the value or an error wrapping %v", err, ctx.Err())
		}
		if d := diff(p.v, v); d != "" || p.obj != any(stored) {
			t.Fatalf("GetObject(present key) = %v, %v; want %q, %v", p.v, p.obj, v, stored)
		}
	}
}
