package entry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"time"

	"github.com/seedcache/httpcache/internal/header"
	"github.com/seedcache/httpcache/internal/keys"
	"github.com/seedcache/httpcache/internal/rfc9111"
)

// Entry kinds. A primary key holds either a response (when the response has
// no Vary) or an index naming the Vary'd headers, which leads to variants
// stored under variant keys.
const (
	KindResponse = 1
	KindIndex    = 2
)

// Entry is one stored value: a response, or a Vary index. It is immutable
// once encoded or decoded; decoded entries may be shared between requests.
type Entry struct {
	Kind   uint8
	Status int
	Header http.Header // canonical names; never Age, Cache-Status or hop-by-hop
	Body   []byte

	// Times for Age (RFC 9111 §4.2.3), in Unix nanoseconds.
	RequestTime  int64
	ResponseTime int64
	InitialAge   time.Duration // corrected_initial_age
	Lifetime     time.Duration // freshness lifetime
	Expires      int64         // when the store drops it (Unix ns)

	// Stale-serving windows past freshness (RFC 5861), in storage now so
	// that the format does not change when they are served.
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	Flags                uint8

	URL       []byte   // primary key material, checked on every hit
	Epoch     uint64   // index generation; variants carry their index's
	Seq       uint64   // the purge sequence when its fetch began
	VaryNames []string // canonical, sorted
	VaryKey   []byte   // the vary material of the request that stored it
	Tags      []string

	// Memo, on an index kept decoded by an ObjectStore, caches variant
	// keys by raw request values. Not encoded.
	Memo *keys.Memo
}

// Size estimates the bytes a decoded entry holds on the heap besides the
// encoded value it refers into (its url, body and vary key are slices of
// it): the struct, the header's map, text and value slices, and the tag and
// Vary name strings. An in-process store keeping the entry beside its value
// counts it against its byte budget (see stores/memory);
// TestDecodedEntrySize keeps the estimate honest. A Vary index's memo is
// not counted here: all memos share their own budget (see keys.Memo).
func (e *Entry) Size() int {
	n := 320 // the struct, rounded to its size class, and small slices
	if fields := len(e.Header); fields > 0 {
		// The map: one group of eight slots up to eight fields, then
		// about a hundred bytes a field as it grows.
		n += 400 + 96*max(0, fields-8)
		for name, values := range e.Header {
			n += len(name) + 2
			for _, v := range values {
				n += len(v) + 2 + 16 // the text, and its string header
			}
		}
	}
	for _, s := range e.VaryNames {
		n += len(s) + 16
	}
	for _, s := range e.Tags {
		n += len(s) + 16
	}
	return n
}

// Share readies a decoded entry for being shared by every request in the
// process: an index gets its memo of variant keys. It returns e.
func (e *Entry) Share() *Entry {
	if e.Kind == KindIndex && e.Memo == nil {
		e.Memo = &keys.Memo{}
	}
	return e
}

// Entry flags: those of the storage decision (rfc9111.FlagMustRevalidate,
// rfc9111.FlagNoCache, rfc9111.FlagNoAge) and the entry's own. They are
// encoded: never renumber them.
const (
	FlagNoAge       = rfc9111.FlagNoAge
	FlagCodingKeyed = rfc9111.FlagNoAge << 1 // its Content-Encoding, accepted when stored, is decided by its variant key
)

// The encoding: magic (4 bytes) and version (1), kind (1), flags (1),
// status (2), then uvarint/varint fields and length-prefixed byte strings in
// a fixed order, the body last, and a CRC-32C of everything before it
// (4 bytes, little-endian). The magic's first byte is not ASCII so that text
// written under one of our keys by someone else is rejected at once.
// ErrCorruptEntry reports a stored value that is not a valid entry
// (httpcache.ErrCorruptEntry is this error).
var ErrCorruptEntry = errors.New("httpcache: corrupt cache entry")

var entryMagic = [4]byte{0x89, 'H', 'C', 'E'}

