package repository

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// Envelope kinds (byte 4 of the header).
const (
	kindIndex    byte = 1
	kindManifest byte = 2
	kindLock     byte = 3
)

const (
	envelopeMagic = "BBK1"
	envelopeSize  = 8

	encryptionNone byte = 0

	compressionNone byte = 0
	compressionZstd byte = 1
)

// codec holds the reusable zstd encoder and decoder of one repository.
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, fmt.Errorf("cannot create zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, fmt.Errorf("cannot create zstd decoder: %w", err)
	}
	return &codec{enc: enc, dec: dec}, nil
}

// sealJSON encodes v as an envelope of the given kind: header, then zstd JSON.
func (c *codec) sealJSON(kind byte, v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot encode object: %w", err)
	}
	out := make([]byte, envelopeSize, envelopeSize+len(payload)/2+64)
	copy(out, envelopeMagic)
	out[4], out[5], out[6] = kind, encryptionNone, compressionZstd
	return c.enc.EncodeAll(payload, out), nil
}

// openPayload checks the envelope header and returns the plain payload.
func (c *codec) openPayload(kind byte, data []byte) ([]byte, error) {
	if len(data) < envelopeSize || string(data[:4]) != envelopeMagic {
		return nil, fmt.Errorf("%w: not a banyan-backup object (bad header)", ErrIntegrity)
	}
	if data[4] != kind {
		return nil, fmt.Errorf("%w: object kind %d, want %d", ErrIntegrity, data[4], kind)
	}
	if data[5] != encryptionNone {
		return nil, fmt.Errorf("%w: object encrypted with method %d, which this release does not know", ErrUnsupportedFormat, data[5])
	}
	payload := data[envelopeSize:]
	switch data[6] {
	case compressionNone:
	case compressionZstd:
		var err error
		payload, err = c.dec.DecodeAll(payload, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot decompress object: %v", ErrIntegrity, err)
		}
	default:
		return nil, fmt.Errorf("%w: object compression %d unknown", ErrUnsupportedFormat, data[6])
	}
	return payload, nil
}

// openJSON checks the envelope header and decodes its JSON payload into v.
func (c *codec) openJSON(kind byte, data []byte, v any) error {
	payload, err := c.openPayload(kind, data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: cannot decode object: %v", ErrIntegrity, err)
	}
	return nil
}
