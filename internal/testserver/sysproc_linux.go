package testserver

import (
	"os/exec"
	"syscall"
)

// credential is what a child runs as when it must not run as root.
type credential = syscall.Credential

// configureCmd puts the child in its own process group, so that stopping it
// also stops anything it forked, and asks the kernel to SIGKILL it when the
// thread that started it dies. startCmd starts every child from one locked
// OS thread that outlives all children, so that thread dies only with the
// test binary: a binary killed by a -timeout panic or a signal, which runs no
// cleanups, still leaves no server behind.
func configureCmd(cmd *exec.Cmd, cred *credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: cred,
	}
}

// killTree sends SIGKILL to the process group led by pid and to pid itself.
func killTree(cmd *exec.Cmd) {
	// The group id is the leader's pid (Setpgid with Pgid 0). Callers only
	// kill a process that has not been reaped yet, so the id is still ours.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}

// dropRoot reports the credentials to run a child with when the tests run as
// root, or nil. memcached refuses to run as root; its own "-u nobody" would
// work, but a process that changes its user ID loses its parent-death signal,
// whereas credentials set in the fork child take effect before the signal is
// armed, so it survives.
func dropRoot() *credential {
	if syscall.Geteuid() != 0 {
		return nil
	}
	uid, gid := nobodyIDs()
	return &credential{Uid: uid, Gid: gid}
}
