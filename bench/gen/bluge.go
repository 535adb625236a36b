package main

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"path"
)

// blugeSeg is one segment file of a Bluge index directory.
type blugeSeg struct {
	id   uint64
	size int64
}

// blugeName is a Bluge file name: 12 hex digits and an extension.
func blugeName(id uint64, ext string) string { return fmt.Sprintf("%012x.%s", id, ext) }

// blugeFiles returns the files of a Bluge index directory (sidx/, idx/,
// property shards) holding about size bytes: one to three .seg files of
// the given kind and the .snp that lists them. Segment ids start at first.
func blugeFiles(dir string, size int64, first uint64, kind contentKind, rng *rand.Rand) []file {
	n := 1
	if size > 1<<20 {
		n += rng.IntN(3)
	}
	var segs []blugeSeg
	left := size
	for i := range n {
		s := left / int64(n-i)
		if i < n-1 {
			s = int64(float64(s) * (0.5 + rng.Float64()))
		}
		segs = append(segs, blugeSeg{first + uint64(i), max(s, 256)})
		left -= s
	}
	return blugeDirFiles(dir, segs, kind)
}

// blugeDirFiles renders the .seg files and then the .snp naming them; the
// .snp id is the last segment's id, as in the fixtures.
func blugeDirFiles(dir string, segs []blugeSeg, kind contentKind) []file {
	var files []file
	for _, s := range segs {
		files = append(files, file{rel: path.Join(dir, blugeName(s.id, "seg")), size: s.size, kind: kind})
	}
	last := segs[len(segs)-1].id
	files = append(files, literal(path.Join(dir, blugeName(last, "snp")), blugeSnapshot(segs)))
	return files
}

// blugeSnapshot renders a small binary snapshot: a header, each segment's
// id and size, and an FNV checksum (a stand-in for Bluge's format).
func blugeSnapshot(segs []blugeSeg) []byte {
	b := []byte{0x03, 0x01, 0x03, 'i', 'c', 'e', 0, 0, 0, byte(len(segs))}
	for _, s := range segs {
		b = binary.LittleEndian.AppendUint64(b, s.id)
		b = binary.LittleEndian.AppendUint64(b, uint64(s.size))
	}
	h := fnv.New32a()
	h.Write(b)
	return h.Sum(b)
}
