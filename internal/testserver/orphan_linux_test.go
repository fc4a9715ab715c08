package testserver

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

const helperEnv = "TESTSERVER_ORPHAN_HELPER"

// TestOrphanHelper is not a test: TestNoOrphansWhenBinaryDies runs the test
// binary again with helperEnv set, and this starts servers, prints their
// pids and waits to be killed.
func TestOrphanHelper(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	r := Redis(t)
	m := Memcached(t)
	fmt.Printf("PIDS %d %d\n", r.proc.pid(), m.proc.pid())
	time.Sleep(time.Minute) // the parent kills us long before
}

// A test binary that dies without running its cleanups (a -timeout panic,
// SIGKILL) takes its servers with it.
func TestNoOrphansWhenBinaryDies(t *testing.T) {
	clearOverrides(t)
	// Fail or skip here, not in the helper, if the programs are missing.
	Redis(t)
	Memcached(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestOrphanHelper$", "-test.count=1")
	// The helper dies without cleanups: keep its temporary directories in
	// one that ours removes.
	cmd.Env = append(os.Environ(), helperEnv+"=1", "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "PIDS ") {
				lines <- sc.Text()
				return
			}
		}
		close(lines)
	}()
	var pids []int
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatal("helper exited without starting its servers")
		}
		for _, f := range strings.Fields(line)[1:] {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not start its servers within 30s")
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("server %d is not running while the helper is", pid)
		}
	}

	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				for _, pid := range pids {
					if alive(pid) {
						t.Errorf("server %d outlived the killed test binary", pid)
						killPid(pid)
					}
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// alive reports whether pid is a running (not zombie) server process.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// "pid (comm) state ...": comm may contain spaces, so split at the last ')'.
	s := string(stat)
	comm := s[strings.IndexByte(s, '(')+1 : strings.LastIndexByte(s, ')')]
	state := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
	return state != "Z" && (strings.HasPrefix(comm, "redis-server") || strings.HasPrefix(comm, "memcached"))
}

func killPid(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
