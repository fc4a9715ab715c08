package memory

import "math"

// recency is a shard's entries by key in least-recently-used order. The
// entries live in one array of slots linked by index, not in a node each,
// found through a map from the key's hash (the one that chose the shard)
// to a slot: a store of a million entries is then, for the garbage
// collector, one array to scan and a map it need not look into (it holds
// no pointer), plus what each entry holds itself, instead of a million
// nodes more to find and mark; and a hit hashes its key once and follows
// indexes within one array. Keys whose hashes collide are chained through
// their slots, and a key is always compared in full.
//
// Slots left by removed entries are reused before the array grows. When
// the entries fall to a quarter of the array's capacity (and it holds more
// than minCompact slots), the array and the index are made anew at their
// size, so that a shard that once held many entries does not keep their
// room: the array holds at most four slots (about 100 bytes each on 64-bit
// platforms) per entry, or minCompact.
type recency struct {
	index map[uint64]int32 // hash -> the first slot of the keys with that hash
	// slots[0] is the list's sentinel: its next is the most recently used
	// entry, its prev the least; both 0 when the list is empty.
	slots []slot
	free  int32 // the first free slot, linked through next; 0 if none
	n     int   // entries
}

// slot is one entry of a recency, or a free place for one.
type slot struct {
	key        string
	e          entry
	hash       uint64
	prev, next int32
	chain      int32 // the next slot of a key with the same hash; 0 if none
}

func newRecency() *recency {
	return &recency{index: make(map[uint64]int32), slots: make([]slot, 1)}
}

// Len is the number of entries.
func (l *recency) Len() int { return l.n }

// find returns the slot of key, whose hash is h, or 0 if it has none.
func (l *recency) find(h uint64, key string) int32 {
	i := l.index[h]
	for i != 0 && l.slots[i].key != key {
		i = l.slots[i].chain
	}
	return i
}

// Get returns the entry under key, whose hash is h, and makes it the most
// recently used.
func (l *recency) Get(h uint64, key string) (entry, bool) {
	i := l.find(h, key)
	if i == 0 {
		return entry{}, false
	}
	if l.slots[0].next != i {
		l.unlink(i)
		l.pushFront(i)
	}
	return l.slots[i].e, true
}

// Peek returns the entry under key (hash h) without changing the order.
func (l *recency) Peek(h uint64, key string) (entry, bool) {
	i := l.find(h, key)
	if i == 0 {
		return entry{}, false
	}
	return l.slots[i].e, true
}

// Contains reports whether an entry is under key (hash h).
func (l *recency) Contains(h uint64, key string) bool { return l.find(h, key) != 0 }

// Add puts e under key (hash h), replacing the entry there, as the most
// recently used. A new key is kept as given: the caller clones it if it
// must.
func (l *recency) Add(h uint64, key string, e entry) {
	if i := l.find(h, key); i != 0 {
		l.slots[i].e = e
		if l.slots[0].next != i {
			l.unlink(i)
			l.pushFront(i)
		}
		return
	}
	i := l.take()
	l.slots[i] = slot{key: key, e: e, hash: h, chain: l.index[h]}
	l.index[h] = i
	l.n++
	l.pushFront(i)
}

// Remove removes the entry under key (hash h), reporting whether there
// was one.
func (l *recency) Remove(h uint64, key string) bool {
	i := l.find(h, key)
	if i != 0 {
		l.release(i)
	}
	return i != 0
}

// RemoveOldest removes the least recently used entry and returns it.
func (l *recency) RemoveOldest() (string, entry, bool) {
	i := l.slots[0].prev
	if i == 0 {
		return "", entry{}, false
	}
	s := l.slots[i]
	l.release(i)
	return s.key, s.e, true
}

// Purge removes every entry and lets the array go.
func (l *recency) Purge() { *l = *newRecency() }

// Keys returns the keys from least to most recently used.
func (l *recency) Keys() []string {
	keys := make([]string, 0, l.Len())
	for i := l.slots[0].prev; i != 0; i = l.slots[i].prev {
		keys = append(keys, l.slots[i].key)
	}
	return keys
}

// Values returns the entries from least to most recently used.
func (l *recency) Values() []entry {
	values := make([]entry, 0, l.Len())
	for i := l.slots[0].prev; i != 0; i = l.slots[i].prev {
		values = append(values, l.slots[i].e)
	}
	return values
}

func (l *recency) unlink(i int32) {
	s := &l.slots[i]
	l.slots[s.prev].next = s.next
	l.slots[s.next].prev = s.prev
}

func (l *recency) pushFront(i int32) {
	first := l.slots[0].next
	l.slots[i].prev, l.slots[i].next = 0, first
	l.slots[first].prev = i
	l.slots[0].next = i
}

// take returns a free slot, growing the array if none is.
func (l *recency) take() int32 {
	if i := l.free; i != 0 {
		l.free = l.slots[i].next
		return i
	}
	if len(l.slots) == math.MaxInt32 {
		panic("memory: more than 2^31-1 entries in one shard")
	}
	l.slots = append(l.slots, slot{})
	return int32(len(l.slots) - 1)
}

// release unlinks slot i from the list and its hash's chain, forgets its
// key and entry (so that the garbage collector can take them) and frees
// it.
func (l *recency) release(i int32) {
	l.unlink(i)
	s := &l.slots[i]
	switch first := l.index[s.hash]; {
	case first != i:
		for l.slots[first].chain != i {
			first = l.slots[first].chain
		}
		l.slots[first].chain = s.chain
	case s.chain != 0:
		l.index[s.hash] = s.chain
	default:
		delete(l.index, s.hash)
	}
	*s = slot{next: l.free}
	l.free = i
	l.n--
	if cap(l.slots) > minCompact && l.n < cap(l.slots)/4 {
		l.compact()
	}
}

// minCompact is the capacity of a recency's array below which it is never
// made anew.
const minCompact = 1024

// compact makes the array and the index anew, holding the entries alone,
// in the same order.
func (l *recency) compact() {
	c := recency{index: make(map[uint64]int32, l.n), slots: make([]slot, 1, l.n+1)}
	for i := l.slots[0].prev; i != 0; i = l.slots[i].prev { // oldest first
		s := &l.slots[i]
		c.Add(s.hash, s.key, s.e)
	}
	*l = c
}
