// Package keys builds the names the cache stores under: primary keys from a
// request's or a URL's material (method class, scheme, host, path, query
// under a route's query options), variant keys under a Vary index, the
// names of fill leases and of tags in a TagIndex, and the memo of variant
// keys kept with an index shared in process. It also says which hosts and
// paths are spelled plainly enough to be cached at all, since only those
// can be named again by a purge.
//
// It knows nothing of stores, entries or handlers: every key is a function
// of a request, a URL or bytes given to it.
package keys

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"
)

// Version is part of every Key: changing the key material or the entry
// format bumps it, so that old entries are simply never found again.
const Version = "v1:"

// Keyer derives primary keys for one route's key options.
//
// A primary key is KeyPrefix + "v1:{" + 32 hex digits + "}", the digits being
// the first 128 bits of SHA-256 over the key material: the method class,
// scheme, host, path and query, each length-prefixed so that no two distinct
// requests can produce the same material. Keys are hashed rather than used
// raw so that they have a fixed length legal in every store; SHA-256 rather
// than a fast non-cryptographic hash so that nobody can craft a URL whose key
// collides with another's. The braces are a Redis Cluster hash tag: a URL's
// Vary index and all its variants live in one hash slot, so they can be read
// in one command.
type Keyer struct {
	prefix       string
	head         string // prefix + Version + "{": an in-process key's start
	schemeHeader string
	query        Query
	allow, deny  map[string]bool
	inProcess    bool                              // primary keys hashed with processSeed (see InProcess)
	recent       *[recentKeys]atomic.Pointer[byte] // in-process keys made lately, if inProcess
}

// Query says how the query string enters the key; the application's
// QueryOptions documents each field. Its zero value keys the query
// exactly as received.
type Query struct {
	Sort        bool     // the order of parameters is irrelevant
	Allow, Deny []string // the only parameters kept; parameters left out
}

// exact reports whether the query is keyed exactly as received.
func (q Query) exact() bool {
	return !q.Sort && len(q.Allow) == 0 && len(q.Deny) == 0
}

// New returns the keyer of keys under prefix (the Cache's KeyPrefix),
// believing the scheme schemeHeader names (none if empty), for query
// options q.
func New(prefix, schemeHeader string, q Query) *Keyer {
	k := &Keyer{prefix: prefix, head: prefix + Version + "{", schemeHeader: schemeHeader, query: q}
	if len(q.Allow) > 0 {
		k.allow = make(map[string]bool, len(q.Allow))
		for _, name := range q.Allow {
			k.allow[name] = true
		}
	}
	if len(q.Deny) > 0 {
		k.deny = make(map[string]bool, len(q.Deny))
		for _, name := range q.Deny {
			k.deny[name] = true
		}
	}
	return k
}

// Material field tags. The method class is always "G": GET and HEAD share
// entries, and no other method reads the cache.
const (
	matGET        = 'G'
	matQueryExact = 'e'
	matQueryNorm  = 'n'
)

// AppendMaterial appends r's primary key material to dst.
func (k *Keyer) AppendMaterial(dst []byte, r *http.Request) []byte {
	return k.appendURL(dst, k.Scheme(r), RequestHost(r), r.URL)
}

// appendURL appends the material of a GET for u's path and query on
// hostport over scheme.
func (k *Keyer) appendURL(dst []byte, scheme, hostport string, u *url.URL) []byte {
	dst = append(dst, matGET)
	dst = appendString(dst, scheme)
	dst = appendHost(dst, hostport)
	path := u.Path
	if u.RawPath != "" || !pathAsIs(path) {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/" // "http://example.com" is "http://example.com/"
	}
	dst = appendString(dst, path)
	if k.query.exact() {
		dst = append(dst, matQueryExact)
		return appendString(dst, u.RawQuery)
	}
	return k.appendQuery(dst, u.RawQuery)
}

