//go:build unix

package banyandb

import (
	"io/fs"
	"syscall"
)

// StatIDs returns the inode, device and link count of an Lstat result.
func StatIDs(info fs.FileInfo) (inode, dev, nlink uint64) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 1
	}
	return uint64(st.Ino), uint64(st.Dev), uint64(st.Nlink) //nolint:unconvert // field types differ across platforms
}

// StatOwner returns the owner and group of an Lstat result.
func StatOwner(info fs.FileInfo) Owner {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return Owner{}
	}
	return Owner{UID: st.Uid, GID: st.Gid}
}
