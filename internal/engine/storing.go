package engine

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/seedcache/httpcache/vary"

	"github.com/seedcache/httpcache/internal/entry"
	"github.com/seedcache/httpcache/internal/header"
	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/rfc9111"
)

// storeResponse stores a complete, storable response captured on a miss
// and returns it as an entry other requests in this process may be served
// from (nil if nothing was stored). onDone runs once the writes are done.
func (c *Engine) storeResponse(ctx context.Context, m *miss, cw *captureWriter, tags []string, onDone *writesDone) *entry.Entry {
	e := &entry.Entry{
		Kind:   entry.KindResponse,
		Status: cw.status,
		Header: storedFields(cw.header, m.above, c.opts.TagHeader, m.responseTime, cw.body, m.rt.rules.GenerateETag && cw.status == 200),
		Body:   cw.body,
		Tags:   tags,
	}
	return c.storeEntry(ctx, m, e, m.decision, onDone)
}

// storeEntry stores e, a response with status, header and body set, under
// decision d: under the primary key when it has no Vary, else as a variant
// behind a Vary index at the primary key. Entries are encoded here, while
// e's body (a pooled capture buffer) is still valid; the writes themselves
// may go to the background. It returns e, turned into the stored entry as
// decoded from its encoding (see encodeShared), for collapsed requests to
// be served from; nil when nothing was stored.
func (c *Engine) storeEntry(ctx context.Context, m *miss, e *entry.Entry, d rfc9111.Decision, onDone *writesDone) *entry.Entry {
	rt := m.responseTime.UnixNano()
	e.RequestTime = m.requestTime.UnixNano()
	e.ResponseTime = rt
	e.InitialAge = d.InitialAge
	e.Lifetime = d.Lifetime
	e.Expires = rt + int64(d.TTL)
	e.StaleWhileRevalidate = d.StaleWhileRevalidate
	e.StaleIfError = d.StaleIfError
	e.Flags = d.Flags
	if slices.Contains(d.VaryNames, "Accept-Encoding") && m.rt.vary.KeysCodings(e.Header.Values("Content-Encoding")) &&
		vary.AcceptsEncoding(m.req.Header["Accept-Encoding"], e.Header.Values("Content-Encoding")) {
		e.Flags |= entry.FlagCodingKeyed
	}
	e.URL = m.lk.material
	e.Seq = m.lk.seq
	pk := m.lk.pk
	if m.lk.failed {
		// The store just failed this request: don't pile on. The
		// response can still answer the requests collapsed into this
		// one, which matters most while the store is down.
		if len(d.VaryNames) > 0 {
			e.VaryNames = d.VaryNames
			e.VaryKey = m.rt.vary.AppendKey(nil, d.VaryNames, m.req.Header)
		}
		onDone.run()
		_, ok := c.encodeShared(e)
		if !ok {
			return nil
		}
		return e
	}
	// What to write: e under pk or, with Vary, as a variant behind the
	// index at pk. A new or rewritten index is written after the variant:
	// an index must never lead to a variant not yet written, or a request
	// made meanwhile (here, once this response has been served as stored,
	// or in another process) would find the index and miss the variant.
	puts := m.puts[:1]          // a response is stored once per miss
	var entries [2]*entry.Entry // puts[i] encodes entries[i]
	entries[0] = e
	key := pk // e's
	if len(d.VaryNames) == 0 {
		e.VaryNames, e.VaryKey, e.Epoch = nil, nil, 0
	} else {
		idx := m.lk.index
		if idx == nil || !slices.Equal(idx.VaryNames, d.VaryNames) || idx.Expires < e.Expires {
			// A new Vary list starts a new epoch: variants stored
			// under an old list can never be reached from the new
			// index. An index that would die before this variant is
			// rewritten with the same epoch; it is given twice the
			// variant's lifetime so that the variants stored after it
			// do not each rewrite it again.
			fresh := &entry.Entry{
				Kind:         entry.KindIndex,
				ResponseTime: rt,
				Expires:      rt + 2*int64(d.TTL),
				URL:          m.lk.material,
				VaryNames:    d.VaryNames,
				Epoch:        rand.Uint64(),
			}
			var ifEpoch uint64
			if idx != nil && slices.Equal(idx.VaryNames, d.VaryNames) {
				fresh.Epoch = idx.Epoch
				ifEpoch = idx.Epoch // only if it is still there (see writeAll)
			}
			idx = fresh
			entries[1] = fresh
			puts = append(puts, put{key: pk, ttl: 2 * d.TTL, ifEpoch: ifEpoch})
		}
		e.Epoch = idx.Epoch
		e.VaryNames = d.VaryNames
		e.VaryKey = m.rt.vary.AppendKey(nil, d.VaryNames, m.req.Header)
		key = keys.VariantKey(pk, e.Epoch, e.VaryKey)
	}
	puts[0] = put{key: key, ttl: d.TTL, tags: e.Tags}
	if len(d.VaryNames) > 0 && c.listsVariants() {
		puts[0].variants = c.variantsTag(pk)
	}
	size, tags := len(e.Body), e.Tags // for the event: e is shared once encoded
	for i := range puts {
		raw, ok := c.encodeShared(entries[i])
		if !ok {
			onDone.run()
			return nil
		}
		dec := entries[i]
		puts[i].value, puts[i].obj = raw, dec
		if entries[i].Kind == entry.KindIndex && c.multi != nil {
			// The next hit can then read index and variant together
			// at once; if this write fails, the index read alongside
			// will not match the hint, and nothing wrong is served.
			c.hints.learn(pk, raw, dec)
		}
	}
	m.lk.stored(size, tags)
	c.writes.submit(ctx, c, pk, m.lk.invGen, onDone, puts...)
	return puts[0].obj
}

