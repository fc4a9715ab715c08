package httpcache

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// storeResponse stores a complete, storable response captured on a miss:
// under the primary key when it has no Vary, else as a variant behind a Vary
// index at the primary key. Entries are encoded here, while the captured
// body is still ours; the writes themselves may go to the background.
func (c *Cache) storeResponse(ctx context.Context, m *miss, cw *captureWriter) {
	if m.lk.failed {
		return // the store just failed this request: don't pile on
	}
	d := m.decision
	rt := m.responseTime.UnixNano()
	e := &entry{
		kind:         kindResponse,
		status:       cw.status,
		header:       storedHeader(cw.header, m.above, m.responseTime, cw.body),
		body:         cw.body,
		requestTime:  m.requestTime.UnixNano(),
		responseTime: rt,
		initialAge:   d.initialAge,
		lifetime:     d.lifetime,
		expires:      rt + int64(d.ttl),
		url:          m.lk.material,
	}
	pk := m.lk.pk
	if len(d.varyNames) == 0 {
		c.writes.submit(ctx, c, pk, put{pk, e.encode(), d.ttl})
		return
	}
	var puts []put
	idx := m.lk.index
	if idx == nil || !slices.Equal(idx.varyNames, d.varyNames) || idx.expires < e.expires {
		// A new Vary list starts a new epoch: variants stored under an
		// old list can never be reached from the new index. An index
		// that would die before this variant is rewritten with the same
		// epoch; it is given twice the variant's lifetime so that the
		// variants stored after it do not each rewrite it again.
		fresh := &entry{
			kind:         kindIndex,
			responseTime: rt,
			expires:      rt + 2*int64(d.ttl),
			url:          m.lk.material,
			varyNames:    d.varyNames,
			epoch:        rand.Uint64(),
		}
		if idx != nil && slices.Equal(idx.varyNames, d.varyNames) {
			fresh.epoch = idx.epoch
		}
		idx = fresh
		raw := idx.encode()
		puts = append(puts, put{pk, raw, 2 * d.ttl})
		if c.multi != nil {
			// The next hit can then read index and variant together
			// at once; if this write fails, the index read alongside
			// will not match the hint, and nothing wrong is served.
			if dec, err := decodeEntry(raw); err == nil {
				c.hints.learn(pk, raw, dec)
			}
		}
	}
	e.epoch = idx.epoch
	e.varyNames = d.varyNames
	e.varyKey = m.rt.vary.AppendKey(nil, d.varyNames, m.req.Header)
	puts = append(puts, put{variantKey(pk, e.epoch, e.varyKey), e.encode(), d.ttl})
	c.writes.submit(ctx, c, pk, puts...)
}

// hopByHop are the fields that describe one connection, not the response
// (RFC 9110 §7.6.1): never stored, as RFC 9111 §3.1 requires.
var hopByHop = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// storedHeader is the header as stored: the handler's header without
// hop-by-hop fields (and those Connection names), without Age and
// Cache-Status (recomputed on every hit), without Set-Cookie, and without what
// the middleware above set before the handler ran. It adds a Date when the
// handler sent none (RFC 9110 §6.6.1), the exact Content-Length, and the
// Content-Type net/http would have sniffed, so that HEAD hits get it too.
func storedHeader(h, above http.Header, responseTime time.Time, body []byte) http.Header {
	out := make(http.Header, len(h)+2)
	named := connectionNamed(h)
	for k, v := range h {
		switch {
		case hopByHop[k], named[k], k == "Age", k == "Cache-Status", k == "Set-Cookie":
			continue
		}
		if a, ok := above[k]; ok && sameValues(a, v) {
			continue
		}
		out[k] = v
	}
	if _, ok := out["Date"]; !ok {
		out["Date"] = []string{responseTime.UTC().Format(http.TimeFormat)}
	}
	if _, ok := h["Content-Length"]; ok || len(body) > 0 {
		out["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	_, typed := h["Content-Type"]
	if !typed && len(body) > 0 && len(h["Content-Encoding"]) == 0 {
		out["Content-Type"] = []string{http.DetectContentType(body)}
	}
	return out
}

// connectionNamed returns the fields the Connection header names.
func connectionNamed(h http.Header) map[string]bool {
	lines := h["Connection"]
	if len(lines) == 0 {
		return nil
	}
	named := map[string]bool{}
	for _, line := range lines {
		for line != "" {
			var tok string
			tok, line, _ = cutByte(line, ',')
			if tok = trimOWS(tok); tok != "" {
				named[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return named
}

// sameValues reports whether two header value lists are equal.
func sameValues(a, b []string) bool { return slices.Equal(a, b) }
