package vary

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
