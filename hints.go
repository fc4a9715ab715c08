package httpcache

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

// maxHints bounds the Vary hints a Cache keeps: about 200 bytes each, plus
// the memo of the decoded index, whose bytes all memos share a budget for
// (memoBudget).
const maxHints = 10000

// hints remember, per primary key, the Vary index last read from a
// networked store, so that a hit can fetch the index and the expected
// variant together in one round trip (MultiGetter) instead of one after the
// other. A hint is only a guess: the index is read along with the variant and
// compared byte for byte with the hinted one, so a changed or purged index is
// noticed on the same round trip and the guess is never served on its own.
type hints struct {
	cache *lru.Cache[string, *hint]
}

type hint struct {
	raw   []byte // the index value as stored
	index *entry // raw, decoded, with its variant-key memo
}

func (h *hints) init() {
	c, err := lru.New[string, *hint](maxHints)
	if err != nil {
		panic("httpcache: " + err.Error())
	}
	h.cache = c
}

func (h *hints) get(pk string) (*hint, bool) { return h.cache.Get(pk) }

// learn records what was read under pk: an index becomes the hint, anything
// else (a response, nothing) removes it.
func (h *hints) learn(pk string, raw []byte, e *entry) {
	if e == nil || e.kind != kindIndex {
		h.cache.Remove(pk)
		return
	}
	h.cache.Add(pk, &hint{raw: append([]byte(nil), raw...), index: e.share()})
}
