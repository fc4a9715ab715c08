package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/tags"
	"github.com/seedcache/httpcache/store"
)

// Errors of Purge (httpcache re-exports them).
var (
	ErrInvalidPurge  = errors.New("httpcache: invalid purge")
	ErrPurgeFailed   = errors.New("httpcache: purge not recorded")
	ErrPurgeTooLarge = errors.New("httpcache: purge too large")
)

// Defaults of the purge options.
const (
	defaultPurgeTimeout = time.Second
	defaultMaxPurgeTags = 256
)

// Purge says what Engine.Purge drops: httpcache.Purge, which documents
// each field, converts to it.
type Purge struct {
	URLs []string
	Tags []string
	Keys []string
	All  bool
	Soft bool
}

// Purge records and carries out p (see httpcache.Cache.Purge).
func (c *Engine) Purge(ctx context.Context, p Purge) error {
	// Counted before anything else is done with them: a purge too large
	// costs nothing.
	if n, limit := len(p.Tags), c.opts.MaxPurgeTags; n > limit {
		return tooLarge(n, "tags", limit)
	}
	if n, limit := len(p.URLs)+len(p.Keys), c.opts.MaxPurgeTags; n > limit {
		return tooLarge(n, "URLs and keys", limit)
	}
	var purgeTags, pks []string
	for _, t := range p.Tags {
		if !tags.Valid(t) {
			return badPurge{msg: fmt.Sprintf("invalid tag %q (empty, over %d bytes, or with control characters)", t, tags.MaxTagLen)}
		}
		purgeTags = append(purgeTags, t)
	}
	slices.Sort(purgeTags)
	purgeTags = slices.Compact(purgeTags)
	userTags := slices.Clone(purgeTags)
	for _, raw := range p.URLs {
		urlKeys, err := c.Keys(raw)
		if err != nil {
			return err
		}
		pks = append(pks, urlKeys...)
	}
	for _, k := range p.Keys {
		if !strings.HasPrefix(k, c.opts.KeyPrefix+keys.Version+"{") {
			return badPurge{msg: fmt.Sprintf("key %q is not a primary key under this Cache's KeyPrefix %q", k, c.opts.KeyPrefix)}
		}
		pks = append(pks, k)
	}
	slices.Sort(pks)
	pks = slices.Compact(pks)
	for _, pk := range pks {
		purgeTags = append(purgeTags, urlTag(pk))
	}
	if p.All {
		purgeTags = append(purgeTags, allTag)
	}
	if len(purgeTags) == 0 {
		return nil
	}
	start := c.opStart()
	m, err := c.recordPurge(ctx, purgeTags, p.Soft)
	c.observeStore(OpPurge, start, err)
	if err != nil {
		if errors.Is(err, errNoCounter) {
			return fmt.Errorf("httpcache: purge: %w", err) // no retry can do better
		}
		c.purgeFailed(purgeTags, p.Soft)
		return fmt.Errorf("%w within %v (refused in this process until a retry, under way, records it): %w",
			ErrPurgeFailed, c.opts.PurgeTimeout, err)
	}
	c.purgesDone.Add(1)
	c.retryPurges(true) // the store answers: any purge that failed before is retried now
	if !p.Soft {
		c.reclaimAfter(ctx, pks, userTags, m)
	}
	if c.replicated != nil {
		if err := c.replicated.DropLocalCopies(ctx); err != nil {
			return fmt.Errorf("httpcache: purge recorded, but copies kept in other processes may still be served: %w", err)
		}
	}
	c.stats.purges.Add(1)
	return nil
}

// purgeAttempts is how many times recordPurge tries.
const purgeAttempts = 3

// recordPurge records a purge of tags in at most purgeAttempts attempts,
// all within Options.PurgeTimeout (and ctx). Each attempt is given its
// share of the time left, so that one that hangs (on a connection the
// server will never answer) leaves time for the others, and one that fails
// at once leaves its share to them. Recording again is harmless: markers
// only grow.
func (c *Engine) recordPurge(ctx context.Context, tags []string, soft bool) (marker, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.PurgeTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var (
		m   marker
		err error
	)
	for attempt := range purgeAttempts {
		actx, acancel := context.WithTimeout(ctx, time.Until(deadline)/time.Duration(purgeAttempts-attempt))
		m, err = c.purges.record(actx, tags, soft, c.now())
		acancel()
		if err == nil || ctx.Err() != nil || errors.Is(err, errNoCounter) {
			break
		}
		if attempt < purgeAttempts-1 {
			c.log.Warn("httpcache: purge failed; retrying", "attempt", attempt+1, "error", err)
		}
	}
	return m, err
}

// TagHeader is the response header tags are read from (Config.TagHeader,
// canonical).
func (c *Engine) TagHeader() string { return c.opts.TagHeader }

