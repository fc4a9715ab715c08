package rfc9111

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/seedcache/httpcache/internal/header"
)

// smallAges holds ready-made Age values for the first ten minutes, so that
// most hits format none.
var smallAges = func() []string {
	a := make([]string, 600)
	for i := range a {
		a[i] = strconv.Itoa(i)
	}
	return a
}()

// AgeValue formats an Age header value: whole seconds, rounded down, at most
// 2^31 (RFC 9111 §5.1). Ages past the first ten minutes are formatted once
// per second of age and slot (see ageCache), so that the hits of one
// second share the string instead of allocating one each.
func AgeValue(age time.Duration) string {
	secs := int64(age / time.Second)
	switch {
	case secs < 0:
		secs = 0
	case secs > maxDelta:
		secs = maxDelta
	}
	if secs < int64(len(smallAges)) {
		return smallAges[secs]
	}
	slot := &ageCache[secs%int64(len(ageCache))]
	if a := slot.Load(); a != nil && a.secs == secs {
		return a.text
	}
	a := &formattedAge{secs: secs, text: strconv.FormatInt(secs, 10)}
	slot.Store(a)
	return a.text
}

// ageCache holds the last Age formatted in each slot, by its seconds
// modulo the slots: entries age a second a second, so the hits of the
// same entries in one second find theirs.
var ageCache [1024]atomic.Pointer[formattedAge]

// formattedAge is an Age value of ageCache.
type formattedAge struct {
	secs int64
	text string
}

// ParseAge reads a received Age field (RFC 9111 §5.1): its first member,
// whichever line it is on, when there are several (a list "7200, 0" or two
// lines), other members discarded. ok is false when the field is absent
// (lines empty) or its first member is not a non-negative integer; a huge
// one saturates at 2^31 s like any delta-seconds.
func ParseAge(lines []string) (age time.Duration, ok bool) {
	for _, line := range lines {
		for line != "" {
			var member string
			member, line, _ = header.CutByte(line, ',')
			if member = header.TrimOWS(member); member == "" {
				continue // empty list elements do not count (RFC 9110 §5.6.1)
			}
			secs, ok := parseDelta(member)
			return time.Duration(secs) * time.Second, ok
		}
	}
	return 0, false
}
