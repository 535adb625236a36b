package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// mover renames a staged tree into its root. Every rename is atomic and
// within the root's filesystem (the staging directory is inside the root),
// so a kill between two of them leaves each entry either staged or in
// place, and each replaced unit's old version either in place or set
// aside in trash: a rerun takes up from there (targetRoot.inPlace).
type mover struct {
	trash    string          // where replaced units are set aside
	replaced map[string]bool // units to replace, as targetPath gives them
	step     func(string) error
}

// move renames each entry of the staging directory src into dst where dst
// lacks it. Where dst has it, a unit to replace is first set aside in the
// trash; any other directory is entered.
func (m mover) move(src, dst, rel string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cannot read staging directory %s: %w", src, err)
	}
	for _, e := range ents {
		name := e.Name()
		if rel == "" && name == trashName {
			continue
		}
		r := filepath.Join(rel, name)
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		st, err := os.Lstat(to)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("cannot inspect %s: %w", to, err)
		case st.Mode()&fs.ModeSymlink != 0 && belowDataDir(r):
			// checkTargetLinks refused it; it appeared since.
			return fmt.Errorf("cannot restore into %s: it is a symbolic link, and a restore never writes through one below a data directory", to)
		case m.replaced[r]:
			if err := m.setAside(to, r); err != nil {
				return err
			}
		case e.IsDir():
			if err := m.move(from, to, r); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("cannot restore %s: the target has it and the restore does not replace it", to)
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("cannot move restored files into %s: %w", to, err)
		}
		if err := m.step("moved " + filepath.ToSlash(r)); err != nil {
			return err
		}
	}
	return syncDir(dst)
}

// setAside renames the root's version of a unit to replace into the trash,
// and syncs both directories before the new version takes its place.
func (m mover) setAside(path, rel string) error {
	old := filepath.Join(m.trash, rel)
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		return fmt.Errorf("cannot set aside %s: %w", path, err)
	}
	if err := os.Rename(path, old); err != nil {
		return fmt.Errorf("cannot set aside %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(old)); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	return m.step("set aside " + filepath.ToSlash(rel))
}
