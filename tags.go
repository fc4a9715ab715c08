package httpcache

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/seedcache/httpcache/internal/keys"
)

// Tag tags the response being produced for r, so that Cache.Purge with any
// of tags drops it. Handlers call it on the request they were given, before
// or while writing the response; calls for a request the cache is not
// storing do nothing. It is the in-code form of the Cache-Tag header. A tag
// holding a comma or a space can be purged with Cache.Purge, but not named
// in that header (which splits on them) or through PurgeHandler.
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
		m.tags.add(tags...)
	}
}

// takeTags removes the tag header name from h, giving its tags to m and
// the fetches enclosing it (to none if m is nil): tags are for caches, not
// for clients. The writers canonicalise h first (header.Canonicalize), so
// the tag header is found however the handler spelled it.
func takeTags(h http.Header, name string, m *miss) {
	if th := h[name]; len(th) > 0 {
		m.addTags(splitTagHeader(th)...)
		delete(h, name)
	}
}

// enclosingMiss returns the fetch of another Cache that r's response is
// for, if any (see addTags).
func enclosingMiss(r *http.Request, c *Cache) *miss {
	m, _ := r.Context().Value(tagsKey{}).(*miss)
	for m != nil && m.rt.c == c {
		m = m.enclosing // a layer of this Cache: it stands aside
	}
	return m
}

// tagsKey finds the fetch a handler's response belongs to.
type tagsKey struct{}

// Tag limits: a response over them is not stored (with Cache-Status
// detail=tags when they are known as its header goes out), since storing it
// without some of its tags would let it survive their purge.
const (
	maxTags   = 64
	maxTagLen = 256
)

// tagSet collects a response's tags, from Tag (possibly called from the
// handler's own goroutines) and from the tag header.
type tagSet struct {
	mu   sync.Mutex
	tags []string
}

func (s *tagSet) add(tags ...string) {
	s.mu.Lock()
	s.tags = append(s.tags, tags...)
	s.mu.Unlock()
}

// splitTagHeader returns the tags in a Cache-Tag style header.
func splitTagHeader(lines []string) []string {
	var tags []string
	for _, line := range lines {
		tags = append(tags, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return tags
}

// list returns the tags sorted and without duplicates, and false when they
// break the limits.
func (s *tagSet) list() ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tags) == 0 {
		return nil, true
	}
	tags := slices.Clone(s.tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if len(tags) > maxTags {
		return nil, false
	}
	for _, t := range tags {
		if !validTag(t) {
			return nil, false
		}
	}
	return tags, true
}

// tagsWithinLimits reports whether the tags m has so far can be stored
// with its response; it logs (rate-limited) when they cannot.
func (m *miss) tagsWithinLimits() bool {
	if _, ok := m.tags.list(); !ok {
		m.rt.c.tooManyTags(m.req)
		return false
	}
	return true
}

// tooManyTags logs a response not stored for its tags, at most once a
// second per Cache (with a count of what was left out): one handler that
// over-tags must not flood the log with one line per request.
func (c *Cache) tooManyTags(r *http.Request) {
	if suppressed, ok := c.tagLog.allow(c.now()); ok {
		c.log.Warn("httpcache: response not stored: too many tags, or a tag too long or with control characters",
			"url", r.URL.String(), "max_tags", maxTags, "max_tag_len", maxTagLen, "suppressed", suppressed)
	}
}

// validTag reports whether t can be a tag: not empty, not too long, no
// control bytes (which keeps user tags apart from the implicit ones).
func validTag(t string) bool {
	if t == "" || len(t) > maxTagLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] == 0x7f {
			return false
		}
	}
	return true
}

// tagName is the name under which the store's TagIndex records tag:
// KeyPrefix + "v1:tag:{" + the first 128 bits of SHA-256 of tag in hex +
// "}". It lives under the Cache's KeyPrefix, as everything the Cache
// writes does, so that Caches with other prefixes on the store keep
// records of their own: a purge of a tag through one never finds the
// other's entries. The tag is hashed because tags may hold braces, which
// would cut the Redis Cluster hash tag short and pile families of tags
// ("{t}a", "{t}b") onto one slot; the hash spreads the records evenly
// and keeps their names short and printable.
func (c *Cache) tagName(tag string) string {
	sum := sha256.Sum256([]byte(tag))
	b := make([]byte, 0, len(c.opts.KeyPrefix)+len(keys.Version)+len("tag:{}")+32)
	b = append(b, c.opts.KeyPrefix...)
	b = append(b, keys.Version+"tag:{"...)
	b = hex.AppendEncode(b, sum[:16])
	b = append(b, '}')
	return string(b)
}

// tagNames returns the tagName of each of tags.
func (c *Cache) tagNames(tags []string) []string {
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = c.tagName(t)
	}
	return names
}
