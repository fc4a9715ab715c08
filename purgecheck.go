package httpcache

import (
	"context"
	"time"
)

// checkPurges checks e, found under key for primary key pk, against the
// purges recorded since it was fetched (seq is the purge sequence read with
// it). It returns e, or a copy of e made stale at the time of a soft purge,
// or nil when a purge reaches it — or when that cannot be checked: an entry
// that may have been purged is never served. A purged entry is deleted.
func (c *Cache) checkPurges(ctx context.Context, key, pk string, e *entry, seq uint64) *entry {
	if e.seq >= seq {
		return e // no purge has finished since its fetch began
	}
	if c.memo.cache != nil && key != "" {
		if m, ok := c.memo.cache.Get(key); ok && m.responseTime == e.responseTime && m.entrySeq == e.seq && m.seq >= seq {
			return softened(e, m.soft)
		}
	}
	hard, soft, err := c.purges.marks(ctx, purgeTags(e, pk))
	if err != nil {
		c.storeError("purge check", key, err)
		return nil
	}
	var softAt int64
	for i := range hard {
		if uint64(hard[i]) > e.seq {
			if key != "" {
				c.remove(context.WithoutCancel(ctx), key)
			}
			return nil
		}
		if m := soft[i]; uint64(m) > e.seq && (softAt == 0 || m.unixNano() < softAt) {
			softAt = m.unixNano()
		}
	}
	if c.memo.cache != nil && key != "" {
		c.memo.cache.Add(key, checked{responseTime: e.responseTime, entrySeq: e.seq, seq: seq, soft: softAt})
	}
	return softened(e, softAt)
}

// softened returns e as stale from the time at of a soft purge: its
// freshness lifetime ends there (it keeps its stale windows, so that
// stale-while-revalidate refreshes it without a miss).
func softened(e *entry, at int64) *entry {
	if at == 0 {
		return e
	}
	ageThen := e.initialAge + time.Duration(at-e.responseTime)
	if ageThen >= e.lifetime {
		return e
	}
	c := *e
	c.lifetime = max(0, ageThen)
	return &c
}
