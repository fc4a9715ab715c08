package memory

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/seedcache/httpcache/store"
)

// counter is the value of a counter made by Advance.
type counter struct {
	n       int64
	text    []byte // n in decimal: what Get returns; replaced, never changed, by Advance
	name    string // its key in the shard's counters
	expires int64  // on the store's clock (see Store.now); never: never
	index   int    // in the shard's expiring heap; -1 when not in it
}

// expired reports whether c has expired at now (see Store.now):
// a counter is gone at and after its expiry, as an entry is.
func (c *counter) expired(now int64) bool {
	return c.expires != never && now >= c.expires
}

// Advance sets the counter called name to the larger of floor and its
// value plus one, a missing counter counting as zero, and returns the new
// value. Concurrent calls never return the same value. With ttl > 0 the
// counter expires ttl after the call on Options.Clock (each Advance renews
// it); with ttl 0 it never expires. A negative ttl is refused with an error
// wrapping store.ErrInvalidTTL, changing nothing.
//
// Get and GetObject read a counter like an entry, as its value in decimal
// ASCII ("42"); Set replaces it with an ordinary entry, and Delete removes
// it. An ordinary entry under name that holds a decimal integer becomes the
// counter, as with Redis; one that holds anything else is an error.
//
// Counters live outside the LRU lists: while alive they are never evicted,
// survive Clear, and are not counted in Options.MaxBytes,
// Options.MaxEntries or Stats. A purge clock, such as the middleware keeps
// in a shared store's counter with ttl 0, must only grow: the middleware
// re-creates a lost one from the wall clock, which is right only as long
// as that clock has not stepped back, so here a counter is never lost to
// memory pressure. Nor are the middleware's per-tag purge markers, which
// it keeps in counters with a ttl.
//
// An expired counter reads as missing, and Advance starts it again from
// zero. It leaves the store when it is found expired, by a read or by
// Advance, and otherwise when Advance, Set or Clear next takes the lock of
// its shard: each shard keeps its counters that have a ttl in a heap by
// expiry, whose earliest ones those calls remove, so that counters made
// with ttls (one per purged tag) hold memory only while they are alive.
// Each counter costs about 150 bytes besides its name, so they are meant
// for a few names, or for names that expire, not one per key.
func (s *Store) Advance(ctx context.Context, name string, floor int64, ttl time.Duration) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if ttl < 0 {
		return 0, fmt.Errorf("memory: Advance of %q with ttl %v: %w", name, ttl, store.ErrInvalidTTL)
	}
	nowNano := s.now()
	sh, h := s.shardFor(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.sweepCounters(nowNano) // name's own counter too, if it has expired
	c := sh.counters[name]
	var n int64
	e, isEntry := sh.lru.Peek(h, name) // never both an entry and a counter
	switch {
	case c != nil:
		n = c.n
	case isEntry && nowNano < e.expires:
		var err error
		if n, err = strconv.ParseInt(string(e.value), 10, 64); err != nil {
			return 0, fmt.Errorf("memory: Advance of %q, which holds an entry that is not a decimal integer", name)
		}
	}
	if n == math.MaxInt64 {
		return 0, fmt.Errorf("memory: Advance of %q would overflow int64", name)
	}
	if c == nil {
		if isEntry {
			sh.lru.Remove(h, name)
			s.forget(sh, name, e) // not an eviction: the value goes on as the counter
		}
		if sh.counters == nil {
			sh.counters = make(map[string]*counter)
		}
		// Cloned so as not to pin a larger string that name may be a
		// slice of.
		c = &counter{name: strings.Clone(name), index: -1}
		sh.counters[c.name] = c
	}
	c.n = max(n+1, floor)
	// A new slice each time: callers may still hold the old one, which
	// Get handed out as read-only.
	c.text = strconv.AppendInt(make([]byte, 0, 20), c.n, 10)
	expires := int64(never)
	if ttl > 0 {
		expires = expiryNano(nowNano, ttl)
	}
	sh.setCounterExpiry(c, expires)
	return c.n, nil
}

// counterHeap is a shard's counters that have an expiry, earliest first.
type counterHeap []*counter

func (h counterHeap) Len() int           { return len(h) }
func (h counterHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }

func (h counterHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *counterHeap) Push(x any) {
	c := x.(*counter)
	c.index = len(*h)
	*h = append(*h, c)
}

func (h *counterHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil // not pinned by the array
	*h = old[:len(old)-1]
	c.index = -1
	return c
}

// never is the expiry of a counter that does not expire: past any the
// store's clock can give (see expiryNano).
const never = math.MaxInt64

// setCounterExpiry sets c's expiry (or never) and keeps sh's heap of
// expiring counters in step. The caller holds sh's lock.
func (sh *shard) setCounterExpiry(c *counter, expires int64) {
	c.expires = expires
	switch {
	case c.index >= 0 && expires == never:
		heap.Remove(sh.expiring, c.index)
	case c.index >= 0:
		heap.Fix(sh.expiring, c.index)
	case expires != never:
		if sh.expiring == nil {
			sh.expiring = new(counterHeap)
		}
		heap.Push(sh.expiring, c)
	}
}

// dropCounter removes c from sh. The caller holds sh's lock.
func (sh *shard) dropCounter(c *counter) {
	delete(sh.counters, c.name)
	if c.index >= 0 {
		heap.Remove(sh.expiring, c.index)
	}
}

// dropCounterNamed removes the counter called name from sh, if there is
// one. The caller holds sh's lock.
func (sh *shard) dropCounterNamed(name string) {
	if c := sh.counters[name]; c != nil {
		sh.dropCounter(c)
	}
}

// sweepCounters removes sh's counters that have expired at now
// (see Store.now): a look at the top of the heap when none has,
// which is nothing at all in a shard without expiring counters. The caller
// holds sh's lock.
func (sh *shard) sweepCounters(now int64) {
	h := sh.expiring
	if h == nil {
		return
	}
	for len(*h) > 0 && (*h)[0].expired(now) {
		c := heap.Pop(h).(*counter)
		delete(sh.counters, c.name)
	}
	if len(*h) == 0 && cap(*h) > 64 {
		sh.expiring = nil // let a heap grown by a burst of markers go
	}
}

// expiryNano is ttl after now, both in Unix nanoseconds, saturating at the
// largest time there is.
func expiryNano(now int64, ttl time.Duration) int64 {
	if until := now + int64(ttl); until >= now {
		return until
	}
	return math.MaxInt64
}
