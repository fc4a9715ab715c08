package memcached

import (
	"crypto/sha256"
	"encoding/base64"
)

// Key limits. memcached refuses keys longer than maxKeyLen; a hashed key is
// hashedTag followed by hashLen bytes, which MaxKeyPrefixLen leaves room for.
const (
	maxKeyLen = 250
	plainTag  = "k:" // before a key sent as it is
	hashedTag = "h:" // before the hash of a key that could not be

	// hashLen is the length of an unpadded base64 SHA-256 digest.
	hashLen = (sha256.Size*8 + 5) / 6

	// MaxKeyPrefixLen is the longest Options.KeyPrefix: a hashed key must
	// still fit in memcached's 250 bytes after it.
	MaxKeyPrefixLen = maxKeyLen - len(hashedTag) - hashLen
)

// mapKey returns the memcached key under which key is stored: prefix + "k:"
// + key when that is a legal memcached key, else prefix + "h:" + the
// base64url SHA-256 of key. The byte after the prefix keeps the two forms
// apart, so mapKey is injective for a given prefix (up to SHA-256
// collisions). prefix must be legal and at most MaxKeyPrefixLen bytes.
func mapKey(prefix, key string) string {
	if len(prefix)+len(plainTag)+len(key) <= maxKeyLen && legalBytes(key) {
		return prefix + plainTag + key
	}
	sum := sha256.Sum256([]byte(key))
	var buf [maxKeyLen]byte
	b := append(buf[:0], prefix...)
	b = append(b, hashedTag...)
	b = base64.RawURLEncoding.AppendEncode(b, sum[:])
	return string(b)
}

// legalBytes reports whether s has no byte memcached's text protocol
// forbids in a key: spaces, control bytes and DEL. Bytes from 0x80 up are
// allowed, as memcached and gomemcache allow them.
func legalBytes(s string) bool {
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// keys maps store keys to memcached keys (see key).
func (s *Store) keys(keys []string) []string {
	mapped := make([]string, len(keys))
	for i, k := range keys {
		mapped[i] = s.key(k)
	}
	return mapped
}