// AppendMaterialFor appends the material of a GET for u (an absolute URL, as
// in a purge or a Location header). The host is lower-cased and loses a
// trailing dot: that spelling is the only one stored (see PlainHost),
// whichever one the URL uses.
func (k *Keyer) AppendMaterialFor(dst []byte, u *url.URL) []byte {
	scheme := "http"
	if strings.EqualFold(u.Scheme, "https") {
		scheme = "https"
	}
	return k.appendURL(dst, scheme, PlainAuthority(u.Host, scheme), u)
}

// PlainAuthority is host (with its port, if any) as the cache stores it:
// lower-cased, without a trailing dot or scheme's default port.
func PlainAuthority(hostport, scheme string) string {
	host, port := splitPort(strings.ToLower(hostport))
	host = strings.TrimSuffix(host, ".")
	if defaultPort(scheme, port) {
		return host
	}
	return host + ":" + port
}

// RequestHost is r's host (with its port, if any): its Host, or its URL's
// without one.
func RequestHost(r *http.Request) string {
	if r.Host != "" {
		return r.Host
	}
	return r.URL.Host
}

// hostByte classes the bytes of a URL for the scans every request makes:
// hostSpecial those PlainHost looks closer at (':', '%', capital letters),
// pathAsIs those url.URL.EscapedPath leaves as they are in a path.
var hostByte = func() (t [256]uint8) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= hostSpecial | pathAsIsByte
	}
	for _, c := range ":%" {
		t[c] |= hostSpecial
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= pathAsIsByte
	}
	for _, c := range "0123456789-_.~$&+,/:;=@" {
		t[c] |= pathAsIsByte
	}
	return t
}()

const (
	hostSpecial uint8 = 1 << iota
	pathAsIsByte
)

// pathAsIs reports whether url.URL.EscapedPath, for a URL without a
// RawPath, returns path itself: no byte of it is escaped (not "*" either,
// which it treats apart), so the scan it makes for that need not be made.
func pathAsIs(path string) bool {
	for i := 0; i < len(path); i++ {
		if hostByte[path[i]]&pathAsIsByte == 0 {
			return false
		}
	}
	return true
}

// splitPort splits hostport into host and port ("" without one); the
// colons of an IPv6 literal ("[::1]") are not a port's.
func splitPort(hostport string) (host, port string) {
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.Contains(hostport[i:], "]") {
		return hostport[:i], hostport[i+1:]
	}
	return hostport, ""
}

// defaultPort reports whether port is empty or scheme's default.
func defaultPort(scheme, port string) bool {
	return port == "" || scheme == "http" && port == "80" || scheme == "https" && port == "443"
}

// Scheme is the scheme r arrived over: https over TLS, else what the
// trusted SchemeHeader says, else http. The request target's own scheme
// (absolute-form, "GET https://host/ HTTP/1.1") is the client's to choose
// on any connection, and is not believed: a response to a plain-HTTP
// request (a redirect to https, say) stored under the https key would be
// served to every HTTPS client.
func (k *Keyer) Scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if k.schemeHeader != "" {
		switch v := r.Header.Get(k.schemeHeader); {
		case strings.EqualFold(v, "https"):
			return "https"
		case strings.EqualFold(v, "http"):
			return "http"
		}
	}
	return "http"
}

// appendHost appends the request's host (with its port, if any) as
// received: only plain hosts (see PlainHost) reach the cache, and their
// spelling is the one a purge or an invalidation names (PlainAuthority).
func appendHost(dst []byte, hostport string) []byte {
	return appendString(dst, hostport)
}

// queryPair is one name=value pair of a query string: the name decoded (so
// that "%61" and "a" are one parameter), the value as received.
type queryPair struct{ name, value string }

