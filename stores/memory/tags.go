package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seedcache/httpcache/store"
)

// TagOverhead is the number of bytes that the tag index counts against
// Options.MaxBytes for each tag of a key, besides the tag's length, and
// once more for each tagged key, besides the key's length. It is measured
// on 64-bit platforms for tags that no other key carries (TestTagOverhead
// keeps it honest); a tag shared by many keys costs less than it is
// charged, since they share its set.
const TagOverhead = 128

// The tag index maps each tag to the keys recorded with it, and each key
// to its records, per shard and under the lock of the key's shard.
//
// A key's records go with its entry, in the same critical section: when
// the entry is deleted, overwritten, evicted, found expired or cleared.
// So the index never names a key for longer than the store holds it, and
// a Set followed by AddTags (what the middleware does) leaves exactly the
// new tags. Each record also has a lifetime of its own, the longest ttl
// AddTags was given for it, past which it is neither listed nor kept.
//
// store.TagIndex lets AddTags record a key the store does not hold (its
// value refused, or gone already), so such a key keeps its records as an
// orphan until they expire, the key is written or deleted, or memory is
// short: orphans, useless for reclaiming space here, are evicted before
// any entry. Every record counts against MaxBytes, so the index is bounded
// by the budget the entries share: tagging may evict entries, as storing
// them does. A key's records hang off a map of the shard's tagged keys
// rather than off its entry, so that untagged entries (all of them, in a
// tiered store's L1) do not grow.

// keyTags is a tagged key's share of the index.
type keyTags struct {
	key        string       // shared by the records and the shard's map
	recs       []*tagRecord // one per tag
	bytes      int64        // counted against MaxBytes, as AddTags says
	orphan     bool         // the store holds no entry under key
	prev, next *keyTags     // in the shard's orphan list, if orphan
}

// tagSet is the records of one tag in one shard, as a doubly linked list
// so that a record leaves it in constant time.
type tagSet struct {
	tag  string
	head *tagRecord
}

// tagRecord records that its owner's key carries its set's tag until
// expires (see Store.now).
type tagRecord struct {
	set        *tagSet
	owner      *keyTags
	prev, next *tagRecord
	expires    int64
}

// orphans is a shard's orphan keys, oldest first.
type orphans struct{ head, tail *keyTags }

func (l *orphans) push(kt *keyTags) {
	kt.prev, kt.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = kt
	} else {
		l.head = kt
	}
	l.tail = kt
}

func (l *orphans) remove(kt *keyTags) {
	if kt.prev != nil {
		kt.prev.next = kt.next
	} else {
		l.head = kt.next
	}
	if kt.next != nil {
		kt.next.prev = kt.prev
	} else {
		l.tail = kt.prev
	}
	kt.prev, kt.next = nil, nil
}

// recordCost is what one record of tag counts against MaxBytes.
func recordCost(tag string) int64 { return TagOverhead + int64(len(tag)) }

// keyCost is what a tagged key counts against MaxBytes besides its
// records.
func keyCost(key string) int64 { return TagOverhead + int64(len(key)) }

// record returns kt's record of tag, or nil (also for a nil kt).
func (kt *keyTags) record(tag string) *tagRecord {
	if kt == nil {
		return nil
	}
	for _, r := range kt.recs {
		if r.set.tag == tag {
			return r
		}
	}
	return nil
}

// unlink removes r from its set, and the set from sh if it is left empty.
func (sh *shard) unlink(r *tagRecord) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		r.set.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	}
	if r.set.head == nil {
		delete(sh.tags, r.set.tag)
	}
}

// untag removes every record of key and returns the bytes they counted.
// The caller holds sh's lock and relieves the budget. It does not
// allocate: Get calls it (through forget) for an entry found expired.
func (sh *shard) untag(key string) int64 {
	kt := sh.tagged[key] // one probe of an empty map if sh has no tags
	if kt == nil {
		return 0
	}
	for _, r := range kt.recs {
		sh.unlink(r)
	}
	if kt.orphan {
		sh.orphans.remove(kt)
	}
	delete(sh.tagged, key)
	return kt.bytes
}

// dropRecord removes one record (expired, or of a removed tag), and its
// key's share of the index with it if that was the key's last record.
func (s *Store) dropRecord(sh *shard, r *tagRecord) {
	kt := r.owner
	if len(kt.recs) == 1 {
		s.bytes.Add(-sh.untag(kt.key))
		return
	}
	sh.unlink(r)
	if i := slices.Index(kt.recs, r); i >= 0 {
		kt.recs = slices.Delete(kt.recs, i, i+1)
	}
	cost := recordCost(r.set.tag)
	kt.bytes -= cost
	s.bytes.Add(-cost)
}

