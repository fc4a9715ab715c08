package httpcache

import (
	"github.com/seedcache/httpcache/internal/entry"

	"github.com/seedcache/httpcache/store"
)

// Store holds encoded cache entries: the store a Cache keeps its responses
// in (stores/memory, stores/redis, stores/memcached, stores/tiered, or one
// of your own).
//
// Transitional: Store is an alias of store.Store, where the store contract
// now lives with its optional interfaces; New takes one. Store drivers
// should name store.Store.
type Store = store.Store

// GuardOptions configures the guard New puts around a store that does not
// bound its own operations (Options.Guard).
//
// Transitional: GuardOptions is an alias of store.GuardOptions, where the
// guard now lives; Options.Guard takes one.
type GuardOptions = store.GuardOptions

// ErrCorruptEntry reports a stored value that is not a valid entry of this
// package's format (foreign, truncated or damaged). The middleware treats
// it as a miss and deletes it.
var ErrCorruptEntry = entry.ErrCorruptEntry
