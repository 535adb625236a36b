package banyandb

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// snpSuffix ends the name of a shard's part list.
const snpSuffix = ".snp"

// PartMetadataFile is a part's commit marker, written last (measure, stream,
// trace parts).
const PartMetadataFile = "metadata.json"

// SidxManifestFile plays the role of metadata.json in the parts of a trace
// ordered index (shard-N/sidx/<rule>/<part>/).
const SidxManifestFile = "manifest.json"

// PartMetadata is the content of a part's metadata.json (or of a trace sidx
// part's manifest.json, which has the same fields). Timestamps are Unix
// nanoseconds.
type PartMetadata struct {
	CompressedSizeBytes   uint64 `json:"compressedSizeBytes"`
	UncompressedSizeBytes uint64 `json:"uncompressedSizeBytes"`
	// UncompressedSpanSizeBytes replaces UncompressedSizeBytes in trace parts.
	UncompressedSpanSizeBytes uint64 `json:"uncompressedSpanSizeBytes,omitempty"`
	TotalCount                uint64 `json:"totalCount"`
	BlocksCount               uint64 `json:"blocksCount"`
	MinTimestamp              int64  `json:"minTimestamp"`
	MaxTimestamp              int64  `json:"maxTimestamp"`
}

// ParsePartMetadata parses a part's metadata.json (or sidx manifest.json).
func ParsePartMetadata(b []byte) (*PartMetadata, error) {
	var m PartMetadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("cannot parse part metadata: %w", err)
	}
	if m.MinTimestamp > m.MaxTimestamp {
		return nil, fmt.Errorf("cannot parse part metadata: minTimestamp %d is after maxTimestamp %d", m.MinTimestamp, m.MaxTimestamp)
	}
	return &m, nil
}

// Part is one immutable part directory: <group>/<segment>/shard-N/<part>, or
// for trace ordered indexes <group>/<segment>/shard-N/sidx/<rule>/<part>.
type Part struct {
	Catalog Catalog
	Group   string
	Segment string
	Shard   int
	// Rule is the index rule of a trace sidx part, "" for a shard's own parts.
	Rule string
	// Name is the 16 hex digit part name.
	Name string
	// Path is the part directory relative to the catalog's data dir.
	Path string
	// Meta is the parsed metadata.json (manifest.json for sidx parts); nil
	// when the file is missing or unreadable (see Layout.Warnings). The
	// server deletes such parts on startup.
	Meta *PartMetadata
	// MetaError says why a metadata file that exists gave no Meta (it
	// cannot be read, is too large, or does not parse); "" otherwise.
	MetaError string
}

// PartComplete reports whether the part directory dir has its commit
// marker (metadata.json, or manifest.json for a trace sidx part), written
// last: only then does a snapshot take it, and a server keep it on
// startup (docs/banyandb.md, Parts). Its content is not checked.
func PartComplete(dir string) bool {
	for _, name := range []string{PartMetadataFile, SidxManifestFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// IsUnfinished reports whether a file or directory name marks an
// unfinished write (*.tmp), which no backup takes and no snapshot holds.
func IsUnfinished(name string) bool { return strings.HasSuffix(name, tmpSuffix) }

// IsPartName reports whether s names a part: exactly 16 lowercase hex digits.
func IsPartName(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// SnpEpoch returns the epoch of a shard's part list file named
// <16 hex digits>.snp; ok is false for any other name.
func SnpEpoch(name string) (epoch uint64, ok bool) {
	hex, found := strings.CutSuffix(name, snpSuffix)
	if !found || !IsPartName(hex) {
		return 0, false
	}
	epoch, err := strconv.ParseUint(hex, 16, 64)
	return epoch, err == nil
}

// ParseSnp parses a shard's .snp file: a JSON array of the live part names,
// e.g. ["0000000000000001"].
func ParseSnp(b []byte) ([]string, error) {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("cannot parse part list: %w", err)
	}
	for _, n := range names {
		if !IsPartName(n) {
			return nil, fmt.Errorf("cannot parse part list: %q is not a part name", truncate(n))
		}
	}
	if names == nil {
		names = []string{}
	}
	return names, nil
}
