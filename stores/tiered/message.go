package tiered

import (
	"encoding/binary"
	"errors"
	"strings"
)

// messagePrefix starts every invalidation message; its last part is the
// format's version.
const messagePrefix = "httpcache-invalidate/1\n"

// encodeInvalidation returns the message that tells the other instances to
// drop keys: messagePrefix, then the sender's id and each key, each as a
// uvarint length and its bytes (keys are arbitrary bytes, so no separator
// would do).
func encodeInvalidation(id string, keys []string) string {
	n := len(messagePrefix) + binary.MaxVarintLen64 + len(id)
	for _, k := range keys {
		n += binary.MaxVarintLen64 + len(k)
	}
	b := make([]byte, 0, n)
	b = append(b, messagePrefix...)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	return string(b)
}

var errMalformed = errors.New("tiered: malformed invalidation message")

// decodeInvalidation reads a message made by encodeInvalidation.
func decodeInvalidation(msg string) (id string, keys []string, err error) {
	rest, ok := strings.CutPrefix(msg, messagePrefix)
	if !ok {
		return "", nil, errMalformed
	}
	if id, rest, ok = cutField(rest); !ok || id == "" {
		return "", nil, errMalformed
	}
	for rest != "" {
		var key string
		if key, rest, ok = cutField(rest); !ok {
			return "", nil, errMalformed
		}
		keys = append(keys, key)
	}
	return id, keys, nil
}

// cutField splits a uvarint-length-prefixed field off the front of s.
func cutField(s string) (field, rest string, ok bool) {
	var n uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		n |= uint64(s[i]&0x7f) << (7 * i)
		if s[i] < 0x80 {
			s = s[i+1:]
			if n > uint64(len(s)) {
				return "", "", false
			}
			return s[:n], s[n:], true
		}
	}
	return "", "", false
}

// dropAllPrefix starts every "drop all" message, which DropLocalCopies
// publishes. Its prefix is not messagePrefix, so that an instance of an
// older version, which knows only invalidations, takes it for a malformed
// message, and so clears its L1 all the same (without acknowledging). The
// version is 2 since acknowledgements became members of a set (version 1
// counted them): an instance of version 1 treats it likewise.
const dropAllPrefix = "httpcache-drop-all/2\n"

// encodeDropAll returns the message that tells the other instances to
// clear their L1s and acknowledge under ackID (see Store.ack):
// dropAllPrefix, then the sender's id and ackID, each as a uvarint length
// and its bytes.
func encodeDropAll(id, ackID string) string {
	b := make([]byte, 0, len(dropAllPrefix)+2*binary.MaxVarintLen64+len(id)+len(ackID))
	b = append(b, dropAllPrefix...)
	for _, f := range []string{id, ackID} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return string(b)
}

// decodeDropAll reads a message made by encodeDropAll.
func decodeDropAll(msg string) (id, ackID string, err error) {
	rest, ok := strings.CutPrefix(msg, dropAllPrefix)
	if !ok {
		return "", "", errMalformed
	}
	if id, rest, ok = cutField(rest); !ok || id == "" {
		return "", "", errMalformed
	}
	if ackID, rest, ok = cutField(rest); !ok || ackID == "" || rest != "" {
		return "", "", errMalformed
	}
	return id, ackID, nil
}
