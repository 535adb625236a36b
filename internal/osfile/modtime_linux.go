package osfile

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SetModTime sets the access and modification times of the open file f to
// t, through its descriptor: no path is looked up again.
func SetModTime(f *os.File, t time.Time) error {
	spec, err := unix.TimeToTimespec(t)
	if err != nil {
		return &os.PathError{Op: "futimens", Path: f.Name(), Err: err}
	}
	ts := [2]unix.Timespec{spec, spec}
	// utimensat with a NULL path is futimens(3): the descriptor's file.
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, f.Fd(), 0, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "futimens", Path: f.Name(), Err: errno}
	}
	return nil
}
