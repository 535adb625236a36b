package s3_test

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/storage/s3"
)

// BenchmarkPutPack stores 32 MiB packs from a file, as backups do, and
// reads them back whole, as restores do.
var partSize = 0

func BenchmarkPutPack(b *testing.B) {
	srv := cloudtest.S3(b)
	b.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	b.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	b.Setenv("AWS_REGION", "us-east-1")
	bucket := srv.NewBucket(b)
	be, err := s3.Open(b.Context(), bucket, "bench", s3.Options{Endpoint: srv.Endpoint, PartSize: partSize})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	const size = 32 << 20
	path := filepath.Join(b.TempDir(), "pack")
	data := make([]byte, size)
	_, _ = rand.Read(data)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.Run("put", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := f.Seek(0, 0); err != nil {
				b.Fatal(err)
			}
			if err := be.Put(b.Context(), "data/pack", size, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			rc, err := be.Get(b.Context(), "data/pack", 0, -1)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
	})
}
