package vary

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// Config configures a [Normalizer].
type Config struct {
	// Codings are the content codings (Content-Encoding values) the
	// application serves, used to normalise Accept-Encoding. It must list
	// every coding the application may send: requests that differ only in a
	// coding left out share a variant, so one could be served a coding it
	// did not accept. Listing codings that are never served is safe and only
	// splits variants more finely. Names are case-insensitive; x-gzip and
	// x-compress mean gzip and compress (RFC 9110 §8.4.1); identity is
	// always a candidate, so []string{"identity"} says the application never
	// compresses. If zero (nil or empty): br, deflate, gzip and zstd, which
	// covers the usual compression middleware.
	Codings []string

	// Cookies is the allow-list of cookie names (case-sensitive) that
	// responses varying on Cookie depend on. With it, the Cookie value is
	// the allowed cookies alone, and a request carrying none of them counts
	// as having no Cookie header, so anonymous visitors with different
	// tracking cookies share a variant. If zero (nil or empty), the whole
	// Cookie header, whitespace-folded, is the value: an empty list does not
	// mean "no cookie matters", which would serve one user's response to
	// another whenever the origin says Vary: Cookie.
	Cookies []string

	// Languages are the languages (language tags, any case) the
	// application serves, used to merge Accept-Language values that no
	// origin choosing among them by RFC 4647 matching can tell apart: a
	// range is keyed as its relation to these languages (equal, a prefix
	// of one, extending one) rather than as itself, and ranges of a
	// language not listed as one "?". Order and q values stay keyed, so
	// with en and fr listed, `en-US,en;q=0.9,ja;q=0.8` and
	// `en-GB,en;q=0.9,de;q=0.8` share a variant, while `en-US,fr;q=0.8` and
	// `en-US,fr;q=0.5` do not. The package documentation lists exactly
	// what is merged.
	//
	// Set it only when the response depends on Accept-Language through the
	// choice of one of these languages alone, made by RFC 4647 lookup or
	// filtering, by a handler reading the first range, or as Django's
	// get_language_from_request makes it; list every language a response
	// may be in, at the precision the application tells apart (en-US and
	// en-GB if it spells them differently). Listing more only splits
	// variants more finely. Go's golang.org/x/text/language Matcher
	// matches beyond RFC 4647 (en-US to en-GB, da to nb, gl to es): with it,
	// key on the Matcher's own choice with a Normalizers func instead.
	// If zero (nil or empty), every range is keyed as itself.
	Languages []string

	// Normalizers overrides the normalisation of single request headers,
	// keyed by header name (any case). The func receives the header's field
	// lines (at least one; a missing header is never passed) and returns the
	// value to key on; it must be deterministic and safe for concurrent use,
	// and it runs on every cache lookup. An override replaces the built-in
	// rule, including Cookies for Cookie. If zero (nil), the built-in rules
	// apply to every header.
	Normalizers map[string]func(values []string) string
}

// Normalizer computes normalised request header values and variant-key
// material. It is immutable after [New] and safe for concurrent use. A nil
// or zero Normalizer behaves as New(Config{}).
type Normalizer struct {
	ready   bool
	codings []string // candidate codings, lower case, sorted, with identity
	cookies []string // cookie allow-list, sorted; nil means none
	// languages are Config.Languages, lower case, sorted; nil means none.
	languages []string
	custom    map[string]func([]string) string
}

// defaultCodings are used when Config.Codings is nil.
var defaultCodings = []string{"br", "deflate", "gzip", "zstd"}

// maxCodings bounds the candidate codings so that the Accept-Encoding parser
// can keep its state in two uint64 bit sets, without allocating.
const maxCodings = 64

var defaultNormalizer = New(Config{})

