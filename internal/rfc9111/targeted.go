package rfc9111

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// ResponseDirectives returns the response directives this cache obeys for
// a response with header h (RFC 9213 §2.2): those of the first field of
// targeted (its target list, most applicable first) whose value is a valid,
// non-empty Structured Field Dictionary, else those of Cache-Control.
// Directives.Targeted names the field they were read from. A targeted field
// that is empty or does not parse is ignored, as if absent (§2.1).
func ResponseDirectives(targeted []string, h http.Header) Directives {
	for _, name := range targeted {
		lines := h.Values(name)
		if len(lines) == 0 {
			continue
		}
		if d, ok := ParseTargeted(lines); ok {
			d.Targeted = name
			return d
		}
	}
	return ParseCacheControl(h["Cache-Control"])
}

// ParseTargeted parses the field lines of one targeted cache-control field
// (RFC 9213 §2.1): a Structured Field Dictionary (RFC 8941 §3.2) whose
// members are cache response directives. ok is false when the value does
// not parse, strictly, or has no member: the field must then be ignored.
//
// Types follow the directives' Cache-Control syntax (§2.1): a delta-seconds
// directive (max-age, s-maxage, stale-while-revalidate, stale-if-error)
// wants a non-negative Integer; any other value makes it malformed, and a
// malformed freshness directive makes the response stale, as in
// Cache-Control. A directive that restricts (no-store, no-cache, private,
// must-revalidate, proxy-revalidate) counts whatever its value ("private"
// with a String of field names is fully private, as in Cache-Control; a
// "no-store=?0" is not taken at its word). One that permits (public,
// must-understand, immutable) counts only as Boolean true. Parameters are
// ignored. Request directives and unknown ones are ignored (RFC 9111
// §5.2.3): "none" is a valid field that says nothing.
func ParseTargeted(lines []string) (d Directives, ok bool) {
	// RFC 8941 §4.2: the field lines are combined as one list.
	p := sfParser{s: strings.Join(lines, ", ")}
	members, ok := p.dictionary()
	if !ok || len(members) == 0 {
		return Directives{}, false
	}
	for _, m := range members {
		d.applyTargeted(m)
	}
	return d, true
}

// applyTargeted records one dictionary member. Keys are lower case by the
// Structured Field syntax, so names are matched exactly.
func (d *Directives) applyTargeted(m sfMember) {
	switch m.key {
	case "max-age":
		d.MaxAge = m.delta()
	case "s-maxage":
		d.SMaxAge = m.delta()
	case "stale-while-revalidate":
		d.StaleWhileRevalidate = m.delta()
	case "stale-if-error":
		d.StaleIfError = m.delta()
	case "no-store":
		d.NoStore = true
	case "no-cache":
		d.NoCache = true
	case "private":
		d.Private = true
	case "must-revalidate":
		d.MustRevalidate = true
	case "proxy-revalidate":
		d.ProxyRevalidate = true
	case "public":
		d.Public = m.isTrue()
	case "must-understand":
		d.MustUnderstand = m.isTrue()
	case "immutable":
		d.Immutable = m.isTrue()
	case "no-transform":
		d.NoTransform = true
	}
}

// sfMember is one dictionary member, reduced to what the directives need:
// its key, and its value when that is a bare Integer or Boolean.
type sfMember struct {
	key     string
	kind    byte  // 'i' Integer, 'b' Boolean, 0 anything else (an inner list too)
	integer int64 // kind 'i'
	boolean bool  // kind 'b'
}

// delta reads a delta-seconds directive's value: a non-negative Integer,
// capped at 2^31 (RFC 9111 §1.2.2). Anything else is a malformed Delta.
func (m sfMember) delta() Delta {
	if m.kind != 'i' || m.integer < 0 {
		return Delta{set: true, bad: true}
	}
	return Delta{set: true, secs: min(m.integer, maxDelta)}
}

// isTrue reports whether the member is Boolean true, as a valueless one is.
func (m sfMember) isTrue() bool { return m.kind == 'b' && m.boolean }

// sfParser parses RFC 8941 Structured Field values strictly, as §4.2 says
// to: any deviation is a failure of the whole field.
type sfParser struct {
	s string
}

func (p *sfParser) peek() byte {
	if p.s == "" {
		return 0
	}
	return p.s[0]
}

func (p *sfParser) skipSP() {
	for p.s != "" && p.s[0] == ' ' {
		p.s = p.s[1:]
	}
}

func (p *sfParser) skipOWS() {
	for p.s != "" && (p.s[0] == ' ' || p.s[0] == '\t') {
		p.s = p.s[1:]
	}
}

// dictionary parses a whole field value as a Dictionary (§4.2, §4.2.2). A
// key given twice keeps its last value, and its first place.
func (p *sfParser) dictionary() ([]sfMember, bool) {
	p.skipSP()
	var members []sfMember
	for p.s != "" {
		key, ok := p.key()
		if !ok {
			return nil, false
		}
		m := sfMember{key: key}
		if p.peek() == '=' {
			p.s = p.s[1:]
			if p.peek() == '(' {
				if !p.innerList() {
					return nil, false
				}
			} else if m, ok = p.item(key); !ok {
				return nil, false
			}
		} else {
			m.kind, m.boolean = 'b', true
			if !p.parameters() {
				return nil, false
			}
		}
		if i := indexMember(members, key); i >= 0 {
			members[i] = m
		} else {
			members = append(members, m)
		}
		p.skipOWS()
		if p.s == "" {
			break
		}
		if p.s[0] != ',' {
			return nil, false
		}
		p.s = p.s[1:]
		p.skipOWS()
		if p.s == "" {
			return nil, false // a trailing comma
		}
	}
	p.skipSP()
	return members, p.s == ""
}

