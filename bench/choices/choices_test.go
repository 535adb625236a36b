// Package choices holds the measurements behind the repository format's
// choices of hash, chunker and compression (docs/repository-format.md).
package choices

import (
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/zeebo/blake3"
)

func randomBuf(b *testing.B, n int) []byte {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	return buf
}

func BenchmarkHashSHA256(b *testing.B) {
	buf := randomBuf(b, 4<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		_ = sha256.Sum256(buf)
	}
}

func BenchmarkHashBLAKE3(b *testing.B) {
	buf := randomBuf(b, 4<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		_ = blake3.Sum256(buf)
	}
}
