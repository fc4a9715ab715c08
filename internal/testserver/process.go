package testserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Time bounds. Every wait in this package is bounded by one of these.
const (
	readyTimeout    = 20 * time.Second // a started server answers its protocol
	stopTimeout     = 10 * time.Second // a killed process is reaped
	externalTimeout = 10 * time.Second // a server named by the environment answers
	// probeTimeout bounds one readiness check. Checks repeat until
	// readyTimeout, and a check on a process that exited ends at once, so
	// it only needs to be long enough for a stalled machine.
	probeTimeout    = time.Second
	bindAttempts    = 5 // fresh ports tried when another process wins the race for one
	restartAttempts = 5 // tries to rebind the same port on Start
	logTailBytes    = 4 << 10
	logTailLines    = 30
)

// The spawner starts every child process from one goroutine locked to its OS
// thread. On Linux the children's parent-death signal is tied to the thread
// that forked them, not to the process, so forking from an arbitrary thread
// (which the runtime may retire) could kill a server in the middle of a test.
// The goroutine lives while any child does and exits, taking its thread with
// it, once the last one has been reaped: nothing is left running for leak
// checkers such as goleak to report between tests.
var spawner struct {
	mu   sync.Mutex
	reqs chan spawnReq // nil while no child is alive
	live int           // children started (or being started) and not yet reaped
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// startCmd starts cmd from the spawner thread. On success the caller must
// call release once cmd.Wait has returned.
func startCmd(cmd *exec.Cmd) (release func(), err error) {
	spawner.mu.Lock()
	if spawner.reqs == nil {
		spawner.reqs = make(chan spawnReq)
		go spawnLoop(spawner.reqs)
	}
	spawner.live++
	reqs := spawner.reqs
	spawner.mu.Unlock()

	req := spawnReq{cmd: cmd, done: make(chan error, 1)}
	reqs <- req
	if err := <-req.done; err != nil {
		releaseSpawner()
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(releaseSpawner) }, nil
}

func releaseSpawner() {
	spawner.mu.Lock()
	defer spawner.mu.Unlock()
	spawner.live--
	if spawner.live == 0 {
		// Nobody holds reqs now: every sender counted itself in live first.
		close(spawner.reqs)
		spawner.reqs = nil
	}
}

func spawnLoop(reqs <-chan spawnReq) {
	// Never unlocked: when this goroutine returns the runtime terminates the
	// thread, which is harmless then because no child is alive.
	runtime.LockOSThread()
	for req := range reqs {
		req.done <- req.cmd.Start()
	}
}

// process is one run of a server program.
type process struct {
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has been reaped
	waitErr error         // cmd.Wait's result; read only after exited is closed
	// alive is cancelled once the process has been reaped, so that a probe
	// stuck on a port someone else holds gives up at once.
	alive context.Context
}

// launch starts program with its output appended to logPath. The child
// inherits the working directory: Redis is told its own with --dir, and a
// child run as nobody could not enter a private temporary directory anyway.
func launch(program string, args []string, logPath string, cred *credential) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// The child keeps its own descriptor; ours is not needed once it runs.
	defer logf.Close()
	cmd := exec.Command(program, args...)
	// An *os.File, not a pipe: Wait then has no copying goroutine to wait
	// for, and the log survives the process for failure messages.
	cmd.Stdout = logf
	cmd.Stderr = logf
	configureCmd(cmd, cred)
	release, err := startCmd(cmd)
	if err != nil {
		return nil, err
	}
	alive, dead := context.WithCancel(context.Background())
	p := &process{cmd: cmd, exited: make(chan struct{}), alive: alive}
	go func() {
		p.waitErr = cmd.Wait()
		release()
		close(p.exited)
		dead()
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// hasExited reports whether the process has been reaped.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill kills the process and its group and waits, bounded, until it has been
// reaped.
func (p *process) kill() error {
	if !p.hasExited() {
		killTree(p.cmd)
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return nil
	case <-t.C:
		return fmt.Errorf("process %d still running %v after SIGKILL", p.pid(), stopTimeout)
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// All n listeners are held open together so the ports differ; another
// process can still take one before the server binds it, which the callers
// handle by retrying on fresh ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// fileSize returns the size of path, or 0.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logTail returns the end of what was written to path after offset: at most
// logTailLines lines and logTailBytes bytes.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	defer f.Close()
	if size := fileSize(path); size-offset > logTailBytes {
		offset = size - logTailBytes
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, logTailBytes))
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	b = bytes.TrimRight(b, "\n")
	lines := strings.Split(string(b), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "(log empty)"
	}
	return strings.Join(lines, "\n")
}

// errBindConflict marks a start that failed because the port was taken.
var errBindConflict = errors.New("port already in use")

// isBindFailure reports whether a server log shows a failed bind. Both
// redis-server and memcached print the strerror text.
func isBindFailure(log string) bool {
	return strings.Contains(log, "Address already in use")
}

// waitReady polls probe until it succeeds, the process exits or deadline
// passes. probe gets a context that ends when the process exits.
func waitReady(p *process, deadline time.Time, probe func(ctx context.Context, pid int) error) error {
	delay := 5 * time.Millisecond
	var lastErr error
	for {
		if p.hasExited() {
			return fmt.Errorf("exited before it was ready (%v)", p.waitErr)
		}
		lastErr = probe(p.alive, p.pid())
		if lastErr == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", readyTimeout, lastErr)
		}
		t := time.NewTimer(delay)
		select {
		case <-p.exited:
		case <-t.C:
		}
		t.Stop()
		delay = min(2*delay, 50*time.Millisecond)
	}
}
