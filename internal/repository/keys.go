package repository

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/crypto/argon2"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Credentials open an encrypted repository: a password, or the bytes of a
// key file (at least 32 bytes of randomness).
type Credentials struct {
	Password []byte
	KeyFile  []byte
}

func (c *Credentials) given() bool { return c != nil && (len(c.Password) > 0 || len(c.KeyFile) > 0) }

// Key derivation functions of key objects.
const (
	kdfArgon2id = "argon2id"
	kdfKeyFile  = "keyfile"
	keyFileCtx  = "banyan-backup 2026 key file"
	minKeyFile  = 32
	keyPrefix   = "keys/"
)

// Argon2Params are the Argon2id parameters of a key made from a password.
type Argon2Params struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

// DefaultArgon2 are the parameters of new password keys: one pass over
// 64 MiB with two lanes (above OWASP's recommended minimum of one pass over
// 46 MiB), about 0.1 s on this machine, paid by every command that opens
// the repository; the process gives the memory back before it backs up or
// restores anything. `--kdf-time` and `--kdf-memory` raise them per key.
func DefaultArgon2() Argon2Params { return Argon2Params{Time: 1, MemoryKiB: 64 << 10, Threads: 2} }

// keyObject is a `keys/<id>` object.
type keyObject struct {
	Version  int           `json:"version"`
	Created  time.Time     `json:"created"`
	Hostname string        `json:"hostname"`
	Username string        `json:"username"`
	KDF      string        `json:"kdf"`
	Argon2id *Argon2Params `json:"argon2id,omitempty"`
	Salt     []byte        `json:"salt"`
	Wrapped  []byte        `json:"wrapped"`
}

// masterKey is what a key object wraps.
type masterKey struct {
	AESGCM     []byte `json:"aes256gcm"`
	Repository string `json:"repository"`
}

// KeyInfo describes one key object, for `key list`.
type KeyInfo struct {
	ID       string        `json:"id"`
	Current  bool          `json:"current"`
	Created  time.Time     `json:"created"`
	Hostname string        `json:"hostname"`
	Username string        `json:"username"`
	KDF      string        `json:"kdf"`
	Argon2id *Argon2Params `json:"argon2id,omitempty"`
}

// kek derives the key-encryption key of k from c.
func (k *keyObject) kek(c *Credentials) ([]byte, error) {
	switch {
	case k.KDF == kdfArgon2id && len(c.Password) > 0 && k.Argon2id != nil:
		p := k.Argon2id
		if p.Time == 0 || p.Time > 100 || p.MemoryKiB < 8 || p.MemoryKiB > 4<<20 || p.Threads == 0 {
			return nil, fmt.Errorf("%w: key has Argon2id parameters out of range (%+v)", ErrIntegrity, *p)
		}
		out := argon2.IDKey(c.Password, k.Salt, p.Time, p.MemoryKiB, p.Threads, 32)
		// Give the KDF's memory back before the real work starts.
		runtime.GC()
		debug.FreeOSMemory()
		return out, nil
	case k.KDF == kdfKeyFile && len(c.KeyFile) > 0:
		out := make([]byte, 32)
		blake3.DeriveKey(keyFileCtx, slices.Concat(c.KeyFile, k.Salt), out)
		return out, nil
	}
	return nil, nil
}

func keyAD(id string) []byte { return []byte("banyan-backup key " + id) }

