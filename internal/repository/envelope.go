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
	kindSet      byte = 4
)

const (
	envelopeMagic = "BBK1"
	envelopeSize  = 8

	encryptionNone byte = 0

	compressionNone byte = 0
	compressionZstd byte = 1
)

// maxEnvelopePayload bounds the decompressed payload of an envelope, and so
// the memory a hostile object a few bytes long can take
// (repository-format.md, "Limits").
const maxEnvelopePayload = 256 << 20

// codec holds the reusable zstd encoder and decoders of one repository, and
// for an encrypted one its sealer (nil: not encrypted).
type codec struct {
	// enc compresses blobs of up to probeSize bytes and probes larger ones,
	// bigEnc compresses the larger ones that the probe passes, envEnc
	// envelope payloads.
	enc    *zstd.Encoder
	bigEnc *zstd.Encoder
	envEnc *zstd.Encoder
	// dec decodes blobs into a buffer of the blob's raw length, and never
	// past its capacity, whatever the frame says of its size.
	dec *zstd.Decoder
	// envDec decodes envelope payloads, at most maxEnvelopePayload bytes.
	envDec *zstd.Decoder
	seal   *sealer
}

func newCodec() (*codec, error) {
	procs := runtime.GOMAXPROCS(0)
	// Blob frames carry no checksum: every blob is checked against its id
	// once decoded. Envelope frames keep theirs.
	enc, err := newEncoder(zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(procs), zstd.WithLowerEncoderMem(true),
		zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, err
	}
	// zstd's default level stores a log root's large compressible blobs
	// (Bluge index segments) 0.6% smaller than its fastest one, for 20%
	// more of a full backup's time; on small blobs it costs more than it
	// saves (repository-format.md, Compression). Without
	// WithLowerEncoderMem its backups peaked at 100 MiB instead of 115.
	bigEnc, err := newEncoder(zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(procs), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, err
	}
	envEnc, err := newEncoder(zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, err
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(procs), zstd.WithDecoderMaxMemory(maxSize), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, fmt.Errorf("cannot create zstd decoder: %w", err)
	}
	envDec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(procs), zstd.WithDecoderMaxMemory(maxEnvelopePayload))
	if err != nil {
		return nil, fmt.Errorf("cannot create zstd decoder: %w", err)
	}
	return &codec{enc: enc, bigEnc: bigEnc, envEnc: envEnc, dec: dec, envDec: envDec}, nil
}

func newEncoder(opts ...zstd.EOption) (*zstd.Encoder, error) {
	enc, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot create zstd encoder: %w", err)
	}
	return enc, nil
}

// overhead is what sealing adds to each stored blob: 0 when the repository
// is not encrypted.
func (c *codec) overhead() uint32 {
	if c.seal != nil {
		return sealOverhead
	}
	return 0
}

// close releases the encoder and decoders.
func (c *codec) close() {
	c.enc.Close()
	c.bigEnc.Close()
	c.envEnc.Close()
	c.dec.Close()
	c.envDec.Close()
}

// sealJSON encodes v as an envelope of the given kind: header, then zstd JSON.
func (c *codec) sealJSON(kind byte, v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot encode object: %w", err)
	}
	out := c.envelopeHeader(kind, compressionZstd, len(payload)/2+64)
	if c.seal == nil {
		return c.envEnc.EncodeAll(payload, out), nil
	}
	return c.seal.seal(out, c.envEnc.EncodeAll(payload, nil), out[:envelopeSize]), nil
}

// envelopeHeader starts an envelope with room for n more bytes.
func (c *codec) envelopeHeader(kind, compression byte, n int) []byte {
	out := make([]byte, envelopeSize, envelopeSize+n+sealOverhead)
	copy(out, envelopeMagic)
	out[4], out[5], out[6] = kind, encryptionNone, compression
	if c.seal != nil {
		out[5] = encryptionAESGCM
	}
	return out
}

// openPayload checks the envelope header and returns the plain payload.
func (c *codec) openPayload(kind byte, data []byte) ([]byte, error) {
	if len(data) < envelopeSize || string(data[:4]) != envelopeMagic {
		return nil, fmt.Errorf("%w: not a banyan-backup object (bad header)", ErrIntegrity)
	}
	if data[4] != kind {
		return nil, fmt.Errorf("%w: object kind %d, want %d", ErrIntegrity, data[4], kind)
	}
	payload := data[envelopeSize:]
	switch {
	case data[5] == encryptionNone && c.seal == nil:
	case data[5] == encryptionAESGCM && c.seal != nil:
		var err error
		if payload, err = c.seal.open(nil, payload, data[:envelopeSize]); err != nil {
			return nil, err
		}
	case data[5] == encryptionNone || data[5] == encryptionAESGCM:
		// An object in plain in an encrypted repository could have been
		// put there by anyone; an encrypted one in a plain repository
		// cannot be read.
		return nil, fmt.Errorf("%w: object encryption %d does not match the repository's", ErrIntegrity, data[5])
	default:
		return nil, fmt.Errorf("%w: object encrypted with method %d, which this release does not know", ErrUnsupportedFormat, data[5])
	}
	switch data[6] {
	case compressionNone:
	case compressionZstd:
		var err error
		payload, err = c.envDec.DecodeAll(payload, nil)
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
