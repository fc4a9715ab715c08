package vary

// appendAcceptLanguage appends the normalised value of Accept-Language: the
// most preferred language range (highest q, the first among equals),
// lower-cased since language tags are case-insensitive (RFC 5646 §2.1.1).
// A range with q=0 is never chosen, so an empty field, or one whose ranges
// all have q=0, gives "". A field that does not parse (a bad qvalue, a
// parameter other than q, something that is not a language range) is keyed
// as malformed rather than guessed at.
func appendAcceptLanguage(dst []byte, values []string) []byte {
	best, bestQ := "", 0
	it := elements{values: values}
	for el, ok := it.next(); ok; el, ok = it.next() {
		tag, q, ok := parseWeighted(el)
		if !ok || !isLanguageRange(tag) {
			return appendMalformed(dst, values)
		}
		if q > bestQ {
			best, bestQ = tag, q
		}
	}
	return appendLower(dst, best)
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
