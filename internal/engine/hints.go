package engine

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/seedcache/httpcache/internal/entry"
)

// Bounds on the Vary hints a Cache keeps. A hint holds the decoded index
// (which holds the URL's key material, up to Options.MaxURLBytes) and its
// variant-key memo, whose bytes all memos share a budget for (see keys.Memo).
const (
	maxHints       = 10000   // hints at most
	hintBudget     = 4 << 20 // bytes all hints of a Cache hold together, at most
	maxHintIndex   = 2 << 10 // an index larger than this is not hinted
	hintByteExtras = 256     // per hint, beside the index: the key, the list element, the map entry
)

// hints remember, per primary key, the Vary index last read from a
// networked store, so that a hit can fetch the index and the expected
// variant together in one round trip (MultiGetter) instead of one after the
// other. A hint is only a guess: the index is read along with the variant and
// its digest compared with the hinted one's, so a changed or purged index is
// noticed on the same round trip and the guess is never served on its own.
//
// Hints are bounded in count and in bytes (hintBudget): a client requesting
// many URLs with long queries cannot grow them past it, and an index too
// large to be worth a hint is not kept at all.
type hints struct {
	cache *lru.Cache[string, *hint]
	seed  maphash.Seed
	mu    sync.Mutex   // serialises learn, so that bytes is exact
	bytes atomic.Int64 // what the hints held now cost
}

type hint struct {
	sum   uint64       // digest of the index value as stored
	index *entry.Entry // that value, decoded, with its variant-key memo
	cost  int64
}

func (h *hints) init() {
	h.seed = maphash.MakeSeed()
	c, err := lru.NewWithEvict(maxHints, func(_ string, v *hint) { h.bytes.Add(-v.cost) })
	if err != nil {
		panic("httpcache: " + err.Error())
	}
	h.cache = c
}

func (h *hints) get(pk string) (*hint, bool) { return h.cache.Get(pk) }

// matches reports whether raw is the index value hint was learnt from. The
// digest is keyed by a per-process random seed, so nobody can craft an
// index that collides with another; a collision by chance (2^-64) could at
// worst prefetch the wrong variant, which is checked against the request
// before it is served like any other.
func (h *hints) matches(hint *hint, raw []byte) bool {
	return maphash.Bytes(h.seed, raw) == hint.sum
}

// learn records what was read under pk: an index becomes the hint, anything
// else (a response, nothing, an index too large to hint) removes it.
func (h *hints) learn(pk string, raw []byte, e *entry.Entry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cache.Remove(pk) // counted out by the eviction callback
	if e == nil || e.Kind != entry.KindIndex || len(raw) > maxHintIndex {
		return
	}
	// The decoded index refers into raw (see decoder.bytes): raw is what it
	// holds.
	cost := int64(len(raw) + hintByteExtras + len(pk))
	for _, name := range e.VaryNames {
		cost += int64(len(name)) + 16
	}
	h.cache.Add(pk, &hint{sum: maphash.Bytes(h.seed, raw), index: e.Share(), cost: cost})
	h.bytes.Add(cost)
	for h.bytes.Load() > hintBudget {
		if _, _, ok := h.cache.RemoveOldest(); !ok {
			break
		}
	}
}