// AddTags records that key carries tags, each for at least ttl (a record
// made again lasts the longer of its two ttls), and for no longer than the
// store holds the entry now under key, if there is one: a key's records go
// when its entry is deleted, overwritten, evicted or found expired, or the
// store cleared. A key the store does not hold keeps its records (as
// store.TagIndex asks) until they expire, the key is set or deleted,
// or memory runs short.
//
// The records count against MaxBytes (TagOverhead and the tag's length
// each, and TagOverhead and the key's length once for the key), so tagging
// may evict entries. Tags that would take the key past MaxBytes on their
// own are refused with an error wrapping store.ErrTooLarge, and then
// none is recorded.
func (s *Store) AddTags(ctx context.Context, key string, tags []string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("memory: AddTags with ttl %v: %w", ttl, store.ErrInvalidTTL)
	}
	if len(tags) == 0 {
		return nil
	}
	now := s.now()
	until := expiryNano(now, ttl)
	sh, h := s.shardFor(key)
	sh.mu.Lock()
	defer func() {
		sh.mu.Unlock()
		if s.overBudget() {
			s.evictElsewhere(sh)
		}
	}()
	var size int64 // of key's entry, if the store holds one
	e, stored := sh.lru.Peek(h, key)
	if stored && now >= e.expires {
		sh.lru.Remove(h, key)
		s.forget(sh, key, e)
		stored = false
	}
	if stored {
		size = e.size
	}
	kt := sh.tagged[key]
	var add int64
	if kt == nil {
		add = keyCost(key)
	}
	var fresh []string
	for _, tag := range tags {
		if kt.record(tag) == nil && !slices.Contains(fresh, tag) {
			fresh = append(fresh, tag)
			add += recordCost(tag)
		}
	}
	if total := size + kt.size() + add; total > s.maxBytes {
		return fmt.Errorf("memory: %d tags take %q to %d bytes, over MaxBytes %d: %w",
			len(tags), key, total, s.maxBytes, store.ErrTooLarge)
	}
	for _, tag := range tags {
		if r := kt.record(tag); r != nil {
			r.expires = max(r.expires, until)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if kt == nil {
		// Cloned so as not to pin a larger string that key may be a
		// slice of.
		kt = &keyTags{key: strings.Clone(key), orphan: !stored}
		if sh.tagged == nil {
			sh.tagged = make(map[string]*keyTags)
			sh.tags = make(map[string]*tagSet)
		}
		sh.tagged[kt.key] = kt
		if kt.orphan {
			sh.orphans.push(kt)
		}
	}
	for _, tag := range fresh {
		set := sh.tags[tag]
		if set == nil {
			set = &tagSet{tag: strings.Clone(tag)}
			sh.tags[set.tag] = set
		}
		r := &tagRecord{set: set, owner: kt, next: set.head, expires: until}
		if set.head != nil {
			set.head.prev = r
		}
		set.head = r
		kt.recs = append(kt.recs, r)
	}
	kt.bytes += add
	s.bytes.Add(add)
	s.evictFrom(sh) // orphans first, oldest first
	return nil
}

// size is kt.bytes on a possibly nil kt.
func (kt *keyTags) size() int64 {
	if kt == nil {
		return 0
	}
	return kt.bytes
}

// TaggedKeys returns the keys recorded for tag whose records have not
// expired, in no particular order: never a key since deleted, overwritten,
// evicted or expired in the store. Expired records it comes across are
// removed.
func (s *Store) TaggedKeys(ctx context.Context, tag string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	nowNano := s.now()
	var keys []string
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if set := sh.tags[tag]; set != nil {
			for r := set.head; r != nil; {
				next := r.next // r may go; next, another key's record, stays
				kt := r.owner
				switch {
				case r.expires <= nowNano:
					s.dropRecord(sh, r)
				case kt.orphan:
					keys = append(keys, kt.key)
				default:
					// An entry that expired unread is still in its
					// list, records and all, until something finds it.
					_, h := s.shardFor(kt.key)
					if e, ok := sh.lru.Peek(h, kt.key); ok && nowNano < e.expires {
						keys = append(keys, kt.key)
					}
				}
				r = next
			}
		}
		sh.mu.Unlock()
	}
	return keys, nil
}

// RemoveTags forgets the records of tags, relieving MaxBytes of them; the
// entries stay.
func (s *Store) RemoveTags(ctx context.Context, tags ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, tag := range tags {
			set := sh.tags[tag]
			for set != nil && set.head != nil {
				s.dropRecord(sh, set.head)
			}
		}
		sh.mu.Unlock()
	}
	return nil
}
