package engine

import (
	"net/http"

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