// New returns a Normalizer for cfg. It panics on a configuration that is a
// programming error: a coding or cookie name that is not a token, "*" as a
// coding, more than 63 codings, a language that is not a language tag (or
// is "*"), two Normalizers keys naming one header, or a nil Normalizers
// func. New copies what it keeps from cfg.
func New(cfg Config) *Normalizer {
	n := &Normalizer{ready: true}

	codings := cfg.Codings
	if len(codings) == 0 {
		codings = defaultCodings
	}
	n.codings = []string{"identity"}
	for _, c := range codings {
		if c == "" || tokenPrefix(c) != len(c) || c == "*" {
			panic(fmt.Sprintf("vary: invalid content coding %q in Config.Codings", c))
		}
		n.codings = append(n.codings, canonicalCoding(c))
	}
	slices.Sort(n.codings)
	n.codings = slices.Clip(slices.Compact(n.codings))
	if len(n.codings) > maxCodings {
		panic("vary: more than 63 content codings in Config.Codings")
	}

	if len(cfg.Cookies) > 0 {
		for _, c := range cfg.Cookies {
			if c == "" || tokenPrefix(c) != len(c) {
				panic(fmt.Sprintf("vary: invalid cookie name %q in Config.Cookies", c))
			}
			n.cookies = append(n.cookies, c)
		}
		slices.Sort(n.cookies)
		n.cookies = slices.Clip(slices.Compact(n.cookies))
	}

	if len(cfg.Languages) > 0 {
		for _, l := range cfg.Languages {
			if l == "*" || !isLanguageRange(l) {
				panic(fmt.Sprintf("vary: invalid language %q in Config.Languages", l))
			}
			n.languages = append(n.languages, strings.ToLower(l))
		}
		slices.Sort(n.languages)
		n.languages = slices.Clip(slices.Compact(n.languages))
	}

	if len(cfg.Normalizers) > 0 {
		n.custom = make(map[string]func([]string) string, len(cfg.Normalizers))
		for name, fn := range cfg.Normalizers {
			key := http.CanonicalHeaderKey(name)
			if fn == nil {
				panic("vary: nil func for " + key + " in Config.Normalizers")
			}
			if _, dup := n.custom[key]; dup {
				panic("vary: two Config.Normalizers keys name " + key)
			}
			n.custom[key] = fn
		}
	}
	return n
}

// canonicalCoding lower-cases a content coding and maps the x- aliases that
// RFC 9110 §8.4.1 says to treat as equivalent onto their standard names.
func canonicalCoding(c string) string {
	switch {
	case strings.EqualFold(c, "x-gzip"):
		return "gzip"
	case strings.EqualFold(c, "x-compress"):
		return "compress"
	}
	return strings.ToLower(c)
}

func (n *Normalizer) get() *Normalizer {
	if n == nil || !n.ready {
		return defaultNormalizer
	}
	return n
}

// Value returns the normalised value of request header name in h, and
// whether the header counts as present; it is what AppendKey keys on, for
// debugging and tests.
func (n *Normalizer) Value(name string, h http.Header) (value string, present bool) {
	name = textproto.CanonicalMIMEHeaderKey(name)
	b, present := n.get().appendValue(nil, name, h[name])
	return string(b), present
}

// appendValue appends the normalised value of a header, given its canonical
// name and its field lines, and reports whether it counts as present. When
// it does not, nothing is appended.
func (n *Normalizer) appendValue(dst []byte, name string, values []string) ([]byte, bool) {
	if fn, ok := n.custom[name]; ok {
		if len(values) == 0 {
			return dst, false
		}
		return append(dst, fn(values)...), true
	}
	if name == "Cookie" {
		return n.appendCookie(dst, values)
	}
	if len(values) == 0 {
		return dst, false
	}
	switch name {
	case "Accept-Encoding":
		return n.appendAcceptEncoding(dst, values), true
	case "Accept-Language":
		return n.appendAcceptLanguage(dst, values), true
	}
	if caseInsensitive(name) { // lists by specification, all of them
		return appendFolded(dst, values, true), true
	}
	return appendLines(dst, values), true
}

