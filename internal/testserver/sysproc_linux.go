package testserver

import (
	"os/exec"
	"syscall"
)

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
