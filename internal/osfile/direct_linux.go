package osfile

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Direct is the open flag for writes that bypass the page cache (O_DIRECT),
// 0 where there is none. Such writes need their offset, length and memory
// aligned to DirectAlign; a filesystem that does not take them refuses the
// open or the write with EINVAL.
const Direct = unix.O_DIRECT

// DirectAlign is the alignment direct writes keep: a page, a multiple of
// every common logical block size.
const DirectAlign = 4096

// Aligned reports whether b starts at a DirectAlign boundary in memory.
func Aligned(b []byte) bool {
	return len(b) > 0 && AlignedAt(b, 0) == 0
}

// SetDirect turns direct writes on fh on or off.
func SetDirect(fh *os.File, on bool) error {
	fd := int(fh.Fd())
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return &os.PathError{Op: "fcntl", Path: fh.Name(), Err: err}
	}
	want := flags &^ unix.O_DIRECT
	if on {
		want |= unix.O_DIRECT
	}
	if want == flags {
		return nil
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, want); err != nil {
		return &os.PathError{Op: "fcntl", Path: fh.Name(), Err: err}
	}
	return nil
}

// AlignedAt returns the smallest i (below DirectAlign) for which b[i+skip]
// starts at a DirectAlign boundary in memory.
func AlignedAt(b []byte, skip int) int {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(skip)
	return int((DirectAlign - addr%DirectAlign) % DirectAlign)
}
