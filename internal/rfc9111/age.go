package rfc9111

import (
	"strconv"
	"time"
)

// smallAges holds ready-made Age values for the first ten minutes, so that
// most hits allocate none. Read-only and capped.
var smallAges = func() [][]string {
	a := make([][]string, 600)
	for i := range a {
		a[i] = []string{strconv.Itoa(i)}[:1:1]
	}
	return a
}()

// AgeValue formats an Age header value: whole seconds, rounded down, at most
// 2^31 (RFC 9111 §5.1).
func AgeValue(age time.Duration) []string {
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
	return []string{strconv.FormatInt(secs, 10)}
}
