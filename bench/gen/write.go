package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// contentKind says how a file's bytes are produced.
type contentKind int

const (
	// kindRandom is incompressible PCG output, like BanyanDB's zstd blocks.
	kindRandom contentKind = iota
	// kindPattern is a repeated record pattern (like .tfm/.tm block
	// metadata): highly compressible.
	kindPattern
	// kindLiteral is given bytes (JSON, .snp lists, tag.type).
	kindLiteral
	// kindBluge is a Bluge index segment: incompressible stored documents
	// first, then offsets, dictionaries and postings that compress well,
	// about 2:1 in all (blugecontent.go).
	kindBluge
)

// bufSize is the size of every write.
const bufSize = 1 << 20

// file is one file to write, relative to the output root.
type file struct {
	rel   string
	size  int64 // ignored for kindLiteral
	kind  contentKind
	data  []byte // kindLiteral only
	token string // kindPattern only: the name repeated in each record
}

// length returns the number of bytes the file will have.
func (f file) length() int64 {
	if f.kind == kindLiteral {
		return int64(len(f.data))
	}
	return f.size
}

// job is an ordered unit of work: its directories are created first, then
// its files are written in order (so a part's metadata.json can come last).
type job struct {
	dirs  []string
	files []file
}

// bytes returns the total size of the job's files.
func (j job) bytes() int64 {
	var n int64
	for _, f := range j.files {
		n += f.length()
	}
	return n
}

// stats counts what the writers created.
type stats struct {
	files, dirs, bytes atomic.Int64
}

// writer turns jobs into files. Each worker owns one writer (and buffer).
type writer struct {
	root  string
	seed  uint64
	buf   []byte
	stats *stats
}

func newWriter(root string, seed uint64, st *stats) *writer {
	return &writer{root: root, seed: seed, buf: make([]byte, bufSize), stats: st}
}

// run executes one job.
func (w *writer) run(j job) error {
	for _, d := range j.dirs {
		if err := os.MkdirAll(filepath.Join(w.root, d), 0o700); err != nil {
			return err
		}
		w.stats.dirs.Add(1)
	}
	for _, f := range j.files {
		if err := w.writeFile(f); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates one new file (it must not exist) and fills it.
func (w *writer) writeFile(f file) error {
	path := filepath.Join(w.root, f.rel)
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = w.fill(fh, f)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.rel, err)
	}
	w.stats.files.Add(1)
	w.stats.bytes.Add(f.length())
	return nil
}

// fill writes the file's content in writes of at most bufSize bytes.
func (w *writer) fill(fh *os.File, f file) error {
	if f.kind == kindLiteral {
		_, err := fh.Write(f.data)
		return err
	}
	src := rand.NewPCG(w.seed, hashString(f.rel))
	pat := newPattern(f.token, src.Uint64())
	var bluge *blugeContent
	if f.kind == kindBluge {
		bluge = newBlugeContent(f.size, src)
	}
	for left := f.size; left > 0; {
		b := w.buf[:min(int64(len(w.buf)), left)]
		switch f.kind {
		case kindPattern:
			pat.fill(b)
		case kindBluge:
			bluge.fill(b)
		default:
			fillRandom(b, src)
		}
		if _, err := fh.Write(b); err != nil {
			return err
		}
		left -= int64(len(b))
	}
	return nil
}

// fillRandom fills b with PCG output (about 3 GB/s per core).
func fillRandom(b []byte, src *rand.PCG) {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], src.Uint64())
	}
	if i < len(b) {
		var tail [8]byte
		binary.LittleEndian.PutUint64(tail[:], src.Uint64())
		copy(b[i:], tail[:])
	}
}

// pattern produces records shaped like BanyanDB's tag family metadata:
// a name, then varint offsets and sizes that grow steadily. zstd shrinks
// it several-fold, which gives the tree its few percent of compressible bytes.
type pattern struct {
	token   []byte
	off     uint64
	i       uint64
	rec     []byte
	pending []byte
}

func newPattern(token string, start uint64) *pattern {
	if token == "" {
		token = "default"
	}
	return &pattern{token: []byte(token), off: start % 4096}
}

// fill copies the next len(b) bytes of the record stream into b.
func (p *pattern) fill(b []byte) {
	for len(b) > 0 {
		if len(p.pending) == 0 {
			p.next()
		}
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		b = b[n:]
	}
}

// next builds the following record.
func (p *pattern) next() {
	size := 900 + (p.i*7919)%600
	r := append(p.rec[:0], 1, byte(len(p.token)))
	r = append(r, p.token...)
	r = append(r, 1)
	r = binary.AppendUvarint(r, p.off)
	r = binary.AppendUvarint(r, size)
	r = append(r, 0, 0, 0, 0, 0)
	p.off += size
	p.i++
	p.rec, p.pending = r, r
}

// hashString is FNV-1a of s; it seeds per-file and per-part generators so
// that content depends only on (seed, path), not on write order.
func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// runJobs executes jobs on n workers and returns the first error.
func runJobs(root string, seed uint64, jobs []job, n int, st *stats) error {
	ch := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var failed atomic.Bool
	for range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWriter(root, seed, st)
			for j := range ch {
				if failed.Load() {
					continue
				}
				if err := w.run(j); err != nil {
					failed.Store(true)
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return errors.Join(errs...)
}
