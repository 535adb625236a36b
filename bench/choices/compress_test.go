package choices

// Per-blob zstd "fastest", kept only where it saves at least 1/8, on BanyanDB
// data: docs/repository-format.md, "Compression".

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os/exec"
	"path"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/klauspost/compress/zstd"
	"github.com/zeebo/blake3"
)

// The policy's constants, as in internal/repository.
const (
	probeSize    = 64 << 10
	probeWindows = 4
	minSavingDiv = 8
	minBlobSize  = 64
)

// newEncoder returns an encoder set up like the repository's (one EncodeAll
// at a time here).
func newEncoder(t testing.TB, level zstd.EncoderLevel) *zstd.Encoder {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func pays(compressed, raw int) bool { return compressed <= raw-raw/minSavingDiv }

// policy mirrors the repository's choice for one blob: it returns the number
// of bytes stored, whether they are compressed, and the (reused) buffer.
func policy(enc *zstd.Encoder, raw, buf []byte) (int, bool, []byte) {
	if len(raw) < minBlobSize {
		return len(raw), false, buf
	}
	if len(raw) > probeSize {
		var ok bool
		if ok, buf = windowsPay(enc, raw, buf, probeWindows, probeSize/probeWindows); !ok {
			return len(raw), false, buf
		}
	}
	buf = enc.EncodeAll(raw, buf[:0])
	if !pays(len(buf), len(raw)) {
		return len(raw), false, buf
	}
	return len(buf), true, buf
}

// firstWindowPolicy is the rule before the windows: the first 64 KiB of a
// larger blob were the probe.
func firstWindowPolicy(enc *zstd.Encoder, raw, buf []byte) (int, bool, []byte) {
	if len(raw) < minBlobSize {
		return len(raw), false, buf
	}
	if len(raw) > probeSize {
		buf = enc.EncodeAll(raw[:probeSize], buf[:0])
		if !pays(len(buf), probeSize) {
			return len(raw), false, buf
		}
	}
	buf = enc.EncodeAll(raw, buf[:0])
	if !pays(len(buf), len(raw)) {
		return len(raw), false, buf
	}
	return len(buf), true, buf
}

// File kinds of a data tree, in table order.
var fileKinds = []string{
	"part data (.bin .tf .tff .t .td .filter)",
	"part metadata.json, sidx manifest.json",
	"tag metadata (.tfm .tm tag.type)",
	".snp (part lists, Bluge snapshots)",
	"Bluge .seg (index segments)",
	"segment metadata",
	"other",
}

func kindOf(rel string) int {
	dir, name := path.Split(rel)
	ext := path.Ext(name)
	inPart := isPartName(path.Base(strings.TrimSuffix(dir, "/")))
	switch {
	case inPart && (name == "metadata.json" || name == "manifest.json"):
		return 1
	case inPart && (ext == ".tfm" || ext == ".tm" || name == "tag.type"):
		return 2
	case inPart && (ext == ".bin" || ext == ".tf" || ext == ".tff" || ext == ".t" || ext == ".td" || ext == ".filter"):
		return 0
	case ext == ".snp":
		return 3
	case ext == ".seg":
		return 4
	case name == "metadata" && strings.HasPrefix(path.Base(strings.TrimSuffix(dir, "/")), "seg-"):
		return 5
	}
	return 6
}

// partDataName groups part data files: by name for *.bin and *.filter,
// by extension for the per-tag files.
func partDataName(rel string) string {
	name := path.Base(rel)
	switch ext := path.Ext(name); ext {
	case ".tf", ".tff", ".t", ".td":
		return "*" + ext
	}
	return name
}

// compStats sums one group of blobs.
type compStats struct {
	files, blobs, kept int   // kept: blobs the policy stores compressed
	raw, zstd, policy  int64 // bytes: raw, every blob compressed, policy
}

func (s *compStats) add(o compStats) {
	s.files += o.files
	s.blobs += o.blobs
	s.kept += o.kept
	s.raw += o.raw
	s.zstd += o.zstd
	s.policy += o.policy
}

func (s compStats) cells(label string) []string {
	return []string{label, num(int64(s.files)), num(int64(s.blobs)), num(s.raw),
		num(s.zstd), pct(s.raw-s.zstd, s.raw), num(s.policy), pct(s.raw-s.policy, s.raw),
		fmt.Sprintf("%d/%d", s.kept, s.blobs)}
}

func TestCompressionByKind(t *testing.T) {
	enc := newEncoder(t, zstd.SpeedFastest)
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	zstdBin, _ := exec.LookPath("zstd")

	for _, name := range []string{fixture.V011, fixture.V0102} {
		files := loadDataTrees(t, name)
		byKind := make([]compStats, len(fileKinds))
		partData := map[string]*compStats{} // part data files by name
		var total, unique compStats
		seen := map[[32]byte]bool{}
		var buf, plain []byte
		var tarBuf bytes.Buffer
		tw := tar.NewWriter(&tarBuf)
		for _, f := range files {
			if err := tw.WriteHeader(&tar.Header{Name: f.rel, Mode: 0o644, Size: int64(len(f.data)), ModTime: time.Unix(1795000000, 0)}); err != nil {
				t.Fatal(err)
			}
			if _, err := tw.Write(f.data); err != nil {
				t.Fatal(err)
			}

			s := compStats{files: 1}
			var u compStats
			blobs, _ := fixedSplitter(fixedChunkSize).split(f.data)
			for _, blob := range blobs {
				var b compStats
				b.blobs = 1
				b.raw = int64(len(blob))
				buf = enc.EncodeAll(blob, buf[:0])
				b.zstd = int64(len(buf))
				if plain, err = dec.DecodeAll(buf, plain[:0]); err != nil || !bytes.Equal(plain, blob) {
					t.Fatalf("%s: zstd round trip failed: %v", f.rel, err)
				}
				n, compressed, nb := policy(enc, blob, buf)
				buf = nb
				b.policy = int64(n)
				if compressed {
					b.kept = 1
				}
				if b.policy > b.raw || (compressed && b.policy != b.zstd) {
					t.Errorf("%s: policy stores %d B of a %d-byte blob (zstd %d B, compressed %v)", f.rel, b.policy, b.raw, b.zstd, compressed)
				}
				s.add(b)
				if id := blake3.Sum256(blob); !seen[id] {
					seen[id] = true
					u.add(b)
				}
			}
			s.files = 1
			k := kindOf(f.rel)
			byKind[k].add(s)
			if k == 0 {
				pn := partDataName(f.rel)
				if partData[pn] == nil {
					partData[pn] = &compStats{}
				}
				partData[pn].add(s)
			}
			total.add(s)
			u.files = 0
			unique.add(u)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		unique.files = total.files

		tb := newTable("kind", "files", "blobs", "raw B", "zstd-fastest B", "saved", "policy B", "saved", "kept zstd")
		var sum compStats
		for k, s := range byKind {
			if s.files == 0 {
				continue
			}
			tb.row(s.cells(fileKinds[k])...)
			sum.add(s)
		}
		if sum != total {
			t.Errorf("%s: kinds add up to %+v, total %+v", name, sum, total)
		}
		tb.row(total.cells("all files, per blob")...)
		tb.row(unique.cells("all files, unique blobs only (after dedup)")...)

		tarRaw := tarBuf.Bytes()
		for _, lv := range []struct {
			label string
			level zstd.EncoderLevel
		}{{"tar, klauspost SpeedFastest (~zstd -1)", zstd.SpeedFastest}, {"tar, klauspost SpeedDefault (~zstd -3)", zstd.SpeedDefault}} {
			e := newEncoder(t, lv.level)
			n := int64(len(e.EncodeAll(tarRaw, nil)))
			e.Close()
			tb.row(lv.label, num(int64(len(files))), "1", num(int64(len(tarRaw))), num(n), pct(int64(len(tarRaw))-n, int64(len(tarRaw))), "", "", "")
		}
		if zstdBin != "" {
			cmd := exec.Command(zstdBin, "-1", "-q", "-c")
			cmd.Stdin = bytes.NewReader(tarRaw)
			if out, err := cmd.Output(); err != nil {
				t.Logf("zstd -1: %v", err)
			} else {
				n := int64(len(out))
				tb.row("tar, zstd -1 (binary)", num(int64(len(files))), "1", num(int64(len(tarRaw))), num(n), pct(int64(len(tarRaw))-n, int64(len(tarRaw))), "", "", "")
			}
		}
		t.Logf("%s: <catalog>/data trees, blobs = files cut at 4 MiB; zstd-fastest = every blob compressed; "+
			"policy = raw below %d B, probe %d B in windows spread over larger blobs, keep zstd only if it saves >= 1/%d.\n"+
			"Per-blob sizes exclude pack and index overhead; the tar rows compress the whole tree as one stream (%d B of it tar headers and padding).\n%s",
			name, minBlobSize, probeSize, minSavingDiv, int64(len(tarRaw))-total.raw, tb)

		names := make([]string, 0, len(partData))
		for n := range partData {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool { return partData[names[i]].raw > partData[names[j]].raw })
		pt := newTable("part data file", "files", "blobs", "raw B", "zstd-fastest B", "saved", "policy B", "saved", "kept zstd")
		for _, n := range names {
			pt.row(partData[n].cells(n)...)
		}
		t.Logf("%s: the part data row above, by file name\n%s", name, pt)
	}
}

func BenchmarkCompressProbeIncompressible(b *testing.B) {
	for _, p := range []struct {
		name   string
		policy func(*zstd.Encoder, []byte, []byte) (int, bool, []byte)
	}{{"windows", policy}, {"first64KiB", firstWindowPolicy}} {
		b.Run(p.name, func(b *testing.B) {
			raw := randomBuf(b, 4<<20)
			enc := newEncoder(b, zstd.SpeedFastest)
			var buf []byte
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var compressed bool
				_, compressed, buf = p.policy(enc, raw, buf)
				if compressed {
					b.Fatal("random data kept compressed")
				}
			}
		})
	}
}

func BenchmarkCompressFullIncompressible(b *testing.B) {
	raw := randomBuf(b, 4<<20)
	enc := newEncoder(b, zstd.SpeedFastest)
	var buf []byte
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		buf = enc.EncodeAll(raw, buf[:0])
	}
	b.ReportMetric(float64(len(buf))/float64(len(raw)), "ratio")
}
