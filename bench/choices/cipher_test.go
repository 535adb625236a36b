package choices

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// The cipher of encrypted repositories (docs/repository-format.md,
// "Encryption"): each sealed piece is a 4 MiB chunk at most.

func benchAEAD(b *testing.B, a cipher.AEAD) {
	buf := randomBuf(b, 4<<20)
	nonce := make([]byte, a.NonceSize())
	out := make([]byte, 0, len(buf)+a.Overhead())
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		out = a.Seal(out[:0], nonce, buf, nil)
	}
}

func BenchmarkSealAES256GCM(b *testing.B) {
	block, err := aes.NewCipher(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	benchAEAD(b, a)
}

func BenchmarkSealXChaCha20Poly1305(b *testing.B) {
	a, err := chacha20poly1305.NewX(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	benchAEAD(b, a)
}
