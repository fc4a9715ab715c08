package vary

import "strings"

// appendAcceptEncoding appends the normalised value of Accept-Encoding: the
// candidate codings (Config.Codings plus identity) that the request accepts,
// in sorted order, comma-joined.
//
// Why a set is the right key: a stored response carries one content coding,
// chosen by the application from the codings it serves, all of which are
// candidates. Two requests with the same accepted set accept exactly the
// same candidates, so any response acceptable to one is acceptable to the
// other, whatever order or weights they gave. Preferences among acceptable
// codings (q values other than 0) do not make a response unacceptable, so
// they are not keyed; codings the application never serves cannot be in a
// response, so they are dropped.
//
// Acceptability follows RFC 9110 §12.5.3. A coding listed with q > 0 is
// accepted, listed with q=0 is not. An unlisted coding is accepted only if
// "*" is listed with q > 0. identity is accepted unless listed with q=0, or
// unlisted while "*;q=0" is listed. An empty field accepts identity alone.
// x-gzip and x-compress are gzip and compress, and codings compare without
// regard to case. A field that does not parse (a bad qvalue, a parameter
// other than q, a non-token coding), or that lists one coding both with
// q=0 and with q > 0, is keyed as malformed rather than guessed at.
func (n *Normalizer) appendAcceptEncoding(dst []byte, values []string) []byte {
	var listed, accepted uint64 // bit i: n.codings[i] listed, and with q > 0
	var starListed, starAccepted bool
	it := elements{values: values}
	for el, ok := it.next(); ok; el, ok = it.next() {
		coding, q, ok := parseWeighted(el)
		if !ok {
			return appendMalformed(dst, values)
		}
		if coding == "*" {
			if starListed && starAccepted != (q > 0) {
				return appendMalformed(dst, values)
			}
			starListed, starAccepted = true, q > 0
			continue
		}
		i := n.codingIndex(coding)
		if i < 0 {
			continue // never served: cannot affect which response is acceptable
		}
		bit := uint64(1) << i
		if listed&bit != 0 && (accepted&bit != 0) != (q > 0) {
			return appendMalformed(dst, values)
		}
		listed |= bit
		if q > 0 {
			accepted |= bit
		}
	}

	first := true
	for i, c := range n.codings {
		bit := uint64(1) << i
		var ok bool
		switch {
		case listed&bit != 0:
			ok = accepted&bit != 0
		case c == "identity":
			ok = !starListed || starAccepted
		default:
			ok = starListed && starAccepted
		}
		if !ok {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, c...)
	}
	return dst
}

// codingIndex returns the index in n.codings of coding, compared without
// regard to case and with x- aliases resolved, or -1.
func (n *Normalizer) codingIndex(coding string) int {
	switch {
	case equalLower(coding, "x-gzip"):
		coding = "gzip"
	case equalLower(coding, "x-compress"):
		coding = "compress"
	}
	for i, c := range n.codings {
		if equalLower(coding, c) {
			return i
		}
	}
	return -1
}

// AcceptsEncoding reports whether a request whose Accept-Encoding field lines
// are acceptEncoding accepts a response whose Content-Encoding field lines
// are contentEncoding, by RFC 9110 §12.5.3. A cache checks it before serving
// a stored response: requests that share a variant agree on the configured
// codings only (see [Config.Codings]), and a response may carry another.
//
// With no Accept-Encoding field (acceptEncoding empty), every coding is
// acceptable. Otherwise every coding of the response must be: one listed is
// acceptable unless a listing gives it q=0; one unlisted only if "*" is
// listed and never with q=0. A response without a content coding (or with
// identity alone) is acceptable unless identity is listed with q=0, or is
// unlisted while "*" is listed with q=0; so an empty field accepts identity
// alone. Codings compare without regard to case, and x-gzip and x-compress
// are gzip and compress. A field that does not parse is keyed by its own
// text (see [Normalizer.AppendKey]), so whatever is stored under it was made
// for such a request: every coding is then acceptable. It does not allocate.
func AcceptsEncoding(acceptEncoding, contentEncoding []string) bool {
	if len(acceptEncoding) == 0 {
		return true
	}
	coded := false
	it := elements{values: contentEncoding}
	for c, ok := it.next(); ok; c, ok = it.next() {
		if strings.EqualFold(c, "identity") {
			continue // no coding, misspelled as one
		}
		coded = true
		if !accepts(acceptEncoding, c) {
			return false
		}
	}
	return coded || accepts(acceptEncoding, "identity")
}

// KeysCodings reports whether the variant key n makes of Accept-Encoding
// decides, on its own, whether a request accepts a response with the
// Content-Encoding field lines contentEncoding: when every coding they list
// is one of the candidate codings (Config.Codings), identity included (no
// Content-Encoding at all is identity). Two requests with the same key then
// accept such a response alike, so a response stored for one that accepted
// it needs no check against the other's Accept-Encoding (AcceptsEncoding).
// A Normalizers func for Accept-Encoding keys what it likes: then the key
// decides nothing, and KeysCodings is false. It does not allocate.
func (n *Normalizer) KeysCodings(contentEncoding []string) bool {
	n = n.get()
	if _, custom := n.custom["Accept-Encoding"]; custom {
		return false
	}
	it := elements{values: contentEncoding}
	for c, ok := it.next(); ok; c, ok = it.next() {
		if !n.candidate(c) {
			return false
		}
	}
	return true
}

// candidate reports whether content coding c is one of n's candidates.
func (n *Normalizer) candidate(c string) bool {
	switch {
	case strings.EqualFold(c, "x-gzip"):
		c = "gzip"
	case strings.EqualFold(c, "x-compress"):
		c = "compress"
	}
	for _, k := range n.codings {
		if strings.EqualFold(k, c) {
			return true
		}
	}
	return false
}

// accepts reports whether the Accept-Encoding field lines values, present,
// accept the content coding c (see AcceptsEncoding).
func accepts(values []string, c string) bool {
	const unlisted = -1
	listed, star := unlisted, unlisted // lowest q given, in thousandths
	it := elements{values: values}
	for el, ok := it.next(); ok; el, ok = it.next() {
		tok, q, ok := parseWeighted(el)
		switch {
		case !ok:
			return true // malformed: keyed by its text
		case tok == "*":
			star = lowest(star, q)
		case sameCoding(tok, c):
			listed = lowest(listed, q)
		}
	}
	switch {
	case listed != unlisted:
		return listed > 0
	case star != unlisted:
		return star > 0
	}
	return strings.EqualFold(c, "identity")
}

// lowest is the lower of two weights, where -1 means none yet.
func lowest(q, other int) int {
	if q < 0 || other < q {
		return other
	}
	return q
}

// sameCoding reports whether a and b name one content coding: without
// regard to case, and with the x- aliases of RFC 9110 §8.4.1.
func sameCoding(a, b string) bool {
	return strings.EqualFold(unalias(a), unalias(b))
}

// unalias maps x-gzip and x-compress, in any case, to their standard names.
func unalias(c string) string {
	switch {
	case strings.EqualFold(c, "x-gzip"):
		return "gzip"
	case strings.EqualFold(c, "x-compress"):
		return "compress"
	}
	return c
}
