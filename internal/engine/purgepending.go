package engine

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
)

// Purges the store failed to record.
//
// Purge returns an error, and the Cache remembers the purge's tags (a URL
// and "everything" are tags too) with the time it failed. Until a retry
// records it, purgeMarks refuses, in this process, every entry carrying a
// hard-purged tag whose fetch began before then, and serves one carrying a
// soft-purged tag as stale from then. An entry another process stored is
// judged by that process's clock, which may run ahead of this one: the
// margin is clockSkew, as for fetches (fetchStart.since).
//
// A retry records the purge anew, at its own time: its markers then refuse
// everything fetched before the retry, which covers everything the failed
// purge would have. Other processes know nothing of the purge until then.

// pendingPurges are the purges of a Cache that the store failed to record,
// and the schedule of their retries.
type pendingPurges struct {
	n    atomic.Int64 // tags remembered, read without the lock on every hit
	mu   sync.RWMutex
	hard map[string]int64 // tag → when its purge failed (Unix ns)
	soft map[string]int64

	retry    sync.Mutex  // guards the schedule:
	timer    *time.Timer // the next retry, while one is scheduled
	running  bool        // a retry is under way
	failures int         // retries failed in a row since the last success or give-up
}

// maxPendingPurges bounds the tags remembered for retry.
const maxPendingPurges = 10000

// Retries in the background: after purgeRetryMin, doubling up to
// purgeRetryMax, at most purgeRetries in a row; then the next lookup that
// meets a pending purge, or the next purge, starts them again.
const (
	purgeRetryMin = 100 * time.Millisecond
	purgeRetryMax = 5 * time.Second
	purgeRetries  = 8
)

func purgeRetryDelay(failures int) time.Duration {
	if failures >= 6 { // 100 ms << 6 is past the cap already
		return purgeRetryMax
	}
	return min(purgeRetryMin<<failures, purgeRetryMax)
}

// add remembers a purge of tags that failed at (Unix ns); it reports false
// for tags it has no room for.
func (p *pendingPurges) add(tags []string, soft bool, at int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hard == nil {
		p.hard, p.soft = map[string]int64{}, map[string]int64{}
	}
	into := p.hard
	if soft {
		into = p.soft
	}
	ok := true
	for _, t := range tags {
		if _, known := into[t]; !known && len(p.hard)+len(p.soft) >= maxPendingPurges {
			ok = false
			break
		}
		into[t] = max(into[t], at)
	}
	p.n.Store(int64(len(p.hard) + len(p.soft)))
	return ok
}

// reach reports whether a pending purge reaches e, found under primary key
// pk: purged by a hard one, or else stale from softAt (Unix ns; 0: none)
// by a soft one. It costs one atomic load when nothing is pending.
func (p *pendingPurges) reach(e *entry.Entry, pk string) (purged bool, softAt int64) {
	if p.n.Load() == 0 {
		return false, 0
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	check := func(t string) bool {
		if at, ok := p.hard[t]; ok && e.RequestTime < at+int64(clockSkew) {
			return true
		}
		if at, ok := p.soft[t]; ok && e.RequestTime < at+int64(clockSkew) && (softAt == 0 || at < softAt) {
			softAt = at
		}
		return false
	}
	if check(allTag) || check(urlTag(pk)) {
		return true, 0
	}
	for _, t := range e.Tags {
		if check(t) {
			return true, 0
		}
	}
	return false, softAt
}

// taken returns a copy of the pending purges of one kind.
func (p *pendingPurges) taken(soft bool) map[string]int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if soft {
		return maps.Clone(p.soft)
	}
	return maps.Clone(p.hard)
}

// recorded forgets the purges of tags as they stood in taken, now that they
// are recorded; one that failed again since stays.
func (p *pendingPurges) recorded(tags []string, soft bool, taken map[string]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	from := p.hard
	if soft {
		from = p.soft
	}
	for _, t := range tags {
		if at, ok := from[t]; ok && at <= taken[t] {
			delete(from, t)
		}
	}
	p.n.Store(int64(len(p.hard) + len(p.soft)))
}

