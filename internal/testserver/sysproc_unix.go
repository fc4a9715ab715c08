//go:build unix && !linux

package testserver

import (
	"os/exec"
	"syscall"
)

// credential is what a child runs as when it must not run as root.
type credential = syscall.Credential

// configureCmd puts the child in its own process group, so that stopping it
// also stops anything it forked. Only Linux has a parent-death signal; here
// a test binary that dies without running its cleanups can leave servers
// behind.
func configureCmd(cmd *exec.Cmd, cred *credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

// killTree sends SIGKILL to the process group led by pid and to pid itself.
func killTree(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}

// dropRoot reports the credentials to run a child with when the tests run as
// root (memcached refuses to run as root), or nil.
func dropRoot() *credential {
	if syscall.Geteuid() != 0 {
		return nil
	}
	uid, gid := nobodyIDs()
	return &credential{Uid: uid, Gid: gid}
}
