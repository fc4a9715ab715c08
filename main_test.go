package httpcache_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a
// background refresh, store write or purge that outlives its Cache.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
