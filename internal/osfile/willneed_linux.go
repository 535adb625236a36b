package osfile

import "golang.org/x/sys/unix"

// WillNeed asks the kernel to start reading the regular file at path into
// the page cache, and returns without waiting for the reads. It reports
// whether the kernel took the request. A path that is not a regular file
// the caller may open (a symbolic link, a FIFO, a file gone) is left
// alone: the caller reads the file later and reports its error then.
func WillNeed(path string) bool {
	// O_NONBLOCK: opening a FIFO put in the file's place must not wait
	// for a writer. O_NOFOLLOW: a link is not followed.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false
	}
	return unix.Fadvise(fd, 0, 0, unix.FADV_WILLNEED) == nil
}
