package keys

import (
	"encoding/binary"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
)

// maxMemoVariants bounds each index's memo: request values past it are
// still served, just computed each time, so a client sending endless
// distinct values cannot grow memory.
const maxMemoVariants = 64

// maxMemoBytes bounds one memo record (raw values and normalised material):
// request values are the client's to choose, and large ones, rare in real
// traffic, are not memoised.
const maxMemoBytes = 512

// memoBudget bounds the bytes all memos in the process hold together (the
// stores' budgets do not count them): past it, variant keys are computed
// each time until memos of collected indexes give their share back.
var memoBudget int64 = 8 << 20

// memoBytes is what all memos hold now, records counted with their map
// overhead (see memoCost).
var memoBytes atomic.Int64

// memoCost is what one record costs: its bytes and an estimate of the map
// slot, the memoRecord and headers.
func memoCost(raw []byte, v Variant) int64 {
	return int64(len(raw)+len(v.VaryKey)+len(v.Key)) + 96 + 64
}

// Memo remembers, for one Vary index shared in process (decoded
// once and kept by an ObjectStore), which variant key each combination of
// raw request values leads to. A hit then skips normalising the values and
// hashing the variant key, the two dearest steps of a Vary'd hit. It holds
// keys only, never entries: what is served is always read from the store.
type Memo struct {
	mu    sync.RWMutex
	m     map[string]*memoRecord
	usage *memoUsage // what it holds of memoBudget; nil until the first record
	// last is the record a Get found last: most requests for a URL
	// send the same values, and one comparison then answers, without
	// the lock or the map (and without writing to memory other cores
	// read, as taking the lock does).
	last atomic.Pointer[memoRecord]
}

// memoRecord is one record of a Memo.
type memoRecord struct {
	raw string
	v   Variant
}

// memoUsage is kept apart from its memo so that the memo's cleanup can
// read it once the memo is unreachable.
type memoUsage struct{ n int64 }

// Variant is what a Memo remembers for one combination of raw values.
type Variant struct {
	VaryKey []byte // the normalised Vary material
	Key     string // the variant key derived from it
}

// AppendRawValues appends an unambiguous encoding of the request's raw
// values for names: per name, the number of field lines, then each line
// length-prefixed, so that a missing header (0 lines) differs from an empty
// one (1 empty line).
func AppendRawValues(dst []byte, names []string, h http.Header) []byte {
	for _, name := range names {
		lines := h[name]
		dst = binary.AppendUvarint(dst, uint64(len(lines)))
		for _, l := range lines {
			dst = appendString(dst, l)
		}
	}
	return dst
}

// Get returns the variant remembered for raw values raw, if any.
func (m *Memo) Get(raw []byte) (Variant, bool) {
	last := m.last.Load()
	if last != nil && last.raw == string(raw) {
		return last.v, true
	}
	m.mu.RLock()
	rec := m.m[string(raw)]
	m.mu.RUnlock()
	if rec == nil {
		return Variant{}, false
	}
	m.last.Store(rec)
	return rec.v, true
}

// Add remembers v for raw values raw, unless either is over the bounds
// or the memo or the process-wide budget is full.
func (m *Memo) Add(raw []byte, v Variant) {
	if len(raw)+len(v.VaryKey) > maxMemoBytes {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[string(raw)]; ok || len(m.m) >= maxMemoVariants {
		return // another request added it first, or the memo is full
	}
	cost := memoCost(raw, v)
	if memoBytes.Add(cost) > memoBudget {
		memoBytes.Add(-cost)
		return
	}
	if m.m == nil {
		m.m = make(map[string]*memoRecord)
		m.usage = &memoUsage{}
		runtime.AddCleanup(m, func(u *memoUsage) { memoBytes.Add(-u.n) }, m.usage)
	}
	k := string(raw)
	m.m[k] = &memoRecord{raw: k, v: v}
	m.usage.n += cost
}
