package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

func TestCopyExact(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		src  io.Reader
		size int64
		want error // nil: success
	}{
		{"exact", strings.NewReader("hello"), 5, nil},
		{"empty", strings.NewReader(""), 0, nil},
		{"short", strings.NewReader("hell"), 5, storage.ErrShortInput},
		{"long", strings.NewReader("hello!"), 5, storage.ErrLongInput},
		{"long empty", strings.NewReader("x"), 0, storage.ErrLongInput},
		{"error midway", io.MultiReader(strings.NewReader("he"), errReader{boom}), 5, boom},
		{"error at end", io.MultiReader(strings.NewReader("hello"), errReader{boom}), 5, boom},
	} {
		var dst bytes.Buffer
		err := storage.CopyExact(context.Background(), &dst, tc.src, tc.size)
		if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
			t.Errorf("%s: CopyExact = %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == nil && int64(dst.Len()) != tc.size {
			t.Errorf("%s: copied %d bytes, want %d", tc.name, dst.Len(), tc.size)
		}
	}
}

func TestCopyExactCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := storage.CopyExact(ctx, io.Discard, strings.NewReader("x"), 1)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CopyExact with a cancelled context = %v", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
