package httpcache

import (
	"context"

	"github.com/seedcache/httpcache/internal/engine"
)

// Errors of Cache.Purge, for errors.Is.
var (
	// ErrPurgeFailed reports a purge the store did not record within
	// Options.PurgeTimeout: it failed, or did not answer in time (the
	// error wraps the store's, or context.DeadlineExceeded). This process
	// goes on refusing what the purge reaches and retries it in the
	// background; other processes sharing the store may serve it until a
	// retry succeeds. Purging again is harmless.
	ErrPurgeFailed = engine.ErrPurgeFailed
	// ErrPurgeTooLarge reports a purge naming more tags, or more URLs and
	// keys, than Options.MaxPurgeTags: nothing was purged.
	ErrPurgeTooLarge = engine.ErrPurgeTooLarge
	// ErrInvalidPurge reports a purge that is wrong in itself: a URL that
	// is not absolute http(s), a malformed tag, a key under another
	// KeyPrefix, or one too large (ErrPurgeTooLarge is one too). Nothing
	// was purged; purging again will not help.
	ErrInvalidPurge = engine.ErrInvalidPurge
)

// Purge says what Cache.Purge drops. It names at most
// Options.MaxPurgeTags tags, and at most as many URLs and keys.
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
// stored after it. It returns an error wrapping ErrPurgeFailed when the
// store did not record the purge within Options.PurgeTimeout (the caller
// may purge again; this process retries it meanwhile), one wrapping
// ErrPurgeTooLarge when p names more than Options.MaxPurgeTags tags or
// URLs and keys, another error when p is invalid or a shared store cannot
// count purges, or when a store keeping copies in each process could not
// make sure they were dropped.
func (c *Cache) Purge(ctx context.Context, p Purge) error { return c.e.Purge(ctx, engine.Purge(p)) }

// Keys returns the primary keys rawURL is stored under: one for each set of
// key options in use (Handler's, and each With or Page route's).
//
// The keys are those of this Cache's store: on a shared store (Redis,
// Memcached, tiered) every process derives the same ones; on a store only
// this process reads (stores/memory) they are hashed with a seed of the
// process's own, so they differ between processes and restarts, and keys
// taken from another process's logs purge nothing here.
func (c *Cache) Keys(rawURL string) ([]string, error) { return c.e.Keys(rawURL) }
