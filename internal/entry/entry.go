package entry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
	"unsafe"

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
	Header Header // canonical names; never Age, Cache-Status or hop-by-hop
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
// encoded value its url, body and vary key are slices of: the struct, the
// header's arrays, the slices of tag and Vary names, and the one string all
// their strings are substrings of. An in-process store keeping the entry
// beside its value counts it against its byte budget (see stores/memory);
// TestDecodedEntrySize keeps the estimate honest. A Vary index's memo is
// not counted here: all memos share their own budget (see keys.Memo).
func (e *Entry) Size() int {
	n := 256 + e.Header.size() // the struct, rounded to its size class, and the header
	strs := len(e.VaryKey)
	for _, s := range e.VaryNames {
		n += 16
		strs += len(s) + 1
	}
	for _, s := range e.Tags {
		n += 16
		strs += len(s) + 1
	}
	for _, f := range e.Header {
		strs += len(f.Name) + 2
		for _, v := range f.Values {
			strs += len(v) + 1
		}
	}
	if strs > 0 {
		n += strs + 8
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
// into the entry Decode would return from it: its url, vary key and body
// then alias the encoding, and every string of its header, Vary names and
// tags is a substring of one copy of their part of it, as Decode's are, so
// that e holds one string instead of one per field (the garbage collector
// has all the less to mark in a store of them). What Decode checks of a
// value, e must pass (see checkedSize): else it returns an error wrapping
// ErrCorruptEntry and e is left as it was.
//
// e's header must be e's own (its strings are replaced in place; HeaderOf
// makes one), and e must not be changed afterwards: it may then be shared
// as a decoded one is.
func (e *Entry) EncodeShared() ([]byte, error) {
	size, err := e.checkedSize()
	if err != nil {
		return nil, err
	}
	var at sections
	b := e.encode(&at, size)
	e.URL = alias(b, at.url, len(e.URL))
	e.VaryKey = alias(b, at.varyKey, len(e.VaryKey))
	e.Body = alias(b, at.body, len(e.Body))
	e.VaryNames = aliasStrings(b, at.varyNames, e.VaryNames)
	e.Tags = aliasStrings(b, at.tags, e.Tags)
	// The header is e's own: its strings are replaced in place, by where
	// encode put them, which their lengths tell without reading b.
	a := aliaser{b: b, pos: at.header}
	a.skip(len(e.Header))
	for i := range e.Header {
		f := &e.Header[i]
		f.Name = a.str(f.Name)
		a.skip(len(f.Values))
		for j := range f.Values {
			f.Values[j] = a.str(f.Values[j])
		}
		if len(f.Values) == 0 {
			f.Values = nil // as Decode gives it
		}
	}
	e.ownStrings(b[at.varyNames:at.meta])
	return b, nil
}

// ownStrings moves e's strings — Vary names, tags, header names and values,
// substrings of meta, the part of e's encoding they were read from — into
// one copy of meta of e's own: a string kept by code further out (a tag an
// event observer counts by, a header value a metrics label is made of)
// then keeps those few hundred bytes alive, not the whole stored value
// with its body, which the store's budget would no longer count. e's slices
// of strings must be e's own.
func (e *Entry) ownStrings(meta []byte) {
	if len(meta) == 0 {
		return
	}
	blob := string(meta)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(meta)))
	own := func(s string) string {
		if s == "" {
			return ""
		}
		at := uintptr(unsafe.Pointer(unsafe.StringData(s))) - base
		return blob[at : at+uintptr(len(s))]
	}
	for i := range e.VaryNames {
		e.VaryNames[i] = own(e.VaryNames[i])
	}
	for i := range e.Tags {
		e.Tags[i] = own(e.Tags[i])
	}
	for i := range e.Header {
		f := &e.Header[i]
		f.Name = own(f.Name)
		for j := range f.Values {
			f.Values[j] = own(f.Values[j])
		}
	}
}

// sections are where encode put the parts of an entry: the url's, vary
// key's and body's bytes, the length prefixes of the Vary names, the tags
// and the header, and the end of the header.
type sections struct {
	url, varyNames, varyKey, tags, header, meta, body int
}

// alias is b[i:i+n], capped, or nil when empty (as Decode gives it).
func alias(b []byte, i, n int) []byte {
	if n == 0 {
		return nil
	}
	return b[i : i+n : i+n]
}

// aliasStrings returns a new slice of ss's strings as substrings of b,
// where appendStrings put them at pos; nil when ss is empty.
func aliasStrings(b []byte, pos int, ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	a := aliaser{b: b, pos: pos}
	a.skip(len(ss))
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = a.str(s)
	}
	return out
}

// aliaser walks an encoding just made, knowing what was written: each
// string's place follows from the lengths before it.
type aliaser struct {
	b   []byte
	pos int
}

// skip passes the uvarint n.
func (a *aliaser) skip(n int) {
	for ; n >= 0x80; n >>= 7 {
		a.pos++
	}
	a.pos++
}

// str passes the length-prefixed s, returning it as a substring of b.
func (a *aliaser) str(s string) string {
	a.skip(len(s))
	if len(s) == 0 {
		return ""
	}
	v := unsafe.String(&a.b[a.pos], len(s))
	a.pos += len(s)
	return v
}

