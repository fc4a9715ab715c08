package memory

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// entry is what the store keeps under a key. It is stored by value in the
// LRU list element, so an entry costs one allocation besides its key and
// value.
type entry struct {
	value   []byte
	obj     any
	expires time.Time // gone at and after this instant
	size    int64     // bytes counted against MaxBytes
}

// shard is one lock and the LRU list it guards.
//
// simplelru is used rather than golang-lru's locked Cache because the store
// needs its own lock anyway: a byte budget shared by all shards is charged
// and relieved in the same critical section as the list change, which the
// locked Cache's eviction callback (run after its lock is released, without
// the size of what it replaced) cannot do exactly.
type shard struct {
	mu  sync.Mutex
	lru *simplelru.LRU[string, entry]
	_   [64 - 16]byte // keep neighbouring shards' locks off one cache line
}

func (sh *shard) init() {
	// The store evicts by its own budgets before simplelru's count bound
	// could ever apply, so that bound is set out of reach.
	lru, err := simplelru.NewLRU[string, entry](math.MaxInt, nil)
	if err != nil {
		panic("memory: " + err.Error())
	}
	sh.lru = lru
}

// counters are the store-wide budgets and statistics, shared by all shards.
type counters struct {
	bytes     atomic.Int64
	entries   atomic.Int64
	evictions atomic.Uint64
}

// release uncounts an entry that has left its shard.
func (c *counters) release(size int64) {
	c.bytes.Add(-size)
	c.entries.Add(-1)
}

func (s *Store) overBudget() bool {
	return s.bytes.Load() > s.maxBytes || s.entries.Load() > s.maxEntries
}

// insert stores e under key in sh, replacing any entry there, and then
// evicts least recently used entries until the store is within its
// budgets: first from sh, whose lock it already holds, and only if sh has
// nothing else to give, from the other shards in turn.
//
// Concurrent inserts into different shards may each see the store over
// budget and evict, so the store can briefly dip below its budgets by an
// entry or two, and it is above them only while an insert is running.
func (s *Store) insert(sh *shard, key string, e entry) {
	sh.mu.Lock()
	if old, ok := sh.lru.Peek(key); ok {
		s.release(old.size)
	} else {
		// A new key is cloned so that the store does not pin a larger
		// string that key may be a slice of, which would make the byte
		// accounting untrue. An overwrite keeps the stored key.
		key = strings.Clone(key)
	}
	sh.lru.Add(key, e) // replaces and refreshes an existing entry in place
	s.bytes.Add(e.size)
	s.entries.Add(1)
	for sh.lru.Len() > 1 && s.overBudget() {
		s.evictOldest(sh)
	}
	sh.mu.Unlock()
	if s.overBudget() {
		s.evictElsewhere(sh)
	}
}

// evictElsewhere evicts from the shards other than sh, one entry from each
// in turn, until the store is within budget or they are empty.
func (s *Store) evictElsewhere(sh *shard) {
	for s.overBudget() {
		evicted := false
		for i := range s.shards {
			o := &s.shards[i]
			if o == sh {
				continue
			}
			o.mu.Lock()
			if o.lru.Len() > 0 && s.overBudget() {
				s.evictOldest(o)
				evicted = true
			}
			o.mu.Unlock()
		}
		if !evicted {
			return
		}
	}
}

// evictOldest evicts the least recently used entry of sh, whose lock the
// caller holds.
func (s *Store) evictOldest(sh *shard) {
	if _, e, ok := sh.lru.RemoveOldest(); ok {
		s.release(e.size)
		s.evictions.Add(1)
	}
}
