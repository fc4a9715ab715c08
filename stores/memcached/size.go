package memcached

import (
	"fmt"

	"github.com/seedcache/httpcache/store"
)

const (
	// DefaultMaxItemSize is memcached's default item size limit (-I 1m).
	DefaultMaxItemSize = 1 << 20

	// minItemSize is the smallest -I memcached accepts.
	minItemSize = 1024

	// ItemOverhead is the number of bytes memcached counts against its item
	// size limit for each item besides its key and value, as the store
	// assumes it: the 48-byte item header of a 64-bit memcached 1.6, 8
	// bytes of CAS id, the NUL after the key and the CRLF after the value.
	// It is the largest of memcached's usual configurations (with -C, no
	// CAS, the overhead is 51; the store sends no flags, which would add
	// 4), so a value the store accepts always fits, and at the default
	// configuration the value one byte over is exactly the one memcached
	// refuses (TestItemSizeBoundary checks both on a real server).
	ItemOverhead = 48 + 8 + 1 + 2
)

// checkSize returns an error wrapping store.ErrTooLarge if an item of
// key and a value of n bytes would exceed the item size limit.
func (s *Store) checkSize(key string, n int) error {
	if size := len(key) + n + ItemOverhead; size > s.maxItemSize {
		return fmt.Errorf("memcached: %d-byte value under a %d-byte key makes a %d-byte item, over the %d-byte limit: %w",
			n, len(key), size, s.maxItemSize, store.ErrTooLarge)
	}
	return nil
}