// encodeShared encodes e and readies it to be shared (see share): written
// to an in-process store with its bytes, and served to the requests
// collapsed into the fetch. e is turned into what decoding its encoding
// would give (see entry.Entry.EncodeShared), without decoding it: its body,
// a pooled capture buffer until then, is then the encoding's. An entry
// that would not decode as encoded is a bug of this package's: it is
// logged and not stored, and the response, already sent, is left alone.
func (c *Engine) encodeShared(e *entry.Entry) ([]byte, bool) {
	raw, err := e.EncodeShared()
	if err != nil {
		c.log.Error("httpcache: internal error: an entry does not decode as encoded; not stored", slog.Any("error", err))
		return nil, false
	}
	e.Share()
	return raw, true
}

// storedFields is the header as stored, from the handler's header h: h
// without hop-by-hop fields (and those Connection names), without Age and
// Cache-Status (recomputed on every hit), without Set-Cookie or the field
// named skip (the tag header), and without what the middleware above set
// before the handler ran; names that are not tokens are dropped and invalid
// values mended, as net/http does when it writes them (see
// header.SentValues). It adds a Date when the handler sent none (RFC 9110
// §6.6.1), the exact Content-Length, and the Content-Type net/http would
// have sniffed, so that HEAD hits get it too, and with etag an ETag derived
// from the body when there is no validator.
//
// It builds the entry's header in one pass over h, which it leaves as it
// is: no map is edited or made on the way.
func storedFields(h, above http.Header, skip string, responseTime time.Time, body []byte, etag bool) entry.Header {
	// What the handler sent, before the fields never stored go.
	_, sized := h["Content-Length"]
	_, typed := h["Content-Type"]
	encoded := len(h["Content-Encoding"]) > 0
	out := make(entry.Header, 0, len(h)+4)
	all := make([]string, 0, len(h)+4) // most fields have one value
	dated, validated, etagAt := false, false, -1
	header.EachStorable(h, above, notStored, func(name string, v []string) {
		switch name {
		case skip, "Content-Length": // the tag header; the exact length is added below
			return
		case "Date":
			dated = true
		case "Etag", "Last-Modified":
			validated = validated || len(v) > 0
			if name == "Etag" {
				etagAt = len(out)
			}
		}
		f := entry.Field{Name: name}
		if len(v) > 0 {
			n := len(all)
			all = append(all, v...)
			f.Values = all[n:len(all):len(all)]
		}
		out = append(out, f)
	})
	add := func(name, v string) {
		all = append(all, v)
		n := len(all)
		out = append(out, entry.Field{Name: name, Values: all[n-1 : n : n]})
	}
	if !dated {
		add("Date", header.FormatHTTPDate(responseTime))
	}
	if sized || len(body) > 0 {
		add("Content-Length", strconv.Itoa(len(body)))
	}
	if !typed && len(body) > 0 && !encoded {
		add("Content-Type", http.DetectContentType(body))
	}
	if etag && !validated {
		if etagAt >= 0 { // an ETag without a value: replaced
			out = slices.Delete(out, etagAt, etagAt+1)
		}
		add("Etag", bodyETag(body))
	}
	return out
}

// notStored are the fields, besides hop-by-hop ones, never stored: Age and
// Cache-Status are recomputed on every hit, and a cookie is one client's.
var notStored = map[string]bool{"Age": true, "Cache-Status": true, "Set-Cookie": true}

// bodyETag is a strong entity tag derived from the body: equal bodies, equal
// tags, whichever process computed them.
func bodyETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}
