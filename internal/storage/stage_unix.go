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

// DupStaged returns a new handle to the staged file f, on a duplicate of
// its descriptor, for a PutStaged that takes the handle over (and closes
// it) while f stays open. The two share the file offset: they must be
// used one after the other, as PutFile does, which seeks to the start
// before it reads.
func DupStaged(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("cannot duplicate staged %s: %w", f.Name(), err)
	}
	nfd := -1
	var dupErr error
	if err := rc.Control(func(fd uintptr) { nfd, dupErr = dupCloseOnExec(int(fd)) }); err != nil {
		return nil, fmt.Errorf("cannot duplicate staged %s: %w", f.Name(), err)
	}
	if dupErr != nil {
		return nil, fmt.Errorf("cannot duplicate staged %s: %w", f.Name(), dupErr)
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
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
