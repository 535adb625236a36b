package repository

// Compression policy (docs/repository-format.md, "Compression"): compress a
// blob only when zstd saves at least 1/16. A blob over probeSize is first
// probed: probeWindows windows of probeSize/probeWindows bytes, spread
// evenly from its first byte to its last, are compressed one by one, and
// the blob is compressed whole (at zstd's default level, not its fastest)
// only when they save at least 1/16 in all.
const (
	probeSize    = 64 << 10
	probeWindows = 4
	minSavingDiv = 16
)

// Scratch holds one worker's reusable buffers.
type Scratch struct {
	buf    []byte
	sealed []byte
}

// compress returns the bytes to store and whether they are compressed.
func (s *Scratch) compress(c *codec, raw []byte) ([]byte, bool) {
	if len(raw) < 64 {
		return raw, false
	}
	enc := c.enc
	if len(raw) > probeSize {
		if !s.probe(c, raw) {
			return raw, false
		}
		enc = c.bigEnc
	}
	s.buf = enc.EncodeAll(raw, s.buf[:0])
	if !pays(len(s.buf), len(raw)) {
		return raw, false
	}
	return s.buf, true
}

// probe reports whether the windows of raw, compressed one by one, save at
// least 1/16 in all. Spread over the blob, they find a compressible body
// behind an incompressible head (a Bluge segment's stored documents come
// first) as well as the reverse, for the cost of compressing 64 KiB.
func (s *Scratch) probe(c *codec, raw []byte) bool {
	const size = probeSize / probeWindows
	var out int
	for i := range probeWindows {
		off := i * (len(raw) - size) / (probeWindows - 1)
		s.buf = c.enc.EncodeAll(raw[off:off+size], s.buf[:0])
		out += len(s.buf)
	}
	return pays(out, probeSize)
}

func pays(compressed, raw int) bool {
	return compressed <= raw-raw/minSavingDiv
}
