package engine

import (
	"bytes"
	"context"
	"net/http"
	"slices"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/vary"
)

// lookup is the outcome of looking a request up in the store.
type lookup struct {
	bufp     *[]byte      // pooled buffer holding material and varyKey
	material []byte       // primary key material
	varyKey  []byte       // Vary material under index's names, if index != nil
	pk       string       // primary key
	index    *entry.Entry // the Vary index at pk, if there is one
	found    *entry.Entry // the matching response, fresh or not
	fwd      string       // why it was not a hit, if it is not
	failed   bool         // the store failed: do not write to it either
	err      error        // how, when events are observed
	seq      uint64       // the purge sequence, read with the entry
	seqRead  bool
	// purged is how many purges this Cache had finished before the
	// lookup: what a waiter goes by when the store cannot tell (see
	// notPurged).
	purged uint64
	// invGen is the invalidation generation of pk before the lookup (see
	// invalidations).
	invGen uint64
	// written is the count of this process's writes to pk's stripe
	// finished before the lookup (see writeQueue.runs).
	written uint64
	// ev is the event of the request, when events are observed.
	ev *eventRecord
}

// start is what lk knew of purges, for a fetch it begins.
func (lk *lookup) start() fetchStart {
	return fetchStart{purged: lk.purged, seq: lk.seq, seqRead: lk.seqRead}
}

// refetch brings what lk knows of purges up to the store's answer ans, for
// a fetch begun after a purge refused what another fetch got: the purge
// clock as ans read it, and the stale response lk found (to revalidate, or
// to stand in for an error) only if no purge up to then reaches it — it
// was checked up to the clock read with lk, which ans has passed. If the
// store could not say, that response is given up. What lk knows of this
// Cache's own purges stays as it was: the fallback counts every purge since
// the lookup.
func (c *Engine) refetch(ctx context.Context, lk *lookup, ans purgeAnswer) {
	if ans.known {
		lk.seq, lk.seqRead = ans.seq, true
	}
	if e := lk.found; e != nil {
		lk.found = nil
		if ans.known {
			if e, err := c.purgeMarks(ctx, "", lk.pk, e, e.Seq, ans.seq); err == nil && e != nil {
				lk.found = e // softened, if a soft purge reached it
			}
		}
		if lk.found == nil {
			lk.fwd = fwdURIMiss // as if the lookup had found it purged
		}
	}
}

// clone copies lk without its pooled buffer, for a nested layer that may
// outlive the layer whose lookup it was.
func (lk *lookup) clone() lookup {
	c := *lk
	c.bufp = nil
	c.material = bytes.Clone(lk.material)
	c.varyKey = bytes.Clone(lk.varyKey)
	return c
}

// release returns the lookup's buffer to the pool.
func (lk *lookup) release() {
	if lk.bufp != nil {
		*lk.bufp = (*lk.bufp)[:0]
		materialPool.Put(lk.bufp)
		lk.bufp = nil
	}
}

// lookup finds the stored response for r: the entry at the primary key, or,
// when that is a Vary index, the variant matching r's normalised request
// headers. Every candidate is checked against the full key material (not just
// the hash) before it can be served.
func (c *Engine) lookup(ctx context.Context, rt *route, r *http.Request) lookup {
	var lk lookup
	c.lookupInto(ctx, rt, r, &lk)
	return lk
}

// lookupInto is lookup, filling in lk: a hit's lookup is not copied.
func (c *Engine) lookupInto(ctx context.Context, rt *route, r *http.Request, lk *lookup) {
	*lk = lookup{bufp: materialPool.Get().(*[]byte), fwd: fwdURIMiss, purged: c.purgesDone.Load()}
	buf := rt.keys.AppendMaterial((*lk.bufp)[:0], r)
	lk.material = buf
	lk.pk = rt.keys.PrimaryKey(buf)
	*lk.bufp = buf
	lk.invGen = c.invGen.load(lk.pk)
	lk.written = c.writes.runs.load(lk.pk)

	if c.pending.has(lk.pk) && !c.retryDelete(context.WithoutCancel(ctx), lk.pk) {
		lk.failed = true // still not invalidated: neither read nor write
		return
	}
	var pre prefetched
	e, ok := c.loadPrimary(ctx, rt, r, lk, &pre)
	if !lk.seqRead && !lk.failed {
		// Read along with the entry where the store allows; else now.
		// A fetch stores its response with the sequence read here.
		seq, err := c.purges.current(ctx)
		if err != nil {
			c.readFailed(lk.pk, err, lk)
			return
		}
		lk.seq, lk.seqRead = seq, true
	}
	if !ok || lk.failed || !bytes.Equal(e.URL, lk.material) {
		return
	}
	foundKey := lk.pk
	if e.Kind == entry.KindIndex {
		lk.index = e
		lk.fwd = fwdVaryMiss
		vk := c.variantKeyFor(rt, r, lk, e)
		var v *entry.Entry
		if pre.key == vk && pre.value != nil {
			v, ok = c.decode(ctx, vk, pre.value)
		} else if pre.key != vk {
			v, ok = c.load(ctx, vk, lk)
		} else {
			ok = false // prefetched, and not there
		}
		if !ok || v.Kind != entry.KindResponse || v.Epoch != e.Epoch ||
			!bytes.Equal(v.URL, lk.material) || !bytes.Equal(v.VaryKey, lk.varyKey) ||
			!slices.Equal(v.VaryNames, e.VaryNames) || !acceptable(v, r) {
			return
		}
		e, foundKey = v, vk
	} else if len(e.VaryNames) != 0 {
		return // a variant never sits at a primary key
	}
	if e = c.checkPurges(ctx, foundKey, lk.pk, e, lk.seq); e == nil {
		lk.fwd = fwdURIMiss
		return
	}
	lk.found = e
	lk.fwd = fwdStale // if it cannot be used as it is
}

