package engine

import (
	"net/http"

	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/tags"
)

// Tag tags the response being produced for r (see httpcache.Tag).
func Tag(r *http.Request, tags ...string) {
	if m, ok := r.Context().Value(tagsKey{}).(*miss); ok {
		m.addTags(tags...)
	}
}

// addTags tags m's response, and the response of every other Cache's
// fetch enclosing it: with two Caches stacked, the outer one stores what
// the inner one serves, and must answer to the same tags.
func (m *miss) addTags(tags ...string) {
	for ; m != nil; m = m.enclosing {
		m.tags.Add(tags...)
	}
}

// takeTags removes the tag header name from h, giving its tags to m and
// the fetches enclosing it (to none if m is nil): tags are for caches, not
// for clients. The writers canonicalise h first (header.Canonicalize), so
// the tag header is found however the handler spelled it.
func takeTags(h http.Header, name string, m *miss) {
	if th := h[name]; len(th) > 0 {
		m.addTags(tags.Split(th)...)
		delete(h, name)
	}
}

// enclosingMiss returns the fetch of another Cache that r's response is
// for, if any (see addTags).
func enclosingMiss(r *http.Request, c *Engine) *miss {
	m, _ := r.Context().Value(tagsKey{}).(*miss)
	for m != nil && m.rt.c == c {
		m = m.enclosing // a layer of this Cache: it stands aside
	}
	return m
}

// tagsKey finds the fetch a handler's response belongs to.
type tagsKey struct{}

// tagsWithinLimits reports whether the tags m has so far can be stored
// with its response; it logs (rate-limited) when they cannot.
func (m *miss) tagsWithinLimits() bool {
	if _, ok := m.tags.List(); !ok {
		m.rt.c.tooManyTags(m.req)
		return false
	}
	return true
}

// tooManyTags logs a response not stored for its tags, at most once a
// second per Cache (with a count of what was left out): one handler that
// over-tags must not flood the log with one line per request.
func (c *Engine) tooManyTags(r *http.Request) {
	if suppressed, ok := c.tagLog.allow(c.now()); ok {
		c.log.Warn("httpcache: response not stored: too many tags, or a tag too long or with control characters",
			"url", r.URL.String(), "max_tags", tags.MaxTags, "max_tag_len", tags.MaxTagLen, "suppressed", suppressed)
	}
}

// tagName is the name under which the store's TagIndex records tag (see
// keys.TagName).
func (c *Engine) tagName(tag string) string {
	return keys.TagName(c.opts.KeyPrefix, tag)
}

// tagNames returns the tagName of each of tags.
func (c *Engine) tagNames(tags []string) []string {
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = c.tagName(t)
	}
	return names
}
