//go:build !unix

package testserver

import "os/exec"

// credential stands in for syscall.Credential where there is none.
type credential = struct{}

// configureCmd does nothing: process groups and parent-death signals are
// Unix features. Servers are still killed at cleanup.
func configureCmd(cmd *exec.Cmd, cred *credential) {}

// killTree kills the process.
func killTree(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// dropRoot returns nil: there is no root to drop.
func dropRoot() *credential { return nil }