// newKeyObject wraps master under c.
func newKeyObject(id string, master masterKey, c *Credentials, params *Argon2Params, now time.Time) (*keyObject, error) {
	k := &keyObject{Version: 1, Created: now.UTC(), Salt: make([]byte, 32)}
	k.Hostname, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		k.Username = u.Username
	}
	_, _ = rand.Read(k.Salt)
	switch {
	case len(c.KeyFile) > 0:
		if len(c.KeyFile) < minKeyFile {
			return nil, fmt.Errorf("key file of %d bytes is too short: use at least %d random bytes (head -c 64 /dev/urandom > FILE)", len(c.KeyFile), minKeyFile)
		}
		k.KDF = kdfKeyFile
	case len(c.Password) > 0:
		p := DefaultArgon2()
		if params != nil {
			p = *params
		}
		k.KDF, k.Argon2id = kdfArgon2id, &p
	default:
		return nil, fmt.Errorf("%w: give a password or a key file for the new key", ErrNeedCredentials)
	}
	kek, err := k.kek(c)
	if err != nil {
		return nil, err
	}
	s, err := newSealer(kek)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(master)
	if err != nil {
		return nil, fmt.Errorf("cannot encode master key: %w", err)
	}
	k.Wrapped = s.seal(nil, plain, keyAD(id))
	return k, nil
}

// unwrap returns the master key of k if c opens it, nil if not.
func (k *keyObject) unwrap(id string, c *Credentials) (*masterKey, error) {
	kek, err := k.kek(c)
	if err != nil || kek == nil {
		return nil, err
	}
	s, err := newSealer(kek)
	if err != nil {
		return nil, err
	}
	plain, err := s.open(nil, k.Wrapped, keyAD(id))
	if err != nil {
		return nil, nil // another password's key
	}
	var m masterKey
	if err := json.Unmarshal(plain, &m); err != nil || len(m.AESGCM) != masterKeyLen {
		return nil, fmt.Errorf("%w: key %s opens but holds no valid master key", ErrIntegrity, id[:8])
	}
	return &m, nil
}

func newKeyID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *Repository) saveKey(ctx context.Context, id string, k *keyObject) error {
	data, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode key: %w", err)
	}
	if err := r.be.Create(ctx, keyPrefix+id, int64(len(data)), strings.NewReader(string(data))); err != nil {
		return fmt.Errorf("cannot write key %s to %s: %w", id[:8], r.be.Location(), err)
	}
	return nil
}

// keyObjects reads every key object, by id.
func (r *Repository) keyObjects(ctx context.Context) (map[string]*keyObject, []string, error) {
	var ids []string
	err := r.be.List(ctx, keyPrefix, func(o storage.ObjectInfo) error {
		ids = append(ids, strings.TrimPrefix(o.Name, keyPrefix))
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("cannot list keys of %s: %w", r.be.Location(), err)
	}
	slices.Sort(ids)
	out := map[string]*keyObject{}
	for _, id := range ids {
		data, err := storage.ReadAll(ctx, r.be, keyPrefix+id)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read key %s: %w", id, err)
		}
		var k keyObject
		if len(data) > 1<<20 || json.Unmarshal(data, &k) != nil || len(id) < 8 {
			continue // not a key this release can use; others may open
		}
		out[id] = &k
	}
	return out, ids, nil
}

// unlock opens the encrypted repository with c: it tries every key.
func (r *Repository) unlock(ctx context.Context, c *Credentials) error {
	if !c.given() {
		return fmt.Errorf("%w: %s is encrypted: give its password with --password-file FILE or BANYAN_BACKUP_PASSWORD, or a key file with --key-file", ErrNeedCredentials, r.be.Location())
	}
	keys, ids, err := r.keyObjects(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: %s is encrypted but holds no key: an interrupted init leaves that; remove the repository and run init again", ErrWrongPassword, r.be.Location())
	}
	for _, id := range ids {
		k := keys[id]
		if k == nil {
			continue
		}
		m, err := k.unwrap(id, c)
		if err != nil {
			return err
		}
		if m == nil {
			continue
		}
		if m.Repository != r.cfg.ID {
			return fmt.Errorf("%w: key %s belongs to repository %s, but the config names %s: the config was replaced", ErrIntegrity, id[:8], m.Repository, r.cfg.ID)
		}
		s, err := newSealer(m.AESGCM)
		if err != nil {
			return err
		}
		r.codec.seal, r.master, r.keyID = s, m, id
		return nil
	}
	return fmt.Errorf("%w: none of the %d keys of %s opens with the password or key file given", ErrWrongPassword, len(keys), r.be.Location())
}

