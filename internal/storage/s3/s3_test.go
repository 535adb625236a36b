package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/storage/s3"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

func setCredentials(t *testing.T, access, secret string) {
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
}

func TestConformance(t *testing.T) {
	srv := cloudtest.S3(t)
	setCredentials(t, srv.AccessKey, srv.SecretKey)
	bucket := srv.NewBucket(t)
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		// Every subtest gets a fresh prefix in the one bucket; small parts
		// so that the large objects go up in several.
		prefix := fmt.Sprintf("repo-%x/sub", rand.Uint64())
		be, err := s3.Open(t.Context(), bucket, prefix, s3.Options{Endpoint: srv.Endpoint, SinglePutMax: 6 << 20, PartSize: 5 << 20, Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

func TestOpenErrors(t *testing.T) {
	srv := cloudtest.S3(t)
	setCredentials(t, srv.AccessKey, srv.SecretKey)
	bucket := srv.NewBucket(t)

	_, err := s3.Open(t.Context(), "no-such-bucket-here", "", s3.Options{Endpoint: srv.Endpoint})
	if !errors.Is(err, storage.ErrBucketNotFound) || !strings.Contains(err.Error(), "s3://no-such-bucket-here") {
		t.Errorf("Open of a missing bucket: %v, want ErrBucketNotFound naming the bucket", err)
	}

	setCredentials(t, srv.AccessKey, "wrong-secret-1234")
	_, err = s3.Open(t.Context(), bucket, "p", s3.Options{Endpoint: srv.Endpoint})
	if !errors.Is(err, storage.ErrPermission) || strings.Contains(err.Error(), "wrong-secret-1234") {
		t.Errorf("Open with a wrong secret: %v, want ErrPermission without the secret", err)
	}
	if err != nil && strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
}

// TestStreamPut stores from readers that cannot seek, which take the
// generic, buffered upload path rather than the direct one.
func TestStreamPut(t *testing.T) {
	srv := cloudtest.S3(t)
	setCredentials(t, srv.AccessKey, srv.SecretKey)
	be, err := s3.Open(t.Context(), srv.NewBucket(t), "stream", s3.Options{Endpoint: srv.Endpoint, PartSize: 5 << 20, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	data := bytes.Repeat([]byte("0123456789abcdef"), 12<<20/16+5)
	if err := be.Put(t.Context(), "data/big", int64(len(data)), io.MultiReader(bytes.NewReader(data))); err != nil {
		t.Fatalf("Put from a stream: %v", err)
	}
	got, err := storage.ReadAll(t.Context(), be, "data/big")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Get after a streamed Put: %d bytes, %v; want %d bytes", len(got), err, len(data))
	}
	if err := be.Create(t.Context(), "data/big", 3, io.MultiReader(strings.NewReader("new"))); !errors.Is(err, storage.ErrExists) {
		t.Errorf("streamed Create on an existing name: %v, want ErrExists", err)
	}
	if err := be.Put(t.Context(), "data/short", int64(len(data)+1), io.MultiReader(bytes.NewReader(data))); err == nil {
		t.Errorf("streamed Put of a short input: no error")
	}
	if _, err := be.Stat(t.Context(), "data/short"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after a failed streamed Put: Stat = %v, want ErrNotFound", err)
	}
}

// TestStorageClass checks that every upload asks for the storage class,
// through a recording proxy in front of the real server (versitygw's posix
// backend reports STANDARD whatever it is asked).
func TestStorageClass(t *testing.T) {
	srv := cloudtest.S3(t)
	setCredentials(t, srv.AccessKey, srv.SecretKey)
	bucket := srv.NewBucket(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	classes := map[string]string{} // method and path: x-amz-storage-class
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut || r.Method == http.MethodPost {
			mu.Lock()
			classes[r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery] = r.Header.Get("X-Amz-Storage-Class")
			mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	be, err := s3.Open(t.Context(), bucket, "", s3.Options{Endpoint: front.URL, StorageClass: "standard_ia", SinglePutMax: 5 << 20, PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if err := be.Put(t.Context(), "data/small", 5, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{7}, 11<<20)
	if err := be.Put(t.Context(), "data/big", int64(len(big)), bytes.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	if err := be.Put(t.Context(), "data/stream", 5, io.MultiReader(strings.NewReader("hello"))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PUT /" + bucket + "/data/small?", "POST /" + bucket + "/data/big?uploads=", "PUT /" + bucket + "/data/stream?"} {
		found := false
		for req, got := range classes {
			if strings.HasPrefix(req, want) {
				found = true
				if got != "STANDARD_IA" {
					t.Errorf("%s: storage class %q, want STANDARD_IA", req, got)
				}
			}
		}
		if !found {
			t.Errorf("no request %s… among %v", want, classes)
		}
	}
}
