package memory

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// counter is the value of a counter made by Advance.
type counter struct {
	n    int64
	text []byte // n in decimal: what Get returns; replaced, never changed, by Advance
}

// Advance sets the counter called name to the larger of floor and its
// value plus one, a missing counter counting as zero, and returns the new
// value. Concurrent calls never return the same value.
//
// Get and GetObject read a counter like an entry, as its value in decimal
// ASCII ("42"); Set replaces it with an ordinary entry, and Delete removes
// it. An ordinary entry under name that holds a decimal integer becomes the
// counter, as with Redis; one that holds anything else is an error.
//
// Counters live outside the LRU lists: they never expire, are never
// evicted, survive Clear, and are not counted in Options.MaxBytes,
// Options.MaxEntries or Stats. A purge clock, such as the middleware keeps
// in a shared store's counter, must only grow: the middleware re-creates a
// lost one from the wall clock, which is right only as long as that clock
// has not stepped back, so here a counter is never lost to memory
// pressure. Each counter costs about a hundred bytes besides its name, so
// they are meant for a few names, not one per key.
func (s *Store) Advance(ctx context.Context, name string, floor int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := s.clock()
	sh := s.shardFor(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.counters[name]
	var n int64
	e, isEntry := sh.lru.Peek(name) // never both an entry and a counter
	switch {
	case c != nil:
		n = c.n
	case isEntry && now.Before(e.expires):
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
			sh.lru.Remove(name)
			s.forget(sh, name, e) // not an eviction: the value goes on as the counter
		}
		if sh.counters == nil {
			sh.counters = make(map[string]*counter)
		}
		c = &counter{}
		// Cloned so as not to pin a larger string that name may be a
		// slice of.
		sh.counters[strings.Clone(name)] = c
	}
	c.n = max(n+1, floor)
	// A new slice each time: callers may still hold the old one, which
	// Get handed out as read-only.
	c.text = strconv.AppendInt(make([]byte, 0, 20), c.n, 10)
	return c.n, nil
}
