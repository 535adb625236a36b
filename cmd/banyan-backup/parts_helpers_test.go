package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// addPart adds a part to a shard the way BanyanDB flushes one: the part
// directory with its files, metadata.json last, then a new .snp with a
// higher epoch listing the live parts, then the old .snp removed. The files
// are random bytes (BanyanDB part data is compressed already). It returns
// the bytes and files written into the part.
func addPart(t *testing.T, shard, name string, size int) (int, int) {
	t.Helper()
	dir := filepath.Join(shard, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := []string{"primary.bin", "timestamps.bin", "fv.bin", "default.tf", "meta.bin"}
	total := 0
	for i, f := range files {
		n := size / len(files)
		if i == 0 {
			n += size % len(files)
		}
		data := make([]byte, n)
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	meta := fmt.Sprintf(`{"compressedSizeBytes":%d,"uncompressedSizeBytes":%d,"totalCount":100,"blocksCount":1,"minTimestamp":1795219200000000000,"maxTimestamp":1795305000000000000}`, size, size*4)
	if err := os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	total += len(meta)
	writeSnp(t, shard, name)
	return total, len(files) + 1
}

// writeSnp writes a new .snp listing the shard's parts plus extra, and
// removes the older ones.
func writeSnp(t *testing.T, shard, extra string) {
	t.Helper()
	ents, err := os.ReadDir(shard)
	if err != nil {
		t.Fatal(err)
	}
	var epoch uint64
	var old []string
	parts := []string{extra}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".snp") {
			old = append(old, name)
			var prev []string
			data, err := os.ReadFile(filepath.Join(shard, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &prev); err != nil {
				t.Fatal(err)
			}
			n, err := strconv.ParseUint(strings.TrimSuffix(name, ".snp"), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			if n >= epoch {
				epoch, parts = n, append(prev, extra)
			}
		}
	}
	sort.Strings(parts)
	data, _ := json.Marshal(parts)
	if err := os.WriteFile(filepath.Join(shard, fmt.Sprintf("%016x.snp", epoch+1)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, o := range old {
		if err := os.Remove(filepath.Join(shard, o)); err != nil {
			t.Fatal(err)
		}
	}
}
