package storetest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/seedcache/httpcache/store"
)

const (
	goroutines = 16
	iterations = 100
	sharedKeys = 4
)

// stamp identifies one write: which key, by whom, when. Values carry it in
// their first 8 bytes and derive the rest from it, so a reader can tell a
// whole value from a mix of two; objects carry it too.
type stamp struct {
	key       uint16 // < sharedKeys: shared; otherwise 100 + goroutine
	goroutine uint16
	iteration uint32
}

func (s stamp) seed() uint64 {
	return uint64(s.key)<<48 | uint64(s.goroutine)<<32 | uint64(s.iteration)
}

// value returns the value written by s: the stamp, then 0 to 508 bytes
// derived from it.
func (s stamp) value() []byte {
	body := fill(int(s.seed()%509), s.seed())
	return append(binary.BigEndian.AppendUint64(nil, s.seed()), body...)
}

// checkStamped reports whether v is exactly a value written to key.
func checkStamped(key uint16, v []byte) error {
	if len(v) < 8 {
		return fmt.Errorf("%d-byte value has no stamp", len(v))
	}
	seed := binary.BigEndian.Uint64(v)
	s := stamp{uint16(seed >> 48), uint16(seed >> 32), uint32(seed)}
	if s.key != key || s.goroutine >= goroutines || s.iteration >= iterations {
		return fmt.Errorf("value stamped %+v was never written to key %d", s, key)
	}
	if d := diff(v, s.value()); d != "" {
		return fmt.Errorf("value stamped %+v is not whole: %s", s, d)
	}
	return nil
}

func keyName(key uint16) string { return fmt.Sprintf("concurrent-%d", key) }

func (s *suite) testConcurrent(t *testing.T) {
	st := s.newStore(t)
	os := store.Probe(st).Objects
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range uint16(goroutines) {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 42))
			private := 100 + g
			for i := range uint32(iterations) {
				if err := s.concurrentStep(ctx, st, os, r, stamp{uint16(r.IntN(sharedKeys)), g, i}, private); err != nil {
					t.Errorf("goroutine %d, iteration %d: %v", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for k := range uint16(sharedKeys) {
		v, err := st.Get(ctx, keyName(k))
		if err == nil {
			err = checkStamped(k, v)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after the goroutines: key %d: %v", k, err)
		}
	}
}

// concurrentStep does one random operation on the shared key named by w,
// or a write-then-read on the goroutine's private key.
func (s *suite) concurrentStep(ctx context.Context, st store.Store, os store.ObjectStore, r *rand.Rand, w stamp, private uint16) error {
	useObject := os != nil && r.IntN(2) == 0
	switch op := r.IntN(10); {
	case op < 4:
		if useObject {
			return os.SetObject(ctx, keyName(w.key), w.value(), w, longTTL)
		}
		return st.Set(ctx, keyName(w.key), w.value(), longTTL)
	case op < 7:
		var v []byte
		var obj any
		var err error
		if useObject {
			v, obj, err = os.GetObject(ctx, keyName(w.key))
		} else {
			v, err = st.Get(ctx, keyName(w.key))
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := checkStamped(w.key, v); err != nil {
			return err
		}
		if obj != nil {
			if o, ok := obj.(stamp); !ok || o.seed() != binary.BigEndian.Uint64(v) {
				return fmt.Errorf("object %#v came back with a value stamped %x", obj, v[:8])
			}
		}
		return nil
	case op < 8:
		return st.Delete(ctx, keyName(w.key))
	default:
		w.key = private
		want := w.value()
		if err := st.Set(ctx, keyName(private), want, longTTL); err != nil {
			return err
		}
		got, err := st.Get(ctx, keyName(private))
		if err != nil {
			return fmt.Errorf("Get of the private key just set: %w", err)
		}
		if d := diff(got, want); d != "" {
			return fmt.Errorf("Get of the private key just set: %s", d)
		}
		if r.IntN(4) == 0 {
			if err := st.Delete(ctx, keyName(private)); err != nil {
				return err
			}
			if _, err := st.Get(ctx, keyName(private)); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("Get of the private key just deleted = %v; want ErrNotFound", err)
			}
		}
		return nil
	}
}
