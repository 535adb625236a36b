package s3

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/blobstore"
)

// Upload sizes: an object up to DefaultSinglePutMax goes up in one PUT (a
// pack, 32 MiB by default); a larger one in parts of DefaultPartSize,
// DefaultConcurrency at a time. Every request carries a CRC32C of its
// bytes, which the server checks.
const (
	DefaultSinglePutMax = 64 << 20
	DefaultPartSize     = 16 << 20
	DefaultConcurrency  = 4
)

// Backend is the S3 backend: gocloud.dev/blob for reading, listing and
// deleting, and its own uploads of seekable inputs (files and byte
// readers), which the SDK sends straight from their source: no part
// buffers in memory, whatever the object's size.
type Backend struct {
	*blobstore.Backend
	client       *awss3.Client
	bucket       string
	prefix       string // "" or ending in "/"
	storageClass types.StorageClass
	singleMax    int64
	partSize     int64
	concurrency  int
}

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.write(ctx, "write", name, size, r, false)
}

// StageFile implements storage.Backend: a file in the system's temporary
// directory.
func (b *Backend) StageFile() (*os.File, error) { return storage.StageTemp() }

// PutStaged implements storage.Backend: this backend's Put from the file
// (sent straight from it), then remove it. It is written out, not taken
// from the embedded blobstore.Backend, whose PutStaged would call its own
// Put.
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	return storage.PutFile(ctx, b, name, f)
}

// Create implements storage.Backend with If-None-Match: * (on the PUT, or on
// the completion of a multipart upload).
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.write(ctx, "create", name, size, r, true)
}

// section is r from its current offset, as an io.ReaderAt, if r is
// seekable and holds exactly size more bytes.
func section(r io.Reader, size int64) (io.ReaderAt, int64, bool, error) {
	ra, ok1 := r.(io.ReaderAt)
	s, ok2 := r.(io.Seeker)
	if !ok1 || !ok2 {
		return nil, 0, false, nil
	}
	start, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, false, nil
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, false, err
	}
	if _, err := s.Seek(start, io.SeekStart); err != nil {
		return nil, 0, false, err
	}
	if end-start != size {
		return nil, 0, false, fmt.Errorf("the input holds %d bytes, not the object's size %d", end-start, size)
	}
	return ra, start, true, nil
}

func (b *Backend) write(ctx context.Context, verb, name string, size int64, r io.Reader, ifNotExist bool) error {
	if err := storage.CheckName(name); err != nil {
		return fmt.Errorf("cannot %s %q: %w", verb, name, err)
	}
	ra, start, ok, err := section(r, size)
	if err != nil {
		return fmt.Errorf("cannot %s %s in %s: %w", verb, name, b.Location(), err)
	}
	if !ok || size < 0 {
		// A stream: the generic path, which buffers parts.
		if ifNotExist {
			return b.Backend.Create(ctx, name, size, r)
		}
		return b.Backend.Put(ctx, name, size, r)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot %s %s: %w", verb, name, err)
	}
	key := b.prefix + name
	if size <= b.singleMax {
		err = b.putSingle(ctx, key, io.NewSectionReader(ra, start, size), ifNotExist)
	} else {
		err = b.putMultipart(ctx, key, ra, start, size, ifNotExist)
	}
	if err != nil {
		return b.Fail(ctx, verb, name, err)
	}
	if s, ok := r.(io.Seeker); ok {
		_, _ = s.Seek(start+size, io.SeekStart) // consumed, as a reader would be
	}
	return nil
}

func (b *Backend) putSingle(ctx context.Context, key string, body io.ReadSeeker, ifNotExist bool) error {
	in := &awss3.PutObjectInput{
		Bucket:            aws.String(b.bucket),
		Key:               aws.String(key),
		Body:              body,
		ContentType:       aws.String("application/octet-stream"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		StorageClass:      b.storageClass,
	}
	if ifNotExist {
		in.IfNoneMatch = aws.String("*")
	}
	_, err := b.client.PutObject(ctx, in)
	return err
}

func (b *Backend) putMultipart(ctx context.Context, key string, ra io.ReaderAt, start, size int64, ifNotExist bool) error {
	created, err := b.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket:            aws.String(b.bucket),
		Key:               aws.String(key),
		ContentType:       aws.String("application/octet-stream"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		StorageClass:      b.storageClass,
	})
	if err != nil {
		return err
	}
	uploadID := created.UploadId
	abort := func() {
		// Not the caller's context, which may be why we abort.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = b.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{
			Bucket: aws.String(b.bucket), Key: aws.String(key), UploadId: uploadID,
		})
	}
	nparts := int((size + b.partSize - 1) / b.partSize)
	parts := make([]types.CompletedPart, nparts)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for range min(b.concurrency, nparts) {
		wg.Go(func() {
			for i := range next {
				off := int64(i) * b.partSize
				n := min(b.partSize, size-off)
				out, err := b.client.UploadPart(pctx, &awss3.UploadPartInput{
					Bucket:            aws.String(b.bucket),
					Key:               aws.String(key),
					UploadId:          uploadID,
					PartNumber:        aws.Int32(int32(i + 1)),
					Body:              io.NewSectionReader(ra, start+off, n),
					ContentLength:     aws.Int64(n),
					ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
				})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				parts[i] = types.CompletedPart{ETag: out.ETag, ChecksumCRC32C: out.ChecksumCRC32C, PartNumber: aws.Int32(int32(i + 1))}
			}
		})
	}
	for i := range nparts {
		if pctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		abort()
		return firstErr
	}
	in := &awss3.CompleteMultipartUploadInput{
		Bucket:          aws.String(b.bucket),
		Key:             aws.String(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if ifNotExist {
		in.IfNoneMatch = aws.String("*")
	}
	if _, err := b.client.CompleteMultipartUpload(ctx, in); err != nil {
		abort()
		return err
	}
	return nil
}