// createFirstKey makes a new repository's master key and its first key.
func (r *Repository) createFirstKey(ctx context.Context, c *Credentials, params *Argon2Params) error {
	m := &masterKey{AESGCM: make([]byte, masterKeyLen), Repository: r.cfg.ID}
	_, _ = rand.Read(m.AESGCM)
	id := newKeyID()
	k, err := newKeyObject(id, *m, c, params, r.clock())
	if err != nil {
		return err
	}
	if err := r.saveKey(ctx, id, k); err != nil {
		return err
	}
	s, err := newSealer(m.AESGCM)
	if err != nil {
		return err
	}
	r.codec.seal, r.master, r.keyID = s, m, id
	return nil
}

// Keys lists the repository's keys.
func (r *Repository) Keys(ctx context.Context) ([]KeyInfo, error) {
	if r.master == nil {
		return nil, ErrNotEncrypted
	}
	keys, ids, err := r.keyObjects(ctx)
	if err != nil {
		return nil, err
	}
	var out []KeyInfo
	for _, id := range ids {
		if k := keys[id]; k != nil {
			out = append(out, KeyInfo{ID: id, Current: id == r.keyID, Created: k.Created, Hostname: k.Hostname,
				Username: k.Username, KDF: k.KDF, Argon2id: k.Argon2id})
		}
	}
	return out, nil
}

// AddKey wraps the master key under new credentials and returns the new
// key's id.
func (r *Repository) AddKey(ctx context.Context, c *Credentials, params *Argon2Params) (string, error) {
	if r.master == nil {
		return "", ErrNotEncrypted
	}
	id := newKeyID()
	k, err := newKeyObject(id, *r.master, c, params, r.clock())
	if err != nil {
		return "", err
	}
	return id, r.saveKey(ctx, id, k)
}

// RemoveKey deletes key id (a unique prefix will do). lock must be an
// exclusive lock of r, so that two removals cannot remove the last two
// keys. The key in use and the last key are never removed.
func (r *Repository) RemoveKey(ctx context.Context, lock *Lock, id string) (string, error) {
	if r.master == nil {
		return "", ErrNotEncrypted
	}
	if err := r.checkExclusive(lock, "key remove"); err != nil {
		return "", err
	}
	keys, ids, err := r.keyObjects(ctx)
	if err != nil {
		return "", err
	}
	var match []string
	for _, k := range ids {
		if strings.HasPrefix(k, id) && id != "" {
			match = append(match, k)
		}
	}
	switch {
	case len(match) == 0:
		return "", fmt.Errorf("%w: no key %q (banyan-backup key list)", ErrKeyNotFound, id)
	case len(match) > 1:
		return "", fmt.Errorf("%w: %q names %d keys: give more of the id", ErrKeyNotFound, id, len(match))
	case match[0] == r.keyID:
		return "", fmt.Errorf("cannot remove key %s: it is the one this command opened the repository with (use another password, or key passwd)", id)
	case len(keys) < 2:
		return "", fmt.Errorf("cannot remove key %s: it is the last one, and without a key the repository cannot be read", id)
	}
	if err := r.be.Delete(ctx, keyPrefix+match[0]); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return "", fmt.Errorf("cannot remove key %s: %w", match[0][:8], err)
	}
	return match[0], nil
}

// ChangePassword adds a key for c and removes the one in use; it returns
// the new key's id.
func (r *Repository) ChangePassword(ctx context.Context, lock *Lock, c *Credentials, params *Argon2Params) (string, error) {
	id, err := r.AddKey(ctx, c, params)
	if err != nil {
		return "", err
	}
	old := r.keyID
	r.keyID = id
	if _, err := r.RemoveKey(ctx, lock, old); err != nil {
		return id, fmt.Errorf("the new key %s was added, but the old one %s stays: %w", id[:8], old[:8], err)
	}
	return id, nil
}
