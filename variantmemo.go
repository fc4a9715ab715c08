package httpcache

import (
	"encoding/binary"
	"net/http"
	"sync"
)

// maxMemoVariants bounds each index's memo: request values past it are
// still served, just computed each time, so a client sending endless
// distinct values cannot grow memory.
const maxMemoVariants = 64

// maxMemoBytes bounds one memo record (raw values and normalised material):
// request values are the client's to choose, and large ones, rare in real
// traffic, are not kept outside the store's budget. Each index's memo thus
// holds at most 32 KiB.
const maxMemoBytes = 512

// variantMemo remembers, for one Vary index shared in process (decoded
// once and kept by an ObjectStore), which variant key each combination of
// raw request values leads to. A hit then skips normalising the values and
// hashing the variant key, the two dearest steps of a Vary'd hit. It holds
// keys only, never entries: what is served is always read from the store.
type variantMemo struct {
	mu sync.RWMutex
	m  map[string]memoVariant
}

type memoVariant struct {
	varyKey []byte // the normalised Vary material
	key     string // the variant key derived from it
}

// appendRawValues appends an unambiguous encoding of the request's raw
// values for names: per name, the number of field lines, then each line
// length-prefixed, so that a missing header (0 lines) differs from an empty
// one (1 empty line).
func appendRawValues(dst []byte, names []string, h http.Header) []byte {
	for _, name := range names {
		lines := h[name]
		dst = binary.AppendUvarint(dst, uint64(len(lines)))
		for _, l := range lines {
			dst = appendString(dst, l)
		}
	}
	return dst
}

func (m *variantMemo) get(raw []byte) (memoVariant, bool) {
	m.mu.RLock()
	v, ok := m.m[string(raw)]
	m.mu.RUnlock()
	return v, ok
}

func (m *variantMemo) add(raw []byte, v memoVariant) {
	if len(raw)+len(v.varyKey) > maxMemoBytes {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]memoVariant)
	}
	if len(m.m) < maxMemoVariants {
		m.m[string(raw)] = v
	}
}
