package local

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// mkdirs makes sure dir exists, creating it and its missing parents with
// mode 0o700. Every directory it creates is made durable by fsyncing its
// parent.
func (b *Backend) mkdirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := b.mkdirs(parent); err != nil {
			return err
		}
	}
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		// Made concurrently, or it is a regular file, which the next
		// operation in dir reports.
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(parent)
}

// createTemp creates a new file named ".tmp-" plus random hex in dir.
func createTemp(dir string) (*os.File, error) {
	var buf [8]byte
	for range 10 {
		_, _ = rand.Read(buf[:]) // never fails, see crypto/rand.Read
		p := filepath.Join(dir, tmpPrefix+hex.EncodeToString(buf[:]))
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("cannot create a temporary file in %s: too many collisions", dir)
}

// isNotDir reports whether err is ENOTDIR: a path element is a regular file.
func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}
