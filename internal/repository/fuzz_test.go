package repository

// Fuzz targets of the parsers of repository objects (docs/repository-format.md;
// FuzzOpenIndex and FuzzParsePack are beside their codecs). Each asserts what
// its decoder promises, not only that it does not panic: it fails with an
// integrity or format error, or returns a value that passes validation and
// encodes back to an object that decodes to the same value; and it allocates
// in proportion to its input, never by a length it read and did not check.
// scripts/test.sh fuzzes each for a few seconds; go test replays the seeds
// and testdata/fuzz/<target>/.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/banyan-backup/banyan-backup/internal/allocs"
)

// fuzzCodec returns a codec closed when the fuzz test ends.
func fuzzCodec(f *testing.F) *codec {
	c, err := newCodec()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(c.close)
	return c
}

// fuzzSealedCodec returns a codec of an encrypted repository with a fixed
// test key: inputs sealed with it reach the decoders behind the seal, as a
// key holder's objects would.
func fuzzSealedCodec(f *testing.F) *codec {
	c := fuzzCodec(f)
	s, err := newSealer(bytes.Repeat([]byte{7}, masterKeyLen))
	if err != nil {
		f.Fatal(err)
	}
	c.seal = s
	return c
}

// checkAllocs fails when a parser allocated more than limit bytes (plus
// the measurement's slack).
func checkAllocs(t *testing.T, got uint64, limit int) {
	t.Helper()
	if got > uint64(limit)+allocs.Slack {
		t.Fatalf("allocated %d bytes, more than %d for this input", got, limit)
	}
}

// checkRefusal fails unless err classifies a damaged or unknown object.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("unclassified error: %v", err)
	}
}

func FuzzConfig(f *testing.F) {
	c, err := newConfig(InitOptions{}, t0)
	if err != nil {
		f.Fatal(err)
	}
	good, err := encodeConfig(c)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"none"`), []byte(`"aes"`), 1))
	f.Add([]byte(`{"version":2,"hash":"blake3-256","chunker":"fixed","chunk_size":1,"pack_size":1,"encryption":"none"}`))
	f.Add([]byte(`{"version":3,"hash":"blake3-256","chunker":"fixed","chunk_size":1,"pack_size":1,"encryption":"none","features":["sets"]}`))
	f.Add([]byte(`{"version":3,"hash":"blake3-256","chunker":"fixed","chunk_size":1,"pack_size":1,"encryption":"aes-256-gcm","features":["sets","sets"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg Config
		var err error
		checkAllocs(t, allocs.Bytes(func() { cfg, err = parseConfig(data, "fuzz") }), 64*len(data))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		// What opens is what Init or EnableFeature could have written.
		plain := cfg.Version == formatPlain && cfg.Encryption == EncryptionNone && len(cfg.Features) == 0
		encrypted := cfg.Version == formatEncrypted && cfg.Encryption == EncryptionAESGCM && len(cfg.Features) == 0
		featured := cfg.Version == formatFeatures && (cfg.Encryption == EncryptionNone || cfg.Encryption == EncryptionAESGCM) &&
			slices.Equal(cfg.Features, []string{FeatureSets})
		if !plain && !encrypted && !featured ||
			cfg.ChunkSize <= 0 || cfg.ChunkSize >= 1<<31 || cfg.PackSize <= 0 || cfg.PackSize >= 1<<31 {
			t.Fatalf("accepted config %+v", cfg)
		}
		enc, err := encodeConfig(cfg)
		if err != nil {
			t.Fatalf("accepted config does not encode: %v", err)
		}
		back, err := parseConfig(enc, "fuzz")
		if err != nil {
			t.Fatalf("re-encoded config does not open: %v", err)
		}
		if again, _ := encodeConfig(back); !bytes.Equal(again, enc) {
			t.Fatalf("config changes on a round trip:\n%s\n%s", enc, again)
		}
	})
}

func FuzzEnvelope(f *testing.F) {
	c := fuzzCodec(f)
	for kind, v := range map[byte]any{kindManifest: sampleManifest(1), kindLock: LockInfo{Hostname: "h", PID: 1, Time: t0}} {
		data, err := c.sealJSON(kind, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(kind, data)
	}
	f.Add(kindIndex, c.sealIndex(sampleIndex()))
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		var payload []byte
		var err error
		n := allocs.Bytes(func() { payload, err = c.openPayload(kind, data) })
		if err != nil {
			checkRefusal(t, err)
			checkAllocs(t, n, maxEnvelopePayload)
			return
		}
		if len(payload) > maxEnvelopePayload {
			t.Fatalf("payload of %d bytes, over the limit of %d", len(payload), maxEnvelopePayload)
		}
		// Decompression appends to a growing buffer: at most about twice
		// what it returns, and never more than the limit allows.
		checkAllocs(t, n, min(4*len(payload)+64*len(data), maxEnvelopePayload))
		if data[6] == compressionNone && !bytes.Equal(payload, data[envelopeSize:]) {
			t.Fatalf("uncompressed payload changed")
		}
	})
}

