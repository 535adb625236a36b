package main

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
)

// blugeContent produces the bytes of a Bluge index segment (.seg) shaped
// like Bluge's segment format, in the order a segment is written:
//
//	stored documents   zstd frames of 128 documents each: incompressible
//	document offsets   one 8-byte big-endian offset per document, growing
//	dictionaries       terms (service and endpoint names, hex ids, words)
//	and postings       each followed by a varint posting list of small gaps
//	doc values         zstd-compressed chunks: incompressible
//	footer             a few fixed fields
//
// The shares are chosen so that zstd at its fastest level stores a whole
// file in about half its size, as it does a real root's stream element
// indexes; the first bytes of every file are incompressible, as a real
// segment's stored documents are.
type blugeContent struct {
	src    *rand.PCG
	rng    *rand.Rand
	size   int64
	pos    int64
	bounds [4]int64 // ends of: stored, offsets, postings, doc values
	vocab  [][]byte
	docOff uint64
	rec    []byte
}

// Shares of a segment's bytes, in file order (the footer takes the rest).
const (
	blugeStoredShare  = 0.20
	blugeOffsetsShare = 0.06
	blugePostingShare = 0.66
)

func newBlugeContent(size int64, src *rand.PCG) *blugeContent {
	c := &blugeContent{src: src, rng: rand.New(src), size: size}
	c.bounds[0] = int64(float64(size) * blugeStoredShare)
	c.bounds[1] = c.bounds[0] + int64(float64(size)*blugeOffsetsShare)
	c.bounds[2] = c.bounds[1] + int64(float64(size)*blugePostingShare)
	c.bounds[3] = max(size-64, c.bounds[2])
	c.vocab = blugeVocabulary(c.rng)
	return c
}

// blugeVocabulary draws the terms of one segment: SkyWalking-like service,
// instance and endpoint names, status words and 32-hex trace ids.
func blugeVocabulary(rng *rand.Rand) [][]byte {
	words := []string{"order", "payment", "user", "cart", "search", "auth", "inventory", "gateway", "shipping", "review"}
	verbs := []string{"GET", "POST", "PUT", "DELETE"}
	var v [][]byte
	for i := range 48 {
		w := words[i%len(words)]
		v = append(v, []byte("service::"+w+"-svc-"+strconv.Itoa(rng.IntN(100))))
		v = append(v, []byte(w+"-svc-pod-"+strconv.FormatUint(rng.Uint64()&0xffffff, 16)+"@10.0."+strconv.Itoa(rng.IntN(256))+"."+strconv.Itoa(rng.IntN(256))))
		v = append(v, []byte(verbs[rng.IntN(len(verbs))]+":/api/v1/"+w+"/"+words[rng.IntN(len(words))]+"/{id}"))
	}
	for _, s := range []string{"INFO", "WARN", "ERROR", "DEBUG", "true", "false", "http", "grpc", "mysql", "redis"} {
		v = append(v, []byte(s))
	}
	return v
}

// fill writes the next len(b) bytes of the segment into b.
func (c *blugeContent) fill(b []byte) {
	for len(b) > 0 {
		var n int
		switch {
		case c.pos < c.bounds[0], c.pos >= c.bounds[2] && c.pos < c.bounds[3]:
			end := c.bounds[0]
			if c.pos >= c.bounds[2] {
				end = c.bounds[3]
			}
			n = int(min(int64(len(b)), end-c.pos))
			fillRandom(b[:n], c.src)
		default:
			n = c.fillRecords(b)
		}
		b = b[n:]
		c.pos += int64(n)
	}
}

// fillRecords copies records of the current structured section into b,
// stopping at the section's end, and returns how many bytes it wrote.
func (c *blugeContent) fillRecords(b []byte) int {
	end := c.size
	for _, e := range c.bounds {
		if c.pos < e {
			end = e
			break
		}
	}
	want := int(min(int64(len(b)), end-c.pos))
	n := 0
	for n < want {
		if len(c.rec) == 0 {
			c.nextRecord(c.pos + int64(n))
		}
		k := copy(b[n:want], c.rec)
		c.rec = c.rec[k:]
		n += k
	}
	if c.pos+int64(n) == end {
		c.rec = c.rec[:0] // a section's last record is cut where it ends
	}
	return n
}

// nextRecord makes the record that starts at pos.
func (c *blugeContent) nextRecord(pos int64) {
	r := c.rec[:0]
	switch {
	case pos < c.bounds[1]:
		c.docOff += 128 + c.rng.Uint64N(24)
		r = binary.BigEndian.AppendUint64(r, c.docOff)
	case pos < c.bounds[2]:
		r = c.postingRecord(r)
	default:
		r = binary.BigEndian.AppendUint64(r, uint64(c.size))
		r = binary.BigEndian.AppendUint32(r, 1)
		r = append(r, "ice\x00"...)
	}
	c.rec = r
}

// postingRecord appends a term (from the vocabulary, or a fresh trace id)
// and its posting list: a count and small varint document gaps.
func (c *blugeContent) postingRecord(r []byte) []byte {
	if c.rng.IntN(10) == 0 {
		var id [16]byte
		binary.LittleEndian.PutUint64(id[:8], c.src.Uint64())
		binary.LittleEndian.PutUint64(id[8:], c.src.Uint64())
		r = append(r, 32)
		r = hexAppend(r, id[:])
	} else {
		t := c.vocab[c.rng.IntN(len(c.vocab))]
		r = append(r, byte(len(t)))
		r = append(r, t...)
	}
	k := 1 + c.rng.IntN(24)
	r = binary.AppendUvarint(r, uint64(k))
	for range k {
		r = binary.AppendUvarint(r, 1+uint64(c.rng.IntN(4)))
	}
	return r
}

func hexAppend(dst, src []byte) []byte {
	const digits = "0123456789abcdef"
	for _, x := range src {
		dst = append(dst, digits[x>>4], digits[x&15])
	}
	return dst
}
