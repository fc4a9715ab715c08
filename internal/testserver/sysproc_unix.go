//go:build unix && !linux

package testserver

import (
	"os/exec"
	"syscall"
)

// configureCmd puts the child in its own process group, so that stopping it
// also stops anything it forked. Only Linux has a parent-death signal; here
// a test binary that dies without running its cleanups can leave servers
// behind.
func configureCmd(cmd *exec.Cmd, cred *credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
