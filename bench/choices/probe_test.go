package choices

// Where the compression decision goes wrong, and a rule that does better:
// docs/repository-format.md, "Compression".

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/klauspost/compress/zstd"
)

// A rule decides whether to store a blob compressed. It returns the bytes
// stored and the reused buffer.
type rule struct {
	name   string
	decide func(enc *zstd.Encoder, raw, buf []byte) (int, []byte)
}

// keep compresses raw whole and keeps the result if it pays.
func keep(enc *zstd.Encoder, raw, buf []byte) (int, []byte) {
	buf = enc.EncodeAll(raw, buf[:0])
	if !pays(len(buf), len(raw)) {
		return len(raw), buf
	}
	return len(buf), buf
}

// windowsPay compresses n windows of size bytes spread evenly over raw,
// the first at its start and the last at its end, and reports whether they
// save at least 1/8 in all.
func windowsPay(enc *zstd.Encoder, raw, buf []byte, n, size int) (bool, []byte) {
	var in, out int
	for i := range n {
		off := 0
		if n > 1 {
			off = i * (len(raw) - size) / (n - 1)
		}
		buf = enc.EncodeAll(raw[off:off+size], buf[:0])
		in += size
		out += len(buf)
	}
	return pays(out, in), buf
}

// spread is the rule that probes n windows of probeSize/n bytes.
func spread(n int) func(*zstd.Encoder, []byte, []byte) (int, []byte) {
	return func(enc *zstd.Encoder, raw, buf []byte) (int, []byte) {
		if len(raw) < minBlobSize {
			return len(raw), buf
		}
		if len(raw) > probeSize {
			ok, b := windowsPay(enc, raw, buf, n, probeSize/n)
			if buf = b; !ok {
				return len(raw), buf
			}
		}
		return keep(enc, raw, buf)
	}
}

var rules = []rule{
	{"first 64 KiB (before)", func(enc *zstd.Encoder, raw, buf []byte) (int, []byte) {
		n, _, b := firstWindowPolicy(enc, raw, buf)
		return n, b
	}},
	{"4 windows of 16 KiB spread (now)", spread(probeWindows)},
	{"8 windows of 8 KiB spread", spread(8)},
	{"every blob compressed, kept if it pays", func(enc *zstd.Encoder, raw, buf []byte) (int, []byte) {
		if len(raw) < minBlobSize {
			return len(raw), buf
		}
		return keep(enc, raw, buf)
	}},
}

// generatedRoot builds bench/gen and writes a size root of log streams
// (--stream-index 0.67) into a temporary directory.
func generatedRoot(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "gen")
	if out, err := exec.Command("go", "build", "-o", bin, "../gen").CombinedOutput(); err != nil {
		t.Fatalf("cannot build bench/gen: %v\n%s", err, out)
	}
	root := filepath.Join(dir, "root")
	if out, err := exec.Command(bin, "--out", root, "--size", size, "--stream-index", "0.67").CombinedOutput(); err != nil {
		t.Fatalf("bench/gen: %v\n%s", err, out)
	}
	return root
}

// readTree reads every regular file below root whose path keep accepts.
func readTree(t *testing.T, root string, keep func(rel string) bool) []treeFile {
	t.Helper()
	var files []treeFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !keep(filepath.ToSlash(rel)) {
			return nil
		}
		data, err := os.ReadFile(p)
		files = append(files, treeFile{rel: filepath.ToSlash(rel), data: data})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCompressionRules compares the rules on the real fixtures' index
// files and part data and on a generated root of log streams, whose Bluge
// files are shaped like real ones: bytes stored and the time the decisions
// and compressions took.
func TestCompressionRules(t *testing.T) {
	enc := newEncoder(t, zstd.SpeedFastest)
	var fx []treeFile
	for _, name := range []string{fixture.V011, fixture.V0102} {
		fx = append(fx, loadDataTrees(t, name)...)
	}
	gen := readTree(t, generatedRoot(t, "48MiB"), func(string) bool { return true })
	isSeg := func(f treeFile) bool { return strings.HasSuffix(f.rel, ".seg") }
	isPart := func(f treeFile) bool { return kindOf(f.rel) == 0 }
	sets := []struct {
		name  string
		files []treeFile
		keep  func(treeFile) bool
	}{
		{"fixtures: Bluge .seg", fx, isSeg},
		{"fixtures: part data", fx, isPart},
		{"fixtures: all files", fx, func(treeFile) bool { return true }},
		{"generated log root: Bluge .seg", gen, isSeg},
		{"generated log root: part data", gen, isPart},
		{"generated log root: all files", gen, func(treeFile) bool { return true }},
	}
	tb := newTable("files", "rule", "files", "raw B", "stored B", "saved", "ms")
	var buf []byte
	for _, set := range sets {
		for _, r := range rules {
			var files int
			var raw, stored int64
			start := time.Now()
			for _, f := range set.files {
				if !set.keep(f) {
					continue
				}
				files++
				blobs, _ := fixedSplitter(fixedChunkSize).split(f.data)
				for _, b := range blobs {
					var n int
					n, buf = r.decide(enc, b, buf)
					raw += int64(len(b))
					stored += int64(n)
				}
			}
			ms := time.Since(start).Seconds() * 1000
			tb.row(set.name, r.name, num(int64(files)), num(raw), num(stored), pct(raw-stored, raw), fmt.Sprintf("%.0f", ms))
		}
	}
	t.Logf("bytes stored per blob (4 MiB chunks) under each rule; ms: deciding and compressing, one core, noisy machine\n%s", tb)
}
