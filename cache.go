package httpcache

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/seedcache/httpcache/internal/engine"
	"github.com/seedcache/httpcache/store"
)

// Cache is a response cache in front of HTTP handlers. Its Handler method is
// the site-wide middleware; Page and With give per-route policies. A Cache is
// safe for concurrent use.
type Cache struct {
	e    *engine.Engine
	opts Options // as given: the base of With's policies
}

// New returns a Cache storing responses in s. It panics if s is nil
// or opts is invalid, which are programming errors.
func New(s store.Store, opts Options) *Cache {
	return &Cache{e: engine.New(s, opts.config()), opts: opts}
}

// Handler is the site-wide middleware: it caches next under Options.Policy.
// It fits http.Handle, chi's Router.Use and anything taking
// func(http.Handler) http.Handler.
func (c *Cache) Handler(next http.Handler) http.Handler { return c.e.Handler(next) }

// Page is the per-route decorator in the spirit of Django's cache_page: the
// routes it wraps keep responses for ttl, whatever their own max-age says
// (Policy.OverrideMaxAge), under the site-wide policy's other settings.
// Page(0) stores nothing. Use it with chi's r.With(c.Page(time.Minute)).
func (c *Cache) Page(ttl time.Duration) func(http.Handler) http.Handler {
	return c.With(func(p *Policy) { p.TTL, p.OverrideMaxAge = ttl, true })
}

// With returns middleware caching under a per-route policy: a copy of
// Options.Policy, changed by adjust (which may be nil), so that every
// site-wide rule holds on the route unless adjust changes it:
//
//	search := c.With(func(p *httpcache.Policy) { p.Query.Sort = true })
//
// When routes are nested inside Handler (or another With or Page) of the same
// Cache, the innermost one decides for the requests it sees: the outer layer
// stands aside, so a response is stored once, under the route's policy.
// When the key options are the same, the outer layer's lookup is reused.
func (c *Cache) With(adjust func(p *Policy)) func(http.Handler) http.Handler {
	p := c.opts.Policy
	// The slices are the route's own, whatever adjust does to them.
	p.Query.Allow, p.Query.Deny = slices.Clone(p.Query.Allow), slices.Clone(p.Query.Deny)
	p.VaryCookies = slices.Clone(p.VaryCookies)
	if adjust != nil {
		adjust(&p)
	}
	return c.e.Middleware(p.route())
}

// Wait blocks until the background work started so far has finished: writes
// to the store, stale-while-revalidate refreshes with their writes, the
// deletions that follow a purge, and a retry of a failed purge under way.
// Tests call it before expecting a hit from a networked store. A refresh
// runs the handler, for up to Options.RefreshTimeout (30 s by default): at
// shutdown, use WaitContext to bound the wait.
func (c *Cache) Wait() { c.e.Wait() }

// WaitContext is Wait bounded by ctx: it returns ctx's error if ctx ends
// first. Call it after the server has shut down, so that the responses
// fetched last are stored:
//
//	srv.Shutdown(ctx)
//	cache.WaitContext(ctx)
func (c *Cache) WaitContext(ctx context.Context) error { return c.e.WaitContext(ctx) }
