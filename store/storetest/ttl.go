package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
)

const (
	day = 24 * time.Hour
	// tick is the resolution at which expiry is checked with Advance.
	tick = time.Millisecond
	// sleepMargin is added to real sleeps past the latest moment a value
	// may still be there: the sleep itself can only run late, so this
	// only covers clock skew between the test and a server.
	sleepMargin = 200 * time.Millisecond
	// lateMargin is how long after that an expired value may still be
	// read: a server's own clock (memcached's ticks once a second, from
	// a thread) runs late on a loaded machine. Values that must be gone
	// are polled for until then.
	lateMargin = 2 * time.Second
)

// expectGone checks that key is gone from st, allowing the server's clock
// until lateMargin to catch up.
func expectGone(t *testing.T, st store.Store, key string) {
	t.Helper()
	for deadline := time.Now().Add(lateMargin); ; time.Sleep(50 * time.Millisecond) {
		got, err := st.Get(context.Background(), key)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get(%s) = %d bytes, %v, %v after it should have expired; want an error wrapping ErrNotFound",
				showKey(key), len(got), err, sleepMargin+lateMargin)
		}
	}
}

func (s *suite) testInvalidTTL(t *testing.T) {
	for _, ttl := range []time.Duration{0, -1, -time.Second, math.MinInt64} {
		t.Run(fmt.Sprint(ttl), func(t *testing.T) {
			st := s.newStore(t)
			old := []byte("old")
			mustSet(t, st, "existing", old, longTTL)
			for _, key := range []string{"fresh", "existing"} {
				err := st.Set(context.Background(), key, []byte("new"), ttl)
				if !errors.Is(err, store.ErrInvalidTTL) {
					t.Fatalf("Set(%q, ttl %v) = %v; want an error wrapping ErrInvalidTTL", key, ttl, err)
				}
				got, err := st.Get(context.Background(), key)
				switch {
				case errors.Is(err, store.ErrNotFound):
				case err != nil:
					t.Fatalf("Get(%q) after a refused Set: %v", key, err)
				case key == "existing" && diff(got, old) == "":
				default:
					t.Fatalf("Get(%q) after Set with ttl %v was refused = %q; want the old value or ErrNotFound", key, ttl, got)
				}
			}
		})
	}
}

func (s *suite) testTTL(t *testing.T) {
	if s.opts.Advance == nil {
		s.testTTLSleeping(t)
		return
	}
	g := s.opts.TTLGranularity
	advance := s.opts.Advance
	// A value is there until ttl-tick and gone at ttl+g.
	for _, ttl := range []time.Duration{tick, time.Second, 1500 * time.Millisecond, 31 * day, 365 * day} {
		t.Run(fmt.Sprint(ttl), func(t *testing.T) {
			st := s.newStore(t)
			v := []byte("expiring")
			mustSet(t, st, "k", v, ttl)
			expectValue(t, st, "k", v)
			advance(ttl - tick)
			expectValue(t, st, "k", v)
			advance(tick + g)
			expectMiss(t, st, "k")
			// The key can be used again.
			mustSet(t, st, "k", v, ttl)
			expectValue(t, st, "k", v)
		})
	}
	t.Run("overwrite extends", func(t *testing.T) {
		st := s.newStore(t)
		mustSet(t, st, "k", []byte("1"), time.Second)
		advance(800 * time.Millisecond)
		mustSet(t, st, "k", []byte("2"), time.Second)
		advance(time.Second - tick)
		expectValue(t, st, "k", []byte("2"))
		advance(tick + g)
		expectMiss(t, st, "k")
	})
	t.Run("overwrite shortens", func(t *testing.T) {
		st := s.newStore(t)
		mustSet(t, st, "k", []byte("1"), longTTL)
		mustSet(t, st, "k", []byte("2"), time.Second)
		advance(time.Second + g)
		expectMiss(t, st, "k")
	})
	t.Run("keys expire independently", func(t *testing.T) {
		st := s.newStore(t)
		mustSet(t, st, "short", []byte("s"), time.Second)
		mustSet(t, st, "long", []byte("l"), 2*time.Second+g)
		advance(time.Second + g)
		expectMiss(t, st, "short")
		expectValue(t, st, "long", []byte("l"))
	})
}

