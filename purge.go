package httpcache

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Purge says what Cache.Purge drops.
type Purge struct {
	// URLs are absolute URLs ("https://example.com/articles?page=2"),
	// purged with every variant, for GET and HEAD, under the key options
	// of Handler and of every With and Page route.
	URLs []string

	// Tags are the tags given with Tag or the tag header: every response
	// carrying any of them is purged.
	Tags []string

	// Keys are primary keys, as Cache.Keys gives them. A key that is not
	// under this Cache's KeyPrefix (another Cache's) is refused.
	Keys []string

	// All purges everything this Cache has stored (under its KeyPrefix).
	All bool

	// Soft marks what is purged stale instead of dropping it: requests are
	// then answered as for a stale response (stale-while-revalidate
	// serves it while one request refreshes it; else it is revalidated),
	// so a purge of a popular tag does not turn into a burst of misses.
	Soft bool
}

// PurgeURL purges rawURL, an absolute URL, with every variant.
func (c *Cache) PurgeURL(ctx context.Context, rawURL string) error {
	return c.Purge(ctx, Purge{URLs: []string{rawURL}})
}

// PurgeTags purges every response tagged with any of tags.
func (c *Cache) PurgeTags(ctx context.Context, tags ...string) error {
	return c.Purge(ctx, Purge{Tags: tags})
}

// Purge drops (or, with p.Soft, marks stale) stored responses. When it
// returns nil, no process sharing the store serves a purged response any
// more — including one whose fetch was under way during the purge and is
// stored after it. It returns an error when the purge could not be
// recorded (the store is down, or a shared store cannot count purges), or
// when a store keeping copies in each process could not make sure they were
// dropped; the caller should then retry.
func (c *Cache) Purge(ctx context.Context, p Purge) error {
	var tags, keys []string
	for _, t := range p.Tags {
		if !validTag(t) {
			return badPurge(fmt.Sprintf("invalid tag %q (empty, over %d bytes, or with control characters)", t, maxTagLen))
		}
		tags = append(tags, t)
	}
	for _, raw := range p.URLs {
		pks, err := c.Keys(raw)
		if err != nil {
			return err
		}
		keys = append(keys, pks...)
	}
	for _, k := range p.Keys {
		if !strings.HasPrefix(k, c.opts.KeyPrefix+keyVersion+"{") {
			return badPurge(fmt.Sprintf("key %q is not a primary key under this Cache's KeyPrefix %q", k, c.opts.KeyPrefix))
		}
		keys = append(keys, k)
	}
	for _, pk := range keys {
		tags = append(tags, urlTag(pk))
	}
	if p.All {
		tags = append(tags, allTag)
	}
	if len(tags) == 0 {
		return nil
	}
	var (
		m   marker
		err error
	)
	for attempt := range 3 { // recording again is harmless: markers only grow
		if m, err = c.purges.record(ctx, tags, p.Soft, c.now()); err == nil || ctx.Err() != nil {
			break
		}
		c.log.Warn("httpcache: purge failed; retrying", "attempt", attempt+1, "error", err)
	}
	if err != nil {
		return fmt.Errorf("httpcache: purge: %w", err)
	}
	c.purgesDone.Add(1)
	if !p.Soft {
		c.reclaim(ctx, keys, p.Tags, m)
	}
	if lc, ok := c.store.(LocalCopies); ok {
		if err := lc.DropLocalCopies(ctx); err != nil {
			return fmt.Errorf("httpcache: purge recorded, but copies kept in other processes may still be served: %w", err)
		}
	}
	c.stats.purges.Add(1)
	return nil
}

// Keys returns the primary keys rawURL is stored under: one for each set of
// key options in use (Handler's, and each With or Page route's).
func (c *Cache) Keys(rawURL string) ([]string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, badPurge(fmt.Sprintf("%q is not an absolute http(s) URL", rawURL))
	}
	return c.keysFor(nil, c.routes.all(), u), nil
}

// keysFor appends to keys the primary keys of a GET for u under each of
// routes' key options, once each.
func (c *Cache) keysFor(keys []string, routes []*route, u *url.URL) []string {
	buf := make([]byte, 0, 256)
	for _, rt := range routes {
		pk := rt.keys.primaryKey(rt.keys.appendMaterialFor(buf[:0], u))
		if !slices.Contains(keys, pk) {
			keys = append(keys, pk)
		}
	}
	return keys
}

// reclaimBatch is how many tagged keys reclaim reads and deletes at a time.
const reclaimBatch = 100

// reclaim deletes what a purge made unservable, where the store lets it be
// found: the URLs' primary keys (and with them, their variants' index), and
// the keys a TagIndex recorded for the tags. Tagged entries are deleted if
// they still carry the tag and were fetched before the purge: a key stored
// again since with other tags keeps its new entry. It works in batches on
// the store without the request guard (a purge is not on a request's path),
// and always forgets the tags' records. m is the purge's marker: entries
// with a lower seq were fetched before it. Failures are logged: the purge
// markers already keep purged entries from being served.
func (c *Cache) reclaim(ctx context.Context, keys, tags []string, m marker) {
	ctx = context.WithoutCancel(ctx)
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
func (c *Cache) reclaimTag(ctx context.Context, store Store, tag string, m marker) {
	idx := c.admin.(TagIndex) // unguarded, as store is (tagIdx is not nil)
	name := c.tagName(tag)
	tagged, err := idx.TaggedKeys(ctx, name)
	if err != nil {
		c.storeError("purge", tag, err)
	}
	for len(tagged) > 0 {
		batch := tagged[:min(reclaimBatch, len(tagged))]
		tagged = tagged[len(batch):]
		vals, err := getAll(ctx, store, batch)
		if err != nil {
			c.storeError("purge", tag, err)
			continue
		}
		var drop []string
		for i, v := range vals {
			if v == nil {
				continue
			}
			e, err := decodeEntry(v)
			if err != nil || (e.seq < uint64(m) && hasTag(e.tags, tag)) {
				drop = append(drop, batch[i])
			}
		}
		if len(drop) > 0 {
			if err := store.Delete(ctx, drop...); err != nil {
				c.storeError("purge", tag, err)
			}
		}
	}
	if err := idx.RemoveTags(ctx, name); err != nil {
		c.storeError("purge", tag, err)
	}
}

// badPurge is a purge that is wrong in itself, not one the store failed.
type badPurge string

func (b badPurge) Error() string { return "httpcache: purge: " + string(b) }

func hasTag(tags []string, t string) bool {
	for _, x := range tags {
		if x == t {
			return true
		}
	}
	return false
}
