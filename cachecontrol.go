package httpcache

import (
	"strings"

	"github.com/seedcache/httpcache/internal/header"
)

// maxDelta is the value RFC 9111 §1.2.2 tells a cache to use for a
// delta-seconds value too large to represent: 2^31 seconds.
const maxDelta = 1 << 31

// delta is one delta-seconds directive argument.
type delta struct {
	secs int64 // valid when set && !bad
	set  bool  // the directive is present
	bad  bool  // malformed, or present twice with different values
}

// valid reports whether the directive is present with a usable value.
func (d delta) valid() bool { return d.set && !d.bad }

// directives is a parsed Cache-Control field (RFC 9111 §5.2), from a response
// or a request. Unknown extension directives are ignored, as §5.2.3 requires.
type directives struct {
	maxAge, sMaxAge                  delta
	staleWhileRevalidate, staleIfErr delta
	maxStale, minFresh               delta // request directives

	noStore, noCache, private, public      bool
	mustRevalidate, proxyRevalidate        bool
	mustUnderstand, immutable, onlyIfCache bool
	noTransform                            bool

	// malformed: a directive that is not `token[=token|quoted-string]`
	// ("private;", "max-age=60 junk", an unclosed quote). What its
	// sender meant cannot be known ("private;" is private to most
	// readers), so such a response is never stored.
	malformed bool
}

// parseCacheControl parses every Cache-Control field line. It never fails:
// malformed directives are recorded as such (delta.bad) so that the policy
// can apply RFC 9111 §4.2.1 ("consider responses that have invalid freshness
// information to be stale") instead of guessing.
func parseCacheControl(lines []string) directives {
	var d directives
	for _, line := range lines {
		for line != "" {
			var name, value string
			var hasValue, ok bool
			name, value, hasValue, ok, line = nextDirective(line)
			if !ok {
				d.malformed = true
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
func (d *directives) apply(name, value string, hasValue bool) {
	switch {
	case strings.EqualFold(name, "max-age"):
		d.maxAge.merge(value, hasValue)
	case strings.EqualFold(name, "s-maxage"):
		d.sMaxAge.merge(value, hasValue)
	case strings.EqualFold(name, "stale-while-revalidate"):
		d.staleWhileRevalidate.merge(value, hasValue)
	case strings.EqualFold(name, "stale-if-error"):
		d.staleIfErr.merge(value, hasValue)
	case strings.EqualFold(name, "max-stale"):
		// max-stale without a value means "any staleness" (§5.2.1.2).
		if !hasValue {
			d.maxStale.set, d.maxStale.secs = true, maxDelta
			return
		}
		d.maxStale.merge(value, hasValue)
	case strings.EqualFold(name, "min-fresh"):
		d.minFresh.merge(value, hasValue)
	case strings.EqualFold(name, "no-store"):
		d.noStore = true
	case strings.EqualFold(name, "no-cache"):
		// The qualified form (no-cache="Set-Cookie") is treated as
		// unqualified: §5.2.2.4 allows it, and it is the safe reading.
		d.noCache = true
	case strings.EqualFold(name, "private"):
		// Likewise private="X-Field" is treated as fully private.
		d.private = true
	case strings.EqualFold(name, "public"):
		d.public = true
	case strings.EqualFold(name, "must-revalidate"):
		d.mustRevalidate = true
	case strings.EqualFold(name, "proxy-revalidate"):
		d.proxyRevalidate = true
	case strings.EqualFold(name, "must-understand"):
		d.mustUnderstand = true
	case strings.EqualFold(name, "immutable"):
		d.immutable = true
	case strings.EqualFold(name, "only-if-cached"):
		d.onlyIfCache = true
	case strings.EqualFold(name, "no-transform"):
		d.noTransform = true
	}
}

// merge records a delta-seconds argument. A second occurrence with a
// different value makes the directive bad: §4.2.1 lets a cache either use the
// first or treat the response as stale, and stale is the choice that can never
// serve something longer than the origin meant.
func (d *delta) merge(value string, hasValue bool) {
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

// parseDelta parses delta-seconds (1*DIGIT), capping overflow at 2^31 as
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
	// then malformed (a delta parse of "\x00" fails), and the junk is
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
