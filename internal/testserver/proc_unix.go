//go:build unix

package testserver

import (
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// credential is what a child runs as when it must not run as root.
type credential = syscall.Credential

// nobodyIDs returns the user and group IDs of "nobody", or 65534 (its usual
// value) when the user database does not list it.
func nobodyIDs() (uid, gid uint32) {
	uid, gid = 65534, 65534
	u, err := user.Lookup("nobody")
	if err != nil {
		return uid, gid
	}
	if v, err := strconv.ParseUint(u.Uid, 10, 32); err == nil {
		uid = uint32(v)
	}
	if v, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
		gid = uint32(v)
	}
	return uid, gid
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
