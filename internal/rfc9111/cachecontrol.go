package rfc9111

import (
	"strings"

	"github.com/seedcache/httpcache/internal/header"
)

// Flags of a stored response that decide how it may be used. Their values
// are part of the stored entry's encoding: never renumber them.
const (
	FlagMustRevalidate = 1 << iota // must-revalidate / proxy-revalidate / s-maxage: never served stale
	FlagNoCache                    // no-cache: revalidated before every use
	FlagNoAge                      // kept past its own lifetime by a route TTL: hits carry no Age
)

// maxDelta is the value RFC 9111 §1.2.2 tells a cache to use for a
// delta-seconds value too large to represent: 2^31 seconds.
const maxDelta = 1 << 31

// Delta is one delta-seconds directive argument.
type Delta struct {
	secs int64 // valid when set && !bad
	set  bool  // the directive is present
	bad  bool  // malformed, or present twice with different values
}

// Valid reports whether the directive is present with a usable value.
func (d Delta) Valid() bool { return d.set && !d.bad }

// Directives is a parsed Cache-Control field (RFC 9111 §5.2), from a response
// or a request. Unknown extension directives are ignored, as §5.2.3 requires.
type Directives struct {
	MaxAge, SMaxAge                    Delta
	StaleWhileRevalidate, StaleIfError Delta
	MaxStale, MinFresh                 Delta // request directives

	NoStore, NoCache, Private, Public       bool
	MustRevalidate, ProxyRevalidate         bool
	MustUnderstand, Immutable, OnlyIfCached bool
	NoTransform                             bool

	// Malformed: a directive that is not `token[=token|quoted-string]`
	// ("private;", "max-age=60 junk", an unclosed quote). What its
	// sender meant cannot be known ("private;" is private to most
	// readers), so such a response is never stored.
	Malformed bool

	// Targeted names the targeted field (RFC 9213) these directives
	// were read from instead of Cache-Control; "" for Cache-Control.
	// With a targeted field, Expires is ignored (§2.2).
	Targeted string
}

// ParseCacheControl parses every Cache-Control field line. It never fails:
// malformed Directives are recorded as such (Delta.bad) so that the policy
// can apply RFC 9111 §4.2.1 ("consider responses that have invalid freshness
// information to be stale") instead of guessing.
func ParseCacheControl(lines []string) Directives {
	var d Directives
	for _, line := range lines {
		for line != "" {
			var name, value string
			var hasValue, ok bool
			name, value, hasValue, ok, line = nextDirective(line)
			if !ok {
				d.Malformed = true
			}
			if name == "" {
				continue
			}
			d.apply(name, value, hasValue)
		}
	}
	return d
}

// apply records one directive. Names are matched case-insensitively.
func (d *Directives) apply(name, value string, hasValue bool) {
	switch {
	case strings.EqualFold(name, "max-age"):
		d.MaxAge.merge(value, hasValue)
	case strings.EqualFold(name, "s-maxage"):
		d.SMaxAge.merge(value, hasValue)
	case strings.EqualFold(name, "stale-while-revalidate"):
		d.StaleWhileRevalidate.merge(value, hasValue)
	case strings.EqualFold(name, "stale-if-error"):
		d.StaleIfError.merge(value, hasValue)
	case strings.EqualFold(name, "max-stale"):
		// max-stale without a value means "any staleness" (§5.2.1.2).
		if !hasValue {
			d.MaxStale.set, d.MaxStale.secs = true, maxDelta
			return
		}
		d.MaxStale.merge(value, hasValue)
	case strings.EqualFold(name, "min-fresh"):
		d.MinFresh.merge(value, hasValue)
	case strings.EqualFold(name, "no-store"):
		d.NoStore = true
	case strings.EqualFold(name, "no-cache"):
		// The qualified form (no-cache="Set-Cookie") is treated as
		// unqualified: §5.2.2.4 allows it, and it is the safe reading.
		d.NoCache = true
	case strings.EqualFold(name, "private"):
		// Likewise private="X-Field" is treated as fully private.
		d.Private = true
	case strings.EqualFold(name, "public"):
		d.Public = true
	case strings.EqualFold(name, "must-revalidate"):
		d.MustRevalidate = true
	case strings.EqualFold(name, "proxy-revalidate"):
		d.ProxyRevalidate = true
	case strings.EqualFold(name, "must-understand"):
		d.MustUnderstand = true
	case strings.EqualFold(name, "immutable"):
		d.Immutable = true
	case strings.EqualFold(name, "only-if-cached"):
		d.OnlyIfCached = true
	case strings.EqualFold(name, "no-transform"):
		d.NoTransform = true
	}
}

// merge records a Delta-seconds argument. A second occurrence with a
// different value makes the directive bad: §4.2.1 lets a cache either use the
// first or treat the response as stale, and stale is the choice that can never
// serve something longer than the origin meant.
func (d *Delta) merge(value string, hasValue bool) {
	secs, ok := parseDelta(value)
	if !hasValue {
		ok = false
	}
	if d.set {
		if !ok || d.bad || secs != d.secs {
			d.bad = true
		}
		return
	}
	d.set = true
	d.secs = secs
	d.bad = !ok
}

// parseDelta parses Delta-seconds (1*DIGIT), capping overflow at 2^31 as
// RFC 9111 §1.2.2 requires.
func parseDelta(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < maxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	if n > maxDelta {
		n = maxDelta
	}
	return n, true
}

// nextDirective splits the first directive off a Cache-Control list:
// `name[=token|quoted-string]`, separated by commas with optional whitespace.
// It returns the rest of the list, and ok false when the directive is not
// well-formed (an empty list element is). Quoted strings may contain commas
// and backslash escapes (RFC 9110 §5.6.4).
func nextDirective(s string) (name, value string, hasValue, ok bool, rest string) {
	s = header.TrimOWS(s)
	i := 0
	for i < len(s) && s[i] != ',' && s[i] != '=' && s[i] != ' ' && s[i] != '\t' {
		i++
	}
	name = s[:i]
	ok = name == "" || header.ValidToken(name)
	s = header.TrimLeftOWS(s[i:])
	if s == "" || s[0] == ',' {
		if s != "" {
			s = s[1:]
		}
		return name, "", false, ok, s
	}
	ok = ok && name != ""
	if s[0] != '=' {
		// Junk after the name ("max-age 10"): keep the name, drop the
		// junk up to the next comma so it cannot smuggle a directive.
		j := strings.IndexByte(s, ',')
		if j < 0 {
			return name, "", false, false, ""
		}
		return name, "", false, false, s[j+1:]
	}
	s = header.TrimLeftOWS(s[1:])
	hasValue = true
	if s != "" && s[0] == '"' {
		var b strings.Builder
		j := 1
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' && j+1 < len(s) {
				j++
			}
			b.WriteByte(s[j])
		}
		value = b.String()
		if j < len(s) {
			j++ // closing quote
		} else {
			ok = false // unclosed
		}
		s = s[j:]
	} else {
		j := 0
		for j < len(s) && s[j] != ',' && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		value, s = s[:j], s[j:]
		ok = ok && header.ValidToken(value)
	}
	// Anything after the value other than a comma is junk: the value is
	// then malformed (a Delta parse of "\x00" fails), and the junk is
	// dropped up to the next comma so it cannot smuggle a directive.
	s = header.TrimLeftOWS(s)
	if s != "" && s[0] != ',' {
		value = "\x00"
		ok = false
	}
	if j := strings.IndexByte(s, ','); j >= 0 {
		s = s[j+1:]
	} else {
		s = ""
	}
	return name, value, hasValue, ok, s
}
