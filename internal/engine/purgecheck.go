package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
)

// checkPurges checks e, found under key for primary key pk, against the
// purges recorded since it was fetched (seq is the purge sequence read with
// it). It returns e, or a copy of e made stale at the time of a soft purge,
// or nil when a purge reaches it — or when that cannot be checked: an entry
// that may have been purged is never served. A purged entry is deleted.
func (c *Engine) checkPurges(ctx context.Context, key, pk string, e *entry.Entry, seq uint64) *entry.Entry {
	e, err := c.purgeMarks(ctx, key, pk, e, e.Seq, seq)
	if err != nil {
		c.storeError("purge check", key, err)
		return nil
	}
	return e
}

// purgeMarks is checkPurges, returning the store's error instead of nil
// when the purge markers cannot be read, for an entry known not to be
// purged up to the clock value since (its own seq, or later: it was
// checked since). Only a check of e's own seq under a key is memoised.
//
// A purge through this Cache that the store failed to record reaches e too
// (see pendingPurges), until a retry records it.
func (c *Engine) purgeMarks(ctx context.Context, key, pk string, e *entry.Entry, since, seq uint64) (*entry.Entry, error) {
	purged, pendingSoft := c.unrecorded.reach(e, pk)
	if purged || pendingSoft != 0 {
		c.retryPurges(false) // the store may take it now
	}
	if purged {
		return nil, nil // not deleted: the store may be failing, and only the retry makes it so everywhere
	}
	if since >= seq {
		return softened(e, pendingSoft), nil // no purge has finished since its fetch began
	}
	memo := c.memo.cache != nil && key != "" && since == e.Seq
	if memo {
		if m, ok := c.memo.cache.Get(key); ok && m.responseTime == e.ResponseTime && m.entrySeq == e.Seq && m.seq >= seq {
			return softened(e, earliest(m.soft, pendingSoft)), nil
		}
	}
	hard, soft, err := c.purges.marks(ctx, purgeTags(e, pk))
	if err != nil {
		return nil, err
	}
	var softAt int64
	for i := range hard {
		if uint64(hard[i]) > since {
			if key != "" {
				c.remove(context.WithoutCancel(ctx), key)
			}
			return nil, nil
		}
		if m := soft[i]; uint64(m) > since && (softAt == 0 || m.unixNano() < softAt) {
			softAt = m.unixNano()
		}
	}
	if memo {
		c.memo.cache.Add(key, checked{responseTime: e.ResponseTime, entrySeq: e.Seq, seq: seq, soft: softAt})
	}
	return softened(e, earliest(softAt, pendingSoft)), nil
}

