package storetest_test

import (
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedcache/httpcache"
	"github.com/seedcache/httpcache/stores/storetest"
)

type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time {
	return time.Unix(1_700_000_000, 0).Add(time.Duration(c.offset.Load()))
}

func (c *fakeClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// runRef runs the suite against refStores with the given mutation.
func runRef(t *testing.T, mutant string) {
	clock := new(fakeClock)
	storetest.Run(t, func(t *testing.T) httpcache.Store {
		return newRefStore(clock.Now, mutant)
	}, storetest.Options{Advance: clock.Advance})
}

// TestReference shows that a correct store passes.
func TestReference(t *testing.T) {
	runRef(t, "")
}

// TestReferenceRealClock shows that a correct store passes the cases that
// sleep instead of advancing a clock (for values, counters and tags alike).
func TestReferenceRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps for real; skipped in -short mode")
	}
	storetest.Run(t, func(t *testing.T) httpcache.Store {
		return newRefStore(time.Now, "")
	}, storetest.Options{})
}

const mutantEnv = "STORETEST_MUTANT"

// TestMutantChild runs the suite against a broken store when
// TestMutants starts it in a child process; a failing storetest.Run can
// only be observed from outside the test binary.
func TestMutantChild(t *testing.T) {
	mutant := os.Getenv(mutantEnv)
	if mutant == "" {
		t.Skip("run by TestMutants")
	}
	runRef(t, mutant)
}

// TestMutants checks that the suite catches each way of breaking a store,
// in the subtest meant to catch it.
func TestMutants(t *testing.T) {
	tests := []struct {
		mutant, subtest string
	}{
		{"own miss error", "Miss"},
		{"keeps caller's slice", "SetCopiesValue"},
		{"keys cut at 250 bytes", "Keys"},
		{"zero ttl is forever", "InvalidTTL"},
		{"expires late", "TTL"},
		{"truncates large values", "LargeValues"},
		{"truncates large values", "OverLimit"},
		{"refuses large values with own error", "OverLimit"},
		{"own context error", "DoneContext"},
		{"missing key is an error", "Delete"},
		{"objects lost", "Object"},
		{"Set keeps the object", "Object"},
		{"counter padded", "Counter"},
		{"counter expires", "Counter"},
		{"counter ignores floor", "Counter"},
		{"floor replaces the +1", "Counter"},
		{"counter in float64", "Counter"},
		{"counter formatted as float", "Counter"},
		{"Advance not atomic", "Counter"},
		{"tag ttl replaced", "TagIndex"},
		{"RemoveTags removes all", "TagIndex"},
		{"unknown tag is an error", "TagIndex"},
	}
	for _, tt := range tests {
		t.Run(tt.mutant+"/"+tt.subtest, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$/^"+tt.subtest+"$", "-test.v")
			cmd.Env = append(os.Environ(), mutantEnv+"="+tt.mutant)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store whose %s:\n%s", tt.mutant, out)
			}
			if want := "--- FAIL: TestMutantChild/" + tt.subtest; !strings.Contains(string(out), want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		})
	}
}
