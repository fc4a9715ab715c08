package engine

import (
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/rfc9111"
)

// directives is what r asks of the cache, if Options.RequestDirectives
// lets requests ask; else nothing.
func (c *Engine) directives(r *http.Request) rfc9111.ClientDirectives {
	if !c.opts.RequestDirectives {
		return rfc9111.ClientDirectives{}
	}
	return rfc9111.RequestDirectives(r)
}

// freshness is what e's use depends on besides its age.
func (e *entry) freshness() rfc9111.Freshness {
	return rfc9111.Freshness{
		Lifetime:             e.lifetime,
		StaleWhileRevalidate: e.staleWhileRevalidate,
		StaleIfError:         e.staleIfError,
		Flags:                e.flags,
	}
}

// usable decides how e may serve a request asking cd at now (see
// rfc9111.Freshness.Usable).
func (e *entry) usable(now time.Time, cd rfc9111.ClientDirectives) rfc9111.Use {
	return e.freshness().Usable(e.age(now), cd)
}

// mayServeOnError reports whether e may be served at now in place of an error
// from the handler (RFC 5861 §4).
func (e *entry) mayServeOnError(now time.Time) bool {
	return e.freshness().MayServeOnError(e.age(now))
}
