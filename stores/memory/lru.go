package memory

import (
	"strings"
	"sync"
	"sync/atomic"
)

// entry is what the store keeps under a key. It is stored by value in its
// slot of the shard's recency array, so an entry costs no allocation
// besides its key and value.
type entry struct {
	value   []byte
	obj     any
	expires int64 // gone at and after this instant (Unix ns on Options.Clock)
	size    int64 // bytes counted against MaxBytes, besides tags
}

// shard is one lock and what it guards: an LRU list of entries, the
// counters and the tag index of the keys that hash to it.
//
// The list is the store's own (recency) rather than a locked LRU
// library's: a byte budget shared by all shards is charged and relieved in
// the same critical section as the list change, and the entries are kept
// in one array rather than a node each.
//
// Counters and tag records live under the shard lock of their key, so that
// a Set, Delete or Advance of one name, and the removal of an entry with its
// tag records, each take one lock that the hit path takes anyway: neither
// feature adds a lock, global or not, to Get.
type shard struct {
	mu       sync.Mutex
	lru      *recency
	counters map[string]*counter // outside the LRU: never evicted (see Advance)
	expiring *counterHeap        // the counters with an expiry, earliest first; nil if none
	tags     map[string]*tagSet  // tag -> its records of this shard's keys
	tagged   map[string]*keyTags // key -> its records, for tagged keys only
	orphans  orphans             // tagged keys without an entry (see AddTags)
	// No padding: on 64-bit platforms the fields fill 64 bytes, a cache
	// line, exactly, which keeps neighbouring shards' locks off one
	// (TestShardSize checks it); a trailing padding field of zero bytes
	// would itself add padding.
}

func (sh *shard) init() { sh.lru = newRecency() }

// tallies are the store-wide budgets and statistics, shared by all shards
// (not to be confused with the counters of Advance).
type tallies struct {
	bytes     atomic.Int64
	entries   atomic.Int64
	evictions atomic.Uint64
}

// forget uncounts the entry e that has left sh's list under key (deleted,
// expired, evicted or overwritten) and removes its tag records, so that
// the tag index never holds a key the store does not. The caller holds
// sh's lock. It does not allocate: Get calls it for an entry found
// expired.
func (s *Store) forget(sh *shard, key string, e entry) {
	s.bytes.Add(-e.size - sh.untag(key))
	s.entries.Add(-1)
}

func (s *Store) overBudget() bool {
	return s.bytes.Load() > s.maxBytes || s.entries.Load() > s.maxEntries
}

// insert stores e under key (hash h) in sh, replacing any entry there, and then
// evicts least recently used entries until the store is within its
// budgets: first from sh, whose lock it already holds, and only if sh has
// nothing else to give, from the other shards in turn.
//
// Concurrent inserts into different shards may each see the store over
// budget and evict, so the store can briefly dip below its budgets by an
// entry or two, and it is above them only while an insert is running.
func (s *Store) insert(sh *shard, h uint64, key string, e entry, now int64) {
	sh.mu.Lock()
	// A counter of that name is replaced, as a Redis SET replaces one;
	// and counters found expired go, so that a shard's expired counters
	// leave even if it sees no more Advance.
	sh.dropCounterNamed(key)
	sh.sweepCounters(now)
	if old, ok := sh.lru.Peek(h, key); ok {
		s.forget(sh, key, old) // an overwrite keeps none of the old tags
	} else {
		// A new key is cloned so that the store does not pin a larger
		// string that key may be a slice of, which would make the byte
		// accounting untrue. An overwrite keeps the stored key.
		key = strings.Clone(key)
		s.bytes.Add(-sh.untag(key)) // an orphan's records describe no value
	}
	sh.lru.Add(h, key, e) // replaces and refreshes an existing entry in place
	s.bytes.Add(e.size)
	s.entries.Add(1)
	s.evictFrom(sh)
	sh.mu.Unlock()
	if s.overBudget() {
		s.evictElsewhere(sh)
	}
}

// evictFrom evicts from sh, whose lock the caller holds, while the store
// is over budget: orphan tag records, then least recently used entries,
// leaving at least one entry.
func (s *Store) evictFrom(sh *shard) {
	for (sh.lru.Len() > 1 || sh.orphans.head != nil) && s.overBudget() {
		s.evictOldest(sh)
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
			if (o.lru.Len() > 0 || o.orphans.head != nil) && s.overBudget() {
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

// evictOldest evicts the oldest orphan tag records of sh (see AddTags), or
// if there are none its least recently used entry. The caller holds sh's
// lock. Only entries count as evictions in Stats.
func (s *Store) evictOldest(sh *shard) {
	if kt := sh.orphans.head; kt != nil {
		s.bytes.Add(-sh.untag(kt.key))
		return
	}
	if key, e, ok := sh.lru.RemoveOldest(); ok {
		s.forget(sh, key, e)
		s.evictions.Add(1)
	}
}
