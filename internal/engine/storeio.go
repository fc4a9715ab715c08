package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/store"
)

// load reads and decodes the entry under key. A miss, a corrupt entry and a
// failing store all come back as !ok: the request is then served by the
// handler. A corrupt entry is deleted; a store failure marks lk failed.
func (c *Engine) load(ctx context.Context, key string, lk *lookup) (*entry.Entry, bool) {
	var (
		v   []byte
		obj any
		err error
	)
	start := c.opStart()
	if c.objects != nil {
		v, obj, err = c.objects.GetObject(ctx, key)
	} else {
		v, err = c.store.Get(ctx, key)
	}
	c.observeStore(OpGet, start, failure(err))
	if err != nil {
		c.readFailed(key, err, lk)
		return nil, false
	}
	if e, ok := obj.(*entry.Entry); ok {
		return e, true
	}
	return c.decode(ctx, key, v)
}

// readFailed accounts for a read that returned err: a miss is nothing, a
// failure marks lk so that the request does not write to the store either.
func (c *Engine) readFailed(key string, err error, lk *lookup) {
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	lk.failed = true
	if c.opts.OnEvent != nil {
		lk.err = err
	}
	c.storeError("get", key, err)
}

// decode decodes the value v read under key. A corrupt value is logged and
// deleted, and is a miss. With an ObjectStore, the decoded entry is attached
// to the stored value so that later hits skip decoding.
func (c *Engine) decode(ctx context.Context, key string, v []byte) (*entry.Entry, bool) {
	e, err := entry.Decode(v)
	if err != nil {
		c.storeError("decode", key, err)
		c.remove(context.WithoutCancel(ctx), key)
		return nil, false
	}
	if c.objects != nil {
		c.objects.AttachObject(key, v, e.Share())
	}
	return e, true
}

// put is one write of an encoded entry.
type put struct {
	key   string
	value []byte
	ttl   time.Duration
	tags  []string // recorded in the store's TagIndex, if it has one (see tagName)
	// variants, if not "", is the name under which the TagIndex also
	// records key as a variant of its URL (see variantsTag).
	variants string
	obj      *entry.Entry // value decoded and shared (see storeEntry)
	// ifEpoch, when not zero, makes this write (an index, the last)
	// conditional: it is made only if key still holds the index of that
	// epoch (see writeAll).
	ifEpoch uint64
}

// writeAll makes the writes of one stored response, for primary key pk
// whose lookup noted gen (see invalidations), in order: a variant before
// its index (see storeEntry). None is made if this Cache has begun or
// finished an invalidation of pk since the lookup: the response may
// predate it (a GET whose handler ran while a POST went through), and an
// invalidation of this process must never be undone by a write that could
// not be waited for, since it had not been submitted yet.
//
// An index rewritten with the epoch it was read with (to outlive a new
// variant) would also bring back every variant of that epoch if the index
// had been deleted by another process, so it is rewritten only if the
// store still holds that index. Otherwise it is not, and the variant just
// written under that epoch stays unreachable: the next request stores
// anew, under a new epoch. A deletion by another process landing between
// that check and the write, one round trip, is not seen.
//
// An invalidation by this Cache that begins during the writes waits for
// them (writeQueue.waitFor) and deletes after; one that gave up waiting
// (a write slower than its backstop) is seen after them, and they are
// undone as an invalidation is.
//
// That leaves a window, accepted: between such a write landing and its
// undo (one round trip), a lookup here or in another process that reads
// it (a rewritten index brings back the variants of its epoch) is served
// a response from before the invalidation, though its request came after
// the invalidation returned. It opens only when a store write is slower
// than the backstop, and the undo, counted (and remembered if it fails)
// as an invalidation, ends it. Closing it would take a conditional write
// the Store contract does not have: a check of this process's writes on
// every hit would still leave other processes reading it.
// TestTransientIndexServedUntilUndone pins the window and its end.
func (c *Engine) writeAll(ctx context.Context, pk string, gen uint64, puts []put) {
	if !c.invGen.quiet(pk, gen) {
		return
	}
	for _, p := range puts {
		if p.ifEpoch != 0 && !c.holdsIndex(ctx, p.key, p.ifEpoch) {
			break
		}
		c.write(ctx, p)
	}
	if !c.invGen.quiet(pk, gen) {
		keys := make([]string, len(puts))
		for i, p := range puts {
			keys[i] = p.key
		}
		c.invalidateKeys(ctx, keys, false) // not waiting for itself
	}
}

