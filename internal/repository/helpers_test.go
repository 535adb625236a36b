package repository

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// testBackend names a fresh backend for table-driven tests.
type testBackend struct {
	name string
	new  func(t *testing.T) storage.Backend
}

// backends returns one fresh in-memory and one fresh local backend factory.
func backends() []testBackend {
	return []testBackend{
		{"mem", func(t *testing.T) storage.Backend { return mem.New("t") }},
		{"local", func(t *testing.T) storage.Backend { return local.New(t.TempDir()) }},
	}
}

// smallPacks keeps packs small so that tests produce many of them.
var smallPacks = InitOptions{PackSize: 64 << 10, ChunkSize: 16 << 10}

// newTestRepo initialises a repository on be and closes it at the end.
func newTestRepo(t testing.TB, be storage.Backend, init InitOptions) *Repository {
	t.Helper()
	r, err := Init(t.Context(), be, init, Options{})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// reopen opens be again with a fresh index and tree cache.
func reopen(t *testing.T, be storage.Backend) *Repository {
	t.Helper()
	r, err := Open(t.Context(), be, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// randBlob returns n pseudo-random (incompressible) bytes from seed.
func randBlob(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// textBlob returns n bytes of very compressible text, varying with seed.
func textBlob(seed int, n int) []byte {
	line := strings.Repeat("measure,host=server-"+string(rune('a'+seed%26))+" value=42 ", 4)
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(line)
		b.WriteByte(byte('0' + seed%10))
	}
	return b.Bytes()[:n]
}

func getObject(t *testing.T, be storage.Backend, name string) []byte {
	t.Helper()
	data, err := storage.ReadAll(context.Background(), be, name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return data
}

func putObject(t *testing.T, be storage.Backend, name string, data []byte) {
	t.Helper()
	if err := be.Put(context.Background(), name, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
}

// flipByte replaces object name with a copy whose byte at off is inverted.
func flipByte(t *testing.T, be storage.Backend, name string, off int) {
	t.Helper()
	data := bytes.Clone(getObject(t, be, name))
	if off < 0 || off >= len(data) {
		t.Fatalf("flip %s at %d: object has %d bytes", name, off, len(data))
	}
	data[off] ^= 0xff
	putObject(t, be, name, data)
}

// objects lists the objects under prefix with their sizes.
func objects(t *testing.T, be storage.Backend, prefix string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := be.List(context.Background(), prefix, func(o storage.ObjectInfo) error {
		out[o.Name] = o.Size
		return nil
	})
	if err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	return out
}

// saveAll stores blobs as data blobs with one saver and flushes it.
func saveAll(t testing.TB, r *Repository, blobs ...[]byte) ([]ID, SaveStats) {
	t.Helper()
	ctx := t.Context()
	s := r.NewSaver(ctx)
	var sc Scratch
	ids := make([]ID, len(blobs))
	for i, b := range blobs {
		ids[i] = Hash(b)
		if _, err := s.Save(ctx, DataBlob, ids[i], b, &sc); err != nil {
			t.Fatalf("Save blob %d: %v", i, err)
		}
	}
	st, err := s.Flush(ctx)
	if err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return ids, st
}

// readIndexFiles decodes every index file of be.
func readIndexFiles(t *testing.T, r *Repository) map[string]indexFile {
	t.Helper()
	out := map[string]indexFile{}
	for name := range objects(t, r.Backend(), "index/") {
		f, err := r.codec.openIndex(getObject(t, r.Backend(), name))
		if err != nil {
			t.Fatalf("decode %s: %v", name, err)
		}
		out[name] = f
	}
	return out
}
