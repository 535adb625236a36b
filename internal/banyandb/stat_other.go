//go:build !unix

package banyandb

import "io/fs"

// StatIDs returns zero ids and one link where the platform has no Stat_t.
func StatIDs(fs.FileInfo) (inode, dev, nlink uint64) {
	return 0, 0, 1
}

// StatOwner returns no owner where the platform has no Stat_t.
func StatOwner(fs.FileInfo) Owner { return Owner{} }
