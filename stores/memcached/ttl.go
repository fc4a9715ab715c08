package memcached

import (
	"math"
	"time"
)

// maxRelative is the longest expiry memcached reads as relative to now, in
// seconds (30 days); larger values are absolute Unix times.
const maxRelative = 30 * 24 * 60 * 60

// expiration returns the expiry to send for ttl (> 0): whole seconds,
// rounded up, plus one for memcached's clock, which may tick right after
// the set and so cut up to a second off any relative expiry (see the
// package documentation). Past 30 days it is an absolute Unix time from
// now() instead, rounded up likewise, never below maxRelative+1 (which
// memcached would read as relative) and never above math.MaxInt32.
func expiration(ttl time.Duration, now func() time.Time) int32 {
	secs := ttl / time.Second
	if ttl%time.Second != 0 {
		secs++
	}
	if secs < maxRelative { // secs+1 <= maxRelative
		return int32(secs + 1)
	}
	at := now().Add(ttl)
	unix := at.Unix()
	if at.Nanosecond() != 0 {
		unix++
	}
	unix++
	return int32(min(max(unix, maxRelative+1), math.MaxInt32))
}