// acceptable reports whether the stored response e may answer r as far as
// its content coding goes: for a response that varies on Accept-Encoding,
// whether r accepts its Content-Encoding (RFC 9110 §12.5.3). The variant key
// covers only the codings in Options.Codings, so r may share e's variant
// and still not accept e's coding (compress, to a gzip-only client); such a
// request is a vary-miss. Every path that serves a stored or collapsed
// response to a request goes through lookup or fits, which ask this.
//
// Such a response is still stored (its coding outside Options.Codings
// makes it no less a response to the request that fetched it): it serves
// the requests of its variant that accept it, and a fetch for one that does
// not replaces it. Refusing to store it would give the requests that accept
// it no hits, to save the others one miss.
//
// A response that does not vary on Accept-Encoding is served as it is: its
// origin said it is the same for every request. It does not allocate.
func acceptable(e *entry.Entry, r *http.Request) bool {
	if e.Flags&entry.FlagCodingKeyed != 0 || !slices.Contains(e.VaryNames, "Accept-Encoding") {
		// The request's variant key, equal to the entry's, says it
		// accepts the entry's coding as the request that stored it did.
		return true
	}
	return vary.AcceptsEncoding(r.Header["Accept-Encoding"], e.Header.Values("Content-Encoding"))
}

// prefetched is a variant read together with its index.
type prefetched struct {
	key   string
	value []byte // nil: not stored
}

// loadPrimary reads the entry at the primary key. With a MultiGetter store
// it reads, in the same round trip, the purge clock (when purges can be
// recorded at all) and, given a hint of the URL's Vary index, the variant
// the hint points to; the variant is returned in pre only if the index
// read is the hinted one.
func (c *Engine) loadPrimary(ctx context.Context, rt *route, r *http.Request, lk *lookup, pre *prefetched) (*entry.Entry, bool) {
	if c.multi == nil {
		return c.load(ctx, lk.pk, lk)
	}
	sp, _ := c.purges.(*storePurges)
	withSeq := sp != nil && sp.canPurge()
	h, hinted := c.hints.get(lk.pk)
	keys := make([]string, 1, 3)
	keys[0] = lk.pk
	var vk string
	if hinted {
		vk = c.variantKeyFor(rt, r, lk, h.index)
		keys = append(keys, vk)
	}
	if withSeq {
		keys = append(keys, sp.seqKey())
	}
	start := c.opStart()
	vals, err := c.multi.GetMulti(ctx, keys...)
	c.observeStore(OpGetMulti, start, err)
	if err == nil && withSeq {
		lk.seq, err = sp.seqFrom(ctx, vals[len(vals)-1], nil)
		lk.seqRead = err == nil
	}
	if err != nil {
		c.readFailed(lk.pk, err, lk)
		return nil, false
	}
	v := vals[0]
	if v == nil {
		c.hints.learn(lk.pk, nil, nil)
		return nil, false
	}
	if hinted && c.hints.matches(h, v) {
		pre.key, pre.value = vk, vals[1]
		return h.index, true
	}
	e, ok := c.decode(ctx, lk.pk, v)
	c.hints.learn(lk.pk, v, e)
	return e, ok
}

// variantKeyFor derives the key of r's variant under index, and sets
// lk.varyKey. With an index shared in process, the memo usually answers.
func (c *Engine) variantKeyFor(rt *route, r *http.Request, lk *lookup, index *entry.Entry) string {
	n := len(lk.material)
	if index.Memo != nil {
		raw := keys.AppendRawValues((*lk.bufp)[:n], index.VaryNames, r.Header)
		*lk.bufp = raw
		lk.material = raw[:n]
		if v, ok := index.Memo.Get(raw[n:]); ok {
			lk.varyKey = v.VaryKey
			return v.Key
		}
	}
	rawEnd := len(*lk.bufp) // n, or past the raw values when memoised
	buf := rt.vary.AppendKey(*lk.bufp, index.VaryNames, r.Header)
	*lk.bufp = buf
	lk.material, lk.varyKey = buf[:n], buf[rawEnd:]
	key := keys.VariantKey(lk.pk, index.Epoch, lk.varyKey)
	if index.Memo != nil {
		index.Memo.Add(buf[n:rawEnd], keys.Variant{VaryKey: bytes.Clone(lk.varyKey), Key: key})
	}
	return key
}
