package httpcache

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// canonicalizeHeader renames h's fields whose names are not in canonical
// form — set through the map, as h["ETag"] or h["cache-control"] — to
// their canonical form, merging the values of names that differ only in
// case. The cache reads the fields that decide what is stored and who may
// see it (Cache-Control, Vary, Set-Cookie, the tag header) under canonical
// names, as net/http's Header methods do: a field spelled otherwise would
// reach the client, and the stored copy, unread. Field names are
// case-insensitive (RFC 9110 §5.1), so the client receives the same
// response. Names that are not tokens are left as they are: net/http drops
// them when it writes a header, and storedHeader does not store them.
func canonicalizeHeader(h http.Header) {
	for k, v := range h {
		ck := http.CanonicalHeaderKey(k)
		if ck == k {
			continue // canonical, or not a token (then returned as is)
		}
		delete(h, k)
		h[ck] = slices.Concat(h[ck], v)
	}
}

// sentValues returns a field's values as net/http writes them and as RFC
// 9110 §5.5 has a recipient read them: CR, LF and NUL replaced by SP, and
// the result trimmed. It returns vs itself when every value is valid.
func sentValues(vs []string) []string {
	var out []string
	for i, v := range vs {
		if validFieldValue(v) {
			if out != nil {
				out[i] = v
			}
			continue
		}
		if out == nil {
			out = make([]string, len(vs))
			copy(out, vs[:i])
		}
		out[i] = textproto.TrimString(fieldInvalid.Replace(v))
	}
	if out == nil {
		return vs
	}
	return out
}

var fieldInvalid = strings.NewReplacer("\r", " ", "\n", " ", "\x00", " ")
