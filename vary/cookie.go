package vary

// appendCookie appends the normalised value of Cookie and reports whether it
// counts as present.
//
// With an allow-list it is the allowed cookies as name=value pairs, sorted
// by name (several cookies of one name keep their order, which the browser
// chose by path specificity), joined with "; ". The header counts as present
// only when it carries an allowed cookie: the allow-list says nothing else in
// it affects the response. Without one it is the whole header, the pairs
// trimmed but otherwise byte for byte (a cookie value may hold spaces and
// commas, which net/http hands to the handler as they are), in their order,
// joined with "; ".
//
// Field lines are joined with "; ", not ",", because that is how HTTP/2
// splits one Cookie header into several (RFC 9113 §8.2.3).
func (n *Normalizer) appendCookie(dst []byte, values []string) ([]byte, bool) {
	if len(values) == 0 {
		return dst, false
	}
	if n.cookies == nil {
		return appendCookieFolded(dst, values), true
	}
	found := false
	for _, name := range n.cookies {
		// One pass over the header per allowed name: the list is short,
		// and this yields sorted output without allocating.
		for _, v := range values {
			for rest := v; rest != ""; {
				var pair string
				pair, rest, _ = cutByte(rest, ';')
				k, val, ok := cutByte(pair, '=')
				// A pair without "=" is a nameless cookie (what a browser
				// sends for document.cookie = "x"), so it never matches.
				if !ok || trimOWS(k) != name {
					continue
				}
				if found {
					dst = append(dst, "; "...)
				}
				found = true
				dst = append(dst, name...)
				dst = append(dst, '=')
				// net/http trims the pair, then cuts it: a space after
				// "=" is part of the value the handler reads.
				dst = append(dst, trimRightOWS(val)...)
			}
		}
	}
	return dst, found
}

// appendCookieFolded appends every cookie pair, trimmed and joined with
// "; "; empty pairs are dropped.
func appendCookieFolded(dst []byte, values []string) []byte {
	first := true
	for _, v := range values {
		for rest := v; rest != ""; {
			var pair string
			pair, rest, _ = cutByte(rest, ';')
			if pair = trimOWS(pair); pair == "" {
				continue
			}
			if !first {
				dst = append(dst, "; "...)
			}
			first = false
			dst = append(dst, pair...)
		}
	}
	return dst
}