func indexMember(members []sfMember, key string) int {
	for i := range members {
		if members[i].key == key {
			return i
		}
	}
	return -1
}

// innerList parses an Inner List and its parameters (§4.2.1.2); its items
// are checked, not kept.
func (p *sfParser) innerList() bool {
	p.s = p.s[1:] // "("
	for p.s != "" {
		p.skipSP()
		if p.peek() == ')' {
			p.s = p.s[1:]
			return p.parameters()
		}
		if _, ok := p.item(""); !ok {
			return false
		}
		if c := p.peek(); c != ' ' && c != ')' {
			return false
		}
	}
	return false // unclosed
}

// item parses an Item (§4.2.3): a bare item and its parameters.
func (p *sfParser) item(key string) (sfMember, bool) {
	m, ok := p.bareItem()
	m.key = key
	return m, ok && p.parameters()
}

// parameters parses Parameters (§4.2.3.2); their values are checked, not
// kept: RFC 9213 §2.1 ignores parameters.
func (p *sfParser) parameters() bool {
	for p.peek() == ';' {
		p.s = p.s[1:]
		p.skipSP()
		if _, ok := p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.s = p.s[1:]
			if _, ok := p.bareItem(); !ok {
				return false
			}
		}
	}
	return true
}

// key parses a Key (§4.2.3.3): lcalpha or "*", then lcalpha, DIGIT, "_",
// "-", "." or "*".
func (p *sfParser) key() (string, bool) {
	if c := p.peek(); !(c >= 'a' && c <= 'z' || c == '*') {
		return "", false
	}
	i := 1
	for ; i < len(p.s); i++ {
		c := p.s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '*') {
			break
		}
	}
	key := p.s[:i]
	p.s = p.s[i:]
	return key, true
}

// bareItem parses a Bare Item (§4.2.3.1).
func (p *sfParser) bareItem() (sfMember, bool) {
	c := p.peek()
	switch {
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '"':
		return sfMember{}, p.str()
	case c == '*' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		p.token()
		return sfMember{}, true
	case c == ':':
		return sfMember{}, p.byteSequence()
	case c == '?':
		if len(p.s) < 2 || p.s[1] != '0' && p.s[1] != '1' {
			return sfMember{}, false
		}
		m := sfMember{kind: 'b', boolean: p.s[1] == '1'}
		p.s = p.s[2:]
		return m, true
	}
	return sfMember{}, false
}

// number parses an Integer or a Decimal (§4.2.4): at most 15 digits for
// an Integer; at most 12 before and 1 to 3 after the point for a Decimal.
func (p *sfParser) number() (sfMember, bool) {
	neg := p.peek() == '-'
	if neg {
		p.s = p.s[1:]
	}
	if c := p.peek(); c < '0' || c > '9' {
		return sfMember{}, false
	}
	var n int64
	digits, point := 0, -1
	i := 0
scan:
	for ; i < len(p.s); i++ {
		switch c := p.s[i]; {
		case c >= '0' && c <= '9':
			n = n*10 + int64(c-'0') // at most 15 digits: no overflow
			if digits++; digits > 15 {
				return sfMember{}, false
			}
		case c == '.' && point < 0:
			if digits > 12 {
				return sfMember{}, false
			}
			point = digits
		default:
			break scan
		}
	}
	p.s = p.s[i:]
	if point >= 0 {
		// A Decimal: not what any directive wants, but valid.
		if frac := digits - point; frac < 1 || frac > 3 {
			return sfMember{}, false
		}
		return sfMember{}, true
	}
	if neg {
		n = -n
	}
	return sfMember{kind: 'i', integer: n}, true
}

// str parses a String (§4.2.5): printable ASCII, with "\" escaping only
// DQUOTE and "\".
func (p *sfParser) str() bool {
	for i := 1; i < len(p.s); i++ {
		switch c := p.s[i]; {
		case c == '\\':
			i++
			if i == len(p.s) || p.s[i] != '"' && p.s[i] != '\\' {
				return false
			}
		case c == '"':
			p.s = p.s[i+1:]
			return true
		case c < 0x20 || c > 0x7e:
			return false
		}
	}
	return false // unclosed
}

// token parses a Token (§4.2.6); the caller checked its first character.
func (p *sfParser) token() {
	i := 1
	for ; i < len(p.s); i++ {
		c := p.s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == ':' || c == '/' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			break
		}
	}
	p.s = p.s[i:]
}

// byteSequence parses a Byte Sequence (§4.2.7): base64 between colons.
// Missing "=" padding is accepted, as §4.2.7 advises.
func (p *sfParser) byteSequence() bool {
	end := strings.IndexByte(p.s[1:], ':')
	if end < 0 {
		return false
	}
	b64 := p.s[1 : 1+end]
	for i := 0; i < len(b64); i++ {
		c := b64[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	if _, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "=")); err != nil {
		return false
	}
	p.s = p.s[2+end:]
	return true
}
