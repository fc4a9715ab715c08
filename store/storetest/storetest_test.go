package storetest_test

import (
	"github.com/seedcache/httpcache/internal/fakeclock"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/seedcache/httpcache/store"
	"github.com/seedcache/httpcache/store/storetest"
)

// runRef runs the suite against refStores with the given mutation.
func runRef(t *testing.T, mutant string) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	storetest.Run(t, func(t *testing.T) store.Store {
		return newRefStore(clock.Now, mutant)
	}, storetest.Options{Advance: clock.Advance})
}

// TestReference shows that a correct store passes.
func TestReference(t *testing.T) {
	runRef(t, "")
}

// TestReferencePruning shows that a store may forget the tag records of
// keys it does not hold, as the Redis store prunes its tag sets: the suite
// stores every key it records.
func TestReferencePruning(t *testing.T) {
	clock := fakeclock.New(time.Unix(1_700_000_000, 0))
	storetest.Run(t, func(t *testing.T) store.Store {
		s := newRefStore(clock.Now, "")
		s.pruning = true
		return s
	}, storetest.Options{Advance: clock.Advance})
}

// TestReferenceRealClock shows that a correct store passes the cases that
// sleep instead of advancing a clock (for values, counters and tags alike).
func TestReferenceRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps for real; skipped in -short mode")
	}
	storetest.Run(t, func(t *testing.T) store.Store {
		return newRefStore(time.Now, "")
	}, storetest.Options{})
}

const (
	mutantEnv    = "STORETEST_MUTANT"
	realClockEnv = "STORETEST_REAL_CLOCK" // run the mutant on the real clock
)

// TestMutantChild runs the suite against a broken store when
// TestMutants starts it in a child process; a failing storetest.Run can
// only be observed from outside the test binary.
func TestMutantChild(t *testing.T) {
	mutant := os.Getenv(mutantEnv)
	if mutant == "" {
		t.Skip("run by TestMutants")
	}
	if os.Getenv(realClockEnv) != "" {
		storetest.Run(t, func(t *testing.T) store.Store {
			return newRefStore(time.Now, mutant)
		}, storetest.Options{})
		return
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
		{"counter ttl ignored", "Counter"},
		{"counter ttl not renewed", "Counter"},
		{"counter keeps its ttl", "Counter"},
		{"negative counter ttl is forever", "Counter"},
		{"pruning drops held records", "TagIndex"},
		{"tag ttl replaced", "TagIndex"},
		{"RemoveTags removes all", "TagIndex"},
		{"unknown tag is an error", "TagIndex"},
	}
	for _, tt := range tests {
		t.Run(tt.mutant+"/"+tt.subtest, func(t *testing.T) {
			expectCaught(t, tt.mutant, tt.subtest)
		})
	}
}

// TestMutantsRealClock checks that the cases that sleep, which stores on
// servers whose clock cannot be injected rely on, catch the counters' ttl
// mutants too.
func TestMutantsRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps for real; skipped in -short mode")
	}
	for _, mutant := range []string{
		"counter expires",
		"counter ttl ignored",
		"counter ttl not renewed",
		"counter keeps its ttl",
	} {
		t.Run(mutant, func(t *testing.T) {
			t.Parallel()
			expectCaught(t, mutant, "TTL", realClockEnv+"=1")
		})
	}
}

// expectCaught runs the suite's subtest against a store with mutant in a
// child process, and checks that the subtest fails.
func expectCaught(t *testing.T, mutant, subtest string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$/^"+subtest+"$", "-test.v")
	cmd.Env = append(os.Environ(), mutantEnv+"="+mutant)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a store whose %s:\n%s", mutant, out)
	}
	if want := "--- FAIL: TestMutantChild/" + subtest; !strings.Contains(string(out), want) {
		t.Fatalf("output lacks %q:\n%s", want, out)
	}
}
