// Package storagetest is the conformance suite for storage.Backend
// implementations: every backend's tests call Run with a constructor for
// fresh, empty backends.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Options adds checks to the suite.
type Options struct {
	// Renames checks that staging is a local backend's own, for the local
	// backend and wrappers of it: StageFile makes its file in the
	// repository directory, and PutStaged renames it into place (the
	// stored object is the staged file itself, not a copy), leaving
	// nothing else behind.
	Renames bool
}

// Run runs the conformance suite as subtests of t. newBackend returns a new,
// empty backend for each subtest; Run closes it when the subtest ends.
func Run(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	RunWith(t, newBackend, Options{})
}

// RunWith is Run with the checks o adds.
func RunWith(t *testing.T, newBackend func(t *testing.T) storage.Backend, o Options) {
	type check struct {
		name string
		fn   func(t *testing.T, b storage.Backend)
	}
	tests := []check{
		{"PutGet", testPutGet},
		{"PutOverwrite", testPutOverwrite},
		{"GetRange", testGetRange},
		{"Stat", testStat},
		{"List", testList},
		{"ListEmpty", testListEmpty},
		{"ListStopsOnError", testListStopsOnError},
		{"DeleteAndNotFound", testDeleteAndNotFound},
		{"Create", testCreate},
		{"ConcurrentCreate", testConcurrentCreate},
		{"ConcurrentPut", testConcurrentPut},
		{"ZeroLength", testZeroLength},
		{"Large", testLarge},
		{"Multipart", testMultipart},
		{"WrongSize", testWrongSize},
		{"FailedPutKeepsOld", testFailedPutKeepsOld},
		{"CancelledContext", testCancelledContext},
		{"CancelledMidway", testCancelledMidway},
		{"InvalidNames", testInvalidNames},
		{"Staged", testStaged},
		{"StagedOverwrite", testStagedOverwrite},
		{"StagedFailures", testStagedFailures},
	}
	if o.Renames {
		tests = append(tests, check{"StagedRename", testStagedRename})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, b)
		})
	}
}

func testPutGet(t *testing.T, b storage.Backend) {
	data := []byte("hello, banyan")
	put(t, b, "data/ab/abcdef", data)
	if got := get(t, b, "data/ab/abcdef"); !bytes.Equal(got, data) {
		t.Fatalf("Get = %q, want %q", got, data)
	}
	put(t, b, "config", []byte("top level"))
	if got := get(t, b, "config"); string(got) != "top level" {
		t.Fatalf("Get(config) = %q", got)
	}
}

func testPutOverwrite(t *testing.T, b storage.Backend) {
	put(t, b, "index/one", []byte("a longer first version"))
	put(t, b, "index/one", []byte("second"))
	if got := get(t, b, "index/one"); string(got) != "second" {
		t.Fatalf("Get after overwrite = %q, want %q", got, "second")
	}
	wantSize(t, b, "index/one", 6)
}

