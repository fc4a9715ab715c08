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
//	presence           0 = header missing, 1 = present, 2 = present, value digested
//	uvarint(len(value)) value
//
// A normalised value longer than 256 bytes is keyed by its SHA-256 digest
// (presence 2), so that key material stays small whatever a client sends.
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
//     Accept-Charset, Accept-Encoding and Access-Control-Request-Headers):
//     several field lines are read as one comma-separated list (RFC 9110
//     §5.3), whitespace is folded (that around commas removed, runs
//     collapsed to one space) and letters lower-cased, outside quoted
//     strings, which are kept byte for byte.
//   - Every other header is kept as received: case, inner whitespace and
//     field lines apart. A handler reading Header.Get sees the first line
//     alone, so one value split across two lines at a comma is another
//     request; and lower-casing an arbitrary header such as X-User could
//     merge two users and serve one's response to the other. Cookie's
//     lines are joined with "; " (RFC 9113 §8.2.3).
//   - Accept-Encoding: the set of candidate codings ([Config.Codings] plus
//     identity) that the request accepts, sorted and comma-joined.
//   - Accept-Language: the whole list, since origins negotiate over it
//     (see below).
//   - Cookie: with [Config.Cookies], only the allowed cookies; without, the
//     whole header.
//
// An Accept-Encoding value that does not parse is keyed by its folded text
// behind a "malformed;" marker, an Accept-Language one by its text as
// received; no parsed value can start with that marker, so a malformed
// value shares a variant only with the same malformed text, never with a
// request whose meaning is known.
//
// Go's server moves the Host header into Request.Host, so `Vary: Host` sees a
// missing header; the primary key already covers the host.
//
// # Accept-Language
//
// Two Accept-Language values share a variant only if no origin the package
// knows of answers them differently: RFC 4647 lookup and filtering, Go's
// golang.org/x/text/language (ParseAcceptLanguage, Matcher), Django's
// get_language_from_request, Apache's mod_negotiation (which weighs a q by
// the variant's own quality, so a q's value counts, not only its rank) and
// handlers that read the first range as received. Each field line is keyed
// as its elements, in order, joined by "," (field lines by "\n"), each as
// its language range and, unless it is 1, its q: `EN-us ;q=0.50` is
// `en-us;q=0.5`. So these share a variant:
//
//   - ranges differing in case: `en-US` and `EN-us`;
//   - whitespace around elements, around ";" and inside an empty element:
//     `en-US , fr; q=0.5` and `en-US,fr;q=0.5`;
//   - spellings of one q: none, `q=1` and `q=1.000`; `q=0.50` and
//     `q=0.5`; `q=0` and `q=0.000`.
//
// And these do not:
//
//   - another order, even of ranges with different q: a handler reading
//     the first range tells `es;q=0.1, fr;q=0.9` from `fr;q=0.9, es;q=0.1`;
//   - another q, even one ranking the ranges alike, and q=0 (x/text drops
//     such a range, Django tries it last) from any other q;
//   - a duplicate range, a "*", an empty element (Django reads `en,,fr` as
//     no list at all) or a range more or less;
//   - field lines split elsewhere (a Go handler reading Header.Get sees the
//     first line alone);
//   - `Q=` and `q=` (x/text rejects the whole field for `Q=`), and the case
//     of a range whose first subtag has more than three letters (no
//     language code does; x/text reads `english` but not `English`);
//   - a value that does not parse (kept as received behind "malformed;"),
//     or longer than 256 bytes (kept as received behind "oversized;"),
//     since Django reads only the first 500 bytes and x/text only the first
//     1000 hyphens, so folding a long value could move what they read.
//
// [Config.Languages] merges further, for an application that chooses one
// of the languages listed by RFC 4647 matching (lookup, filtering, the
// first range, or as Django does): each range is then keyed as what such
// matching can see of it. A listed language and "*" stay themselves; a
// range of an unlisted language (its first subtag is no listed language's)
// becomes "?"; a range that, for every listed language of its first
// subtag, is a prefix of it (">" and that language) or extends it ("<" and
// that language) becomes that list; any other range, a sibling of a listed
// language such as `en-US` with en-GB listed, stays itself, since matchers
// disagree about siblings (Django maps zh-TW to zh-Hant). Order, q, empty
// elements and field lines are kept as above. With en and fr listed,
// `en-US,en;q=0.9,ja;q=0.8` and `en-GB,en;q=0.9,de;q=0.8` share
// `<en,en;q=0.9,?;q=0.8`. Go's x/text Matcher matches beyond RFC 4647
// (en-US to en-GB, da to nb, zh-TW to zh-Hant) and can tell such values
// apart: with it, key on the Matcher's own choice in a [Config.Normalizers]
// func instead, which merges as far as the application itself does.
package vary
