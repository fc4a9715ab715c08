//go:build unix

package testserver

import (
	"os/user"
	"strconv"
)

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
