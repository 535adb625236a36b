package repository

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"slices"
)

// Encryption of format 2 (docs/repository-format.md, "Encryption").
const (
	encryptionAESGCM byte = 1
	// EncryptionAESGCM is config's name of the encryption of format 2.
	EncryptionAESGCM = "aes-256-gcm"
	// EncryptionNone is config's name of no encryption (format 1).
	EncryptionNone = "none"

	nonceSize    = 12
	sealOverhead = nonceSize + 16
	masterKeyLen = 32
)

// sealer encrypts and authenticates pieces (blobs, trailers, envelope
// payloads) with the master key.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != masterKeyLen {
		return nil, fmt.Errorf("%w: master key of %d bytes, want %d", ErrIntegrity, len(key), masterKeyLen)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cannot use master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cannot use master key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal appends a random nonce, then plain encrypted and its tag, to dst,
// binding additional data ad.
func (s *sealer) seal(dst, plain, ad []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, nonceSize+len(plain)+s.aead.Overhead())[:n+nonceSize]
	_, _ = rand.Read(dst[n:]) // crypto/rand.Read never fails (Go 1.24)
	return s.aead.Seal(dst, dst[n:n+nonceSize], plain, ad)
}

// open checks and decrypts a piece sealed with ad, appending the plain
// bytes to dst. Use piece[nonceSize:nonceSize] as dst to decrypt in place.
func (s *sealer) open(dst, piece, ad []byte) ([]byte, error) {
	if len(piece) < sealOverhead {
		return nil, fmt.Errorf("%w: encrypted piece of %d bytes is too short", ErrIntegrity, len(piece))
	}
	out, err := s.aead.Open(dst, piece[:nonceSize], piece[nonceSize:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: encrypted piece does not authenticate (damaged, or not of this repository)", ErrIntegrity)
	}
	return out, nil
}

// openInPlace decrypts piece over its own bytes.
func (s *sealer) openInPlace(piece, ad []byte) ([]byte, error) {
	if len(piece) < sealOverhead {
		return nil, fmt.Errorf("%w: encrypted piece of %d bytes is too short", ErrIntegrity, len(piece))
	}
	return s.open(piece[nonceSize:nonceSize], piece, ad)
}

// blobAD is the additional data of a sealed blob: its type and id.
func blobAD(typ BlobType, id ID) []byte {
	ad := make([]byte, 1+len(id))
	ad[0] = byte(typ)
	copy(ad[1:], id[:])
	return ad
}

// trailerAD is the additional data of a pack's sealed trailer entries.
func trailerAD() []byte { return []byte(packTrailerMagic) }