// checkedSize reports, as an error wrapping ErrCorruptEntry, what of e
// Decode would refuse in its encoding — an unknown kind, a response's
// status out of range, a Vary name or header field name that is not a
// token, a field name not in canonical form or twice, a field value with
// CR, LF or NUL — and otherwise EncodedSizeHint, in the same pass over the header.
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
	if hasDuplicate(e.Header) {
		return 0, corrupt("header (duplicate name)")
	}
	for _, f := range e.Header {
		if !header.CanonicalToken(f.Name) {
			return 0, corrupt("truncated or malformed header name")
		}
		n += len(f.Name) + 4
		for _, v := range f.Values {
			if !header.ValidFieldValue(v) {
				return 0, corrupt("truncated or malformed header value")
			}
			n += len(v) + 3
		}
	}
	return n, nil
}

// encode is Encode into a buffer of size bytes (see EncodedSizeHint),
// noting in at (if not nil) where it put each part.
func (e *Entry) encode(at *sections, size int) []byte {
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
	varyNames := len(b)
	b = appendStrings(b, e.VaryNames)
	b = appendBytes(b, e.VaryKey)
	varyKey := len(b) - len(e.VaryKey)
	tags := len(b)
	b = appendStrings(b, e.Tags)
	hdr := len(b)
	b = binary.AppendUvarint(b, uint64(len(e.Header)))
	for _, f := range e.Header {
		b = appendString(b, f.Name)
		b = appendStrings(b, f.Values)
	}
	meta := len(b)
	b = appendBytes(b, e.Body)
	if at != nil {
		*at = sections{
			url: varyNames - len(e.URL), varyNames: varyNames, varyKey: varyKey,
			tags: tags, header: hdr, meta: meta, body: len(b) - len(e.Body),
		}
	}
	return binary.LittleEndian.AppendUint32(b, checksum(b))
}

// checksum is the entry checksum: CRC-32C, hardware-accelerated on amd64
// and arm64, so that a 1 MiB body costs tens of microseconds to verify.
func checksum(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// EncodedSizeHint estimates the length of the entry's encoding, for
// sizing the buffer it is encoded into.
func (e *Entry) EncodedSizeHint() int {
	n := e.sizeHintBesidesHeader()
	for _, f := range e.Header {
		n += len(f.Name) + 4
		for _, v := range f.Values {
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

// Decode parses b. The entry's body, url and vary key alias b, which must
// therefore stay unmodified for as long as the entry is used; stores
// promise that for the slices Get returns. Its strings (header names and
// values, Vary names, tags) are substrings of one copy of the part of b
// they were read from (see ownStrings). Anything that is not exactly a
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
	metaStart := len(payload) - len(d.b)
	e.VaryNames = d.strings()
	e.VaryKey = d.bytes()
	e.Tags = d.strings()
	e.Header = d.header()
	metaEnd := len(payload) - len(d.b)
	e.Body = d.bytes()
	if d.err != nil {
		return nil, d.err
	}
	e.ownStrings(payload[metaStart:metaEnd])
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
// neither read out of bounds nor make it allocate more than a small
// multiple of len(b).
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

// str is bytes as a string sharing the value's memory: the value is never
// modified (see Decode), which is all a string asks.
func (d *decoder) str() string {
	b := d.bytes()
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (d *decoder) strings() []string {
	n := d.length("list")
	if d.err != nil || n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = d.str()
	}
	if d.err != nil {
		return nil
	}
	return ss
}

// header decodes the stored header. Field names must be canonical tokens,
// each once, and values free of CR, LF and NUL: a tampered store entry must
// not be able to split a response. Names and values are substrings of the
// value (see str), in two arrays: the fields and all their values.
func (d *decoder) header() Header {
	n := d.length("header")
	if d.err != nil || n == 0 {
		return nil
	}
	// A first pass validates and counts, so that the arrays are made once
	// and no larger than the value really holds.
	scan := decoder{b: d.b}
	values := 0
	for i := 0; i < n && scan.err == nil; i++ {
		if !header.CanonicalToken(scan.str()) {
			scan.fail("header name")
		}
		k := scan.length("header values")
		values += k
		for j := 0; j < k && scan.err == nil; j++ {
			if !header.ValidFieldValue(scan.str()) {
				scan.fail("header value")
			}
		}
	}
	if scan.err != nil {
		d.err, d.b = scan.err, nil
		return nil
	}
	h := make(Header, n)
	all := make([]string, values)
	for i := range h {
		f := &h[i]
		f.Name = d.str()
		if k := int(d.uvarint()); k > 0 {
			f.Values, all = all[:k:k], all[k:]
			for j := range f.Values {
				f.Values[j] = d.str()
			}
		}
	}
	if hasDuplicate(h) {
		d.fail("header (duplicate name)")
		return nil
	}
	return h
}

// hasDuplicate reports whether two fields of h have one name.
func hasDuplicate(h Header) bool {
	if len(h) <= 32 {
		for i := range h {
			for j := range i {
				if h[i].Name == h[j].Name {
					return true
				}
			}
		}
		return false
	}
	seen := make(map[string]struct{}, len(h))
	for i := range h {
		if _, dup := seen[h[i].Name]; dup {
			return true
		}
		seen[h[i].Name] = struct{}{}
	}
	return false
}