func testGetRange(t *testing.T, b storage.Backend) {
	data := randomBytes(1, 100)
	put(t, b, "data/range", data)
	for _, tc := range []struct {
		offset, length int64
		want           []byte
	}{
		{0, -1, data},
		{0, 100, data},
		{0, 10, data[:10]},
		{10, 5, data[10:15]},
		{90, -1, data[90:]},
		{99, 1, data[99:]},
		{0, 0, nil},
		{100, -1, nil},      // offset at the end
		{100, 0, nil},       // offset at the end, empty range
		{95, 10, data[95:]}, // range past the end: short
		{200, -1, nil},      // offset past the end: empty
	} {
		rc, err := b.Get(t.Context(), "data/range", tc.offset, tc.length)
		if err != nil {
			t.Fatalf("Get(%d, %d): %v", tc.offset, tc.length, err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("Get(%d, %d): read: %v", tc.offset, tc.length, err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("Get(%d, %d) = %d bytes, want %d", tc.offset, tc.length, len(got), len(tc.want))
		}
	}
	if rc, err := b.Get(t.Context(), "data/range", -1, 10); err == nil {
		_ = rc.Close()
		t.Errorf("Get with negative offset: no error")
	}
}

func testStat(t *testing.T, b storage.Backend) {
	put(t, b, "a", []byte("1"))
	put(t, b, "data/b", randomBytes(2, 1000))
	put(t, b, "data/c/d", randomBytes(3, 12345))
	wantSize(t, b, "a", 1)
	wantSize(t, b, "data/b", 1000)
	wantSize(t, b, "data/c/d", 12345)
	info, err := b.Stat(t.Context(), "data/c/d")
	if err != nil || info.Name != "data/c/d" {
		t.Errorf("Stat(data/c/d) = %+v, %v; want name data/c/d", info, err)
	}
}

func testList(t *testing.T, b storage.Backend) {
	all := map[string]int64{
		"config":      6,
		"data/aa":     1,
		"data/ab/cd":  2,
		"data/ab/ce":  3,
		"datafile":    4,
		"locks/ab12":  5,
		"locks/ab34":  6,
		"locks/cd56":  7,
		"index/x/y/z": 8,
	}
	for name, size := range all {
		put(t, b, name, randomBytes(uint64(size), int(size)))
	}
	pick := func(names ...string) map[string]int64 {
		m := make(map[string]int64)
		for _, n := range names {
			m[n] = all[n]
		}
		return m
	}
	for _, tc := range []struct {
		prefix string
		want   map[string]int64
	}{
		{"", all},
		{"data/", pick("data/aa", "data/ab/cd", "data/ab/ce")},
		{"data", pick("data/aa", "data/ab/cd", "data/ab/ce", "datafile")},
		{"data/a", pick("data/aa", "data/ab/cd", "data/ab/ce")},
		{"data/ab/", pick("data/ab/cd", "data/ab/ce")},
		{"data/ab/c", pick("data/ab/cd", "data/ab/ce")},
		{"locks/ab", pick("locks/ab12", "locks/ab34")},
		{"locks/ab12", pick("locks/ab12")},
		{"locks/abc", pick()},
		{"index/", pick("index/x/y/z")},
		{"nothing/", pick()},
		{"nothing/deeper/", pick()},
		{"config/", pick()},
	} {
		if got := list(t, b, tc.prefix); !maps.Equal(got, tc.want) {
			t.Errorf("List(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
}

func testListEmpty(t *testing.T, b storage.Backend) {
	for _, prefix := range []string{"", "data/", "locks/ab"} {
		if got := list(t, b, prefix); len(got) != 0 {
			t.Errorf("List(%q) on an empty backend = %v", prefix, got)
		}
	}
}

func testListStopsOnError(t *testing.T, b storage.Backend) {
	for i := range 5 {
		put(t, b, fmt.Sprintf("keys/%d", i), []byte("k"))
	}
	stop := errors.New("stop here")
	calls := 0
	err := b.List(t.Context(), "keys/", func(storage.ObjectInfo) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("List with failing fn: err %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func testDeleteAndNotFound(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	wantNotFound(t, b, "data/missing")
	put(t, b, "data/x", []byte("x"))
	put(t, b, "data/y", []byte("y"))
	if err := b.Delete(ctx, "data/x"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, b, "data/x")
	if got := list(t, b, "data/"); !maps.Equal(got, map[string]int64{"data/y": 1}) {
		t.Errorf("List after Delete = %v", got)
	}
	// A "directory" holding objects is not an object.
	put(t, b, "dir/sub/obj", []byte("o"))
	wantNotFound(t, b, "dir/sub")
	wantSize(t, b, "dir/sub/obj", 1)
}

func testCreate(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	if err := b.Create(ctx, "locks/l1", 3, strings.NewReader("old")); err != nil {
		t.Fatalf("Create on a new name: %v", err)
	}
	err := b.Create(ctx, "locks/l1", 5, strings.NewReader("newer"))
	if !errors.Is(err, storage.ErrExists) {
		t.Fatalf("Create on an existing name: %v, want ErrExists", err)
	}
	if got := get(t, b, "locks/l1"); string(got) != "old" {
		t.Fatalf("content after failed Create = %q, want %q", got, "old")
	}
	if got := list(t, b, "locks/"); !maps.Equal(got, map[string]int64{"locks/l1": 3}) {
		t.Errorf("List after failed Create = %v", got)
	}
}

func testConcurrentCreate(t *testing.T, b storage.Backend) {
	const n = 8
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			data := bytes.Repeat([]byte{byte('a' + i)}, 1000*(i+1))
			errs[i] = b.Create(context.Background(), "locks/race", int64(len(data)), bytes.NewReader(data))
		})
	}
	start.Done()
	done.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("Create succeeded twice: writers %d and %d", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, storage.ErrExists):
			t.Errorf("writer %d: %v, want ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no concurrent Create succeeded")
	}
	want := bytes.Repeat([]byte{byte('a' + winner)}, 1000*(winner+1))
	if got := get(t, b, "locks/race"); !bytes.Equal(got, want) {
		t.Fatalf("stored content is not the winner's (%d): %d bytes", winner, len(got))
	}
}

func testConcurrentPut(t *testing.T, b storage.Backend) {
	const n = 8
	var wg sync.WaitGroup
	want := make(map[string]int64)
	for i := range n {
		name := fmt.Sprintf("data/%02x/obj%d", i%3, i)
		data := randomBytes(uint64(i), 4096+i)
		want[name] = int64(len(data))
		wg.Go(func() {
			if err := b.Put(context.Background(), name, int64(len(data)), bytes.NewReader(data)); err != nil {
				t.Errorf("Put(%s): %v", name, err)
			}
		})
	}
	wg.Wait()
	if got := list(t, b, "data/"); !maps.Equal(got, want) {
		t.Fatalf("List after concurrent Puts = %v, want %v", got, want)
	}
	for i := range n {
		name := fmt.Sprintf("data/%02x/obj%d", i%3, i)
		if got := get(t, b, name); !bytes.Equal(got, randomBytes(uint64(i), 4096+i)) {
			t.Errorf("Get(%s): wrong content", name)
		}
	}
}

func testZeroLength(t *testing.T, b storage.Backend) {
	put(t, b, "empty", nil)
	if got := get(t, b, "empty"); len(got) != 0 {
		t.Fatalf("Get(empty) = %d bytes", len(got))
	}
	wantSize(t, b, "empty", 0)
	if got := list(t, b, "empty"); !maps.Equal(got, map[string]int64{"empty": 0}) {
		t.Errorf("List(empty) = %v", got)
	}
	if err := b.Create(t.Context(), "locks/empty", 0, strings.NewReader("")); err != nil {
		t.Fatalf("Create of an empty object: %v", err)
	}
	wantSize(t, b, "locks/empty", 0)
}

func testLarge(t *testing.T, b storage.Backend) {
	data := randomBytes(42, 5<<20)
	put(t, b, "data/large", data)
	if got := get(t, b, "data/large"); !bytes.Equal(got, data) {
		t.Fatalf("Get(data/large): wrong content (%d bytes)", len(got))
	}
	wantSize(t, b, "data/large", 5<<20)
	const off, n = 3<<20 + 7, 1 << 20
	rc, err := b.Get(t.Context(), "data/large", off, n)
	if err != nil {
		t.Fatalf("Get range: %v", err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data[off:off+n]) {
		t.Fatalf("Get range: %d bytes, %v", len(got), err)
	}
}

// testMultipart stores an object larger than the parts object stores upload
// in (5 to 8 MiB) and reads ranges across part boundaries.
func testMultipart(t *testing.T, b storage.Backend) {
	const size = 17<<20 + 3
	data := randomBytes(43, size)
	put(t, b, "data/multipart", data)
	wantSize(t, b, "data/multipart", size)
	for _, r := range [][2]int64{{0, -1}, {5<<20 - 10, 20}, {8<<20 - 1, 2 << 20}, {16<<20 + 5, -1}} {
		rc, err := b.Get(t.Context(), "data/multipart", r[0], r[1])
		if err != nil {
			t.Fatalf("Get(%d, %d): %v", r[0], r[1], err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		end := int64(size)
		if r[1] >= 0 {
			end = r[0] + r[1]
		}
		if err != nil || !bytes.Equal(got, data[r[0]:end]) {
			t.Fatalf("Get(%d, %d): %d bytes, %v; want %d bytes of the object", r[0], r[1], len(got), err, end-r[0])
		}
	}
}

func testWrongSize(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	if err := b.Put(ctx, "data/short", 10, strings.NewReader("12345")); err == nil {
		t.Errorf("Put with short input: no error")
	}
	wantNotFound(t, b, "data/short")
	if err := b.Put(ctx, "data/long", 10, strings.NewReader("12345678901")); err == nil {
		t.Errorf("Put with long input: no error")
	}
	wantNotFound(t, b, "data/long")
	if err := b.Create(ctx, "data/cshort", 10, strings.NewReader("12345")); err == nil {
		t.Errorf("Create with short input: no error")
	}
	wantNotFound(t, b, "data/cshort")
	if got := list(t, b, ""); len(got) != 0 {
		t.Errorf("List after failed writes = %v", got)
	}
}

func testFailedPutKeepsOld(t *testing.T, b storage.Backend) {
	put(t, b, "index/keep", []byte("old content"))
	failing := io.MultiReader(strings.NewReader("new"), errReader{errors.New("disk on fire")})
	if err := b.Put(t.Context(), "index/keep", 100, failing); err == nil {
		t.Fatal("Put from a failing reader: no error")
	}
	if got := get(t, b, "index/keep"); string(got) != "old content" {
		t.Fatalf("content after failed Put = %q, want the old content", got)
	}
}

func testCancelledContext(t *testing.T, b storage.Backend) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := b.Put(ctx, "data/cancelled", 5, strings.NewReader("hello"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v, want context.Canceled", err)
	}
	err = b.Create(ctx, "locks/cancelled", 5, strings.NewReader("hello"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a cancelled context: %v, want context.Canceled", err)
	}
	wantNotFound(t, b, "data/cancelled")
	wantNotFound(t, b, "locks/cancelled")
	if got := list(t, b, ""); len(got) != 0 {
		t.Errorf("List after cancelled writes = %v", got)
	}
}

func testCancelledMidway(t *testing.T, b storage.Backend) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	data := randomBytes(7, 4<<20)
	r := &cancelReader{r: bytes.NewReader(data), cancel: cancel}
	err := b.Put(ctx, "data/midway", int64(len(data)), r)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put cancelled midway: %v, want context.Canceled", err)
	}
	wantNotFound(t, b, "data/midway")
	if got := list(t, b, ""); len(got) != 0 {
		t.Errorf("List after a cancelled Put = %v", got)
	}
}

func testInvalidNames(t *testing.T, b storage.Backend) {
	ctx := t.Context()
	for _, name := range []string{"", "../x", "data/../../x", "..", "/abs", `data\x`, "a//b", "a/./b", "dir/"} {
		if err := b.Put(ctx, name, 1, strings.NewReader("x")); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("Put(%q): %v, want ErrInvalidName", name, err)
		}
		if _, err := b.Stat(ctx, name); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("Stat(%q): %v, want ErrInvalidName", name, err)
		}
	}
	for _, prefix := range []string{"../", "/abs", `a\b`} {
		err := b.List(ctx, prefix, func(storage.ObjectInfo) error { return nil })
		if !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("List(%q): %v, want ErrInvalidName", prefix, err)
		}
	}
}
