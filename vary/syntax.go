package vary

import "strings"

// This file holds the RFC 9110 list syntax shared by Parse and the
// normalisers: tokens, optional whitespace (OWS), comma-separated lists and
// weights. Nothing here allocates.

// tokenChars marks the tchars of RFC 9110 §5.6.2: a table, since every
// byte of every parsed element goes through it.
var tokenChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c))
	}
	return t
}()

// isTokenChar reports whether c is a tchar.
func isTokenChar(c byte) bool { return tokenChars[c] }

// tokenPrefix returns the length of the run of tchars that starts s.
func tokenPrefix(s string) int {
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return i
		}
	}
	return len(s)
}

// cutByte is strings.Cut for a one-byte separator, which is faster.
func cutByte(s string, sep byte) (before, after string, found bool) {
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS removes leading and trailing spaces and tabs.
func trimOWS(s string) string {
	for len(s) > 0 && isOWS(s[0]) {
		s = s[1:]
	}
	return trimRightOWS(s)
}

// trimRightOWS removes trailing spaces and tabs.
func trimRightOWS(s string) string {
	for len(s) > 0 && isOWS(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// elements iterates over the non-empty elements of a comma-separated list
// spread over several field lines, trimmed of OWS. Empty elements are skipped
// as RFC 9110 §5.6.1 requires of recipients. It does not understand quoted
// strings: none of the lists it reads (Vary, Accept-Encoding,
// Accept-Language) allows them, and a quote makes the element invalid.
type elements struct {
	values []string // field lines not started yet
	rest   string   // the unread part of the current line
	inLine bool     // rest belongs to a line being read
}

// next returns the next element, or false when the list is exhausted.
func (e *elements) next() (string, bool) {
	for {
		if !e.inLine {
			if len(e.values) == 0 {
				return "", false
			}
			e.rest, e.values, e.inLine = e.values[0], e.values[1:], true
		}
		var el string
		el, e.rest, e.inLine = cutByte(e.rest, ',')
		if el = trimOWS(el); el != "" {
			return el, true
		}
	}
}

// parseWeighted parses a list element of the form
//
//	token [ OWS ";" OWS "q=" qvalue ]
//
// (the weight of RFC 9110 §12.4.2), returning the token and the weight in
// thousandths. el must already be trimmed of OWS. Any other parameter, a
// second weight or a malformed qvalue makes ok false: the callers then treat
// the whole field as malformed rather than guess.
func parseWeighted(el string) (tok string, q int, ok bool) {
	n := tokenPrefix(el)
	if n == 0 {
		return "", 0, false
	}
	tok, rest := el[:n], el[n:]
	for len(rest) > 0 && isOWS(rest[0]) {
		rest = rest[1:]
	}
	if rest == "" {
		return tok, 1000, true
	}
	if rest[0] != ';' {
		return "", 0, false
	}
	rest = trimOWS(rest[1:])
	if len(rest) < 2 || (rest[0] != 'q' && rest[0] != 'Q') || rest[1] != '=' {
		return "", 0, false
	}
	if q, ok = parseQValue(rest[2:]); !ok {
		return "", 0, false
	}
	return tok, q, true
}

// parseQValue parses a qvalue (RFC 9110 §12.4.2) in thousandths:
//
//	qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
//
// Anything else, such as "1.5", ".5", "0.0001" or "-1", is not a qvalue.
func parseQValue(s string) (int, bool) {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	whole, frac := int(s[0]-'0'), s[1:]
	if frac == "" {
		return whole * 1000, true
	}
	if frac[0] != '.' || len(frac) > 4 {
		return 0, false
	}
	q, scale := 0, 100
	for i := 1; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if whole == 1 {
		if q != 0 {
			return 0, false
		}
		return 1000, true
	}
	return q, true
}

// lower returns the ASCII lower case of c.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalLower reports whether s equals the lower-case string l, ignoring the
// case of ASCII letters in s. It is strings.EqualFold without the Unicode
// rules, which tokens do not need.
func equalLower(s, l string) bool {
	if len(s) != len(l) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower(s[i]) != l[i] {
			return false
		}
	}
	return true
}

// appendLower appends s to dst in ASCII lower case.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		dst = append(dst, lower(s[i]))
	}
	return dst
}
