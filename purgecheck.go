package httpcache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// checkPurges checks e, found under key for primary key pk, against the
// purges recorded since it was fetched (seq is the purge sequence read with
// it). It returns e, or a copy of e made stale at the time of a soft purge,
// or nil when a purge reaches it — or when that cannot be checked: an entry
// that may have been purged is never served. A purged entry is deleted.
func (c *Cache) checkPurges(ctx context.Context, key, pk string, e *entry, seq uint64) *entry {
	e, err := c.purgeMarks(ctx, key, pk, e, seq)
	if err != nil {
		c.storeError("purge check", key, err)
		return nil
	}
	return e
}

// purgeMarks is checkPurges, returning the store's error instead of nil
// when the purge markers cannot be read.
func (c *Cache) purgeMarks(ctx context.Context, key, pk string, e *entry, seq uint64) (*entry, error) {
	if e.seq >= seq {
		return e, nil // no purge has finished since its fetch began
	}
	if c.memo.cache != nil && key != "" {
		if m, ok := c.memo.cache.Get(key); ok && m.responseTime == e.responseTime && m.entrySeq == e.seq && m.seq >= seq {
			return softened(e, m.soft), nil
		}
	}
	hard, soft, err := c.purges.marks(ctx, purgeTags(e, pk))
	if err != nil {
		return nil, err
	}
	var softAt int64
	for i := range hard {
		if uint64(hard[i]) > e.seq {
			if key != "" {
				c.remove(context.WithoutCancel(ctx), key)
			}
			return nil, nil
		}
		if m := soft[i]; uint64(m) > e.seq && (softAt == 0 || m.unixNano() < softAt) {
			softAt = m.unixNano()
		}
	}
	if c.memo.cache != nil && key != "" {
		c.memo.cache.Add(key, checked{responseTime: e.responseTime, entrySeq: e.seq, seq: seq, soft: softAt})
	}
	return softened(e, softAt), nil
}

// notPurged reports whether e, fetched by a fetch that began at start for
// another request (or kept to stand in for its error), may be served to
// the request looked up in lk: no purge has reached it since. A purge may
// have finished while the request waited.
//
// The store is asked through pc, as answer `which` of the fetch, once for
// every request that joined pc (ticket) before it was asked: a flight's
// waiters wake together, and each asking would be a burst of reads on the
// store just as the fetch was collapsed to spare it. A request joining
// later asks again, so that a purge that returned before it came is seen.
//
// When the store cannot say (it is failing, or the fetch began without
// reading the purge clock), what this process knows stands in: e is served
// unless the clock read with the request's own lookup shows a purge since
// start, or this Cache has finished a purge since (its own purges,
// unguarded, can be recorded while its reads time out). A purge through
// another Cache or process meanwhile otherwise goes unseen, as it does by
// the fetch's own client: the window is one handler call, during a store
// failure.
func (c *Cache) notPurged(ctx context.Context, pc *purgeChecks, which int, ticket uint64, lk *lookup, e *entry, start fetchStart) bool {
	if start.seqRead {
		if ok, known := pc.ask(ctx, c, which, ticket, lk.pk, e); known {
			return ok
		}
		if lk.seqRead && lk.seq > start.seq {
			return false
		}
	}
	return c.purgesDone.Load() == start.purged
}

// purgeChecks are the checks of a fetch's responses against the purges
// finished since it began, shared by the requests they may answer.
type purgeChecks struct {
	joined atomic.Uint64 // tickets handed to the requests, in order
	mu     sync.Mutex
	of     [2]purgeAnswer
}

// purgeAnswer is what the store said of one response.
type purgeAnswer struct {
	upTo  uint64 // the last ticket handed out before it was asked
	asked bool   // the store was asked, for the tickets up to upTo
	known bool   // it answered:
	ok    bool   // no purge reaches the response
}

// join returns a ticket for a request that will ask.
func (pc *purgeChecks) join() uint64 { return pc.joined.Add(1) }

// ask checks e, whose purge tags are those of primary key pk, against the
// purges recorded in the store, unless the store was asked since ticket was
// handed out. It reports whether no purge reaches e, and whether the store
// could say. Requests asking at once wait for the first; if its client goes
// away meanwhile, the next one asks.
func (pc *purgeChecks) ask(ctx context.Context, c *Cache, which int, ticket uint64, pk string, e *entry) (ok, known bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	a := &pc.of[which]
	if a.asked && ticket <= a.upTo {
		return a.ok, a.known
	}
	upTo := pc.joined.Load() // every one of them came before this read
	seq, err := c.purges.current(ctx)
	var got *entry
	if err == nil {
		got, err = c.purgeMarks(ctx, "", pk, e, seq)
	}
	switch {
	case err == nil:
		// A soft purge makes e stale: not for a waiter either.
		*a = purgeAnswer{upTo: upTo, asked: true, known: true, ok: got == e}
	case ctx.Err() != nil:
		// This request's client went away: that says nothing of the
		// store, and the next request asks.
		return false, false
	default:
		// Failing: the others do not wait on it again.
		c.storeError("purge check", pk, err)
		*a = purgeAnswer{upTo: upTo, asked: true}
	}
	return a.ok, a.known
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
