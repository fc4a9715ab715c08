package httpcache

import (
	"net/http"

	"github.com/seedcache/httpcache/internal/engine"
)

// Tag tags the response being produced for r, so that Cache.Purge with any
// of tags drops it. Handlers call it on the request they were given, before
// or while writing the response; calls for a request the cache is not
// storing do nothing. It is the in-code form of the Cache-Tag header. A tag
// holding a comma or a space can be purged with Cache.Purge, but not named
// in that header (which splits on them) or through PurgeHandler.
func Tag(r *http.Request, tags ...string) { engine.Tag(r, tags...) }