// holdsIndex reports whether the store holds at key the Vary index of
// epoch (false too when it cannot tell).
func (c *Engine) holdsIndex(ctx context.Context, key string, epoch uint64) bool {
	get := c.store.Get
	if c.replicated != nil {
		get = c.replicated.GetShared // a local copy may lag another process's delete
	}
	v, err := get(ctx, key)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			c.storeError("get", key, err)
		}
		return false
	}
	e, err := entry.Decode(v)
	return err == nil && e.Kind == entry.KindIndex && e.Epoch == epoch
}

// write stores an encoded entry. In-process stores also keep the decoded
// entry, decoded from the very bytes they keep so that the two share the
// body.
func (c *Engine) write(ctx context.Context, p put) {
	var err error
	start := c.opStart()
	if c.objects != nil {
		err = c.objects.SetObject(ctx, p.key, p.value, p.obj, p.ttl)
	} else {
		err = c.store.Set(ctx, p.key, p.value, p.ttl)
	}
	c.observeStore(OpSet, start, failure(err))
	switch {
	case err == nil:
		c.stats.stores.Add(1)
		if (len(p.tags) > 0 || p.variants != "") && c.tagIdx != nil && !c.noTagIdx.Load() {
			names := c.tagNames(p.tags)
			if p.variants != "" {
				names = append(names, p.variants)
			}
			switch err := c.tagIdx.AddTags(ctx, p.key, names, p.ttl); {
			case errors.Is(err, errors.ErrUnsupported):
				c.noTagIdx.Store(true) // a composite store without one behind it
			case err != nil:
				c.storeError("tag", p.key, err) // purges stay correct without it
			}
		}
	case errors.Is(err, store.ErrTooLarge):
		// The store's own limit: not stored, and not a failure.
	default:
		c.storeError("set", p.key, err)
	}
}

// remove deletes keys, logging (not returning) a failure.
func (c *Engine) remove(ctx context.Context, keys ...string) {
	if err := c.delete(ctx, keys...); err != nil {
		c.storeError("delete", keys[0], err)
	}
}

// delete deletes keys from the store, observed.
func (c *Engine) delete(ctx context.Context, keys ...string) error {
	start := c.opStart()
	err := c.store.Delete(ctx, keys...)
	c.observeStore(OpDelete, start, err)
	return err
}

// failure is err as an observer sees it: a key not found, or a value
// larger than the store takes, is no failure of the store's.
func failure(err error) error {
	if err == nil {
		return nil // every hit: no chain to walk
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrTooLarge) {
		return nil
	}
	return err
}

// storeError counts a store failure and logs it, at most once a second per
// Cache (with a count of what was left out). Operations refused by an open
// circuit are counted apart and not logged: the breaker logs its changes.
func (c *Engine) storeError(op, key string, err error) {
	if errors.Is(err, store.ErrCircuitOpen) {
		c.stats.storeSkips.Add(1)
		return
	}
	c.stats.storeErrors.Add(1)
	if suppressed, ok := c.errLog.allow(c.now()); ok {
		c.log.Warn("httpcache: store operation failed; serving from the handler",
			slog.String("op", op), slog.String("key", key),
			slog.Any("error", err), slog.Uint64("suppressed", suppressed))
	}
}

// rateLimiter lets one event through per second and counts the rest.
type rateLimiter struct {
	last       atomic.Int64 // Unix ns of the last event let through
	suppressed atomic.Uint64
}

func (l *rateLimiter) allow(now time.Time) (suppressed uint64, ok bool) {
	t := now.UnixNano()
	last := l.last.Load()
	if t-last < int64(time.Second) || !l.last.CompareAndSwap(last, t) {
		l.suppressed.Add(1)
		return 0, false
	}
	return l.suppressed.Swap(0), true
}