func FuzzManifest(f *testing.F) {
	c := fuzzCodec(f)
	m := sampleManifest(2)
	m.RepositoryFormat = 1
	m.Source = Source{Type: "node", Roots: map[string]string{"measure": "/data"}, Node: "127.0.0.1:17912", APIVersion: "0.10"}
	m.LackingParts = []LackingParts{{Catalog: "measure", Group: "g", Segment: "seg-20261123", Shard: 1, Parts: []string{"0000000000000024"}}}
	for _, v := range []*Manifest{sampleManifest(1), m, {Format: ManifestFormat + 1}} {
		data, err := c.sealJSON(kindManifest, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzJSONEnvelope(t, c, kindManifest, data, func() any { return new(Manifest) })
	})
}

func FuzzLock(f *testing.F) {
	c := fuzzCodec(f)
	for _, v := range []LockInfo{
		{Hostname: "node-1", PID: 4242, Time: t0, Operation: "backup"},
		{Exclusive: true, Hostname: "node-2", PID: 1, Time: t0, Operation: "prune", Packs: []ID{Hash([]byte("p1")), Hash([]byte("p2"))}},
	} {
		data, err := c.sealJSON(kindLock, v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzJSONEnvelope(t, c, kindLock, data, func() any { return new(LockInfo) })
	})
}

// fuzzJSONEnvelope decodes data as an envelope of kind holding a value
// that newValue makes, and checks that an accepted value seals back into
// an envelope that decodes to the same JSON.
func fuzzJSONEnvelope(t *testing.T, c *codec, kind byte, data []byte, newValue func() any) {
	v := newValue()
	var err error
	n := allocs.Bytes(func() { err = c.openJSON(kind, data, v) })
	if err != nil {
		checkRefusal(t, err)
		checkAllocs(t, n, maxEnvelopePayload)
		return
	}
	first, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("accepted value does not encode: %v", err)
	}
	sealed, err := c.sealJSON(kind, v)
	if err != nil {
		t.Fatalf("accepted value does not seal: %v", err)
	}
	back := newValue()
	if err := c.openJSON(kind, sealed, back); err != nil {
		t.Fatalf("re-sealed value does not open: %v", err)
	}
	if second, _ := json.Marshal(back); !bytes.Equal(first, second) {
		t.Fatalf("value changes on a round trip:\n%s\n%s", first, second)
	}
}

