package local_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.RunWith(t, func(t *testing.T) storage.Backend { return local.New(t.TempDir()) },
		storagetest.Options{Renames: true})
}

func TestConformanceMissingRoot(t *testing.T) {
	storagetest.RunWith(t, func(t *testing.T) storage.Backend {
		return local.New(filepath.Join(t.TempDir(), "not", "yet"))
	}, storagetest.Options{Renames: true})
}

func TestLocation(t *testing.T) {
	dir := t.TempDir()
	if got, want := local.New(dir).Location(), "file://"+filepath.ToSlash(dir); got != want {
		t.Errorf("Location() = %q, want %q", got, want)
	}
	t.Chdir(dir)
	if got, want := local.New("repo").Location(), "file://"+filepath.ToSlash(filepath.Join(dir, "repo")); got != want {
		t.Errorf("Location() of a relative path = %q, want %q", got, want)
	}
}

// tempFiles returns the ".tmp-" files anywhere below dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			found = append(found, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

type failAfter struct {
	n   int
	err error
}

func (r *failAfter) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestFailedWritesLeaveNoTempFile(t *testing.T) {
	dir := t.TempDir()
	b := local.New(dir)
	ctx := t.Context()
	boom := errors.New("boom")
	err := b.Put(ctx, "data/ab/obj", 1<<20, &failAfter{n: 100 << 10, err: boom})
	if !errors.Is(err, boom) {
		t.Errorf("Put from a failing reader: %v, want %v", err, boom)
	}
	err = b.Create(ctx, "locks/l", 1<<20, &failAfter{n: 10, err: boom})
	if !errors.Is(err, boom) {
		t.Errorf("Create from a failing reader: %v, want %v", err, boom)
	}
	if err := b.Put(ctx, "data/ab/short", 10, strings.NewReader("abc")); err == nil ||
		!strings.Contains(err.Error(), "cannot write data/ab/short: short input") {
		t.Errorf("Put with short input: %v", err)
	}
	if err := b.Put(ctx, "data/ab/long", 2, strings.NewReader("abc")); err == nil ||
		!strings.Contains(err.Error(), "cannot write data/ab/long: long input") {
		t.Errorf("Put with long input: %v", err)
	}
	if err := b.Create(ctx, "locks/l", 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(ctx, "locks/l", 1, strings.NewReader("y")); !errors.Is(err, storage.ErrExists) {
		t.Errorf("second Create: %v, want ErrExists", err)
	}
	if found := tempFiles(t, dir); len(found) != 0 {
		t.Errorf("temporary files left behind: %v", found)
	}
}

func TestListSkipsTempFiles(t *testing.T) {
	dir := t.TempDir()
	b := local.New(dir)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", ".tmp-0123abcd"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := b.List(t.Context(), "", func(info storage.ObjectInfo) error {
		t.Errorf("List reported %s", info.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Put(t.Context(), "data/.tmp-x", 1, strings.NewReader("x"))
	if !errors.Is(err, storage.ErrInvalidName) {
		t.Errorf("Put of a temporary-file name: %v, want ErrInvalidName", err)
	}
}

func TestRejectsBadNames(t *testing.T) {
	b := local.New(t.TempDir())
	ctx := t.Context()
	for _, name := range []string{"../escape", "data/../../escape", "/etc/passwd", `data\x`} {
		err := b.Put(ctx, name, 1, strings.NewReader("x"))
		if !errors.Is(err, storage.ErrInvalidName) || !strings.Contains(err.Error(), "invalid object name") {
			t.Errorf("Put(%q): %v, want an invalid name error", name, err)
		}
		if _, err := b.Get(ctx, name, 0, -1); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("Get(%q): %v, want ErrInvalidName", name, err)
		}
		if err := b.Delete(ctx, name); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("Delete(%q): %v, want ErrInvalidName", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(t.TempDir()), "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file escaped the root: %v", err)
	}
}

func TestParentIsFile(t *testing.T) {
	dir := t.TempDir()
	b := local.New(dir)
	ctx := t.Context()
	if err := b.Put(ctx, "data", 4, strings.NewReader("file")); err != nil {
		t.Fatal(err)
	}
	err := b.Put(ctx, "data/ab/obj", 3, strings.NewReader("abc"))
	if err == nil || !strings.Contains(err.Error(), "data/ab/obj") {
		t.Fatalf("Put below a regular file: %v, want an error naming data/ab/obj", err)
	}
	if _, err := b.Stat(ctx, "data/ab/obj"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat below a regular file: %v, want ErrNotFound", err)
	}
	if _, err := b.Get(ctx, "data/x", 0, -1); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get below a regular file: %v, want ErrNotFound", err)
	}
	if got := listNames(t, b, "data/"); len(got) != 0 {
		t.Errorf("List(data/) with data a file = %v", got)
	}
}

func TestGetPastEnd(t *testing.T) {
	b := local.New(t.TempDir())
	ctx := t.Context()
	if err := b.Put(ctx, "obj", 10, strings.NewReader("0123456789")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		offset, length int64
		want           string
	}{
		{8, 5, "89"}, // past the end: short read, no error
		{10, 5, ""},  // at the end: empty
		{50, -1, ""}, // beyond the end: empty
		{3, -1, "3456789"},
	} {
		rc, err := b.Get(ctx, "obj", tc.offset, tc.length)
		if err != nil {
			t.Fatalf("Get(%d, %d): %v", tc.offset, tc.length, err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil || string(got) != tc.want {
			t.Errorf("Get(%d, %d) = %q, %v; want %q", tc.offset, tc.length, got, err, tc.want)
		}
	}
}

func TestGetHonoursContext(t *testing.T) {
	b := local.New(t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	if err := b.Put(ctx, "obj", 3, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	rc, err := b.Get(ctx, "obj", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	cancel()
	if _, err := io.ReadAll(rc); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v, want context.Canceled", err)
	}
}

func TestDeleteKeepsDirectories(t *testing.T) {
	dir := t.TempDir()
	b := local.New(dir)
	if err := os.Mkdir(filepath.Join(dir, "emptydir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(t.Context(), "emptydir"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Delete of a directory: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "emptydir")); err != nil {
		t.Errorf("directory removed: %v", err)
	}
}

func TestSymlinkedRoot(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "repo")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	b := local.New(link)
	data := []byte("via link")
	if err := b.Put(t.Context(), "data/ab/x", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"", "data/", "data/ab/x"} {
		if got := listNames(t, b, prefix); len(got) != 1 || got[0] != "data/ab/x" {
			t.Errorf("List(%q) through a symlinked root = %v", prefix, got)
		}
	}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	b := local.New(dir)
	if err := b.Put(t.Context(), "data/ab/x", 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "data"), filepath.Join(dir, "data", "ab")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v, want no group/other access", p, perm)
		}
	}
}

func listNames(t *testing.T, b storage.Backend, prefix string) []string {
	t.Helper()
	var names []string
	err := b.List(t.Context(), prefix, func(info storage.ObjectInfo) error {
		names = append(names, info.Name)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return names
}