// testTTLSleeping checks expiry on the store's own clock with short
// sleeps: every key is set first, then checked once before and once after
// the sleep. Counters take more sleeps, to show that an Advance renews a
// counter's ttl: one advanced again before its ttl is over is still there
// when it could no longer be without the renewal, and gone some time after
// its last Advance.
func (s *suite) testTTLSleeping(t *testing.T) {
	g := s.opts.TTLGranularity
	ttl := max(time.Second, g)
	// The renewed counter's ttl, in whole seconds as TTLGranularity
	// assumes: long enough for a renewal that comes after the moment
	// from which the check below could no longer find the first Advance's
	// counter (g+sleepMargin), and still before its ttl is over, with
	// time to spare on both sides.
	renewTTL := max(ttl, (g + sleepMargin + ttl/2 + time.Second - 1).Truncate(time.Second))
	renewAt := (g + sleepMargin + renewTTL) / 2 // after setDone
	st := s.newStore(t)
	v := []byte("expiring")

	start := time.Now()
	mustSet(t, st, "ttl", v, ttl)
	mustSet(t, st, "tiny", v, tick) // rounded up, never down to "forever"
	mustSet(t, st, "extended", v, ttl)
	mustSet(t, st, "extended", v, longTTL)
	mustSet(t, st, "shortened", v, longTTL)
	mustSet(t, st, "shortened", v, ttl)
	mustSet(t, st, "31 days", v, 31*day) // memcached reads > 30 days as a Unix time
	mustSet(t, st, "365 days", v, 365*day)
	var obj *object
	caps := store.Probe(st)
	os, isObjectStore := caps.Objects, caps.Objects != nil
	if isObjectStore {
		obj = &object{"expiring"}
		if err := os.SetObject(context.Background(), "object", v, obj, ttl); err != nil {
			t.Fatalf("SetObject: %v", err)
		}
	}
	counter, isCounter := caps.Counter, caps.Counter != nil
	var first time.Time // before the renewed counter's first Advance
	if isCounter {
		first = time.Now()
		for _, step := range []struct {
			name string
			ttl  time.Duration
			want int64
		}{
			{"counter renewed", renewTTL, 1},
			{"counter", 0, 1},
			{"counter with ttl", ttl, 1},
			{"counter made permanent", ttl, 1},
			{"counter made permanent", 0, 2},
			{"counter given a ttl", 0, 1},
			{"counter given a ttl", ttl, 2},
		} {
			if n := mustAdvanceTTL(t, counter, step.name, 0, step.ttl); n != step.want {
				t.Fatalf("Advance(%q, 0, ttl %v) = %d; want %d", step.name, step.ttl, n, step.want)
			}
		}
	}
	ti, isTagIndex := caps.Tags, caps.Tags != nil
	if isTagIndex {
		// A record lasts its ttl; a later shorter ttl does not cut it
		// short, and a later longer one makes the tag outlive the first.
		storeKeys(t, ti, longTTL, "own", "long", "short")
		mustAddTags(t, ti, "own", 3*(ttl+g), "own tag")
		mustAddTags(t, ti, "long", longTTL, "kept")
		mustAddTags(t, ti, "short", tick, "kept")
		mustAddTags(t, ti, "short", tick, "grown")
		mustAddTags(t, ti, "long", longTTL, "grown")
	}
	setDone := time.Now()

	if time.Since(start) < ttl {
		for _, k := range []string{"ttl", "extended", "shortened", "31 days", "365 days"} {
			expectValue(t, st, k, v)
		}
		if isObjectStore {
			expectObject(t, os, "object", v, obj)
		}
		if isCounter {
			expectCount(t, st, "counter with ttl", 1)
			expectCount(t, st, "counter given a ttl", 2)
		}
	} else {
		t.Logf("the machine is too slow to check values before their %v ttl", ttl)
	}

	// Renew one counter halfway between the moment from which, were it
	// not renewed, it could be gone by the check below (renewTTL+g after
	// its first Advance) and the end of its first ttl.
	var renewed, renewDone time.Time
	if isCounter {
		time.Sleep(time.Until(setDone.Add(renewAt)))
		renewed = time.Now()
		if renewed.Sub(first) < renewTTL {
			if n := mustAdvanceTTL(t, counter, "counter renewed", 0, renewTTL); n != 2 {
				t.Fatalf("Advance of a counter renewed before its ttl = %d; want 2", n)
			}
			renewDone = time.Now()
		} else {
			t.Logf("the machine is too slow to renew a counter within its %v ttl", renewTTL)
		}
	}

	time.Sleep(time.Until(setDone.Add(ttl + g + sleepMargin)))
	for _, k := range []string{"ttl", "tiny", "shortened"} {
		expectGone(t, st, k)
	}
	for _, k := range []string{"extended", "31 days", "365 days"} {
		expectValue(t, st, k, v)
	}
	if isObjectStore {
		expectObjectMiss(t, os, "object")
	}
	if isCounter {
		expectCount(t, st, "counter", 1) // ttl 0: never expires
		expectCount(t, st, "counter made permanent", 2)
		expectGone(t, st, "counter given a ttl")
		expectGone(t, st, "counter with ttl")
		// An expired counter starts again from nothing.
		if n := mustAdvanceTTL(t, counter, "counter with ttl", 0, ttl); n != 1 {
			t.Errorf("Advance of an expired counter = %d; want 1", n)
		}
	}
	if isTagIndex {
		expectTagged(t, ti, "own tag", "own")
		expectTaggedSome(t, ti, "kept", []string{"long"}, []string{"short"})
		expectTaggedSome(t, ti, "grown", []string{"long"}, []string{"short"})
	}

	if isCounter && !renewDone.IsZero() {
		// Past the latest moment the first Advance's ttl could keep
		// it, and within the renewal's.
		time.Sleep(time.Until(setDone.Add(renewTTL + g + sleepMargin)))
		if time.Since(renewed) < renewTTL {
			expectCount(t, st, "counter renewed", 2)
		} else {
			t.Logf("the machine is too slow to check a renewed counter within its %v ttl", renewTTL)
		}
		time.Sleep(time.Until(renewDone.Add(renewTTL + g + sleepMargin)))
		expectGone(t, st, "counter renewed")
		expectCount(t, st, "counter made permanent", 2)
	}
}
