// Package testwait lets tests wait for what goroutines they cannot see do.
package testwait

import (
	"testing"
	"time"
)

// Timeout bounds every wait. It is generous on purpose: it tells a hang from
// progress on a busy shared machine, and is not a timing assertion.
const Timeout = 15 * time.Second

// For polls cond until it holds, failing tb after Timeout.
func For(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %v waiting for %s", Timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}
