package testserver

import (
	"strings"
	"testing"
)

func TestFailInsteadOfSkip(t *testing.T) {
	for _, tc := range []struct {
		name, ci string
		want     bool
	}{
		{name: "unset", ci: "", want: false},
		{name: "true", ci: "true", want: true},
		{name: "one", ci: "1", want: true},
		{name: "false", ci: "false", want: false},
		{name: "junk", ci: "maybe", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			if got := failInsteadOfSkip(); got != tc.want {
				t.Errorf("CI=%q: failInsteadOfSkip() = %v, want %v", tc.ci, got, tc.want)
			}
		})
	}
}

// Without the programs on PATH every constructor skips, naming the program
// and how to install it; under CI=true it fails instead.
func TestMissingProgram(t *testing.T) {
	clearOverrides(t)
	t.Setenv("PATH", "")
	for _, tc := range []struct {
		name    string
		program string
		start   func(testing.TB)
	}{
		{name: "Redis", program: "redis-server", start: func(tb testing.TB) { Redis(tb) }},
		{name: "Memcached", program: "memcached", start: func(tb testing.TB) { Memcached(tb) }},
		{name: "MemcachedPool", program: "memcached", start: func(tb testing.TB) { MemcachedPool(tb, 2) }},
		{name: "RedisCluster", program: "redis-server", start: func(tb testing.TB) { RedisCluster(tb) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", "")
			ftb := newFakeTB(t)
			skipped, fatal := ftb.run(func() { tc.start(ftb) })
			if fatal != "" {
				t.Fatalf("failed instead of skipping: %s", fatal)
			}
			for _, want := range []string{tc.program, "apt-get install -y redis-server memcached"} {
				if !strings.Contains(skipped, want) {
					t.Errorf("skip message %q lacks %q", skipped, want)
				}
			}

			t.Setenv("CI", "true")
			skipped, fatal = ftb.run(func() { tc.start(ftb) })
			if skipped != "" || !strings.Contains(fatal, tc.program) || !strings.Contains(fatal, "CI=true") {
				t.Errorf("under CI=true: skipped %q, fatal %q; want a failure naming %s and CI=true", skipped, fatal, tc.program)
			}
		})
	}

	// And with a real *testing.T the test is reported as skipped.
	t.Setenv("CI", "")
	var skipped bool
	t.Run("real", func(t *testing.T) {
		t.Cleanup(func() { skipped = t.Skipped() })
		Redis(t)
		t.Error("Redis returned without redis-server on PATH")
	})
	if !skipped {
		t.Error("Redis did not skip the test")
	}
}
