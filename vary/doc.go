// Package vary parses Vary header fields and turns the request headers they
// name into the unambiguous key material that identifies a cached variant.
//
// # Use
//
// When a response is stored, [Parse] turns its Vary field lines into a
// sorted, de-duplicated list of canonical header names (or reports `Vary: *`,
// which means the response is never stored or served). [Normalizer.AppendKey]
// then appends, for the request that produced the response, the material
// that identifies the variant: the caller hashes it into the variant key and
// keeps it in the entry. On a lookup, AppendKey runs again for the new
// request and the two materials are compared byte for byte before the entry
// is served, so a hash collision can never serve the wrong variant.
// AppendKey is on the hit path: it does not allocate when dst has room (a
// custom normaliser aside).
//
// # Material
//
// For each name, in the order given:
//
//	uvarint(len(name)) lower-case(name)
//	presence           0 = header missing, 1 = present
//	uvarint(len(value)) value
//
// Every part is length-prefixed, so the material of distinct
// (name, presence, value) lists always differs: `X-A: ab` can never look like
// `X-A: a` plus `X-B: b`, and a missing header never looks like an empty one.
// A missing header has an empty value.
//
// # Normalisation
//
// Two requests whose normalised values are equal share a variant, so a
// normaliser may merge only values that every correct origin must treat
// alike.
//
//   - Every header: leading and trailing spaces and tabs are trimmed, as
//     net/http does when it reads a request.
//   - Headers that are case-insensitive lists by specification (Accept,
//     Accept-Charset, Accept-Encoding, Accept-Language and
//     Access-Control-Request-Headers): several field lines are read as one
//     comma-separated list (RFC 9110 §5.3), whitespace is folded (that
//     around commas removed, runs collapsed to one space) and letters
//     lower-cased, outside quoted strings, which are kept byte for byte.
//   - Every other header is kept as received: case, inner whitespace and
//     field lines apart. A handler reading Header.Get sees the first line
//     alone, so one value split across two lines at a comma is another
//     request; and lower-casing an arbitrary header such as X-User could
//     merge two users and serve one's response to the other. Cookie's
//     lines are joined with "; " (RFC 9113 §8.2.3).
//   - Accept-Encoding: the set of candidate codings ([Config.Codings] plus
//     identity) that the request accepts, sorted and comma-joined.
//   - Accept-Language: the request's most preferred language range,
//     lower-cased. This assumes the application chooses a language from the
//     first preference alone; one that negotiates over the whole list should
//     supply its own normaliser in [Config.Normalizers].
//   - Cookie: with [Config.Cookies], only the allowed cookies; without, the
//     whole header.
//
// An Accept-Encoding or Accept-Language value that does not parse is keyed
// by its folded text behind a "malformed;" marker, which no parsed value can
// contain: it then shares a variant only with the same malformed text, never
// with a request whose meaning is known.
//
// Go's server moves the Host header into Request.Host, so `Vary: Host` sees a
// missing header; the primary key already covers the host.
package vary