// appendQuery appends the query under the sort/allow/deny options.
func (k *Keyer) appendQuery(dst []byte, raw string) []byte {
	var pairs []queryPair
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if dec, err := url.QueryUnescape(name); err == nil {
			name = dec
		}
		// A pair with a ';' is never dropped: origins that also split
		// on ';' (Rack before 3, some PHP and Python setups) would read
		// the parameters hidden behind it ("utm_source=x;id=666").
		if (k.allow != nil && !k.allow[name] || k.deny[name]) && !strings.Contains(part, ";") {
			continue
		}
		pairs = append(pairs, queryPair{name, value})
	}
	if k.query.Sort {
		slices.SortStableFunc(pairs, func(a, b queryPair) int { return strings.Compare(a.name, b.name) })
	}
	dst = append(dst, matQueryNorm)
	dst = binary.AppendUvarint(dst, uint64(len(pairs)))
	for _, p := range pairs {
		dst = appendString(dst, p.name)
		dst = appendString(dst, p.value)
	}
	return dst
}

// processSeed seeds the hash of in-process primary keys: a new one in every
// process, so that no client can aim requests at one slot.
var processSeed = maphash.MakeSeed()

// InProcess makes k's primary keys those of a store no other process reads
// (stores/memory): hashed with a seeded 64-bit hash of the process's own
// (hash/maphash, some ten times faster than SHA-256) instead of SHA-256,
// whose keys every process sharing a store must agree on. Two materials
// with one hash share a slot, never a response: a lookup checks an entry's
// full key material before it serves it. It returns k.
func (k *Keyer) InProcess() *Keyer {
	k.inProcess = true
	k.recent = new([recentKeys]atomic.Pointer[byte])
	return k
}

// recentKeys is how many in-process primary keys a Keyer keeps, each in
// the slot its hash's low bits pick, so that the key of a URL requested
// again is not allocated again.
const recentKeys = 1024

// hexPairs are the two lower-case hexadecimal digits of each byte, byte
// b's at 2b.
var hexPairs = func() (t [512]byte) {
	const digits = "0123456789abcdef"
	for b := range 256 {
		t[2*b], t[2*b+1] = digits[b>>4], digits[b&0xf]
	}
	return t
}()

// PrimaryKey hashes material into a primary key.
func (k *Keyer) PrimaryKey(material []byte) string {
	if k.inProcess {
		var buf [80]byte
		b := append(buf[:0], k.head...)
		// The hash in hex, as hex.AppendEncode of its big-endian bytes
		// would give it, a byte at a time: this runs on every hit.
		sum := maphash.Bytes(processSeed, material)
		slot := &k.recent[sum%recentKeys]
		var digits [17]byte
		for i := 7; i >= 0; i-- {
			p := 2 * (sum & 0xff)
			digits[2*i], digits[2*i+1] = hexPairs[p], hexPairs[p+1]
			sum >>= 8
		}
		digits[16] = '}'
		b = append(b, digits[:]...)
		// A key is its spelling: one found in the slot spelled as b is
		// b. Every key of k has b's length (head, 16 digits and a
		// brace), so the bytes the slot points to are a whole key.
		if p := slot.Load(); p != nil {
			if key := unsafe.String(p, len(b)); key == string(b) {
				return key
			}
		}
		key := string(b)
		slot.Store(unsafe.StringData(key)) // strings are immutable: safe to share
		return key
	}
	sum := sha256.Sum256(material)
	var buf [96]byte
	b := append(buf[:0], k.prefix...)
	b = append(b, Version...)
	b = append(b, '{')
	b = hex.AppendEncode(b, sum[:16])
	b = append(b, '}')
	return string(b)
}

// VariantKey derives the key of one variant of the response stored under
// primary key pk: the index epoch and the Vary material are hashed and
// appended, keeping pk's hash tag.
func VariantKey(pk string, epoch uint64, varyMaterial []byte) string {
	h := sha256.New()
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], epoch)
	h.Write(e[:])
	h.Write(varyMaterial)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var buf [128]byte
	b := append(buf[:0], pk...)
	b = append(b, ':')
	b = hex.AppendEncode(b, sum[:16])
	return string(b)
}

