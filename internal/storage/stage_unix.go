//go:build unix

package storage

import (
	"fmt"
	"os"
	"syscall"
)

// unname removes the name of a file just created. Should that fail, the
// file keeps its name, which PutFile and DiscardStaged remove as on other
// systems.
func unname(f *os.File) { _ = os.Remove(f.Name()) }

// Nameless reports whether the staged file f has no name left (a file of
// StageTemp on Unix): it can be reached only through its descriptor, so a
// second handle to it comes from DupStaged, not from a hard link.
func Nameless(f *os.File) bool {
	st, err := f.Stat()
	if err != nil {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && sys.Nlink == 0
}

// DupStaged returns a new handle to the staged file f, for a PutStaged
// that takes the handle over (and closes it) while f stays open. Where
// /proc/self/fd reopens a descriptor (Linux), the handle has a file
// position of its own, so a reader of an earlier attempt that is still
// running (an HTTP client finishing a request body) cannot move the next
// attempt's; elsewhere it is a duplicate of f's descriptor, which shares
// f's position: the attempts must then read one after the other, as
// PutFile does, seeking to the start first.
func DupStaged(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("cannot duplicate staged %s: %w", f.Name(), err)
	}
	var (
		dup    *os.File
		dupErr error
	)
	err = rc.Control(func(fd uintptr) {
		if nfd, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", fd), syscall.O_RDONLY|syscall.O_CLOEXEC, 0); err == nil {
			dup = os.NewFile(uintptr(nfd), f.Name())
			return
		}
		var nfd int
		if nfd, dupErr = dupCloseOnExec(int(fd)); dupErr == nil {
			dup = os.NewFile(uintptr(nfd), f.Name())
		}
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return nil, fmt.Errorf("cannot duplicate staged %s: %w", f.Name(), err)
	}
	return dup, nil
}

// dupCloseOnExec duplicates fd with close-on-exec set, under the fork lock
// so that no child started meanwhile inherits it.
func dupCloseOnExec(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, err := syscall.Dup(fd)
	if err != nil {
		return -1, err
	}
	syscall.CloseOnExec(nfd)
	return nfd, nil
}