// purgeFailed remembers a purge of tags that the store did not record, and
// schedules its retry.
func (c *Engine) purgeFailed(tags []string, soft bool) {
	if !c.unrecorded.add(tags, soft, c.now().UnixNano()) {
		c.log.Error("httpcache: too many failed purges to remember; purged responses may be served until they expire",
			slog.Int("limit", maxPendingPurges))
	}
	c.purgesDone.Add(1) // for notPurged, when the store cannot say
	c.retryPurges(false)
}

// retryPurges schedules a retry of the purges that failed, if there are
// any and none is scheduled or under way: now, or after the backoff. With
// now, a retry scheduled for later is moved to now.
func (c *Engine) retryPurges(now bool) {
	p := &c.unrecorded
	if p.n.Load() == 0 {
		return
	}
	p.retry.Lock()
	defer p.retry.Unlock()
	switch {
	case p.running:
		return // it schedules the next one itself
	case p.timer != nil && (!now || !p.timer.Stop()):
		return
	}
	delay := time.Duration(0)
	if !now {
		delay = purgeRetryDelay(p.failures)
	}
	p.timer = time.AfterFunc(delay, c.retryUnrecorded)
}

// retryUnrecorded is a scheduled retry: it records the pending purges, and
// schedules the next retry if some remain.
func (c *Engine) retryUnrecorded() {
	p := &c.unrecorded
	p.retry.Lock()
	p.timer, p.running = nil, true
	p.retry.Unlock()

	bg := c.background.add()
	ok := c.recordUnrecorded()
	c.background.done(bg)

	p.retry.Lock()
	defer p.retry.Unlock()
	p.running = false
	if ok {
		p.failures = 0
	} else {
		p.failures++
	}
	if p.n.Load() == 0 || p.failures >= purgeRetries {
		p.failures = 0 // done, or given up until a lookup or a purge
		return
	}
	p.timer = time.AfterFunc(purgeRetryDelay(p.failures), c.retryUnrecorded)
}

// recordUnrecorded records the pending purges as they stand, and reports
// whether the store took all of them. What a hard one purged is reclaimed,
// and a store keeping copies in each process drops them, as after Purge.
func (c *Engine) recordUnrecorded() bool {
	recordedSome := false
	for _, soft := range []bool{false, true} {
		taken := c.unrecorded.taken(soft)
		tags := slices.Sorted(maps.Keys(taken))
		for chunk := range slices.Chunk(tags, c.opts.MaxPurgeTags) {
			m, err := c.recordPurge(context.Background(), chunk, soft)
			if err != nil {
				c.log.Warn("httpcache: retry of a purge the store did not record failed; retrying later",
					slog.Int("tags", len(tags)), slog.Any("error", err))
				return false // the store is failing: the rest wait too
			}
			c.unrecorded.recorded(chunk, soft, taken)
			c.log.Info("httpcache: a purge the store had not recorded is now recorded", slog.Int("tags", len(chunk)))
			recordedSome = true
			if !soft {
				c.reclaimRetried(chunk, m)
			}
		}
	}
	if lc := c.replicated; lc != nil && recordedSome {
		ctx, cancel := context.WithTimeout(context.Background(), reclaimTimeout)
		defer cancel()
		if err := lc.DropLocalCopies(ctx); err != nil {
			c.log.Warn("httpcache: retried purge recorded, but copies kept in other processes may still be served", slog.Any("error", err))
		}
	}
	return true
}

// reclaimRetried reclaims what a retried hard purge of tags (implicit ones
// among them) made unservable, in the retry's goroutine.
func (c *Engine) reclaimRetried(tags []string, m marker) {
	var keys, user []string
	for _, t := range tags {
		if pk, ok := strings.CutPrefix(t, urlTagPrefix); ok {
			keys = append(keys, pk)
		} else if t != allTag {
			user = append(user, t)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), reclaimTimeout)
	defer cancel()
	c.reclaim(ctx, keys, user, m)
}