// appendString appends s length-prefixed (uvarint length, then bytes).
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// PlainPath reports whether u's path is spelled as received the way
// EscapedPath, and so the key and every purge URL, spell it: browsers
// escape what a path may not hold. Any other spelling ("/x<svg>",
// unescaped UTF-8) bypasses the cache: a handler reading r.RequestURI or
// r.URL.RawPath sees it apart from its escaped form, with which it would
// share a key, and a purge could not name it.
func PlainPath(u *url.URL) bool {
	return u.Opaque == "" && (u.RawPath == "" || u.EscapedPath() == u.RawPath)
}

// PlainHost reports whether r's host is spelled as browsers send it over
// scheme: not empty, no upper-case letter, no '%', no trailing dot, and no
// port that is empty or scheme's default. Any other spelling bypasses the
// cache: a handler sees the Host as received and may answer it otherwise
// (http.ServeMux matches host patterns exactly, so "EXAMPLE.COM" is not its
// "example.com/"; a canonical-host redirect answers "example.com:80" with a
// redirect to "example.com", which stored under the bare host's key would
// send its clients round in a loop), and a purge or an invalidation of the
// URL could not reach a copy stored under it (no purge URL names an empty
// host, which an HTTP/1.0 request may have).
func PlainHost(r *http.Request, scheme string) bool {
	hostport := RequestHost(r)
	// Most hosts have no port, no escape and no capital letter: one pass
	// over them says so, and the rest is whether they end in a dot.
	for i := 0; i < len(hostport); i++ {
		if hostByte[hostport[i]]&hostSpecial != 0 {
			return plainHostPort(hostport, scheme)
		}
	}
	return hostport != "" && hostport[len(hostport)-1] != '.'
}

// plainHostPort is PlainHost for a hostport with a colon, a '%' or a
// capital letter.
func plainHostPort(hostport, scheme string) bool {
	if hostport == "" || strings.IndexByte(hostport, '%') >= 0 {
		// '%': an escape or an IPv6 zone ("[fe80::1%25eth0]"), in the
		// host or the port, which a purge URL, once parsed, names
		// otherwise (or not at all).
		return false
	}
	host, port := splitPort(hostport)
	if len(host) < len(hostport) && defaultPort(scheme, port) {
		return false // "example.com:" or the default port spelled out
	}
	if strings.HasSuffix(host, ".") {
		return false
	}
	for i := 0; i < len(host); i++ {
		if 'A' <= host[i] && host[i] <= 'Z' {
			return false
		}
	}
	return true
}

// RequestURL returns r's absolute URL as keyed: scheme and host included.
func (k *Keyer) RequestURL(r *http.Request) *url.URL {
	u := *r.URL
	u.Scheme, u.Host = k.Scheme(r), RequestHost(r)
	return &u
}

// LeaseName is the name of the fill lease for a flight key: the primary
// key (under KeyPrefix, keeping its hash tag) + ":lease", and for a variant
// a hash of its Vary material after that.
func LeaseName(flightKey string) string {
	pk, variant, ok := strings.Cut(flightKey, "|")
	if !ok {
		return pk + ":lease"
	}
	sum := sha256.Sum256([]byte(variant))
	return pk + ":lease:" + hex.EncodeToString(sum[:8])
}

// TagName is the name under which a store's TagIndex records tag for a
// Cache under prefix (its KeyPrefix): prefix + "v1:tag:{" + the first 128
// bits of SHA-256 of tag in hex + "}". It lives under the prefix, as
// everything the Cache writes does, so that Caches with other prefixes on
// the store keep records of their own: a purge of a tag through one never
// finds the other's entries. The tag is hashed because tags may hold
// braces, which would cut the Redis Cluster hash tag short and pile
// families of tags ("{t}a", "{t}b") onto one slot; the hash spreads the
// records evenly and keeps their names short and printable.
func TagName(prefix, tag string) string {
	sum := sha256.Sum256([]byte(tag))
	b := make([]byte, 0, len(prefix)+len(Version)+len("tag:{}")+32)
	b = append(b, prefix...)
	b = append(b, Version+"tag:{"...)
	b = hex.AppendEncode(b, sum[:16])
	b = append(b, '}')
	return string(b)
}