// appendLines appends the field lines of a header not known to be a list
// as a handler reading them sees them: each trimmed of leading and trailing
// whitespace (as net/http reads it), nothing else changed. Lines are not
// combined: a handler reading Header.Get sees the first line alone, so a
// value split across two lines at its comma is not the same request as
// that value on one line. One line is appended as it is; several, or one
// with a NUL (which a line never has on the wire), behind a NUL, counted
// and length-prefixed, so that they can never look like one line.
func appendLines(dst []byte, values []string) []byte {
	if len(values) == 1 && strings.IndexByte(values[0], 0) < 0 {
		return append(dst, trimOWS(values[0])...)
	}
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(values)))
	for _, v := range values {
		v = trimOWS(v)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// caseInsensitive reports whether the values of request header name are
// case-insensitive lists by specification, so that combining their lines,
// folding whitespace and lower-casing them (outside quoted strings) cannot
// merge values an origin may tell apart. The list is deliberately short: a
// header missing from it is only split more finely.
//
//   - Accept: media type and subtype, and parameter names, are
//     case-insensitive (RFC 9110 §8.3.1); quoted parameter values, which may
//     not be, are left alone.
//   - Accept-Charset: charset names are case-insensitive (RFC 9110 §8.3.2).
//   - Accept-Encoding: content codings are case-insensitive (§8.4.1).
//   - Accept-Language: language tags are case-insensitive (RFC 5646 §2.1.1).
//   - Access-Control-Request-Headers: a list of field names, which are
//     case-insensitive (RFC 9110 §5.1).
//
// Accept-Encoding and Accept-Language have their own normalisers, which
// fold case themselves where it is safe (Accept-Language keeps the case of
// what some parsers read case-sensitively, and of a malformed value); they
// are listed so that this stays the one record of which values are
// case-insensitive by specification.
func caseInsensitive(name string) bool {
	switch name {
	case "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language",
		"Access-Control-Request-Headers":
		return true
	}
	return false
}

// appendFolded appends the field lines of one header, combined into one
// comma-separated value, with whitespace folded and, if lowerCase, ASCII
// letters outside quoted strings lower-cased.
func appendFolded(dst []byte, values []string, lowerCase bool) []byte {
	f := folder{lower: lowerCase, sep: true}
	for i, v := range values {
		if i > 0 {
			dst = f.append(dst, ",")
		}
		dst = f.append(dst, v)
	}
	return dst
}

// folder folds whitespace in a field value written to it in pieces: it trims
// leading and trailing spaces and tabs, removes those next to a comma and
// collapses other runs to one space. Quoted strings (RFC 9110 §5.6.4) are
// copied byte for byte, since whitespace, commas and case inside them can
// matter; an unterminated one runs to the end.
type folder struct {
	lower  bool // lower-case ASCII letters outside quoted strings
	sep    bool // at the start or just after a comma: drop whitespace
	space  bool // whitespace seen since the last byte written
	quote  bool // inside a quoted string
	escape bool // after a backslash inside a quoted string
}

func (f *folder) append(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if f.quote {
			switch {
			case f.escape:
				f.escape = false
			case c == '\\':
				f.escape = true
			case c == '"':
				f.quote = false
			}
			dst = append(dst, c)
			continue
		}
		switch {
		case isOWS(c):
			f.space = true
		case c == ',':
			dst = append(dst, ',')
			f.space, f.sep = false, true
		default:
			if f.space && !f.sep {
				dst = append(dst, ' ')
			}
			f.space, f.sep = false, false
			if c == '"' {
				f.quote = true
			}
			if f.lower {
				c = lower(c)
			}
			dst = append(dst, c)
		}
	}
	return dst
}

// malformedPrefix marks a value kept as text because it did not parse, so
// that a malformed header never shares a variant with one whose meaning is
// known. It contains ';', which no parsed Accept-Encoding value can; and it
// starts with nine letters, which no parsed Accept-Language value can (see
// oversizedPrefix).
const malformedPrefix = "malformed;"

// appendMalformed appends an Accept-Encoding that does not parse: its
// folded text behind malformedPrefix. (An Accept-Language that does not
// parse is kept as received; see appendAcceptLanguage.)
func appendMalformed(dst []byte, values []string) []byte {
	return appendFolded(append(dst, malformedPrefix...), values, true)
}
