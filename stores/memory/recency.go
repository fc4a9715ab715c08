package memory

import "math"

// recency is a shard's entries by key in least-recently-used order. The
// entries live in one array of slots linked by index, not in a node each:
// a store of a million entries is then, for the garbage collector, a few
// arrays and the index map, plus what each entry holds itself, instead of
// a million nodes more to find and mark; and a hit follows indexes within
// one array instead of pointers between nodes.
//
// Slots left by removed entries are reused before the array grows; the
// array does not shrink but on Purge, so it holds as many slots as the
// shard ever held entries at once (each about 80 bytes on 64-bit platforms,
// counted in EntryOverhead while in use).
type recency struct {
	index map[string]int32 // key -> its slot
	// slots[0] is the list's sentinel: its next is the most recently used
	// entry, its prev the least; both 0 when the list is empty.
	slots []slot
	free  int32 // the first free slot, linked through next; 0 if none
}

// slot is one entry of a recency, or a free place for one.
type slot struct {
	key        string
	e          entry
	prev, next int32
}

func newRecency() *recency {
	return &recency{index: make(map[string]int32), slots: make([]slot, 1)}
}

// Len is the number of entries.
func (l *recency) Len() int { return len(l.index) }

// Get returns the entry under key and makes it the most recently used.
func (l *recency) Get(key string) (entry, bool) {
	i, ok := l.index[key]
	if !ok {
		return entry{}, false
	}
	if l.slots[0].next != i {
		l.unlink(i)
		l.pushFront(i)
	}
	return l.slots[i].e, true
}

// Peek returns the entry under key without changing the order.
func (l *recency) Peek(key string) (entry, bool) {
	i, ok := l.index[key]
	if !ok {
		return entry{}, false
	}
	return l.slots[i].e, true
}

// Contains reports whether an entry is under key.
func (l *recency) Contains(key string) bool {
	_, ok := l.index[key]
	return ok
}

// Add puts e under key, replacing the entry there, as the most recently
// used. A new key is kept as given: the caller clones it if it must.
func (l *recency) Add(key string, e entry) {
	if i, ok := l.index[key]; ok {
		l.slots[i].e = e
		if l.slots[0].next != i {
			l.unlink(i)
			l.pushFront(i)
		}
		return
	}
	i := l.take()
	l.slots[i].key, l.slots[i].e = key, e
	l.index[key] = i
	l.pushFront(i)
}

// Remove removes the entry under key, reporting whether there was one.
func (l *recency) Remove(key string) bool {
	i, ok := l.index[key]
	if ok {
		l.release(i)
	}
	return ok
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

// release unlinks slot i, forgets its key and entry (so that the garbage
// collector can take them) and frees it.
func (l *recency) release(i int32) {
	l.unlink(i)
	delete(l.index, l.slots[i].key)
	l.slots[i] = slot{next: l.free}
	l.free = i
}
