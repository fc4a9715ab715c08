// Package header holds the pure rules about HTTP header fields that the
// cache applies: canonical names, hop-by-hop fields and those the Connection
// field names, token and field-value validity, optional whitespace, the
// declared Content-Length, trailers, cookie names, HTTP-dates, and the copy
// of the fields a stored response may carry.
//
// It knows nothing of caching decisions, stores, entries or handlers: every
// function here is a function of its arguments.
package header

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// Canonicalize renames h's fields whose names are not in canonical
// form — set through the map, as h["ETag"] or h["cache-control"] — to
// their canonical form, merging the values of names that differ only in
// case. The cache reads the fields that decide what is stored and who may
// see it (Cache-Control, Vary, Set-Cookie, the tag header) under canonical
// names, as net/http's Header methods do: a field spelled otherwise would
// reach the client, and the stored copy, unread. Field names are
// case-insensitive (RFC 9110 §5.1), so the client receives the same
// response. Names that are not tokens are left as they are: net/http drops
// them when it writes a header, and CopyStorable does not copy them.
func Canonicalize(h http.Header) {
	for k, v := range h {
		if CanonicalToken(k) {
			continue // the common case, told apart cheaply
		}
		ck := http.CanonicalHeaderKey(k)
		if ck == k {
			continue // canonical, or not a token (then returned as is)
		}
		delete(h, k)
		h[ck] = slices.Concat(h[ck], v)
	}
}

