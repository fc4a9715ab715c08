package vary

import "strings"

// Accept-Language is keyed on its whole list of language ranges, because
// origins negotiate over the whole list: `en-US, de;q=0.1` and
// `en-US, fr;q=0.8` prefer the same language, yet an origin serving German
// and French answers them in different languages. The package
// documentation lists what is folded and what is kept, and which origins
// that rests on; language_test.go checks it against models of them.

// maxLanguageField is the longest Accept-Language, in bytes (field lines
// trimmed, joined by two bytes each), that is parsed and folded; a longer
// one is keyed as received. It is well under what Django (500 bytes) and
// x/text (1000 hyphens) read, and well over what browsers send (about 100
// bytes for ten languages).
const maxLanguageField = 256

// oversizedPrefix marks an Accept-Language longer than maxLanguageField,
// kept as received. Like malformedPrefix it starts with nine letters and a
// ';', which no parsed value can: every one starts with a language range
// (whose subtags have at most eight letters), '*', a separator or one of
// the Languages marks.
const oversizedPrefix = "oversized;"

// appendAcceptLanguage appends the normalised value of Accept-Language.
//
// Without n.languages, each field line is kept as its list of elements, in
// order, each element as its language range (see appendRange) and,
// unless it is 1, its q, spelled without trailing zeros: `EN-us ;q=0.50`
// becomes `en-us;q=0.5`. Elements are joined by ",", empty ones kept
// empty; field lines are joined by "\n".
//
// With n.languages, each range is replaced by what RFC 4647 matching can
// see of it against those languages (see appendProjectedRange); order, q
// and everything else are kept as without.
//
// A field that does not parse (an element that is not a language range,
// a bad qvalue, a parameter other than q) is keyed as received behind
// malformedPrefix, and one longer than maxLanguageField behind
// oversizedPrefix: field lines apart, each trimmed, nothing else changed.
func (n *Normalizer) appendAcceptLanguage(dst []byte, values []string) []byte {
	size := 2 * (len(values) - 1)
	for _, v := range values {
		size += len(trimOWS(v))
	}
	if size > maxLanguageField {
		return appendLines(append(dst, oversizedPrefix...), values)
	}
	start := len(dst)
	for i, v := range values {
		if i > 0 {
			dst = append(dst, '\n')
		}
		var ok bool
		if dst, ok = n.appendLanguageLine(dst, v); !ok {
			return appendLines(append(dst[:start], malformedPrefix...), values)
		}
	}
	return dst
}

// appendLanguageLine appends the normalised elements of one field line, or
// reports false if the line does not parse.
func (n *Normalizer) appendLanguageLine(dst []byte, line string) ([]byte, bool) {
	for i := 0; ; i++ {
		el, rest, more := cutByte(line, ',')
		if i > 0 {
			dst = append(dst, ',')
		}
		if el = trimOWS(el); el != "" {
			rng, q, ok := parseWeighted(el)
			if !ok || !isLanguageRange(rng) {
				return dst, false
			}
			if n.languages == nil {
				dst = appendRange(dst, rng)
			} else {
				dst = n.appendProjectedRange(dst, rng)
			}
			// After the range come only OWS, ";", the q, "=" and the
			// qvalue's digits and dot: a Q is the parameter name.
			upperQ := strings.IndexByte(el[len(rng):], 'Q') >= 0
			if q != 1000 || upperQ {
				dst = appendQ(dst, q, upperQ)
			}
		}
		if !more {
			return dst, true
		}
		line = rest
	}
}

// appendRange appends a language range, lower-cased unless its first
// subtag has more than three letters: no language code has, and x/text
// reads "english", "deutsch", "italian" and "french" as languages in lower
// case only, so their case is kept.
func appendRange(dst []byte, rng string) []byte {
	if primary, _, _ := cutByte(rng, '-'); len(primary) > 3 {
		return append(dst, rng...)
	}
	return appendLower(dst, rng)
}

// appendQ appends ";q=" (";Q=" if upperQ) and the qvalue q, given in
// thousandths, without trailing zeros.
func appendQ(dst []byte, q int, upperQ bool) []byte {
	if upperQ {
		dst = append(dst, ";Q="...)
	} else {
		dst = append(dst, ";q="...)
	}
	if q == 1000 {
		return append(dst, '1')
	}
	dst = append(dst, '0')
	if q == 0 {
		return dst
	}
	dst = append(dst, '.')
	for scale := 100; q > 0; scale /= 10 {
		dst = append(dst, byte('0'+q/scale))
		q %= scale
	}
	return dst
}

// appendProjectedRange appends what RFC 4647 matching against n.languages
// can see of the language range rng (not malformed):
//
//   - "*" is kept.
//   - A range equal to a listed language is kept, lower-cased.
//   - A range whose first subtag is no listed language's is "?": no
//     listed language matches it, by lookup, by filtering or by falling
//     back to another region of its language, as Django does.
//   - A range that, for each listed language sharing its first subtag,
//     either is a prefix of it, subtag by subtag (filtering matches it), or
//     has it as such a prefix (lookup matches it), is that list of
//     relations: ">" and the language for the first, "<" and the language
//     for the second, in the order of n.languages. With Languages en and
//     fr, `en-US` and `en-GB` are both "<en".
//   - Any other range (one that shares a first subtag with a listed
//     language it is neither a prefix of nor extends, such as `en-US`
//     against en-GB) is kept, lower-cased. Matchers differ on such
//     siblings: RFC 4647 matches none, Django the first listed of that
//     language (and zh-cn to zh-hans), Go's matcher by regional distance.
func (n *Normalizer) appendProjectedRange(dst []byte, rng string) []byte {
	if rng == "*" {
		return append(dst, '*')
	}
	primary, _, _ := cutByte(rng, '-')
	start := len(dst)
	related := false
	for _, lang := range n.languages {
		if p, _, _ := cutByte(lang, '-'); !equalLower(primary, p) {
			continue
		}
		var mark byte
		switch {
		case len(rng) < len(lang) && lang[len(rng)] == '-' && equalLower(rng, lang[:len(rng)]):
			mark = '>'
		case len(rng) > len(lang) && rng[len(lang)] == '-' && equalLower(rng[:len(lang)], lang):
			mark = '<'
		default: // equal, or a sibling
			return appendRange(dst[:start], rng)
		}
		dst = append(dst, mark)
		dst = append(dst, lang...)
		related = true
	}
	if !related {
		dst = append(dst, '?')
	}
	return dst
}

// isLanguageRange reports whether s is a language-range (RFC 4647 §2.1):
//
//	language-range = (1*8ALPHA *("-" 1*8alphanum)) / "*"
func isLanguageRange(s string) bool {
	if s == "*" {
		return true
	}
	n := 0 // length of the current subtag
	first := true
	for i := 0; i < len(s); i++ {
		c := lower(s[i])
		switch {
		case c == '-':
			if n == 0 {
				return false
			}
			n, first = 0, false
			continue
		case 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && !first:
		default:
			return false
		}
		if n++; n > 8 {
			return false
		}
	}
	return n > 0
}