func FuzzTree(f *testing.F) {
	sub := Hash([]byte("subtree"))
	mtime := time.Date(2026, 11, 23, 19, 44, 10, 100000000, time.UTC)
	tree := Tree{Entries: []Node{
		{Name: "0000000000000001", Type: NodeDir, Mode: 0o755 | 1<<31, Subtree: &sub, Size: 608, Files: 1, ModTime: mtime, Inode: 7,
			Part: &PartInfo{MinTimestamp: 1, MaxTimestamp: 2, TotalCount: 3, CompressedSize: 4, Marker: &FileID{Inode: 8, Size: 120, ModTime: mtime}}},
		{Name: "fv.bin", Type: NodeFile, Mode: 0o644, Size: 608, ModTime: mtime, Inode: 1234, Blobs: []ID{Hash([]byte("blob"))},
			Origin: &Origin{Inode: 9, Size: 608, ModTime: mtime, Tail: []byte("0123456789abcdef0123456789abcdef")}},
		{Name: "seg-20261119", Type: NodeDir, Mode: 0o755 | 1<<31, Subtree: &sub,
			Segment: &SegmentInfo{Start: t0, End: t0.Add(24 * time.Hour), EndKnown: true, Version: "1.5.0"}},
	}}
	data, err := json.Marshal(tree)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"entries":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// As LoadTree decodes a tree blob.
		var tr Tree
		var err error
		checkAllocs(t, allocs.Bytes(func() { err = decodeTree(data, &tr) }), 512*len(data))
		// encoding/json is the reference: a tree either decodes alike
		// with both, or with neither.
		var ref Tree
		refErr := json.Unmarshal(data, &ref)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("decodeTree: %v; encoding/json: %v", err, refErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(tr, ref) {
			t.Fatalf("decodeTree and encoding/json decode different trees:\n%+v\n%+v", tr, ref)
		}
		// What the rules accept is safe to join to a path, one element
		// at a time (repository-format.md, Valid trees).
		if checkEntries(&tr, false, nil) == nil {
			for i, n := range tr.Entries {
				if !filepath.IsLocal(n.Name) || filepath.Base(n.Name) != n.Name || strings.Contains(n.Name, `\`) ||
					(n.Type != NodeDir && n.Type != NodeFile) || (i > 0 && tr.Entries[i-1].Name >= n.Name) {
					t.Fatalf("the rules accept entry %d, %+v", i, n)
				}
			}
		}
		// A backup copies the nodes of its parent's trees into its own:
		// whatever decodes must encode again, to the same tree.
		first, err := json.Marshal(&tr)
		if err != nil {
			t.Fatalf("accepted tree does not encode: %v", err)
		}
		var back Tree
		if err := json.Unmarshal(first, &back); err != nil {
			t.Fatalf("re-encoded tree does not decode: %v", err)
		}
		if second, _ := json.Marshal(&back); !bytes.Equal(first, second) {
			t.Fatalf("tree changes on a round trip:\n%s\n%s", first, second)
		}
	})
}

// FuzzPackTrailer decodes each input as a pack's trailer, and its entries
// as an encrypted pack's sealed ones (sealed here with a test key).
func FuzzPackTrailer(f *testing.F) {
	c, sc := fuzzCodec(f), fuzzSealedCodec(f)
	text := textBlob(3, 3000)
	pack, _ := buildPack(DataBlob, []packInput{
		{raw: []byte("hello"), stored: []byte("hello")},
		{raw: text, stored: c.enc.EncodeAll(text, nil), compressed: true},
	})
	tlen := 2*packEntrySize + packFooterSize
	f.Add(pack[len(pack)-tlen:], int64(len(pack)))
	f.Add(pack[len(pack)-tlen:], int64(len(pack)+1))
	f.Add([]byte("\x00\x00\x00\x00BBPT"), int64(16))
	f.Fuzz(func(t *testing.T, tail []byte, size int64) {
		// As an adopting backup reads a pack's trailer (readOrphan).
		var blobs []PackedBlob
		var err error
		checkAllocs(t, allocs.Bytes(func() { blobs, err = parseTrailer(tail, size, 0) }), 4*len(tail))
		checkTrailer(t, tail, size, 0, blobs, err)
		if err == nil {
			if rebuilt := appendPackTrailer(nil, blobs, nil); !bytes.Equal(rebuilt, tail) {
				t.Fatalf("trailer encodes back differently:\n% x\n% x", rebuilt, tail)
			}
		}
		if len(tail) < packFooterSize {
			return
		}
		entries := sc.seal.seal(nil, tail[:len(tail)-packFooterSize], trailerAD())
		sealed := append(binary.LittleEndian.AppendUint32(entries, uint32(len(entries))), packTrailerMagic...)
		plain, plainSize, err := sc.openTrailer(sealed, size)
		if err != nil {
			t.Fatalf("a sealed trailer does not open: %v", err)
		}
		blobs, err = parseTrailer(plain, plainSize, sealOverhead)
		checkTrailer(t, plain, plainSize, sealOverhead, blobs, err)
	})
}

// checkTrailer checks what parseTrailer returned for tail in a pack of
// size with the given seal overhead.
func checkTrailer(t *testing.T, tail []byte, size int64, overhead uint32, blobs []PackedBlob, err error) {
	t.Helper()
	if err != nil {
		checkRefusal(t, err)
		return
	}
	if want := (len(tail) - packFooterSize) / packEntrySize; len(blobs) != want {
		t.Fatalf("%d blobs from %d trailer entries", len(blobs), want)
	}
	end := checkPackedBlobs(t, blobs, overhead)
	if end+uint64(len(tail)) != uint64(size) {
		t.Fatalf("blobs end at %d, trailer of %d bytes, pack of %d", end, len(tail), size)
	}
}

// checkPackedBlobs checks blobs parsed from a pack trailer: back to back
// from the header on, and each as checkBlobFields wants. It returns where
// the last one ends.
func checkPackedBlobs(t *testing.T, blobs []PackedBlob, overhead uint32) uint64 {
	t.Helper()
	end := uint64(packHeaderSize)
	for _, b := range blobs {
		if uint64(b.Offset) != end {
			t.Fatalf("blob at %d, want %d", b.Offset, end)
		}
		checkBlobFields(t, b, overhead)
		end += uint64(b.Length)
	}
	return end
}

// checkBlobFields checks what any accepted blob entry must hold: a known
// type and compression, room for its seal (overhead), and a raw blob's
// stored length its raw length and the seal.
func checkBlobFields(t *testing.T, b PackedBlob, overhead uint32) {
	t.Helper()
	if b.Type != DataBlob && b.Type != TreeBlob {
		t.Fatalf("blob of type %d", b.Type)
	}
	if b.Compression != "" && b.Compression != "zstd" {
		t.Fatalf("blob compression %q", b.Compression)
	}
	if b.Length < overhead || !b.compressed() && b.RawLength != b.Length-overhead {
		t.Fatalf("blob of %d bytes (raw %d, compressed %v) with a seal of %d", b.Length, b.RawLength, b.compressed(), overhead)
	}
}

func FuzzDecodeBlob(f *testing.F) {
	c := fuzzCodec(f)
	const chunk = 64 << 10
	r := &Repository{codec: c, cfg: Config{ChunkSize: chunk}}
	// The reference: a plain decoder that stops well above the chunk size,
	// so that blobs over it have their right id.
	ref, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(16*chunk))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(ref.Close)
	text := textBlob(4, 20000)
	f.Add(true, uint32(len(text)), c.enc.EncodeAll(text, nil))
	f.Add(false, uint32(5), []byte("hello"))
	big := bytes.Repeat([]byte{'x'}, 2*chunk)
	f.Add(true, uint32(len(big)), c.enc.EncodeAll(big, nil))
	f.Fuzz(func(t *testing.T, compressed bool, rawLength uint32, stored []byte) {
		want, refErr := stored, error(nil)
		loc := Location{PackedBlob: PackedBlob{Type: DataBlob, Length: uint32(len(stored)), RawLength: rawLength}}
		if compressed {
			loc.Compression = "zstd"
			want, refErr = ref.DecodeAll(stored, nil)
		}
		loc.ID = Hash(want)
		var raw []byte
		var err error
		checkAllocs(t, allocs.Bytes(func() { raw, err = r.decodeBlob(loc, stored, nil) }), chunk+4*len(stored))
		ok := refErr == nil && len(want) == int(rawLength) && (!compressed || rawLength <= chunk)
		if ok != (err == nil) {
			t.Fatalf("decodeBlob: %v; reference decoder: %d bytes, %v", err, len(want), refErr)
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if !bytes.Equal(raw, want) {
			t.Fatalf("decodeBlob returned other bytes than the reference decoder")
		}
	})
}

// FuzzKey reads each input as a key object, as keyObjects does, and opens
// it with a key file and, where its Argon2id parameters are cheap enough to
// run here, a password. The second input, when given, replaces what the
// key wraps (sealed here with the key file's KEK, as a key holder could),
// to reach the master key's parser. It returns a master key of the right
// size, nothing (another password's key), or a classified error.
func FuzzKey(f *testing.F) {
	const id = "0123456789abcdef0123456789abcdef"
	keyFile := bytes.Repeat([]byte("k"), minKeyFile)
	master := masterKey{AESGCM: bytes.Repeat([]byte{1}, masterKeyLen), Repository: "6e087c764ed872cf2fcfff31ce55298a"}
	plainMaster, err := json.Marshal(master)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range []*Credentials{{KeyFile: keyFile}, {Password: []byte("pw")}} {
		k, err := newKeyObject(id, master, c, &fastKDF, t0)
		if err != nil {
			f.Fatal(err)
		}
		data, err := json.MarshalIndent(k, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, []byte(nil))
		f.Add(data, plainMaster)
	}
	f.Fuzz(func(t *testing.T, data, wrap []byte) {
		var k keyObject
		if len(data) > 1<<20 || json.Unmarshal(data, &k) != nil {
			return
		}
		if len(wrap) > 0 && k.KDF == kdfKeyFile {
			kek, err := k.kek(&Credentials{KeyFile: keyFile})
			if err != nil {
				t.Fatal(err)
			}
			s, err := newSealer(kek)
			if err != nil {
				t.Fatal(err)
			}
			k.Wrapped = s.seal(nil, wrap, keyAD(id))
		}
		creds := []*Credentials{{KeyFile: keyFile}}
		if p := k.Argon2id; p != nil && p.Time <= 2 && p.MemoryKiB <= 1<<10 && p.Threads <= 4 {
			creds = append(creds, &Credentials{Password: []byte("pw")})
		}
		for _, c := range creds {
			m, err := k.unwrap(id, c)
			if err != nil {
				checkRefusal(t, err)
				continue
			}
			if m != nil && len(m.AESGCM) != masterKeyLen {
				t.Fatalf("master key of %d bytes", len(m.AESGCM))
			}
		}
	})
}
