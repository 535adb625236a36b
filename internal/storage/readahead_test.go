package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// putRandom stores n pseudo-random bytes under name and returns them.
func putRandom(t *testing.T, be storage.Backend, name string, n int) []byte {
	t.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if err := be.Put(context.Background(), name, int64(n), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestReadAheadReadsObjectsInOrder: objects read through one ReadAhead, one
// after the other, in ranges smaller and larger than the reader's own
// reads, come out whole and in order, each with one Get per range.
func TestReadAheadReadsObjectsInOrder(t *testing.T) {
	be := faults.New(mem.New("ra"))
	ra := storage.NewReadAhead(1000, 3)
	for _, n := range []int{0, 1, 999, 1000, 1001, 25_431} {
		name := "data/obj"
		want := putRandom(t, be, name, n)
		before := be.Calls(faults.OpGet, name)
		rc := ra.Open(context.Background(), be, name, int64(n))
		got, err := io.ReadAll(io.LimitReader(rc, int64(n)+10))
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: read %d bytes (%v), equal %v", n, len(got), err, bytes.Equal(got, want))
		}
		if gets, ranges := be.Calls(faults.OpGet, name)-before, (n+999)/1000; gets != ranges {
			t.Errorf("%d bytes: %d Gets, want one per range (%d)", n, gets, ranges)
		}
	}
}

// TestReadAheadAsksAgainForACutRange: a range whose download is cut off
// midway, or whose Get fails, is asked for again; a range failing every
// time fails the reader; an object shorter than said ends it with
// io.ErrUnexpectedEOF, and one longer than said gives one byte more.
func TestReadAheadAsksAgainForACutRange(t *testing.T) {
	ctx := context.Background()
	base := mem.New("ra")
	want := putRandom(t, base, "data/obj", 10_000)
	boom := errors.New("connection reset")
	readAll := func(be storage.Backend, size int64) ([]byte, error) {
		rc := storage.NewReadAhead(4096, 2).Open(ctx, be, "data/obj", size)
		defer rc.Close()
		return io.ReadAll(rc)
	}

	for _, short := range []bool{true, false} {
		be := faults.New(base, faults.Rule{Op: faults.OpGet, After: 1, Times: 2, Err: boom, Short: short})
		if got, err := readAll(be, 10_000); err != nil || !bytes.Equal(got, want) {
			t.Errorf("cut %v: read %d bytes, %v; want the object", short, len(got), err)
		}
	}
	be := faults.New(base, faults.Rule{Op: faults.OpGet, After: 1, Err: boom, Short: true})
	if _, err := readAll(be, 10_000); !errors.Is(err, boom) {
		t.Errorf("a range cut every time: %v, want the cut's error", err)
	}
	if _, err := readAll(base, 12_000); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("an object shorter than said: %v, want io.ErrUnexpectedEOF", err)
	}
	for _, size := range []int64{8192, 9000} { // ending at a range's end, and within one
		if got, err := readAll(base, size); err != nil || !bytes.Equal(got, want[:size+1]) {
			t.Errorf("an object longer than said (%d): read %d bytes, %v; want %d, one more than said", size, len(got), err, size+1)
		}
	}
}

// TestReadAheadCloseMidway: closing a reader before its end stops its
// reads, and the ReadAhead serves the next object with all its buffers.
func TestReadAheadCloseMidway(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	be := mem.New("ra")
	want := putRandom(t, be, "data/obj", 50_000)
	ra := storage.NewReadAhead(1000, 4)
	rc := ra.Open(ctx, be, "data/obj", 50_000)
	if _, err := io.ReadFull(rc, make([]byte, 2500)); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := rc.Read(make([]byte, 1)); err == nil {
		t.Error("a closed reader still reads")
	}
	rc = ra.Open(ctx, be, "data/obj", 50_000)
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("after a reader closed midway: %d bytes, %v", len(got), err)
	}
	rc = ra.Open(ctx, be, "data/obj", 50_000)
	cancel()
	if _, err := io.ReadAll(rc); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled read: %v, want context.Canceled", err)
	}
	rc.Close()
}
