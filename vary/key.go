package vary

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"net/textproto"
)

// AppendKey appends to dst the variant-key material of the request headers h
// for the header names, in the order given, and returns the extended slice.
// names should come from [Parse]: canonical and sorted, so that equal Vary
// lists give equal material. The material is deterministic and unambiguous
// (see the package documentation). It does not allocate when dst has room,
// except in custom Config.Normalizers.
func (n *Normalizer) AppendKey(dst []byte, names []string, h http.Header) []byte {
	n = n.get()
	for _, name := range names {
		// No allocation when name is canonical already, as Parse returns it.
		name = textproto.CanonicalMIMEHeaderKey(name)
		dst = binary.AppendUvarint(dst, uint64(len(name)))
		dst = appendLower(dst, name)

		at := len(dst)
		dst = append(dst, 0) // presence; set below
		start := len(dst)
		var present bool
		dst, present = n.appendValue(dst, name, h[name])
		if !present {
			// A missing header has presence 0 and an empty value.
			dst = append(dst[:start], 0)
			continue
		}
		dst[at] = 1
		if len(dst)-start > maxKeyedValue {
			// Keyed by its digest, so that key material, and the
			// entries that keep it, stay small whatever a client
			// sends; presence 2 keeps it apart from any value.
			sum := sha256.Sum256(dst[start:])
			dst = append(dst[:start], sum[:]...)
			dst[at] = 2
		}
		dst = insertLengthPrefix(dst, start)
	}
	return dst
}

// maxKeyedValue is the longest normalised value keyed as it is; a longer
// one is keyed by its SHA-256 digest.
const maxKeyedValue = 256

// insertLengthPrefix inserts before dst[start:] the uvarint of its length.
// The value is written first and then moved, because its length is known
// only once it is written; this keeps AppendKey free of scratch buffers.
func insertLengthPrefix(dst []byte, start int) []byte {
	var prefix [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(prefix[:], uint64(len(dst)-start))
	dst = append(dst, prefix[:k]...)
	copy(dst[start+k:], dst[start:len(dst)-k])
	copy(dst[start:], prefix[:k])
	return dst
}
