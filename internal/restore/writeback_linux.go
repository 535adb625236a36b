package restore

import (
	"os"

	"golang.org/x/sys/unix"
)

// writebackMin is the smallest write whose writeback starts at once. The
// kernel starts none for minutes while the dirty pages fit its limits, so
// without this the restore's final syncfs wrote every byte while the disk
// had idled during the reads; started for each small file too, the many
// small writes cost more than they overlapped (docs/benchmarks.md, "Writes
// sent to disk as they are made").
const writebackMin = 256 << 10

// startWriteback asks the kernel to start writing the n bytes at off of
// fh to disk, without waiting for them; the final sync still waits for
// every byte. Smaller writes are left to that sync.
func startWriteback(fh *os.File, off int64, n int) {
	if n < writebackMin {
		return
	}
	_ = unix.SyncFileRange(int(fh.Fd()), off, int64(n), unix.SYNC_FILE_RANGE_WRITE)
}