// earliest returns the earlier of two soft purge times, 0 standing for none.
func earliest(a, b int64) int64 {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

// notPurged reports whether e, fetched by a fetch that began at start for
// another request (or kept to stand in for its error), may be served to
// a request that waited on it: no purge has reached it since. A purge may
// have finished while the request waited. ans is what the store said.
//
// The store is asked through pc, as answer `which` of the fetch, once for
// every request that joined pc (ticket) before it was asked: a flight's
// waiters wake together, and each asking would be a burst of reads on the
// store just as the fetch was collapsed to spare it. A request joining
// later asks again, so that a purge that returned before it came is seen.
//
// When the store cannot say (it is failing), what this process knows
// stands in: e is served unless this Cache has finished a purge since
// start (its own purges, unguarded, can be recorded while its reads time
// out). A purge through another Cache or process meanwhile goes unseen, as
// it does by the fetch's own client: the window is one handler call,
// during a store failure.
func (c *Engine) notPurged(ctx context.Context, pc *purgeChecks, which int, ticket uint64, pk string, e *entry.Entry, start fetchStart) (ok bool, ans purgeAnswer) {
	if since, known := start.since(); known {
		if ans = pc.ask(ctx, c, which, ticket, pk, e, max(e.Seq, since)); ans.known {
			return ans.ok, ans
		}
	}
	return c.purgesDone.Load() == start.purged, ans
}

// stillNotPurged reports whether stale, found by lk, has not been purged
// since: it is about to stand in for an error of the handler, which ran
// meanwhile.
func (c *Engine) stillNotPurged(ctx context.Context, lk *lookup, stale *entry.Entry) bool {
	ok, _ := c.notPurged(ctx, new(purgeChecks), 1, 0, lk.pk, stale, lk.start())
	return ok
}

// clockSkew is how far apart the clocks of the processes sharing a store
// may be, for a purge check of a fetch that began without reading the purge
// clock (see fetchStart.since).
const clockSkew = time.Second

// since returns the purge clock value up to which the fetch's responses
// are known not to be purged: the clock read with its lookup, or, when that
// read failed, the time the fetch began less clockSkew. The clock follows
// time: a purge recorded after the fetch began has a marker past that, as
// long as the clocks of the processes agree within clockSkew.
func (s fetchStart) since() (uint64, bool) {
	const skew = int64(clockSkew / time.Microsecond)
	switch {
	case s.seqRead:
		return s.seq, true
	case s.at > skew:
		return uint64(s.at - skew), true
	}
	return 0, false
}

// purgeChecks are the checks of a fetch's responses against the purges
// finished since it began, shared by the requests they may answer.
type purgeChecks struct {
	joined atomic.Uint64 // tickets handed to the requests, in order
	mu     sync.Mutex
	of     [2]purgeSlot
}

// purgeSlot is the check of one response.
type purgeSlot struct {
	ans    purgeAnswer
	upTo   uint64        // the last ticket handed out before it was asked
	asked  bool          // the store was asked, for the tickets up to upTo
	asking chan struct{} // closed when the request asking now is done
}

// purgeAnswer is what the store said of a response.
type purgeAnswer struct {
	known bool   // it answered:
	ok    bool   // no purge reaches the response,
	seq   uint64 // and the purge clock stood at seq
}

// join returns a ticket for a request that will ask.
func (pc *purgeChecks) join() uint64 { return pc.joined.Add(1) }

// ask checks e, whose purge tags are those of primary key pk, against the
// purges recorded in the store since the clock stood at since, unless the
// store was asked since ticket was handed out. Requests asking at once wait
// for the first, each as long as its own client stays; if the first one's
// client goes away, another asks.
func (pc *purgeChecks) ask(ctx context.Context, c *Engine, which int, ticket uint64, pk string, e *entry.Entry, since uint64) purgeAnswer {
	sl := &pc.of[which]
	pc.mu.Lock()
	for sl.asking != nil || sl.asked && ticket <= sl.upTo {
		if sl.asking == nil {
			ans := sl.ans
			pc.mu.Unlock()
			return ans
		}
		asking := sl.asking
		pc.mu.Unlock()
		select {
		case <-asking:
		case <-ctx.Done():
			return purgeAnswer{}
		}
		pc.mu.Lock()
	}
	sl.asking = make(chan struct{})
	upTo := pc.joined.Load() // every one of them came before this read
	pc.mu.Unlock()

	var ans purgeAnswer
	seq, err := c.purges.current(ctx)
	var got *entry.Entry
	if err == nil {
		got, err = c.purgeMarks(ctx, "", pk, e, since, seq)
		// A soft purge makes e stale: not for a waiter either.
		ans = purgeAnswer{known: err == nil, ok: got == e, seq: seq}
	}
	gone := err != nil && ctx.Err() != nil // says nothing of the store
	if err != nil && !gone {
		c.storeError("purge check", pk, err)
	}

	pc.mu.Lock()
	defer pc.mu.Unlock()
	close(sl.asking)
	sl.asking = nil
	if !gone {
		// Failing or not, the others do not wait on the store again.
		sl.ans, sl.upTo, sl.asked = ans, upTo, true
	}
	return ans
}

// softened returns e as stale from the time at of a soft purge: its
// freshness lifetime ends there (it keeps its stale windows, so that
// stale-while-revalidate refreshes it without a miss).
func softened(e *entry.Entry, at int64) *entry.Entry {
	if at == 0 {
		return e
	}
	ageThen := e.InitialAge + time.Duration(at-e.ResponseTime)
	if ageThen >= e.Lifetime {
		return e
	}
	c := *e
	c.Lifetime = max(0, ageThen)
	return &c
}
