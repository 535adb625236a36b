package repository

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// FormatVersion is the newest repository format this release reads and
// writes: format 1 is unencrypted, format 2 encrypted (docs/
// repository-format.md, "Encryption"), format 3 either, with a list of
// features (features.go). Repositories are still created as format 1 or
// 2, so that older releases keep reading them; a repository becomes
// format 3 only when a feature is enabled (the first backup set).
const FormatVersion = 3

// Format versions.
const (
	formatPlain     = 1
	formatEncrypted = 2
	formatFeatures  = 3
)

// Defaults of a new repository.
const (
	DefaultChunkSize = 4 << 20
	DefaultPackSize  = 32 << 20
)

// maxSize bounds chunk and pack sizes (exclusive): blob offsets and lengths
// are 32-bit.
const maxSize = 1 << 31

const configName = "config"

// Encrypted reports whether the repository is encrypted (format 2).
func (c Config) Encrypted() bool { return c.Encryption == EncryptionAESGCM }

// Config is the repository's `config` object.
type Config struct {
	Version     int       `json:"version"`
	ID          string    `json:"id"`
	Created     time.Time `json:"created"`
	Hash        string    `json:"hash"`
	Chunker     string    `json:"chunker"`
	ChunkSize   int       `json:"chunk_size"`
	PackSize    int       `json:"pack_size"`
	Compression string    `json:"compression"`
	Encryption  string    `json:"encryption"`
	// Features (format 3 on) name what a reader must know to use the
	// repository; a reader refuses one it does not know (features.go).
	Features []string `json:"features,omitempty"`
}

// InitOptions tunes a new repository; zero values take the defaults.
type InitOptions struct {
	ChunkSize int
	PackSize  int
	// Encrypt makes a format 2 repository, encrypted with a new master key
	// that Options.Credentials wrap.
	Encrypt bool
	// KDF sets the Argon2id parameters of the first key made from a
	// password (nil: DefaultArgon2).
	KDF *Argon2Params
}

func newConfig(opts InitOptions, now time.Time) (Config, error) {
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return Config{}, fmt.Errorf("cannot create repository id: %w", err)
	}
	c := Config{
		Version: formatPlain, ID: hex.EncodeToString(rnd[:]), Created: now.UTC(),
		Hash: "blake3-256", Chunker: "fixed", ChunkSize: opts.ChunkSize, PackSize: opts.PackSize,
		Compression: "zstd", Encryption: EncryptionNone,
	}
	if opts.Encrypt {
		c.Version, c.Encryption = formatEncrypted, EncryptionAESGCM
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.PackSize <= 0 {
		c.PackSize = DefaultPackSize
	}
	return c, nil
}

// check refuses configs this release cannot handle.
func (c Config) check(location string) error {
	if c.Version > FormatVersion {
		return fmt.Errorf("%w: repository %s has format %d, newer than this release supports (%d): upgrade banyan-backup", ErrUnsupportedFormat, location, c.Version, FormatVersion)
	}
	if c.Version < 1 || c.Hash != "blake3-256" || c.Chunker != "fixed" {
		return fmt.Errorf("%w: config of %s is invalid or unknown (version %d, hash %q, chunker %q)", ErrIntegrity, location, c.Version, c.Hash, c.Chunker)
	}
	// The sizes Init accepts: a backup allocates a chunk per worker.
	if c.ChunkSize <= 0 || c.ChunkSize >= maxSize || c.PackSize <= 0 || c.PackSize >= maxSize {
		return fmt.Errorf("%w: config of %s has chunk size %d and pack size %d: want each over 0 and under 2 GiB", ErrIntegrity, location, c.ChunkSize, c.PackSize)
	}
	if err := c.checkFeatures(location); err != nil {
		return err
	}
	switch {
	case c.Version == formatPlain && c.Encryption == EncryptionNone:
	case c.Version == formatEncrypted && c.Encryption == EncryptionAESGCM:
	case c.Version == formatFeatures && (c.Encryption == EncryptionNone || c.Encryption == EncryptionAESGCM):
	case c.Encryption != EncryptionNone && c.Encryption != EncryptionAESGCM:
		return fmt.Errorf("%w: %s uses encryption %q, which this release does not support", ErrUnsupportedFormat, location, c.Encryption)
	default:
		return fmt.Errorf("%w: config of %s names format %d with encryption %q, which do not go together", ErrIntegrity, location, c.Version, c.Encryption)
	}
	return nil
}

func loadConfig(ctx context.Context, be storage.Backend) (Config, error) {
	data, err := storage.ReadAll(ctx, be, configName)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return Config{}, notInitialized(ctx, be)
		}
		return Config{}, fmt.Errorf("cannot read config of %s: %w", be.Location(), err)
	}
	return parseConfig(data, be.Location())
}

// parseConfig decodes and checks a config object read from location.
func parseConfig(data []byte, location string) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("%w: config of %s is not valid JSON: %v", ErrIntegrity, location, err)
	}
	return c, c.check(location)
}

// notInitialized tells apart an empty or missing location from one that has
// other objects but no config.
func notInitialized(ctx context.Context, be storage.Backend) error {
	found := false
	err := be.List(ctx, "", func(storage.ObjectInfo) error { found = true; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("cannot list %s: %w", be.Location(), err)
	}
	if !found {
		return fmt.Errorf("%w at %s: create one with `banyan-backup init --repo %s`", ErrNoRepository, be.Location(), be.Location())
	}
	return fmt.Errorf("%w: %s holds objects but no config: is this the right path? To start a new repository use an empty location with `banyan-backup init`", ErrNotInitialized, be.Location())
}

var errStop = errors.New("stop listing")

func saveConfig(ctx context.Context, be storage.Backend, c Config) error {
	data, err := encodeConfig(c)
	if err != nil {
		return err
	}
	if err := be.Create(ctx, configName, int64(len(data)), bytes.NewReader(data)); err != nil {
		if errors.Is(err, storage.ErrExists) {
			return fmt.Errorf("%w at %s", ErrAlreadyInitialized, be.Location())
		}
		return fmt.Errorf("cannot write config to %s: %w", be.Location(), err)
	}
	return nil
}

// encodeConfig returns the config object's bytes: indented JSON.
func encodeConfig(c Config) ([]byte, error) {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("cannot encode config: %w", err)
	}
	return append(data, '\n'), nil
}
