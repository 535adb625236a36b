package restore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/osfile"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// alignedBytes returns n bytes of a pattern starting at a DirectAlign
// boundary in memory.
func alignedBytes(t *testing.T, n int) []byte {
	t.Helper()
	buf := make([]byte, n+osfile.DirectAlign)
	off := osfile.AlignedAt(buf, 0)
	b := buf[off : off+n]
	for j := range b {
		b[j] = byte(j*7 + j>>12)
	}
	return b
}

// takesDirect reports whether dir's filesystem opens files for direct
// writes.
func takesDirect(t *testing.T, dir string) bool {
	t.Helper()
	if osfile.Direct == 0 {
		return false
	}
	fh, err := osfile.OpenFile(filepath.Join(dir, "probe"), os.O_CREATE|os.O_WRONLY|osfile.Direct, 0o600)
	if errors.Is(err, syscall.EINVAL) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	fh.Close()
	return true
}

func newFileState(path string, size int64, blobs int) *fileState {
	n := &repository.Node{Name: filepath.Base(path), Type: "file", Mode: 0o640, Size: size, Blobs: make([]repository.ID, blobs)}
	return &fileState{path: path, node: n, whole: blobs == 1}
}

// A large file of one blob is written directly up to its last whole page,
// the rest through the page cache; where the filesystem refuses direct
// writes, all of it through the cache.
func TestLargeBlobsAreWrittenDirectly(t *testing.T) {
	dir := t.TempDir()
	direct := takesDirect(t, dir)
	data := alignedBytes(t, directMin+osfile.DirectAlign*3+123)
	w := &blobWriter{flush: startFlusher(nil)}
	defer w.flush.stop()
	f := newFileState(filepath.Join(dir, "fv.bin"), int64(len(data)), 1)
	if err := w.write(blobTarget{file: f}, data); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("the file holds %d bytes, not the %d written", len(got), len(data))
	}
	st, err := os.Stat(f.path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	want := int64(0)
	if direct {
		want = int64(len(data) &^ (osfile.DirectAlign - 1))
	}
	if got := w.direct.Load(); got != want {
		t.Errorf("%d bytes written directly, want %d (filesystem takes direct writes: %v)", got, want, direct)
	}
	if w.noDirect.Load() == direct {
		t.Errorf("direct writes turned off: %v, with a filesystem that takes them: %v", w.noDirect.Load(), direct)
	}
}

// The blobs of a file of several go directly each at its own offset, when
// both the offset and the memory are aligned; a small or unaligned one
// goes through the page cache.
func TestBlobsOfAFileAreWrittenDirectlyWhereAligned(t *testing.T) {
	dir := t.TempDir()
	direct := takesDirect(t, dir)
	chunk := directMin * 2
	first, second := alignedBytes(t, chunk), alignedBytes(t, chunk+1)
	second = second[1:] // unaligned in memory
	tail := []byte("tail")
	size := int64(2*chunk + len(tail))
	w := &blobWriter{flush: startFlusher(nil)}
	defer w.flush.stop()
	f := newFileState(filepath.Join(dir, "primary.bin"), size, 3)
	if err := createEmpty(f.path); err != nil {
		t.Fatal(err)
	}
	// Out of order, as packs may come.
	for _, b := range []struct {
		off  int64
		data []byte
	}{{int64(2 * chunk), tail}, {int64(chunk), second}, {0, first}} {
		if err := w.write(blobTarget{file: f, offset: b.off}, b.data); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append([]byte{}, first...), second...), tail...)
	if !bytes.Equal(got, want) {
		t.Fatalf("the file holds %d bytes, not the %d written", len(got), len(want))
	}
	wantDirect := int64(0)
	if direct {
		wantDirect = int64(chunk)
	}
	if got := w.direct.Load(); got != wantDirect {
		t.Errorf("%d bytes written directly, want %d (filesystem takes direct writes: %v)", got, wantDirect, direct)
	}
}

// A direct open or write the filesystem refuses is made through the page
// cache instead, and turns direct writes off.
func TestRefusedDirectWritesGoThroughTheCache(t *testing.T) {
	dir := t.TempDir()
	takes := takesDirect(t, dir)
	path := filepath.Join(dir, "f")
	w := &blobWriter{flush: startFlusher(nil)}
	defer w.flush.stop()
	fh, direct, err := w.open(path, os.O_CREATE|os.O_WRONLY, 0o600, true)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if direct != takes || w.noDirect.Load() == takes {
		t.Fatalf("open for direct writes: %v, turned off: %v, with a filesystem that takes them: %v", direct, w.noDirect.Load(), takes)
	}
	data := alignedBytes(t, directMin+1)[1:] // unaligned memory
	if err := w.writeData(fh, data, 0, direct); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("the file holds %d bytes, not the %d written", len(got), len(data))
	}
	if direct && w.direct.Load() == 0 && !w.noDirect.Load() {
		t.Errorf("the unaligned write neither went directly nor turned direct writes off")
	}
}

// Small writes add up until the flusher syncs the staging filesystem.
func TestSmallWritesAreFlushedWhileTheRestoreGoesOn(t *testing.T) {
	if !earlySyncs {
		t.Skip("no early syncs where a sync is an fsync of every file")
	}
	dir := t.TempDir()
	fl := startFlusher([]string{dir})
	w := &blobWriter{flush: fl}
	small := make([]byte, 64<<10)
	for i := 0; i < flushEvery/len(small)+1; i++ {
		f := newFileState(filepath.Join(dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26))), int64(len(small)), 1)
		if err := w.write(blobTarget{file: f}, small); err != nil {
			t.Fatal(err)
		}
	}
	fl.stop()
	if fl.syncs.Load() == 0 {
		t.Errorf("%d bytes of small files written, and no early sync", flushEvery+len(small))
	}
	if w.direct.Load() != 0 {
		t.Errorf("%d bytes of small files written directly", w.direct.Load())
	}
}
