package entry

import (
	"net/http"

	"github.com/seedcache/httpcache/internal/rfc9111"
)

// Header is a stored response's header: its fields, each with its canonical
// name and its values, in one array, and all the values in a second. It is
// what a stored entry keeps instead of an http.Header: a map costs a hit a
// walk through its buckets and the garbage collector two or three objects
// per entry more, where a Header is two arrays and a hit copies it with a
// loop. Decoded and shared entries' names and values are substrings of one
// string per entry (see Decode and EncodeShared), so they hold no string
// of their own either.
//
// A Header is read-only once built: it may be shared by every request
// served from its entry.
type Header []Field

// Field is one field of a Header.
type Field struct {
	Name   string   // canonical
	Values []string // capped (len == cap), so that an append copies; nil if none
}

// HeaderOf returns the fields of h as a Header, in the map's order. It
// shares h's strings, not its slices: the Header is independent of h.
func HeaderOf(h http.Header) Header {
	if len(h) == 0 {
		return nil
	}
	n := 0
	for _, vv := range h {
		n += len(vv)
	}
	out := make(Header, 0, len(h))
	all := make([]string, n)
	for name, vv := range h {
		f := Field{Name: name}
		if len(vv) > 0 {
			k := copy(all, vv)
			f.Values, all = all[:k:k], all[k:]
		}
		out = append(out, f)
	}
	return out
}

// Values returns the values of the field named name (canonical), or nil if
// h has none.
func (h Header) Values(name string) []string {
	for i := range h {
		if h[i].Name == name {
			return h[i].Values
		}
	}
	return nil
}

// CopyTo sets every field of h in dst, replacing dst's values of those
// names with h's (shared, as Map's are).
func (h Header) CopyTo(dst http.Header) {
	for i := range h {
		dst[h[i].Name] = h[i].Values
	}
}

// size is what h holds on the heap besides the strings: its two arrays
// (40 bytes a field, 16 a value, on 64-bit platforms; a little more here
// for the allocator's size classes).
func (h Header) size() int {
	n := 44 * len(h)
	for i := range h {
		n += 18 * len(h[i].Values)
	}
	return n
}

// Stored is what the conditional rules read of h (its ETag, Last-Modified
// and Date), in one pass.
func (h Header) Stored() rfc9111.Stored {
	var s rfc9111.Stored
	for i := range h {
		switch h[i].Name {
		case "Etag":
			s.ETag = h[i].Values
		case "Last-Modified":
			s.LastModified = h[i].Values
		case "Date":
			s.Date = h[i].Values
		}
	}
	return s
}
