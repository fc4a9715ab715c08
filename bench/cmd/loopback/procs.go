package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a server process the harness started, in a process group of its
// own (nginx's workers are in its master's group).
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
	err  error         // Wait's error, once done
}

// group holds every process started, to stop them all at the end.
type group struct {
	stderr io.Writer
	mu     sync.Mutex
	procs  []*proc
}

// start starts name's process, its output appended to logPath. The
// process gets its own process group, and SIGKILL if the harness dies
// first.
func (g *group) start(ctx context.Context, name, logPath, bin string, args ...string) (*proc, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	return p, nil
}

// stopAll stops every process, the last started first: SIGTERM to its
// group, then SIGKILL to the group if it has not exited within 5 s.
func (g *group) stopAll() {
	g.mu.Lock()
	procs := g.procs
	g.procs = nil
	g.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		pgid := p.cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			fmt.Fprintf(g.stderr, "%s did not stop within 5 s of SIGTERM: killing it\n", p.name)
		}
		// Whatever is left in the group (an nginx worker whose master
		// has exited) is killed too; ESRCH if nothing is.
		syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			fmt.Fprintf(g.stderr, "%s (pid %d) did not exit after SIGKILL\n", p.name, pgid)
		}
	}
}

// pids returns the process and its children (nginx's master and workers).
func (p *proc) pids() []int {
	pid := p.cmd.Process.Pid
	return append([]int{pid}, children(pid)...)
}

// logTail returns the end of the process's log, for an error message.
func (p *proc) logTail() string {
	if err := fileTail(p.log); err != nil {
		return "\n" + err.Error()
	}
	return ""
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		fields, err := statFields(string(b))
		if err != nil || len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			kids = append(kids, child)
		}
	}
	return kids
}

// statFields returns the fields of a /proc/PID/stat line after the
// command name (which may hold spaces and parentheses): the first is the
// state (field 3 in proc(5)).
func statFields(stat string) ([]string, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return nil, errors.New("no ')' in stat")
	}
	return strings.Fields(stat[i+1:]), nil
}

// cpuTime parses utime + stime (fields 14 and 15 in proc(5)) from a
// /proc/PID/stat line, in clock ticks of length tick.
func cpuTime(stat string, tick time.Duration) (time.Duration, error) {
	fields, err := statFields(stat)
	if err != nil {
		return 0, err
	}
	if len(fields) < 13 {
		return 0, fmt.Errorf("stat has %d fields after the name", len(fields))
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * tick, nil
}

// cpuTimes reads the CPU time of each process in pids that still exists.
func cpuTimes(pids []int, tick time.Duration) (map[int]time.Duration, error) {
	times := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			continue
		}
		if err != nil {
			return nil, err
		}
		t, err := cpuTime(string(b), tick)
		if err != nil {
			return nil, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		times[pid] = t
	}
	if len(times) == 0 {
		return nil, fmt.Errorf("none of the processes %v exists", pids)
	}
	return times, nil
}

// clockTick is the length of the kernel's clock tick (USER_HZ) in which
// /proc reports CPU time, from getconf CLK_TCK.
func clockTick() (time.Duration, error) {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 0, fmt.Errorf("getconf CLK_TCK: %w", err)
	}
	hz, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || hz <= 0 {
		return 0, fmt.Errorf("getconf CLK_TCK: %q", out)
	}
	return time.Second / time.Duration(hz), nil
}