// SentValues returns a field's values as net/http writes them and as RFC
// 9110 §5.5 has a recipient read them: CR, LF and NUL replaced by SP, and
// the result trimmed. It returns vs itself when every value is valid.
func SentValues(vs []string) []string {
	var out []string
	for i, v := range vs {
		if ValidFieldValue(v) {
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

// TrimOWS removes optional whitespace (SP and HTAB, RFC 9110 §5.6.3) from
// both ends of s.
func TrimOWS(s string) string { return TrimRightOWS(TrimLeftOWS(s)) }

// TrimLeftOWS removes optional whitespace from the start of s.
func TrimLeftOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// TrimRightOWS removes optional whitespace from the end of s.
func TrimRightOWS(s string) string {
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// ValidNames reports whether every name is a token (a valid field name).
func ValidNames(names []string) bool {
	for _, n := range names {
		if !ValidToken(n) {
			return false
		}
	}
	return true
}

// ValidToken reports whether s is an RFC 9110 token (a valid field name).
func ValidToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// CanonicalToken reports whether s is a token in canonical form, as
// ValidToken(s) && http.CanonicalHeaderKey(s) == s would, in one pass and
// without building the canonical form: the first letter and every letter
// after a hyphen upper case, every other lower case.
func CanonicalToken(s string) bool {
	if s == "" {
		return false
	}
	upper := true
	for i := 0; i < len(s); i++ {
		switch nameClass[s[i]] {
		case classLower:
			if upper {
				return false
			}
			upper = false
		case classUpper:
			if !upper {
				return false
			}
			upper = false
		case classHyphen:
			upper = true
		case classOther:
			upper = false
		default:
			return false
		}
	}
	return true
}

// Byte classes of field names, for CanonicalToken.
const (
	classInvalid = iota // not a tchar
	classLower
	classUpper
	classHyphen
	classOther // another tchar
)

var nameClass = func() (t [256]uint8) {
	for c := range 256 {
		switch b := byte(c); {
		case 'a' <= b && b <= 'z':
			t[c] = classLower
		case 'A' <= b && b <= 'Z':
			t[c] = classUpper
		case b == '-':
			t[c] = classHyphen
		case IsTokenChar(b):
			t[c] = classOther
		}
	}
	return t
}()

// IsTokenChar reports whether c is an RFC 9110 tchar.
func IsTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// ValidFieldValue rejects the bytes that could end a header line early.
// It looks at eight bytes at a time: every stored field is checked on every
// miss.
func ValidFieldValue(v string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		cr, lf := x^('\r'*ones), x^('\n'*ones)
		// A byte of y is zero iff (y-ones)&^y&highs has its high bit.
		if ((x-ones)&^x|(cr-ones)&^cr|(lf-ones)&^lf)&highs != 0 {
			return false
		}
	}
	for ; i < len(v); i++ {
		if v[i] <= '\r' && lineBreaking[v[i]] {
			return false
		}
	}
	return true
}

// lineBreaking marks CR, LF and NUL, for ValidFieldValue.
var lineBreaking = [14]bool{'\r': true, '\n': true, 0: true}

// HopByHop are the fields that describe one connection, not the response
// (RFC 9110 §7.6.1): never stored, as RFC 9111 §3.1 requires.
var HopByHop = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true,
	"Proxy-Authenticate": true, "Proxy-Authorization": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

// ConnectionNamed returns the fields the Connection header names.
func ConnectionNamed(h http.Header) map[string]bool {
	lines := h["Connection"]
	if len(lines) == 0 {
		return nil
	}
	named := map[string]bool{}
	for _, line := range lines {
		for line != "" {
			var tok string
			tok, line, _ = CutByte(line, ',')
			if tok = TrimOWS(tok); tok != "" {
				named[http.CanonicalHeaderKey(tok)] = true
			}
		}
	}
	return named
}

// SameValues reports whether two header value lists are equal.
func SameValues(a, b []string) bool { return slices.Equal(a, b) }

// HasTrailers reports whether the handler set trailers, which a stored copy
// taken at WriteHeader would lose.
func HasTrailers(h http.Header) bool {
	if len(h["Trailer"]) > 0 {
		return true
	}
	for k := range h {
		if len(k) > len(http.TrailerPrefix) && k[:len(http.TrailerPrefix)] == http.TrailerPrefix {
			return true
		}
	}
	return false
}

// HasCookie reports whether the request carries a cookie with one of names.
func HasCookie(h http.Header, names []string) bool {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = CutByte(line, ';')
			name, _, _ := CutByte(part, '=')
			name = TrimOWS(name) // "sessionid =x" is sessionid to net/http
			for _, n := range names {
				if name == n {
					return true
				}
			}
		}
	}
	return false
}

// CutByte slices s around the first sep, like strings.Cut with one byte.
func CutByte(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// ContainsToken reports whether a comma-separated list contains tok,
// case-insensitively.
func ContainsToken(list, tok string) bool {
	for list != "" {
		var el string
		el, list, _ = CutByte(list, ',')
		if EqualFoldASCII(TrimOWS(el), tok) {
			return true
		}
	}
	return false
}

// EqualFoldASCII reports whether a and b are equal under ASCII case folding.
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ContentLength returns the declared Content-Length, or -1.
func ContentLength(h http.Header) int64 {
	v := h["Content-Length"]
	if len(v) != 1 {
		return -1
	}
	var n int64
	s := v[0]
	if s == "" || len(s) > 18 {
		return -1
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n
}

// CopyStorable copies into dst the fields of src a stored response may
// carry: not hop-by-hop or named by Connection, not in skip, named by a
// token (net/http does not send the others either), and not set, with the
// same values, by the middleware above (above). Values are copied as
// net/http sends them (see SentValues).
func CopyStorable(dst, src, above http.Header, skip map[string]bool) {
	EachStorable(src, above, skip, func(k string, v []string) { dst[k] = v })
}

// EachStorable calls fn with each field of src CopyStorable would copy,
// and its values as CopyStorable would copy them (src's own slice when
// none needed mending).
func EachStorable(src, above http.Header, skip map[string]bool, fn func(name string, values []string)) {
	named := ConnectionNamed(src)
	for k, v := range src {
		if storable(k, v, named, above, skip) {
			fn(k, SentValues(v))
		}
	}
}

// storable is the test of CopyStorable, for field k with values v of a
// header whose Connection field names named.
func storable(k string, v []string, named map[string]bool, above http.Header, skip map[string]bool) bool {
	if HopByHop[k] || named[k] || skip[k] || !ValidToken(k) {
		return false
	}
	if a, ok := above[k]; ok && SameValues(a, v) {
		return false
	}
	return true
}
