package restore

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the n bytes at off of
// fh to disk, without waiting for them; the final sync still waits for
// every byte. Smaller writes are left to the flusher (flush.go).
func startWriteback(fh *os.File, off int64, n int) {
	if n < writebackMin {
		return
	}
	_ = unix.SyncFileRange(int(fh.Fd()), off, int64(n), unix.SYNC_FILE_RANGE_WRITE)
}

// earlySyncs says whether a restore syncs its staging directories'
// filesystems while it writes: one syncfs(2) call each.
const earlySyncs = true
