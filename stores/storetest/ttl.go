package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
)

const (
	day = 24 * time.Hour
	// tick is the resolution at which expiry is checked with Advance.
	tick = time.Millisecond
	// sleepMargin is added to real sleeps past the latest moment a value
	// may still be there: the sleep itself can only run late, so this
	// only covers clock skew between the test and a server.
	sleepMargin = 200 * time.Millisecond
)

func (s *suite) testInvalidTTL(t *testing.T) {
	for _, ttl := range []time.Duration{0, -1, -time.Second, math.MinInt64} {
		t.Run(fmt.Sprint(ttl), func(t *testing.T) {
			st := s.newStore(t)
			old := []byte("old")
			mustSet(t, st, "existing", old, longTTL)
			for _, key := range []string{"fresh", "existing"} {
				err := st.Set(context.Background(), key, []byte("new"), ttl)
				if !errors.Is(err, httpcache.ErrInvalidTTL) {
					t.Fatalf("Set(%q, ttl %v) = %v; want an error wrapping ErrInvalidTTL", key, ttl, err)
				}
				got, err := st.Get(context.Background(), key)
				switch {
				case errors.Is(err, httpcache.ErrNotFound):
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

// testTTLSleeping checks expiry on the store's own clock with one short
// sleep: every key is set first, then checked once before and once after
// the sleep.
func (s *suite) testTTLSleeping(t *testing.T) {
	g := s.opts.TTLGranularity
	ttl := max(time.Second, g)
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
	os, isObjectStore := st.(httpcache.ObjectStore)
	if isObjectStore {
		obj = &object{"expiring"}
		if err := os.SetObject(context.Background(), "object", v, obj, ttl); err != nil {
			t.Fatalf("SetObject: %v", err)
		}
	}
	counter, isCounter := st.(httpcache.Counter)
	if isCounter && mustAdvance(t, counter, "counter", 0) != 1 {
		t.Fatalf("Advance of a new counter did not return 1")
	}
	ti, isTagIndex := st.(httpcache.TagIndex)
	if isTagIndex {
		// A record lasts its ttl; a later shorter ttl does not cut it
		// short, and a later longer one makes the tag outlive the first.
		mustAddTags(t, ti, "own", 3*(ttl+g), "own")
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
	} else {
		t.Logf("the machine is too slow to check values before their %v ttl", ttl)
	}

	time.Sleep(time.Until(setDone.Add(ttl + g + sleepMargin)))
	for _, k := range []string{"ttl", "tiny", "shortened"} {
		expectMiss(t, st, k)
	}
	for _, k := range []string{"extended", "31 days", "365 days"} {
		expectValue(t, st, k, v)
	}
	if isObjectStore {
		expectObjectMiss(t, os, "object")
	}
	if isCounter { // counters never expire
		expectCount(t, st, "counter", 1)
	}
	if isTagIndex {
		expectTagged(t, ti, "own", "own")
		expectTaggedSome(t, ti, "kept", []string{"long"}, []string{"short"})
		expectTaggedSome(t, ti, "grown", []string{"long"}, []string{"short"})
	}
}