const (
	entryVersion   = 1
	entryHeaderLen = 4 + 1 + 1 + 1 + 2
	checksumLen    = 4
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Encode returns the entry's binary form, in one allocation.
func (e *Entry) Encode() []byte { return e.encode(nil, e.EncodedSizeHint()) }

// EncodeShared returns the entry's binary form, as Encode does, and turns e
// into the entry Decode would return from it, without decoding: its url,
// vary key and body then alias the encoding (capped, as Decode's are), and
// its Vary names and tags are slices of its own. What Decode checks of a
// value, e must pass (see Check): else it returns an error wrapping
// ErrCorruptEntry and e is left as it was.
//
// e's header must be e's alone, with value slices capped (len == cap), and
// e must not be changed afterwards: it may then be shared as a decoded one
// is.
func (e *Entry) EncodeShared() ([]byte, error) {
	size, err := e.checkedSize()
	if err != nil {
		return nil, err
	}
	var at [2]int // where url and vary key begin
	b := e.encode(&at, size)
	body := len(b) - checksumLen - len(e.Body)
	e.URL = alias(b, at[0], len(e.URL))
	e.VaryKey = alias(b, at[1], len(e.VaryKey))
	e.Body = alias(b, body, len(e.Body))
	e.VaryNames = cloneStrings(e.VaryNames)
	e.Tags = cloneStrings(e.Tags)
	return b, nil
}

// alias is b[i:i+n], capped, or nil when empty (as Decode gives it).
func alias(b []byte, i, n int) []byte {
	if n == 0 {
		return nil
	}
	return b[i : i+n : i+n]
}

func cloneStrings(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	return append([]string(nil), ss...)
}

// checkedSize reports, as an error wrapping ErrCorruptEntry, what of e
// Decode would refuse in its encoding — an unknown kind, a response's
// status out of range, a Vary name or header field name that is not a
// token, a field name not in canonical form, a field value with CR, LF or
// NUL — and otherwise EncodedSizeHint, in the same pass over the header.
func (e *Entry) checkedSize() (int, error) {
	if e.Kind != KindResponse && e.Kind != KindIndex {
		return 0, corrupt("unknown kind %d", e.Kind)
	}
	if e.Kind == KindResponse && (e.Status < 100 || e.Status > 999) {
		return 0, corrupt("status %d", e.Status)
	}
	if e.VaryNames != nil && !header.ValidNames(e.VaryNames) {
		return 0, corrupt("invalid Vary name")
	}
	n := e.sizeHintBesidesHeader()
	for name, values := range e.Header {
		if !header.CanonicalToken(name) {
			return 0, corrupt("truncated or malformed header name")
		}
		n += len(name) + 4
		for _, v := range values {
			if !header.ValidFieldValue(v) {
				return 0, corrupt("truncated or malformed header value")
			}
			n += len(v) + 3
		}
	}
	return n, nil
}

// encode is Encode into a buffer of size bytes (see EncodedSizeHint),
// noting in at (if not nil) where the url and the vary key begin.
func (e *Entry) encode(at *[2]int, size int) []byte {
	b := make([]byte, 0, size)
	b = append(b, entryMagic[:]...)
	b = append(b, entryVersion, e.Kind, e.Flags)
	b = binary.BigEndian.AppendUint16(b, uint16(e.Status))
	b = binary.AppendVarint(b, e.RequestTime)
	b = binary.AppendVarint(b, e.ResponseTime)
	b = binary.AppendVarint(b, int64(e.InitialAge))
	b = binary.AppendVarint(b, int64(e.Lifetime))
	b = binary.AppendVarint(b, e.Expires)
	b = binary.AppendVarint(b, int64(e.StaleWhileRevalidate))
	b = binary.AppendVarint(b, int64(e.StaleIfError))
	b = binary.AppendUvarint(b, e.Epoch)
	b = binary.AppendUvarint(b, e.Seq)
	b = appendBytes(b, e.URL)
	if at != nil {
		at[0] = len(b) - len(e.URL)
	}
	b = appendStrings(b, e.VaryNames)
	b = appendBytes(b, e.VaryKey)
	if at != nil {
		at[1] = len(b) - len(e.VaryKey)
	}
	b = appendStrings(b, e.Tags)
	b = binary.AppendUvarint(b, uint64(len(e.Header)))
	for name, values := range e.Header {
		b = appendString(b, name)
		b = appendStrings(b, values)
	}
	b = appendBytes(b, e.Body)
	return binary.LittleEndian.AppendUint32(b, checksum(b))
}

// checksum is the entry checksum: CRC-32C, hardware-accelerated on amd64
// and arm64, so that a 1 MiB body costs tens of microseconds to verify.
func checksum(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// EncodedSizeHint estimates the length of the entry's encoding, for
// sizing the buffer it is encoded into.
func (e *Entry) EncodedSizeHint() int {
	n := e.sizeHintBesidesHeader()
	for name, values := range e.Header {
		n += len(name) + 4
		for _, v := range values {
			n += len(v) + 3
		}
	}
	return n
}

// sizeHintBesidesHeader is EncodedSizeHint but for the header's fields.
func (e *Entry) sizeHintBesidesHeader() int {
	n := entryHeaderLen + 10*9 + len(e.URL) + len(e.VaryKey) + len(e.Body) + 64 + checksumLen
	for _, s := range e.VaryNames {
		n += len(s) + 2
	}
	for _, s := range e.Tags {
		n += len(s) + 2
	}
	return n
}

// appendString appends s length-prefixed (uvarint length, then bytes).
func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

// Decode parses b. The entry's body (and url and varyKey) alias b, which
// must therefore stay unmodified for as long as the entry is used; stores
// promise that for the slices Get returns. Anything that is not exactly a
// valid entry of this version is an error wrapping ErrCorruptEntry.
func Decode(b []byte) (*Entry, error) {
	if len(b) < entryHeaderLen+checksumLen {
		return nil, corrupt("short (%d bytes)", len(b))
	}
	if [4]byte(b[:4]) != entryMagic {
		return nil, corrupt("bad magic")
	}
	if b[4] != entryVersion {
		return nil, corrupt("version %d, want %d", b[4], entryVersion)
	}
	payload, sum := b[:len(b)-checksumLen], b[len(b)-checksumLen:]
	if checksum(payload) != binary.LittleEndian.Uint32(sum) {
		return nil, corrupt("checksum mismatch")
	}
	d := decoder{b: payload[entryHeaderLen:]}
	e := &Entry{Kind: b[5], Flags: b[6], Status: int(binary.BigEndian.Uint16(b[7:9]))}
	if e.Kind != KindResponse && e.Kind != KindIndex {
		return nil, corrupt("unknown kind %d", e.Kind)
	}
	e.RequestTime = d.varint()
	e.ResponseTime = d.varint()
	e.InitialAge = time.Duration(d.varint())
	e.Lifetime = time.Duration(d.varint())
	e.Expires = d.varint()
	e.StaleWhileRevalidate = time.Duration(d.varint())
	e.StaleIfError = time.Duration(d.varint())
	e.Epoch = d.uvarint()
	e.Seq = d.uvarint()
	e.URL = d.bytes()
	e.VaryNames = d.strings()
	e.VaryKey = d.bytes()
	e.Tags = d.strings()
	e.Header = d.header()
	e.Body = d.bytes()
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, corrupt("%d trailing bytes", len(d.b))
	}
	if e.Kind == KindResponse && (e.Status < 100 || e.Status > 999) {
		return nil, corrupt("status %d", e.Status)
	}
	if e.VaryNames != nil && !header.ValidNames(e.VaryNames) {
		return nil, corrupt("invalid Vary name")
	}
	return e, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorruptEntry}, args...)...)
}

