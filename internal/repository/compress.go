package repository

// Compression policy (docs/repository-format.md): compress a blob only when
// zstd saves at least 1/8; probe large blobs on their first 64 KiB.
const (
	probeSize    = 64 << 10
	minSavingDiv = 8
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
	if len(raw) > probeSize {
		s.buf = c.enc.EncodeAll(raw[:probeSize], s.buf[:0])
		if !pays(len(s.buf), probeSize) {
			return raw, false
		}
	}
	s.buf = c.enc.EncodeAll(raw, s.buf[:0])
	if !pays(len(s.buf), len(raw)) {
		return raw, false
	}
	return s.buf, true
}

func pays(compressed, raw int) bool {
	return compressed <= raw-raw/minSavingDiv
}
