package gcs_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/storage/gcs"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	endpoint := cloudtest.GCS(t)
	bucket := cloudtest.NewGCSBucket(t, endpoint)
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		prefix := fmt.Sprintf("repo-%x/sub", rand.Uint64())
		be, err := gcs.Open(t.Context(), bucket, prefix, gcs.Options{Endpoint: endpoint, PartSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

func TestOpenMissingBucket(t *testing.T) {
	endpoint := cloudtest.GCS(t)
	_, err := gcs.Open(t.Context(), "no-such-bucket-here", "", gcs.Options{Endpoint: endpoint})
	if !errors.Is(err, storage.ErrBucketNotFound) {
		t.Errorf("Open of a missing bucket: %v, want ErrBucketNotFound", err)
	}
}

// changingReader is an input that can seek but reads differently the second
// time: a file changed between the checksum and the upload.
type changingReader struct {
	data   []byte
	pos    int64
	passes int
}

func (c *changingReader) Read(p []byte) (int, error) {
	if c.pos >= int64(len(c.data)) {
		return 0, io.EOF
	}
	n := copy(p, c.data[c.pos:])
	if c.passes > 0 && c.pos == 0 {
		p[0] ^= 0xff
	}
	c.pos += int64(n)
	return n, nil
}

func (c *changingReader) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekStart {
		c.pos = off
		c.passes++
	}
	return c.pos, nil
}

func TestChecksum(t *testing.T) {
	endpoint := cloudtest.GCS(t)
	bucket := cloudtest.NewGCSBucket(t, endpoint)
	be, err := gcs.Open(t.Context(), bucket, "repo", gcs.Options{Endpoint: endpoint, PartSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	// One request (smaller than a chunk) and a resumable upload of 3 chunks.
	for _, size := range []int{1000, 3<<20 + 5} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rand.Uint32())
		}
		name := fmt.Sprintf("data/ok-%d", size)
		if err := be.Put(t.Context(), name, int64(size), bytes.NewReader(data)); err != nil {
			t.Fatalf("Put(%s): %v", name, err)
		}
		want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil,
			crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))))
		if got := storedCRC32C(t, endpoint, bucket, "repo/"+name); got != want {
			t.Errorf("%s: stored crc32c %q, want %q", name, got, want)
		}
		if size > 1<<20 {
			// fake-gcs-server checks the crc32c of single-request uploads
			// only; Cloud Storage checks a resumable one's when it ends.
			continue
		}
		bad := fmt.Sprintf("data/changed-%d", size)
		err := be.Put(t.Context(), bad, int64(size), &changingReader{data: data})
		if err == nil {
			t.Errorf("Put(%s) of input that changed after its checksum: no error", bad)
		}
		if _, err := be.Stat(t.Context(), bad); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Stat(%s) after a refused upload: %v, want ErrNotFound", bad, err)
		}
	}
}

// storedCRC32C reads an object's crc32c from the JSON API.
func storedCRC32C(t *testing.T, endpoint, bucket, name string) string {
	t.Helper()
	resp, err := http.Get(endpoint + "/storage/v1/b/" + bucket + "/o/" + url.PathEscape(name))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var obj struct {
		Crc32c string `json:"crc32c"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil || resp.StatusCode != 200 {
		t.Fatalf("cannot read the metadata of %s: HTTP %d, %v", name, resp.StatusCode, err)
	}
	return obj.Crc32c
}

func TestOpenErrorsNameTheURL(t *testing.T) {
	endpoint := cloudtest.GCS(t)
	_, err := gcs.Open(t.Context(), "no-such-bucket-here", "repo", gcs.Options{Endpoint: endpoint})
	if err == nil || !strings.Contains(err.Error(), "gs://no-such-bucket-here/repo") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Open of a missing bucket: %q, want one line naming gs://no-such-bucket-here/repo", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.json")
	_, err = gcs.Open(t.Context(), "b", "", gcs.Options{Endpoint: endpoint, CredentialsFile: missing})
	if err == nil || !strings.Contains(err.Error(), "gs://b") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Open with a missing credentials file: %q, want one line naming gs://b", err)
	}
}