// Keys returns the primary keys of rawURL (see httpcache.Cache.Keys).
func (c *Engine) Keys(rawURL string) ([]string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, badPurge{msg: fmt.Sprintf("%q is not an absolute http(s) URL", rawURL)}
	}
	return c.keysFor(nil, c.routes.all(), u), nil
}

// keysFor appends to keys the primary keys of a GET for u under each of
// routes' key options, once each.
func (c *Engine) keysFor(keys []string, routes []*route, u *url.URL) []string {
	buf := make([]byte, 0, 256)
	for _, rt := range routes {
		pk := rt.keys.PrimaryKey(rt.keys.AppendMaterialFor(buf[:0], u))
		if !slices.Contains(keys, pk) {
			keys = append(keys, pk)
		}
	}
	return keys
}

// reclaimBatch is how many tagged keys reclaim reads and deletes at a time.
const reclaimBatch = 100

// reclaimTimeout bounds the deletions that follow a purge.
const reclaimTimeout = 30 * time.Second

// reclaimAfter reclaims what a recorded purge made unservable (see
// reclaim): at once on a local store, where it costs no round trips; else
// in the background (Wait waits for it), so that a store that slows down
// or hangs after taking the purge does not hold Purge's caller — the
// purge is recorded, and reclaiming only frees space sooner.
func (c *Engine) reclaimAfter(ctx context.Context, keys, tags []string, m marker) {
	if len(keys) == 0 && (c.tagIdx == nil || c.noTagIdx.Load() || len(tags) == 0) {
		return
	}
	if c.writes.local {
		c.reclaim(context.WithoutCancel(ctx), keys, tags, m)
		return
	}
	bg := c.background.add()
	go func() {
		defer c.background.done(bg)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reclaimTimeout)
		defer cancel()
		c.reclaim(ctx, keys, tags, m)
	}()
}

// reclaim deletes what a purge made unservable, where the store lets it be
// found: the URLs' primary keys (and with them, their variants' index), and
// the keys a TagIndex recorded for the tags. Tagged entries are deleted if
// they still carry the tag and were fetched before the purge: a key stored
// again since with other tags keeps its new entry. It works in batches on
// the store without the request guard (a purge is not on a request's path),
// and always forgets the tags' records. m is the purge's marker: entries
// with a lower seq were fetched before it. Failures are logged: the purge
// markers already keep purged entries from being served.
func (c *Engine) reclaim(ctx context.Context, keys, tags []string, m marker) {
	if len(keys) > 0 {
		if err := c.admin.Delete(ctx, keys...); err != nil {
			c.storeError("purge", keys[0], err)
		}
	}
	if c.tagIdx == nil || c.noTagIdx.Load() || len(tags) == 0 {
		return
	}
	// Tags are reclaimed in parallel on a networked store, as their
	// markers were recorded.
	inParallel(!c.writes.local, tags, func(tag string) error {
		c.reclaimTag(ctx, c.admin, tag, m)
		return nil
	})
}

// reclaimTag deletes the entries the TagIndex lists for tag that still
// carry it and were fetched before marker m, and forgets the tag's records.
func (c *Engine) reclaimTag(ctx context.Context, s store.Store, tag string, m marker) {
	idx := store.Probe(c.admin).Tags // unguarded, as store is (tagIdx is not nil)
	name := c.tagName(tag)
	tagged, err := idx.TaggedKeys(ctx, name)
	if err != nil {
		c.storeError("purge", tag, err)
	}
	for len(tagged) > 0 {
		batch := tagged[:min(reclaimBatch, len(tagged))]
		tagged = tagged[len(batch):]
		vals, err := getAll(ctx, s, batch)
		if err != nil {
			c.storeError("purge", tag, err)
			continue
		}
		var drop []string
		for i, v := range vals {
			if v == nil {
				continue
			}
			e, err := entry.Decode(v)
			if err != nil || (e.Seq < uint64(m) && hasTag(e.Tags, tag)) {
				drop = append(drop, batch[i])
			}
		}
		if len(drop) > 0 {
			if err := s.Delete(ctx, drop...); err != nil {
				c.storeError("purge", tag, err)
			}
		}
	}
	if err := idx.RemoveTags(ctx, name); err != nil {
		c.storeError("purge", tag, err)
	}
}

// badPurge is a purge that is wrong in itself, not one the store failed;
// err, if set, is the sentinel it wraps.
type badPurge struct {
	msg string
	err error
}

func (b badPurge) Error() string { return "httpcache: purge: " + b.msg }
func (b badPurge) Unwrap() error { return b.err }

// Is makes every badPurge an ErrInvalidPurge.
func (b badPurge) Is(target error) bool { return target == ErrInvalidPurge }

// tooLarge is the error of a purge naming n things of a kind, over limit.
func tooLarge(n int, what string, limit int) error {
	return badPurge{
		msg: fmt.Sprintf("too many %s: %d named, at most %d per purge (Options.MaxPurgeTags); split it into several", what, n, limit),
		err: ErrPurgeTooLarge,
	}
}

func hasTag(tags []string, t string) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}