// decoder reads the variable part of an entry, recording the first error.
// Every length is checked against what remains, so a corrupt length can
// neither read out of bounds nor make it allocate more than len(b).
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = corrupt("truncated or malformed %s", what)
	}
	d.b = nil
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// length reads a count or length that must not exceed what is left.
func (d *decoder) length(what string) int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.fail(what)
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.length("byte string")
	if d.err != nil || n == 0 {
		return nil
	}
	// Capped so that an append by a careless caller cannot write into the
	// rest of the stored value.
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) strings() []string {
	n := d.length("list")
	if d.err != nil || n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = string(d.bytes())
	}
	return ss
}

// header decodes the stored header. Field names must be canonical tokens and
// values free of CR, LF and NUL: a tampered store entry must not be able to
// split a response. Value slices are capped (len == cap) so that appending
// to a header served from a shared entry copies instead of writing into it.
//
// It makes two passes, the first to validate and count, so that all names
// and values are substrings of one string and all value slices parts of one
// array: a handful of allocations per entry instead of three per field.
func (d *decoder) header() http.Header {
	n := d.length("header")
	if d.err != nil {
		return nil
	}
	section := d.b
	scan := decoder{b: section}
	values := 0
	for i := 0; i < n && scan.err == nil; i++ {
		name := scan.bytes()
		if !header.CanonicalToken(string(name)) {
			scan.fail("header name")
		}
		k := scan.length("header values")
		values += k
		for j := 0; j < k && scan.err == nil; j++ {
			if !header.ValidFieldValue(string(scan.bytes())) {
				scan.fail("header value")
			}
		}
	}
	if scan.err != nil {
		d.err, d.b = scan.err, nil
		return nil
	}
	blob := string(section[:len(section)-len(scan.b)])
	d.b = scan.b
	h := make(http.Header, n)
	all := make([]string, values)
	r := stringDecoder{s: blob}
	for range n {
		name := r.next()
		k := r.count()
		vals := all[:k:k]
		all = all[k:]
		for j := range vals {
			vals[j] = r.next()
		}
		if _, dup := h[name]; dup {
			d.fail("header (duplicate name)")
			return nil
		}
		if k == 0 {
			vals = nil
		}
		h[name] = vals
	}
	return h
}

// stringDecoder re-reads a header section already validated by decoder,
// taking substrings of it.
type stringDecoder struct{ s string }

func (r *stringDecoder) count() int {
	var v uint64
	var shift uint
	for i := 0; i < len(r.s); i++ {
		c := r.s[i]
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			r.s = r.s[i+1:]
			return int(v)
		}
		shift += 7
	}
	return 0 // unreachable: the section was validated
}

func (r *stringDecoder) next() string {
	n := r.count()
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}
