// Package repository implements banyan-backup's repository format v1
// (docs/repository-format.md): content-addressed blobs in pack files, index
// files, trees, manifests and locks, on top of any storage.Backend.
package repository

import (
	"encoding/hex"
	"fmt"

	"github.com/zeebo/blake3"
)

// ID is a BLAKE3-256 hash naming a blob or an object.
type ID [32]byte

// Hash returns the ID of data.
func Hash(data []byte) ID { return ID(blake3.Sum256(data)) }

// String returns the lowercase hex form.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short returns the first 8 hex digits, as the CLI shows ids.
func (id ID) Short() string { return id.String()[:8] }

// IsZero reports whether id is the zero value.
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses a 64-digit hex id.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 64 {
		return id, fmt.Errorf("cannot parse id %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("cannot parse id %q: %w", s, err)
	}
	return id, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	p, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = p
	return nil
}
